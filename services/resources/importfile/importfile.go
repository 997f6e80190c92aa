// Package importfile imports a resources file (CSV or HSDS 3.0 JSON) into a site over gRPC, as
// `beacon import resources` does. A gRPC request is bounded (1 MiB by default on Beacon's
// servers), so the file is split into parts that each fit one ImportResources call: CSV at record
// boundaries, each part with the header; HSDS JSON between service records. The parts are sent in
// order, and the per-row results come back numbered as in the whole file.
package importfile

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// DefaultMaxPartBytes keeps each part, with the request's other fields and protobuf framing,
// under the servers' 1 MiB request limit.
const DefaultMaxPartBytes = 900 << 10

// DetectFormat names the file's format: by extension (.csv, .json), else by content (JSON
// starts with "[" or "{").
func DetectFormat(name string, data []byte) resourcesv1.ImportFormat {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_CSV
	case ".json":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		return resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	return resourcesv1.ImportFormat_IMPORT_FORMAT_CSV
}

// Part is a piece of the file that one ImportResources call carries.
type Part struct {
	Content  string
	FirstRow int // the file-wide number of the part's first row (1-based)
	Rows     int
}

// Split cuts data into parts of at most maxBytes (a single row larger than that is a part of its
// own, which the server may refuse). maxBytes <= 0 means DefaultMaxPartBytes.
func Split(format resourcesv1.ImportFormat, data []byte, maxBytes int) ([]Part, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPartBytes
	}
	switch format {
	case resourcesv1.ImportFormat_IMPORT_FORMAT_CSV:
		return splitCSV(data, maxBytes)
	case resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON:
		return splitJSON(data, maxBytes)
	}
	return nil, fmt.Errorf("unknown import format %v", format)
}

// splitCSV cuts at record boundaries (a quoted cell may hold newlines), repeating the header.
// Rows the CSV reader cannot parse are passed on as they are, for the server to report.
func splitCSV(data []byte, maxBytes int) ([]Part, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: it needs a header row")
		}
		return nil, fmt.Errorf("reading the header row: %w", err)
	}
	header := data[:r.InputOffset()]
	var parts []Part
	start, row := r.InputOffset(), 1
	cur := Part{FirstRow: 1}
	for {
		before := r.InputOffset()
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		end := r.InputOffset()
		if cur.Rows > 0 && len(header)+int(end-start) > maxBytes {
			cur.Content = string(header) + string(data[start:before])
			parts = append(parts, cur)
			cur, start = Part{FirstRow: row}, before
		}
		cur.Rows++
		row++
	}
	if cur.Rows > 0 {
		cur.Content = string(header) + string(data[start:])
		parts = append(parts, cur)
	}
	return parts, nil
}

// splitJSON cuts an HSDS document (an array of services, a {"contents": [...]} page, or one
// service) between service records.
func splitJSON(data []byte, maxBytes int) ([]Part, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	var records []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &records); err != nil {
			return nil, fmt.Errorf("reading the JSON array: %w", err)
		}
	} else {
		var page struct {
			Contents []json.RawMessage `json:"contents"`
		}
		if err := json.Unmarshal(trimmed, &page); err != nil {
			return nil, fmt.Errorf("reading the JSON document: %w", err)
		}
		if page.Contents == nil {
			return []Part{{Content: string(trimmed), FirstRow: 1, Rows: 1}}, nil
		}
		records = page.Contents
	}
	var parts []Part
	var b strings.Builder
	cur := Part{FirstRow: 1}
	flush := func() {
		b.WriteByte(']')
		cur.Content = b.String()
		parts = append(parts, cur)
		b.Reset()
	}
	for i, rec := range records {
		if cur.Rows > 0 && b.Len()+len(rec)+2 > maxBytes {
			flush()
			cur = Part{FirstRow: i + 1}
		}
		if cur.Rows == 0 {
			b.WriteByte('[')
		} else {
			b.WriteByte(',')
		}
		b.Write(rec)
		cur.Rows++
	}
	if cur.Rows > 0 {
		flush()
	}
	return parts, nil
}

// Options are the import's settings.
type Options struct {
	Site         string // site id
	Source       string // external-id source for rows that name none; "" for the server's default
	ValidateOnly bool
	MaxPartBytes int // 0 means DefaultMaxPartBytes
	// Progress, when set, is called as rows are processed: done of total rows.
	Progress func(done, total int)
}

// Report is what the import did: every row's result, numbered as in the file, and the totals.
type Report struct {
	Rows                      []*resourcesv1.ImportRowResult
	Total                     int
	Created, Updated, Skipped int
}

// Refused counts the rows skipped for a reason other than being unchanged.
func (r Report) Refused() int {
	n := 0
	for _, row := range r.Rows {
		if row.GetOutcome() == resourcesv1.ImportRowResult_OUTCOME_SKIPPED && row.GetReason() != "unchanged" {
			n++
		}
	}
	return n
}

// Run imports data, in format, into opts.Site, one ImportResources call per part, and returns
// the report. An error from a part stops the import; the rows of earlier parts stay imported
// (imports are idempotent: running the file again continues where it stopped).
func Run(ctx context.Context, client resourcesv1.ResourceServiceClient, format resourcesv1.ImportFormat, data []byte, opts Options) (Report, error) {
	parts, err := Split(format, data, opts.MaxPartBytes)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	for _, p := range parts {
		rep.Total += p.Rows
	}
	done := 0
	for i, p := range parts {
		stream, err := client.ImportResources(ctx, &resourcesv1.ImportResourcesRequest{Site: "sites/" + opts.Site, Format: format,
			Content: p.Content, Source: opts.Source, ValidateOnly: opts.ValidateOnly})
		if err != nil {
			return rep, partErr(i, len(parts), p, err)
		}
		finished := false
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return rep, partErr(i, len(parts), p, err)
			}
			for _, r := range msg.GetResults() {
				r.Row += int32(p.FirstRow - 1)
				rep.Rows = append(rep.Rows, r)
			}
			if opts.Progress != nil {
				opts.Progress(done+int(msg.GetRowsDone()), rep.Total)
			}
			if msg.GetDone() {
				finished = true
				rep.Created += int(msg.GetCreated())
				rep.Updated += int(msg.GetUpdated())
				rep.Skipped += int(msg.GetSkipped())
			}
		}
		if !finished {
			return rep, partErr(i, len(parts), p, errors.New("the server ended the import without its final report"))
		}
		done += p.Rows
	}
	return rep, nil
}

func partErr(i, n int, p Part, err error) error {
	if n == 1 {
		return err
	}
	return fmt.Errorf("part %d of %d (rows %d to %d): %w", i+1, n, p.FirstRow, p.FirstRow+p.Rows-1, err)
}
