package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// The import screen. The upload is sent to ImportResources as the user, and the answer page
// is streamed while the service works: the page's head first, then one progress line per
// progress message of the service (every 100 rows; a stylesheet rule shows only the last),
// then the per-row report. Live progress without script, without state in the console, and
// without a second request.

const (
	// importTimeout bounds an import: a 1 MiB file is a few thousand rows.
	importTimeout = 10 * time.Minute
	// importWriteGrace is how long each write of the streamed page may take; every progress
	// message extends the response's write deadline by it (the server's own is 30 s).
	importWriteGrace = time.Minute
	// streamMarker stands, twice, in the rendered import page: where the progress lines go
	// (inside the live region) and where the report goes (after it).
	streamMarker = "@@beacon-import-stream@@"
)

// importPage is the import screen's data.
type importPage struct {
	Sites                []siteOption
	Formats              []option
	Site, Format, Source string
	ValidateOnly         bool
	FieldErrors          map[string]string // input -> message; "form" above the form

	// The streamed answer.
	Streaming, Done                   bool
	FileName                          string
	RowsDone, RowsTotal               int
	Created, Updated, Skipped, Failed int
	Results                           []importRow
	Error                             string // the import stopped with this error
	Marker                            string
}

// importRow is one row of the per-row report.
type importRow struct {
	Row                         int
	ExternalID, Outcome, Reason string
	ResourceID                  string
	Violations                  []string
}

var importFormats = []option{{Value: "", Label: "Recognise from the file"}, {Value: "csv", Label: "CSV"}, {Value: "hsds", Label: "HSDS 3.0 JSON"}}

func (c *Console) resourceImportForm(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	page := &importPage{}
	if site := sess.GetActingAs().GetSite(); site != "" {
		page.Site = siteID(site)
	}
	c.renderImportForm(w, r, token, sess, http.StatusOK, page)
}

func (c *Console) renderImportForm(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, code int, page *importPage) {
	sites, err := c.writableSites(r, token, sess)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Sites, page.Formats = sites, importFormats
	c.render(w, r, code, "resource-import", pageData{Title: "Import resources", Viewer: viewerOf(sess), Import: page})
}

// importFormat is the API's format of an upload: the form's choice, else the file name's
// extension, else its first character.
func importFormat(choice, fileName string, content []byte) resourcesv1.ImportFormat {
	switch choice {
	case "csv":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_CSV
	case "hsds":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	switch strings.ToLower(path.Ext(fileName)) {
	case ".csv":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_CSV
	case ".json":
		return resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	if t := bytes.TrimLeft(content, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	return resourcesv1.ImportFormat_IMPORT_FORMAT_CSV
}

// importInput is the form input an ImportResources field violation is about.
func importInput(field string) string {
	switch field {
	case "site", "format", "source":
		return field
	case "content":
		return "file"
	}
	return "form"
}

// resourceImport sends the uploaded file to ImportResources and streams the answer page: the
// progress while the service works, then the per-row report. A request the service refuses
// before it starts (a bad site, an unreadable file, a viewer's forged import) is answered
// with the form and the refusal beside its field.
func (c *Console) resourceImport(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	page := &importPage{}
	if err := r.ParseMultipartForm(maxImportFormBytes); err != nil {
		var tooLarge *http.MaxBytesError
		page.FieldErrors = map[string]string{"form": "The form could not be read."}
		code := http.StatusBadRequest
		if errors.As(err, &tooLarge) {
			code = http.StatusRequestEntityTooLarge
			page.FieldErrors = map[string]string{"file": fmt.Sprintf("The file is larger than the console takes (%d KiB): import it with `beacon import resources`, which splits it.", maxImportFileBytes>>10)}
		}
		c.renderImportForm(w, r, token, sess, code, page)
		return
	}
	page.Site, page.Format, page.Source = r.PostFormValue("site"), r.PostFormValue("format"), strings.TrimSpace(r.PostFormValue("source"))
	page.ValidateOnly = r.PostFormValue("validate_only") == "on"
	file, header, err := r.FormFile("file")
	if err != nil {
		page.FieldErrors = map[string]string{"file": "Choose a CSV or HSDS JSON file."}
		c.renderImportForm(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	content, err := io.ReadAll(file)
	_ = file.Close()
	if err != nil {
		page.FieldErrors = map[string]string{"file": "The file could not be read."}
		c.renderImportForm(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	page.FileName = header.Filename
	if len(content) > maxImportFileBytes {
		page.FieldErrors = map[string]string{"file": fmt.Sprintf("The file is larger than the console takes (%d KiB): import it with `beacon import resources`, which splits it.", maxImportFileBytes>>10)}
		c.renderImportForm(w, r, token, sess, http.StatusRequestEntityTooLarge, page)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), importTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	stream, err := c.resources.ImportResources(ctx, &resourcesv1.ImportResourcesRequest{
		Site: "sites/" + page.Site, Format: importFormat(page.Format, header.Filename, content), Content: string(content),
		Source: page.Source, ValidateOnly: page.ValidateOnly})
	var first *resourcesv1.ImportResourcesResponse
	if err == nil {
		first, err = stream.Recv()
	}
	if err != nil {
		c.importRefused(w, r, token, sess, page, err)
		return
	}

	// The service has started: stream the page.
	page.Streaming, page.Marker = true, streamMarker
	var buf bytes.Buffer
	tmpl := c.pages["resource-import"]
	if err := tmpl.ExecuteTemplate(&buf, "layout.html", pageData{Title: "Import resources", Viewer: viewerOf(sess), Import: page}); err != nil {
		c.logger.ErrorContext(r.Context(), "console template failed", "page", "resource-import", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	head, rest, _ := strings.Cut(buf.String(), streamMarker)
	middle, tail, _ := strings.Cut(rest, streamMarker)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	write := func(s string) {
		_ = rc.SetWriteDeadline(time.Now().Add(importWriteGrace))
		_, _ = io.WriteString(w, s)
		_ = rc.Flush()
	}
	write(head)
	for msg := first; ; {
		page.take(msg)
		if page.Done {
			break
		}
		var line bytes.Buffer
		_ = tmpl.ExecuteTemplate(&line, "import-progress", page)
		write(line.String())
		if msg, err = stream.Recv(); err != nil {
			if err == io.EOF {
				err = errors.New("the stream ended before the import reported its end")
			}
			_, page.Error = statusOf(err)
			c.logger.WarnContext(r.Context(), "console: import stopped", "err", err)
			break
		}
	}
	var report bytes.Buffer
	_ = tmpl.ExecuteTemplate(&report, "import-progress", page)
	write(report.String() + middle)
	report.Reset()
	if err := tmpl.ExecuteTemplate(&report, "import-report", page); err != nil {
		c.logger.ErrorContext(r.Context(), "console template failed", "page", "import-report", "err", err)
	}
	write(report.String() + tail)
}

// take adds one message of the import stream to the page.
func (p *importPage) take(msg *resourcesv1.ImportResourcesResponse) {
	p.RowsDone, p.RowsTotal = int(msg.GetRowsDone()), int(msg.GetRowsTotal())
	for _, res := range msg.GetResults() {
		row := importRow{Row: int(res.GetRow()), ExternalID: res.GetExternalId(), Reason: res.GetReason(),
			ResourceID: strings.TrimPrefix(res.GetResource(), "resources/"), Violations: res.GetFieldViolations(),
			Outcome: strings.ToLower(strings.TrimPrefix(res.GetOutcome().String(), "OUTCOME_"))}
		if len(row.Violations) > 0 {
			p.Failed++
		}
		p.Results = append(p.Results, row)
	}
	if msg.GetDone() {
		p.Done = true
		p.Created, p.Updated, p.Skipped = int(msg.GetCreated()), int(msg.GetUpdated()), int(msg.GetSkipped())
	}
}

// importRefused answers an import the service refused before it started: the form again,
// the refusal beside the field it names.
func (c *Console) importRefused(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, page *importPage, err error) {
	code := status.Code(err)
	if code == codes.Unauthenticated {
		c.serviceError(w, r, err)
		return
	}
	httpCode, msg := statusOf(err)
	page.FieldErrors = map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				in := importInput(v.GetField())
				page.FieldErrors[in] = strings.TrimSpace(page.FieldErrors[in] + " " + v.GetField() + ": " + v.GetDescription())
			}
		}
	}
	if len(page.FieldErrors) == 0 {
		page.FieldErrors["form"] = msg
	}
	c.renderImportForm(w, r, token, sess, httpCode, page)
}
