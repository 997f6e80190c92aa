package domain

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// ImportOutcome is what an import did with one row.
type ImportOutcome int

// The outcomes.
const (
	ImportCreated ImportOutcome = iota + 1
	ImportUpdated
	ImportSkipped
)

// Reasons a row was skipped.
const (
	ReasonUnchanged = "unchanged"
	ReasonInvalid   = "invalid"
	ReasonDeleted   = "deleted"   // the matching resource is soft-deleted: undelete it to import into it
	ReasonConflict  = "conflict"  // the row's external ids name two different resources, or a race
	ReasonForbidden = "forbidden" // the matching resource is on a site the key does not cover
)

// ImportResult says what an import did with one row.
type ImportResult struct {
	Row        int
	ExternalID string // "source/id" of the row's first external id
	Outcome    ImportOutcome
	ResourceID string
	Reason     string   // why a row was skipped
	Violations []string // "field: description" of an invalid row
}

// ImportSummary totals an import.
type ImportSummary struct{ Created, Updated, Skipped int }

// ImportRequest is one import into a site.
type ImportRequest struct {
	Site         string
	Records      []ImportRecord
	ValidateOnly bool // report what would happen; change nothing
	// Progress, when set, receives the results of every batch of rows as they finish, in row order.
	Progress func(done int, batch []ImportResult)
}

// importBatch is how many rows are reported to Progress at a time.
const importBatch = 100

// Import creates or updates the resources described by req.Records for req.Site, matching rows to
// resources by external id (then by the id of the Beacon that exported them), so importing the
// same file twice changes nothing the second time. A row with errors changes nothing; the other
// rows go on. An imported resource targets req.Site besides the sites it already targeted; its
// editor notes stay. A store failure other than a conflict ends the import with an error after the
// rows done so far.
func (s *Service) Import(ctx context.Context, p auth.Principal, req ImportRequest) (ImportSummary, []ImportResult, error) {
	var sum ImportSummary
	if err := canWrite(p, []string{req.Site}); err != nil {
		return sum, nil, err
	}
	if err := s.checkSites(ctx, "site", []string{req.Site}); err != nil {
		return sum, nil, err
	}
	results := make([]ImportResult, 0, len(req.Records))
	flushed := 0
	// The rows' writes go to the change log a batch at a time (one entry per batch, not per row:
	// other replicas poll the log, and on FerretDB every poll reads all of it).
	var written []*Resource
	logWritten := func() error {
		if len(written) == 0 {
			return nil
		}
		err := s.store.LogBatch(ctx, written)
		written = written[:0]
		return err
	}
	defer func() { _ = logWritten() }() // rows written before an error are logged too
	for _, rec := range req.Records {
		if err := ctx.Err(); err != nil {
			return sum, results, err
		}
		res, r, err := s.importRow(ctx, p, req, rec)
		if r != nil {
			written = append(written, r)
		}
		if err != nil {
			return sum, results, err
		}
		switch res.Outcome {
		case ImportCreated:
			sum.Created++
		case ImportUpdated:
			sum.Updated++
		default:
			sum.Skipped++
		}
		results = append(results, res)
		if len(results)%importBatch == 0 {
			if err := logWritten(); err != nil {
				return sum, results, err
			}
			if req.Progress != nil {
				req.Progress(len(results), results[flushed:])
				flushed = len(results)
			}
		}
	}
	if err := logWritten(); err != nil {
		return sum, results, err
	}
	if req.Progress != nil && flushed < len(results) {
		req.Progress(len(results), results[flushed:])
	}
	return sum, results, nil
}

func skipped(res ImportResult, reason string, err error) ImportResult {
	res.Outcome, res.Reason = ImportSkipped, reason
	if e, ok := apperr.As(err); ok {
		if len(e.Fields) == 0 {
			res.Violations = append(res.Violations, e.Message)
		}
		for _, f := range e.Fields {
			res.Violations = append(res.Violations, f.Field+": "+f.Description)
		}
	}
	return res
}

// importRow imports one record. It returns the resource it wrote, if any, for the change log
// (its write is Batched).
func (s *Service) importRow(ctx context.Context, p auth.Principal, req ImportRequest, rec ImportRecord) (ImportResult, *Resource, error) {
	res := ImportResult{Row: rec.Row}
	if len(rec.Fields.ExternalIDs) > 0 {
		e := rec.Fields.ExternalIDs[0]
		res.ExternalID = strings.ToLower(strings.TrimSpace(e.Source)) + "/" + strings.TrimSpace(e.ID)
	}
	if rec.Problems != nil {
		return skipped(res, ReasonInvalid, rec.Problems), nil, nil
	}
	f := rec.Fields.clone()
	f.TargetSites = []string{req.Site}
	f.Normalize()
	if err := f.Validate(""); err != nil {
		return skipped(res, ReasonInvalid, err), nil, nil
	}
	if err := s.checkLint(ctx, f, ""); err != nil {
		return skipped(res, ReasonInvalid, err), nil, nil
	}

	existing, err := s.matchImport(ctx, f.ExternalIDs, rec.OriginID)
	if apperr.Is(err, apperr.Conflict) {
		return skipped(res, ReasonConflict, err), nil, nil
	}
	if err != nil {
		return res, nil, err
	}
	if existing == nil {
		res.Outcome = ImportCreated
		if req.ValidateOnly {
			return res, nil, nil
		}
		now := s.now()
		r := &Resource{ID: s.newID(), Fields: f, Verified: rec.Verified, RevisionID: 1, CreateTime: now, UpdateTime: now, Creator: p.KeyName}
		err := s.store.CreateResource(ctx, r, Change{Actor: p.KeyName, Action: "import", Fields: changedFields(Fields{}, f), Time: now, Batched: true})
		switch {
		case apperr.Is(err, apperr.AlreadyExists), apperr.Is(err, apperr.Conflict):
			return skipped(res, ReasonConflict, err), nil, nil
		case err != nil:
			return res, nil, err
		}
		res.ResourceID = r.ID
		return res, r, nil
	}

	res.ResourceID = existing.ID
	if existing.Deleted() {
		return skipped(res, ReasonDeleted, apperr.New(apperr.FailedPrecondition, "resource %q is deleted; undelete it to import into it", existing.Name())), nil, nil
	}
	if !visible(p, existing) || canWrite(p, existing.TargetSites) != nil {
		return skipped(res, ReasonForbidden, apperr.New(apperr.PermissionDenied, "the matching resource is on sites the key does not cover")), nil, nil
	}
	next := existing.clone()
	next.Fields = f
	next.TargetSites = existing.TargetSites
	if !slices.Contains(next.TargetSites, req.Site) {
		next.TargetSites = append(slices.Clone(existing.TargetSites), req.Site)
	}
	next.EditorNotes = existing.EditorNotes
	if !rec.Verified.Date.IsZero() || rec.Verified.Verifier != "" {
		next.Verified = rec.Verified
	}
	changed := changedFields(existing.Fields, next.Fields)
	if len(changed) == 0 && reflect.DeepEqual(existing.Verified, next.Verified) {
		return skipped(res, ReasonUnchanged, nil), nil, nil
	}
	res.Outcome = ImportUpdated
	if req.ValidateOnly {
		return res, nil, nil
	}
	if !reflect.DeepEqual(existing.Verified, next.Verified) {
		changed = append(changed, "last_verified_date", "verifier")
	}
	written, err := s.write(ctx, existing, next, Change{Actor: p.KeyName, Action: "import", Fields: changed, Batched: true})
	if err != nil {
		if apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.AlreadyExists) {
			return skipped(res, ReasonConflict, err), nil, nil
		}
		return res, nil, err
	}
	return res, written, nil
}

// matchImport finds the resource an import row updates: the one holding any of its external ids,
// else the one whose id the exporting Beacon gave (originID), else none. Conflict when the
// external ids are held by two different resources.
func (s *Service) matchImport(ctx context.Context, ids []ExternalID, originID string) (*Resource, error) {
	found := ""
	for _, e := range ids {
		id, ok, err := s.store.ResourceIDByExternalID(ctx, e)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if found != "" && id != found {
			return nil, apperr.New(apperr.Conflict, "external id %s belongs to %q, another of the row's ids to %q", e, "resources/"+id, "resources/"+found)
		}
		found = id
	}
	if found == "" && originID != "" && ValidResourceID(originID) {
		found = originID
	}
	if found == "" {
		return nil, nil
	}
	r, err := s.store.GetResource(ctx, found)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	return r, err
}
