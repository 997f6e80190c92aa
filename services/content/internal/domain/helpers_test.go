package domain_test

import (
	"context"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// t0 is the fixtures' start time. The service's clock is a fake; the store keeps its own.
var t0 = time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)

// The callers of the tests. The domain does not check roles (the auth policy does), only sites.
var (
	admin   = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}
	editorA = auth.Principal{KeyName: "apiKeys/editor-a", Role: auth.RoleEditor, Site: "site-a"}
	editorB = auth.Principal{KeyName: "apiKeys/editor-b", Role: auth.RoleEditor, Site: "site-b"}
)

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Service on the real store over a fresh database, with a site catalog holding
// site-a and site-b.
type fixture struct {
	svc    *domain.Service
	store  *store.Store
	db     *mongo.Database
	clock  *clock
	logger *slog.Logger
	locks  *mongodb.DocLocks // the process's one set, shared by every Store of the fixture
	sites  *fakeSites
	linter *claimlint.Engine
}

// fakeSites is an in-memory domain.SiteCatalog.
type fakeSites struct {
	mu    sync.Mutex
	sites map[string]domain.Site
}

func (f *fakeSites) Site(_ context.Context, id string) (domain.Site, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sites[id]
	return s, ok, nil
}

func (f *fakeSites) DeletedSites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, s := range f.sites {
		if s.Deleted() {
			out = append(out, id)
		}
	}
	return out
}

// add makes a live site.
func (f *fakeSites) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sites[id] = domain.Site{ID: id, DisplayName: "Site " + id, BaseURL: "https://" + id + ".example.org"}
}

// setDeleted soft-deletes or undeletes a site.
func (f *fakeSites) setDeleted(id string, deleted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sites[id]
	s.DeleteTime = time.Time{}
	if deleted {
		s.DeleteTime = t0
	}
	f.sites[id] = s
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := mongodb.Migrate(context.Background(), db, store.Migrations(), logger); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	f := &fixture{db: db, clock: &clock{now: t0}, logger: logger, locks: mongodb.NewDocLocks(), sites: &fakeSites{sites: map[string]domain.Site{}}}
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	f.linter = linter
	f.store = store.New(db, f.locks, logger)
	if err := f.store.LoadIndex(context.Background()); err != nil {
		tb.Fatalf("loading the article index: %v", err)
	}
	f.svc = f.serviceOn(f.store)
	f.sites.add("site-a")
	f.sites.add("site-b")
	return f
}

// serviceOn returns another Service, on st, sharing the fixture's clock.
func (f *fixture) serviceOn(st domain.ArticleStore) *domain.Service {
	return domain.NewService(st, f.sites, markdown.NewRenderer(), f.linter, f.clock.Now, f.logger)
}

// draft returns minimal valid content.
func draft(title string, sites ...string) domain.Content {
	return domain.Content{Title: title, Summary: "Summary of " + title, Body: "## " + title + "\n\nBody.", TargetSites: sites}
}

func (f *fixture) create(tb testing.TB, p auth.Principal, c domain.Content) *domain.Article {
	tb.Helper()
	a, err := f.svc.CreateArticle(context.Background(), p, c)
	if err != nil {
		tb.Fatalf("CreateArticle(%q): %v", c.Title, err)
	}
	return a
}

// get reads an article as admin.
func (f *fixture) get(tb testing.TB, id string) *domain.Article {
	tb.Helper()
	a, err := f.svc.GetArticle(context.Background(), admin, id)
	if err != nil {
		tb.Fatalf("GetArticle(%s): %v", id, err)
	}
	return a
}

func (f *fixture) publish(tb testing.TB, a *domain.Article) *domain.Article {
	tb.Helper()
	out, err := f.svc.PublishArticle(context.Background(), admin, a.ID, a.Etag())
	if err != nil {
		tb.Fatalf("PublishArticle(%s): %v", a.ID, err)
	}
	return out
}

// actions returns the actions of an article's revisions, newest first.
func (f *fixture) actions(tb testing.TB, id string) []string {
	tb.Helper()
	revs, err := f.svc.ListRevisions(context.Background(), admin, id, 0, 100)
	if err != nil {
		tb.Fatalf("ListRevisions(%s): %v", id, err)
	}
	out := make([]string, len(revs))
	for i, r := range revs {
		out[i] = r.Change.Action
	}
	return out
}

// wantCode fails unless err is an application error with code (or nil when code is "").
func wantCode(tb testing.TB, err error, code apperr.Code) {
	tb.Helper()
	if code == "" {
		if err != nil {
			tb.Fatalf("got error %v, want none", err)
		}
		return
	}
	if !apperr.Is(err, code) {
		tb.Fatalf("got error %v (code %q), want code %q", err, apperr.CodeOf(err), code)
	}
}

// articleCmp compares articles as stored and as returned: the live snapshot's search text is
// derived and kept only in delivery's copy (see domain.Snapshot.SearchText).
var articleCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(domain.Snapshot{}, "SearchText")}
