package domain_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
	"github.com/beaconcms/beacon/services/sites/internal/store"
)

var t0 = time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)

var (
	admin   = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}
	adminA  = auth.Principal{KeyName: "apiKeys/admin-a", Role: auth.RoleAdmin, Site: "site-a"}
	viewerA = auth.Principal{KeyName: "apiKeys/viewer-a", Role: auth.RoleViewer, Site: "site-a"}
)

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

// newService returns a Service on the real store over a fresh database holding site-a and
// site-b, its clock, and the sites its watcher saw.
func newService(tb testing.TB) (*domain.Service, *clock, *[]domain.Site) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(context.Background(), db, store.Migrations(""), nil); err != nil {
		tb.Fatal(err)
	}
	c := &clock{now: t0}
	svc := domain.NewService(store.New(db, mongodb.NewDocLocks(), nil), c.Now, nil)
	var mu sync.Mutex
	seen := &[]domain.Site{}
	svc.Watch(func(s domain.Site) { mu.Lock(); *seen = append(*seen, s); mu.Unlock() })
	for _, id := range []string{"site-a", "site-b"} {
		if _, err := svc.CreateSite(context.Background(), admin, &domain.Site{ID: id, DisplayName: "Site " + id, BaseURL: "https://" + id + ".example.org"}); err != nil {
			tb.Fatalf("CreateSite(%s): %v", id, err)
		}
	}
	return svc, c, seen
}

func wantCode(tb testing.TB, err error, code apperr.Code) {
	tb.Helper()
	if apperr.CodeOf(err) != code || (code == "" && err != nil) {
		tb.Fatalf("got error %v (code %q), want code %q", err, apperr.CodeOf(err), code)
	}
}

func violatedFields(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestCreateSite(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := t.Context()
	tests := []struct {
		name       string
		p          auth.Principal
		site       domain.Site
		want       apperr.Code
		wantFields []string
		check      func(t *testing.T, s *domain.Site)
	}{
		{name: "normalized with defaults", p: admin, site: domain.Site{ID: "site-c", DisplayName: "  Site C ", BaseURL: "https://c.example.org/ "},
			check: func(t *testing.T, s *domain.Site) {
				want := domain.Site{ID: "site-c", DisplayName: "Site C", BaseURL: "https://c.example.org", DefaultLocale: "en", CreateTime: t0, UpdateTime: t0, Revision: 1}
				if diff := cmp.Diff(want, *s); diff != "" {
					t.Errorf("created site (-want +got):\n%s", diff)
				}
			}},
		{name: "bad id", p: admin, site: domain.Site{ID: "Site_C", DisplayName: "C", BaseURL: "https://c.example.org"}, want: apperr.Invalid, wantFields: []string{"site_id"}},
		{name: "id too long", p: admin, site: domain.Site{ID: strings.Repeat("a", 64), DisplayName: "C", BaseURL: "https://c.example.org"}, want: apperr.Invalid, wantFields: []string{"site_id"}},
		{name: "bad fields", p: admin, site: domain.Site{ID: "site-d", BaseURL: "c.example.org", DefaultLocale: "english!", CacheMaxAgeSeconds: 86401},
			want: apperr.Invalid, wantFields: []string{"site.display_name", "site.base_url", "site.default_locale", "site.cache_max_age_seconds"}},
		// The base URLs that once made a site's sitemap and feed fail: refused at write time.
		{name: "base URL with a space", p: admin, site: domain.Site{ID: "site-u1", DisplayName: "U", BaseURL: "https://u.example.org/a b"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with a quote", p: admin, site: domain.Site{ID: "site-u2", DisplayName: "U", BaseURL: `https://u.example.org/"`}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with braces", p: admin, site: domain.Site{ID: "site-u3", DisplayName: "U", BaseURL: "https://u.example.org/{x}"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with a pipe", p: admin, site: domain.Site{ID: "site-u4", DisplayName: "U", BaseURL: "https://u.example.org/|"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with angle brackets", p: admin, site: domain.Site{ID: "site-u5", DisplayName: "U", BaseURL: "https://u.example.org/<x>"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with a backslash", p: admin, site: domain.Site{ID: "site-u6", DisplayName: "U", BaseURL: `https://u.example.org\x`}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with port 99999", p: admin, site: domain.Site{ID: "site-u7", DisplayName: "U", BaseURL: "https://u.example.org:99999"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "base URL with a query", p: admin, site: domain.Site{ID: "site-u8", DisplayName: "U", BaseURL: "https://u.example.org/?x=1"}, want: apperr.Invalid, wantFields: []string{"site.base_url"}},
		{name: "crisis line too long", p: admin, site: domain.Site{ID: "site-e", DisplayName: "E", BaseURL: "https://e.example.org", CrisisLineText: strings.Repeat("x", 501)},
			want: apperr.Invalid, wantFields: []string{"site.crisis_line_text"}},
		{name: "taken id", p: admin, site: domain.Site{ID: "site-a", DisplayName: "A", BaseURL: "https://a.example.org"}, want: apperr.AlreadyExists},
		{name: "site-limited key", p: adminA, site: domain.Site{ID: "site-f", DisplayName: "F", BaseURL: "https://f.example.org"}, want: apperr.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := tt.site
			got, err := svc.CreateSite(ctx, tt.p, &site)
			wantCode(t, err, tt.want)
			if diff := cmp.Diff(tt.wantFields, violatedFields(err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestUpdateSite(t *testing.T) {
	svc, c, _ := newService(t)
	ctx := t.Context()
	cur, err := svc.GetSite(ctx, admin, "site-b")
	wantCode(t, err, "")
	c.Advance(time.Minute)
	upd, err := svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-b", DisplayName: "ignored", CrisisLineText: "Call 988", Public: true}, []string{"crisis_line_text", "public"}, cur.Etag())
	wantCode(t, err, "")
	want := *cur
	want.CrisisLineText, want.Public, want.Revision, want.UpdateTime = "Call 988", true, 2, t0.Add(time.Minute)
	if diff := cmp.Diff(&want, upd); diff != "" {
		t.Errorf("updated site (-want +got):\n%s", diff)
	}
	_, err = svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-b", DisplayName: "x"}, []string{"display_name"}, cur.Etag())
	wantCode(t, err, apperr.Conflict)
	_, err = svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-b"}, []string{"name"}, "")
	if diff := cmp.Diff([]string{"update_mask"}, violatedFields(err)); diff != "" {
		t.Errorf("violated fields (-want +got):\n%s", diff)
	}
	_, err = svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-b", BaseURL: "nope"}, []string{"base_url"}, "")
	if diff := cmp.Diff([]string{"site.base_url"}, violatedFields(err)); diff != "" {
		t.Errorf("violated fields (-want +got):\n%s", diff)
	}
	_, err = svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-zz"}, nil, "")
	wantCode(t, err, apperr.NotFound)
	_, err = svc.UpdateSite(ctx, adminA, &domain.Site{ID: "site-b", DisplayName: "x"}, []string{"display_name"}, "")
	wantCode(t, err, apperr.NotFound)
	if got, _ := svc.GetSite(ctx, admin, "site-b"); got.Revision != 2 {
		t.Errorf("refused updates changed the site to revision %d", got.Revision)
	}
}

// TestSoftDelete follows AIP-164: delete keeps the site with delete_time, get still returns it,
// lists hide it unless show_deleted, its id is never reused, and undelete restores it.
func TestSoftDelete(t *testing.T) {
	svc, c, seen := newService(t)
	ctx := t.Context()
	before, err := svc.GetSite(ctx, admin, "site-b")
	wantCode(t, err, "")

	_, err = svc.DeleteSite(ctx, adminA, "site-a", "")
	wantCode(t, err, apperr.PermissionDenied)
	_, err = svc.DeleteSite(ctx, adminA, "site-b", "")
	wantCode(t, err, apperr.NotFound)
	_, err = svc.DeleteSite(ctx, admin, "site-b", "stale-etag")
	wantCode(t, err, apperr.Conflict)

	c.Advance(time.Minute)
	deleted, err := svc.DeleteSite(ctx, admin, "site-b", before.Etag())
	wantCode(t, err, "")
	if !deleted.DeleteTime.Equal(t0.Add(time.Minute)) || deleted.Revision != before.Revision+1 {
		t.Errorf("deleted site = %+v; want delete_time %v and the next revision", deleted, t0.Add(time.Minute))
	}
	if got := (*seen)[len(*seen)-1]; got.ID != "site-b" || !got.Deleted() {
		t.Errorf("watchers last saw %+v, want the deleted site-b", got)
	}
	got, err := svc.GetSite(ctx, admin, "site-b")
	wantCode(t, err, "")
	if !got.Deleted() {
		t.Errorf("GetSite of a deleted site = %+v, want delete_time set", got)
	}
	_, err = svc.DeleteSite(ctx, admin, "site-b", "")
	wantCode(t, err, apperr.FailedPrecondition)
	_, err = svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-b", DisplayName: "x"}, []string{"display_name"}, "")
	wantCode(t, err, apperr.FailedPrecondition)

	listIDs := func(p auth.Principal, showDeleted bool) []string {
		sites, err := svc.ListSites(ctx, p, "", 10, showDeleted)
		wantCode(t, err, "")
		var ids []string
		for _, s := range sites {
			ids = append(ids, s.ID)
		}
		return ids
	}
	if diff := cmp.Diff([]string{"site-a"}, listIDs(admin, false)); diff != "" {
		t.Errorf("ListSites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"site-a", "site-b"}, listIDs(admin, true)); diff != "" {
		t.Errorf("ListSites show_deleted (-want +got):\n%s", diff)
	}

	_, err = svc.CreateSite(ctx, admin, &domain.Site{ID: "site-b", DisplayName: "New B", BaseURL: "https://new-b.example.org"})
	wantCode(t, err, apperr.AlreadyExists)
	if !strings.Contains(err.Error(), "undelete") {
		t.Errorf("re-creating a deleted site's id: %q does not say to undelete it", err)
	}

	_, err = svc.UndeleteSite(ctx, adminA, "site-a")
	wantCode(t, err, apperr.PermissionDenied)
	_, err = svc.UndeleteSite(ctx, admin, "site-a")
	wantCode(t, err, apperr.FailedPrecondition)
	restored, err := svc.UndeleteSite(ctx, admin, "site-b")
	wantCode(t, err, "")
	if restored.Deleted() || restored.DisplayName != before.DisplayName || restored.BaseURL != before.BaseURL {
		t.Errorf("undeleted site = %+v, want it as it was before the delete", restored)
	}
	if diff := cmp.Diff([]string{"site-a", "site-b"}, listIDs(admin, false)); diff != "" {
		t.Errorf("ListSites after undelete (-want +got):\n%s", diff)
	}
}

func TestSiteScopedKeys(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := t.Context()
	_, err := svc.GetSite(ctx, viewerA, "site-b")
	wantCode(t, err, apperr.NotFound)
	_, err = svc.GetSite(ctx, viewerA, "site-a")
	wantCode(t, err, "")
	sites, err := svc.ListSites(ctx, viewerA, "", 10, false)
	if err != nil || len(sites) != 1 || sites[0].ID != "site-a" {
		t.Errorf("ListSites(viewer of site-a) = %v, %v; want site-a only", sites, err)
	}
	editorB := auth.Principal{KeyName: "apiKeys/editor-b", Role: auth.RoleEditor, Site: "site-b"}
	for _, tc := range []struct {
		p     auth.Principal
		after string
		want  []string
	}{
		{viewerA, "", []string{"site-a"}},
		{viewerA, "site-a", nil},
		{editorB, "site-a", []string{"site-b"}},
		{admin, "", []string{"site-a", "site-b"}},
		{admin, "site-a", []string{"site-b"}},
	} {
		got, err := svc.ListSites(ctx, tc.p, tc.after, 10, false)
		wantCode(t, err, "")
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("%s after %q: listed (-want +got):\n%s", tc.p.KeyName, tc.after, diff)
		}
	}
	if _, err := svc.DeleteSite(ctx, admin, "site-a", ""); err != nil {
		t.Fatal(err)
	}
	if sites, err := svc.ListSites(ctx, viewerA, "", 10, false); err != nil || len(sites) != 0 {
		t.Errorf("ListSites(viewer of deleted site-a) = %v, %v; want none", sites, err)
	}
	if sites, err := svc.ListSites(ctx, viewerA, "", 10, true); err != nil || len(sites) != 1 {
		t.Errorf("ListSites(viewer of deleted site-a, show_deleted) = %v, %v; want site-a", sites, err)
	}
}

// TestAllowedOrigins: a site's allowed origins are normalized as browsers send them, checked
// one by one (each violation names its entry), written as a whole by update_mask
// "allowed_origins", and read back from the store.
func TestAllowedOrigins(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := t.Context()
	tests := []struct {
		name       string
		origins    []string
		want       []string // stored, when accepted
		wantFields []string
	}{
		{name: "normalized", origins: []string{" https://WWW.Example.org/ ", "http://localhost:5173"},
			want: []string{"https://www.example.org", "http://localhost:5173"}},
		{name: "any origin alone", origins: []string{"*"}, want: []string{"*"}},
		{name: "cleared", origins: []string{}, want: nil},
		{name: "any origin with another", origins: []string{"https://a.example.org", "*"}, wantFields: []string{"site.allowed_origins[1]"}},
		{name: "wildcard host", origins: []string{"https://*.example.org"}, wantFields: []string{"site.allowed_origins[0]"}},
		{name: "path", origins: []string{"https://a.example.org/app"}, wantFields: []string{"site.allowed_origins[0]"}},
		{name: "not http", origins: []string{"https://a.example.org", "ftp://a.example.org"}, wantFields: []string{"site.allowed_origins[1]"}},
		{name: "default port", origins: []string{"https://a.example.org:443"}, wantFields: []string{"site.allowed_origins[0]"}},
		{name: "named twice", origins: []string{"https://a.example.org", "https://A.example.org/"}, wantFields: []string{"site.allowed_origins[1]"}},
		{name: "too many", origins: func() []string {
			var out []string
			for i := range 21 {
				out = append(out, "https://o"+strings.Repeat("x", i)+".example.org")
			}
			return out
		}(), wantFields: []string{"site.allowed_origins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.UpdateSite(ctx, admin, &domain.Site{ID: "site-a", AllowedOrigins: tt.origins}, []string{"allowed_origins"}, "")
			if diff := cmp.Diff(tt.wantFields, violatedFields(err)); diff != "" {
				t.Fatalf("violated fields (-want +got):\n%s (err %v)", diff, err)
			}
			if tt.wantFields != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got.AllowedOrigins); diff != "" {
				t.Errorf("returned origins (-want +got):\n%s", diff)
			}
			stored, err := svc.GetSite(ctx, admin, "site-a")
			wantCode(t, err, "")
			if diff := cmp.Diff(tt.want, stored.AllowedOrigins); diff != "" {
				t.Errorf("stored origins (-want +got):\n%s", diff)
			}
		})
	}
	created, err := svc.CreateSite(ctx, admin, &domain.Site{ID: "site-o", DisplayName: "O", BaseURL: "https://o.example.org", AllowedOrigins: []string{"https://o.example.org"}})
	wantCode(t, err, "")
	if diff := cmp.Diff([]string{"https://o.example.org"}, created.AllowedOrigins); diff != "" {
		t.Errorf("created origins (-want +got):\n%s", diff)
	}
}
