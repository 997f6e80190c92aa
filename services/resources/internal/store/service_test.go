package store_test

import (
	"context"
	"fmt"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/resources/internal/csvfile"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/hsds"
	"github.com/beaconcms/beacon/services/resources/internal/index"
	"github.com/beaconcms/beacon/services/resources/internal/store"
)

// sites is a fake site catalog.
type sites struct {
	mu    sync.Mutex
	sites map[string]domain.SiteSettings
}

func (s *sites) Site(_ context.Context, id string) (domain.SiteSettings, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	site, ok := s.sites[id]
	return site, ok, nil
}

type fixture struct {
	db     *mongo.Database
	svc    *domain.Service
	store  *store.Store
	index  *index.Index
	sites  *sites
	clock  *time.Time
	linter *claimlint.Engine
}

var (
	admin  = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}
	kratom = auth.Principal{KeyName: "apiKeys/kratom", Role: auth.RoleEditor, Site: "kratom-help"}
)

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(mongodb.WithScan(ctx, "test setup"), db, store.Migrations(), slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{db: db, sites: &sites{sites: map[string]domain.SiteSettings{
		"kratom-help": {ID: "kratom-help"},
		"other":       {ID: "other", StaleAfterDays: 30},
		"gone":        {ID: "gone", Deleted: true},
	}}}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.clock = &now
	var ix *index.Index
	f.store = store.New(db, mongodb.NewDocLocks(), func(r *domain.Resource) { ix.Put(r) }, nil)
	f.store.OnDirectoryWrite(func(d *domain.Directory) { ix.PutDirectory(d) })
	ix = index.New(f.store, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	f.index = ix
	if err := ix.Load(ctx); err != nil {
		tb.Fatal(err)
	}
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	f.linter = linter
	f.svc = domain.NewService(f.store, ix, f.sites, linter, func() time.Time { return *f.clock }, nil, slog.New(slog.DiscardHandler))
	return f
}

func crisisLine() domain.Fields {
	return domain.Fields{
		DisplayName: "Example Line", Kind: domain.KindCrisisLine, Crisis: true,
		Phones:      []domain.Phone{{Number: "1-800-555-0199"}},
		Hours:       domain.Hours{AlwaysOpen: true},
		ExternalIDs: []domain.ExternalID{{Source: "csv", ID: "line-1"}},
		TargetSites: []string{"kratom-help"},
	}
}

func code(err error) apperr.Code { return apperr.CodeOf(err) }

func TestCreateGetUpdateDeleteWithRevisions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.svc.Create(ctx, kratom, crisisLine())
	if err != nil {
		t.Fatal(err)
	}
	if r.Phones[0].Number != "+18005550199" || r.RevisionID != 1 || r.Creator != "apiKeys/kratom" {
		t.Errorf("created %+v", r)
	}
	got, err := f.svc.Get(ctx, kratom, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Fields, got.Fields); diff != "" {
		t.Errorf("stored fields differ:\n%s", diff)
	}

	edit := domain.Fields{DisplayName: "Renamed Line"}
	if _, err := f.svc.Update(ctx, kratom, r.ID, "", edit, []string{"display_name"}); code(err) != apperr.Invalid {
		t.Errorf("update without etag: %v, want invalid", err)
	}
	if _, err := f.svc.Update(ctx, kratom, r.ID, "stale", edit, []string{"display_name"}); code(err) != apperr.Conflict {
		t.Errorf("update with a stale etag: %v, want conflict", err)
	}
	if _, err := f.svc.Update(ctx, kratom, r.ID, r.Etag(), edit, []string{"colour"}); code(err) != apperr.Invalid {
		t.Errorf("update of an unknown field: %v, want invalid", err)
	}
	updated, err := f.svc.Update(ctx, kratom, r.ID, r.Etag(), edit, []string{"display_name"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.DisplayName != "Renamed Line" || updated.RevisionID != 2 || updated.Phones[0].Number != "+18005550199" {
		t.Errorf("updated %+v", updated)
	}
	if _, err := f.svc.Update(ctx, kratom, r.ID, r.Etag(), edit, []string{"display_name"}); code(err) != apperr.Conflict {
		t.Errorf("second update with the first etag: %v, want conflict", err)
	}
	verified, err := f.svc.Verify(ctx, kratom, r.ID, updated.Etag())
	if err != nil {
		t.Fatal(err)
	}
	if verified.Verified != (domain.Verification{Date: domain.Date{Year: 2026, Month: 12, Day: 1}, Verifier: "apiKeys/kratom"}) {
		t.Errorf("verification = %+v", verified.Verified)
	}
	deleted, err := f.svc.Delete(ctx, kratom, r.ID, "")
	if err != nil || !deleted.Deleted() {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if list, _ := f.svc.List(ctx, kratom, domain.ResourceQuery{}); len(list) != 0 {
		t.Errorf("a deleted resource is listed: %v", list)
	}
	if _, err := f.svc.Undelete(ctx, kratom, r.ID); err != nil {
		t.Fatal(err)
	}
	revs, err := f.svc.ListRevisions(ctx, kratom, r.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, rev := range revs {
		actions = append(actions, rev.Change.Action)
	}
	if want := []string{"undelete", "delete", "verify", "update", "create"}; !slices.Equal(actions, want) {
		t.Errorf("revisions = %q, want %q", actions, want)
	}
	if !slices.Equal(revs[3].Change.Fields, []string{"display_name"}) || revs[4].Resource.DisplayName != "Example Line" {
		t.Errorf("update revision = %+v", revs[3].Change)
	}
	older, err := f.svc.ListRevisions(ctx, kratom, r.ID, revs[1].RevisionID, 10)
	if err != nil || len(older) != 3 || older[0].Change.Action != "verify" {
		t.Errorf("revisions before %d = %v, %v", revs[1].RevisionID, older, err)
	}
}

func TestSiteScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	both := crisisLine()
	both.TargetSites = []string{"kratom-help", "other"}
	if _, err := f.svc.Create(ctx, kratom, both); code(err) != apperr.PermissionDenied {
		t.Errorf("create for two sites with a one-site key: %v, want permission denied", err)
	}
	r, err := f.svc.Create(ctx, admin, both)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, kratom, r.ID); err != nil {
		t.Errorf("a kratom key cannot read a resource on kratom-help: %v", err)
	}
	if _, err := f.svc.Update(ctx, kratom, r.ID, r.Etag(), domain.Fields{DisplayName: "x"}, []string{"display_name"}); code(err) != apperr.PermissionDenied {
		t.Errorf("update of a two-site resource with a one-site key: %v, want permission denied", err)
	}
	if _, err := f.svc.Delete(ctx, kratom, r.ID, ""); code(err) != apperr.PermissionDenied {
		t.Errorf("delete: %v, want permission denied", err)
	}
	otherOnly := crisisLine()
	otherOnly.ExternalIDs = nil
	otherOnly.TargetSites = []string{"other"}
	o, err := f.svc.Create(ctx, admin, otherOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, kratom, o.ID); code(err) != apperr.NotFound {
		t.Errorf("a kratom key reads a resource of another site: %v, want not found", err)
	}
	if list, _ := f.svc.List(ctx, kratom, domain.ResourceQuery{}); len(list) != 1 || list[0].ID != r.ID {
		t.Errorf("kratom list = %v, want only %s", list, r.ID)
	}
	gone := crisisLine()
	gone.ExternalIDs = nil
	gone.TargetSites = []string{"gone"}
	if _, err := f.svc.Create(ctx, admin, gone); code(err) != apperr.FailedPrecondition || !strings.Contains(err.Error(), "target_sites[0]") {
		t.Errorf("create on a deleted site: %v, want failed precondition naming target_sites[0]", err)
	}
	dup := crisisLine()
	if _, err := f.svc.Create(ctx, admin, dup); code(err) != apperr.AlreadyExists || !strings.Contains(err.Error(), "external_ids[0]") {
		t.Errorf("create with a taken external id: %v, want already exists naming external_ids[0]", err)
	}
}

const importCSV = `external_id,name,kind,crisis,phones,hours,latitude,longitude,address_1,city,country,last_verified
line-1,Example Line,CRISIS_LINE,true,1-800-555-0199,24/7,,,,,,2026-11-01
clinic-1,Example Clinic,TREATMENT_PROVIDER,false,(512) 555-0100,,30.2672,-97.7431,100 Congress Ave,Austin,US,
broken,Broken,CRISIS_LINE,true,,,,,,,,
`

func TestImportIsIdempotentWithAPerRowReport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	run := func(doc string) (domain.ImportSummary, []domain.ImportResult) {
		t.Helper()
		recs, err := csvfile.Read(strings.NewReader(doc), "csv")
		if err != nil {
			t.Fatal(err)
		}
		var progress []int
		sum, results, err := f.svc.Import(ctx, kratom, domain.ImportRequest{Site: "kratom-help", Records: recs,
			Progress: func(done int, batch []domain.ImportResult) { progress = append(progress, done) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(progress) == 0 || progress[len(progress)-1] != len(recs) {
			t.Errorf("progress reports %v, want to end at %d", progress, len(recs))
		}
		return sum, results
	}
	sum, results := run(importCSV)
	if sum != (domain.ImportSummary{Created: 2, Skipped: 1}) {
		t.Errorf("first import: %+v", sum)
	}
	if results[2].Outcome != domain.ImportSkipped || results[2].Reason != domain.ReasonInvalid || !strings.HasPrefix(strings.Join(results[2].Violations, ";"), "crisis: ") {
		t.Errorf("broken row: %+v", results[2])
	}
	if results[0].ExternalID != "csv/line-1" || results[0].ResourceID == "" {
		t.Errorf("row 1: %+v", results[0])
	}
	created, err := f.svc.Get(ctx, kratom, results[1].ResourceID)
	if err != nil || created.Phones[0].Number != "+15125550100" || created.Locations[0].Coordinates.Lat != 30.2672 {
		t.Errorf("imported clinic: %+v %v", created, err)
	}

	sum, results = run(importCSV)
	if sum != (domain.ImportSummary{Skipped: 3}) || results[0].Reason != domain.ReasonUnchanged || results[1].Reason != domain.ReasonUnchanged {
		t.Errorf("second import of the same file: %+v %+v", sum, results)
	}
	if list, _ := f.svc.List(ctx, admin, domain.ResourceQuery{}); len(list) != 2 {
		t.Errorf("%d resources after two imports, want 2", len(list))
	}

	changed := strings.Replace(importCSV, "Example Clinic", "Example Clinic Downtown", 1)
	sum, results = run(changed)
	if sum != (domain.ImportSummary{Updated: 1, Skipped: 2}) || results[1].Outcome != domain.ImportUpdated {
		t.Errorf("import with one changed row: %+v %+v", sum, results)
	}
	clinic, _ := f.svc.Get(ctx, kratom, results[1].ResourceID)
	if clinic.DisplayName != "Example Clinic Downtown" || clinic.RevisionID != 2 {
		t.Errorf("updated clinic: %q revision %d", clinic.DisplayName, clinic.RevisionID)
	}
}

// TestHSDSRoundTripThroughTheStore exports a site's resources, imports the export into another
// database and expects the same resources; importing it into the first database changes nothing.
func TestHSDSRoundTripThroughTheStore(t *testing.T) {
	a, b := newFixture(t), newFixture(t)
	ctx := context.Background()
	recs, err := csvfile.Read(strings.NewReader(importCSV), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.svc.Import(ctx, admin, domain.ImportRequest{Site: "kratom-help", Records: recs}); err != nil {
		t.Fatal(err)
	}
	noIDs := crisisLine()
	noIDs.ExternalIDs = nil
	noIDs.DisplayName = "Made in the API"
	if _, err := a.svc.Create(ctx, admin, noIDs); err != nil {
		t.Fatal(err)
	}
	original, _ := a.svc.List(ctx, admin, domain.ResourceQuery{Sites: []string{"kratom-help"}})
	exported, err := hsds.Export(original)
	if err != nil {
		t.Fatal(err)
	}
	records, err := hsds.Read(exported, "hsds")
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := b.svc.Import(ctx, admin, domain.ImportRequest{Site: "kratom-help", Records: records})
	if err != nil || sum.Created != len(original) {
		t.Fatalf("import into a fresh store: %+v %v", sum, err)
	}
	imported, _ := b.svc.List(ctx, admin, domain.ResourceQuery{Sites: []string{"kratom-help"}})
	byName := func(rs []*domain.Resource) map[string]domain.Fields {
		m := map[string]domain.Fields{}
		for _, r := range rs {
			m[r.DisplayName] = r.Fields
		}
		return m
	}
	if diff := cmp.Diff(byName(original), byName(imported)); diff != "" {
		t.Errorf("resources changed in the round trip (-original +imported):\n%s", diff)
	}
	sum, results, err := a.svc.Import(ctx, admin, domain.ImportRequest{Site: "kratom-help", Records: records})
	if err != nil || sum != (domain.ImportSummary{Skipped: len(original)}) {
		t.Errorf("re-import into the exporting store: %+v %+v %v", sum, results, err)
	}
}

// TestIndexFollowsTheChangeLog runs a second index on the same database, as another replica would,
// and expects it to see a write within a second.
func TestIndexFollowsTheChangeLog(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	// The replica's own store: a head move by another process's writes is never its own.
	replica := index.New(store.New(f.db, mongodb.NewDocLocks(), nil, nil), 50*time.Millisecond, slog.New(slog.DiscardHandler))
	if err := replica.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- replica.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	r, err := f.svc.Create(context.Background(), admin, crisisLine())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, ok := replica.Get(r.ID); ok && got.RevisionID == r.RevisionID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica's index did not see the write within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// An import logs its rows a batch at a time (one entry per batch), and the replica takes them.
	var b strings.Builder
	b.WriteString("external_id,name,kind,phones\n")
	for i := range 150 {
		fmt.Fprintf(&b, "batch-%d,Group %d,SUPPORT_GROUP,(512) 555-0100\n", i, i)
	}
	records, err := csvfile.Read(strings.NewReader(b.String()), "csv")
	if err != nil {
		t.Fatal(err)
	}
	sum, results, err := f.svc.Import(context.Background(), admin, domain.ImportRequest{Site: "kratom-help", Records: records})
	if err != nil || sum.Created != 150 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	entries, err := f.store.ListChanges(mongodb.WithScan(context.Background(), "test: read the change log"), time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1+150 { // the create above, then the 150 rows
		t.Errorf("the change log names %d changes, want 151", len(entries))
	}
	// Two stored entries: the create's, and the first batch of 100 rows.
	if two, err := f.store.ListChanges(mongodb.WithScan(context.Background(), "test: read the change log"), time.Time{}, 2); err != nil || len(two) != 1+100 {
		t.Errorf("the first two entries name %d changes (%v), want 101: the create and a batch of 100 rows", len(two), err)
	}
	for _, res := range []domain.ImportResult{results[0], results[149]} {
		for {
			if got, ok := replica.Get(res.ResourceID); ok && got.RevisionID == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica's index did not see imported row %d within 5 s", res.Row)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Directories follow the same log: a slug change moves the replica's slug lookup.
	dirs := domain.NewDirectoryService(f.store, f.index, f.index, f.sites, f.linter, func() time.Time { return *f.clock }, nil, slog.New(slog.DiscardHandler))
	d, err := dirs.Create(context.Background(), kratom, domain.DirectoryFields{Title: "Lines", Site: "kratom-help", Entries: []domain.DirectoryEntry{{ResourceID: r.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dirs.Update(context.Background(), kratom, d.ID, d.Etag(), domain.DirectoryFields{Slug: "crisis-lines"}, []string{"slug"}); err != nil {
		t.Fatal(err)
	}
	for {
		_, oldSlug := replica.DirectoryBySlug("kratom-help", "lines")
		got, ok := replica.DirectoryBySlug("kratom-help", "crisis-lines")
		if ok && !oldSlug && got.ID == d.ID && got.RevisionID == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica's index did not see the directory writes within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServiceLintsResourceTexts: a description that uses a stigmatising label is refused on
// create and update, naming the field, and skipped on import with the finding as the row's
// violation; the organization's own name passes.
func TestServiceLintsResourceTexts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fields := crisisLine()
	fields.Description = "We help addicts day and night."
	_, err := f.svc.Create(ctx, kratom, fields)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.FailedPrecondition || len(e.Fields) != 1 ||
		e.Fields[0].Rule != "LINT_STIGMATISING_TERM" || e.Fields[0].Field != "resource.description" || !strings.Contains(e.Fields[0].Description, `"addicts"`) {
		t.Fatalf("create: %v, want FAILED_PRECONDITION naming resource.description", err)
	}

	fields = crisisLine()
	fields.OrganizationName = "Council on Alcohol and Drug Abuse"
	fields.Description = "Run by the Council on Alcohol and Drug Abuse. Confidential, free, day and night."
	r, err := f.svc.Create(ctx, kratom, fields)
	if err != nil {
		t.Fatalf("create naming the organization: %v", err)
	}
	_, err = f.svc.Update(ctx, kratom, r.ID, r.Etag(), domain.Fields{Eligibility: "No junkies."}, []string{"eligibility"})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.FailedPrecondition || e.Fields[0].Field != "resource.eligibility" {
		t.Fatalf("update: %v, want FAILED_PRECONDITION naming resource.eligibility", err)
	}

	recs, err := csvfile.Read(strings.NewReader("external_id,name,kind,crisis,phones,hours,description\nline-9,Line Nine,CRISIS_LINE,true,1-800-555-0199,24/7,For addicts and their families.\n"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	sum, results, err := f.svc.Import(ctx, kratom, domain.ImportRequest{Site: "kratom-help", Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || results[0].Reason != domain.ReasonInvalid || !strings.HasPrefix(strings.Join(results[0].Violations, ";"), "description: stigmatising-term") {
		t.Errorf("import: %+v %+v", sum, results)
	}
}
