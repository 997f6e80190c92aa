package api_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// badRequestFields returns the field names of err's google.rpc.BadRequest, or nil.
func badRequestFields(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// sitesEnv serves the APIs with a clock that ticks a second per reading (so creation order is
// time order) and sites site-a, site-b and the deleted gone.
func sitesEnv(tb testing.TB) *env {
	tb.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	return newEnv(tb, tick, catalog{"site-a": {ID: "site-a"}, "site-b": {ID: "site-b"}, "gone": {ID: "gone", Deleted: true}})
}

func mustCreateResource(tb testing.TB, e *env, r *resourcesv1.Resource) *resourcesv1.Resource {
	tb.Helper()
	out, err := e.resources.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: r})
	if err != nil {
		tb.Fatalf("CreateResource(%s): %v", r.GetDisplayName(), err)
	}
	return out
}

func mustCreateDirectory(tb testing.TB, e *env, key string, d *resourcesv1.Directory) *resourcesv1.Directory {
	tb.Helper()
	out, err := e.directories.CreateDirectory(as(key), &resourcesv1.CreateDirectoryRequest{Directory: d})
	if err != nil {
		tb.Fatalf("CreateDirectory(%s): %v", d.GetTitle(), err)
	}
	return out
}

func entries(names ...string) []*resourcesv1.DirectoryEntry {
	var out []*resourcesv1.DirectoryEntry
	for _, n := range names {
		out = append(out, &resourcesv1.DirectoryEntry{Resource: n})
	}
	return out
}

func TestDirectoryLifecycleOverGRPC(t *testing.T) {
	e := sitesEnv(t)
	a := mustCreateResource(t, e, line("Line A", "sites/site-a"))
	b := mustCreateResource(t, e, line("Line B", "sites/site-a"))

	d := mustCreateDirectory(t, e, keyEditorA, &resourcesv1.Directory{Title: "  Online Communities ", Site: "sites/site-a", Intro: "Peer *support*.",
		Entries: []*resourcesv1.DirectoryEntry{{Resource: a.GetName(), Note: " Best for family "}}})
	if d.GetSlug() != "online-communities" || d.GetTitle() != "Online Communities" || d.GetEntries()[0].GetNote() != "Best for family" ||
		!strings.Contains(d.GetIntroHtml(), "<em>support</em>") || d.GetRevisionId() != 1 || d.GetEtag() == "" {
		t.Errorf("created %v", d)
	}
	got, err := e.directories.GetDirectory(as(keyViewer), &resourcesv1.GetDirectoryRequest{Name: d.GetName()})
	if err != nil || got.GetEtag() != d.GetEtag() {
		t.Fatalf("GetDirectory: %v %v", got, err)
	}

	upd, err := e.directories.UpdateDirectory(as(keyEditorA), &resourcesv1.UpdateDirectoryRequest{
		Directory:  &resourcesv1.Directory{Name: d.GetName(), Etag: d.GetEtag(), Title: "ignored", Entries: entries(b.GetName(), a.GetName())},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"entries", "update_time"}},
	})
	if err != nil || upd.GetTitle() != "Online Communities" || len(upd.GetEntries()) != 2 || upd.GetEntries()[0].GetResource() != b.GetName() || upd.GetRevisionId() != 2 {
		t.Fatalf("UpdateDirectory: %v %v", upd, err)
	}
	if _, err := e.directories.UpdateDirectory(as(keyEditorA), &resourcesv1.UpdateDirectoryRequest{
		Directory: &resourcesv1.Directory{Name: d.GetName(), Etag: d.GetEtag(), Title: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	}); codeOf(err) != codes.Aborted {
		t.Errorf("update with a stale etag: %v, want ABORTED", err)
	}

	del, err := e.directories.DeleteDirectory(as(keyEditorA), &resourcesv1.DeleteDirectoryRequest{Name: d.GetName(), Etag: upd.GetEtag()})
	if err != nil || del.GetDeleteTime() == nil {
		t.Fatalf("DeleteDirectory: %v %v", del, err)
	}
	// The slug is free again; the deleted directory cannot come back while another holds it.
	again := mustCreateDirectory(t, e, keyEditorA, &resourcesv1.Directory{Title: "Online communities", Site: "sites/site-a", Entries: entries(a.GetName())})
	if _, err := e.directories.UndeleteDirectory(as(keyEditorA), &resourcesv1.UndeleteDirectoryRequest{Name: d.GetName()}); codeOf(err) != codes.AlreadyExists ||
		!slices.Equal(badRequestFields(err), []string{"directory.slug"}) {
		t.Errorf("undelete while the slug is taken: %v (fields %v), want ALREADY_EXISTS naming directory.slug", err, badRequestFields(err))
	}
	if _, err := e.directories.DeleteDirectory(as(keyEditorA), &resourcesv1.DeleteDirectoryRequest{Name: again.GetName()}); err != nil {
		t.Fatal(err)
	}
	if u, err := e.directories.UndeleteDirectory(as(keyEditorA), &resourcesv1.UndeleteDirectoryRequest{Name: d.GetName()}); err != nil || u.GetDeleteTime() != nil {
		t.Errorf("undelete once the slug is free: %v %v", u, err)
	}

	revs, err := e.directories.ListDirectoryRevisions(as(keyViewer), &resourcesv1.ListDirectoryRevisionsRequest{Name: d.GetName(), PageSize: 2})
	if err != nil || len(revs.GetRevisions()) != 2 || revs.GetRevisions()[0].GetAction() != "undelete" || revs.GetNextPageToken() == "" {
		t.Fatalf("revisions page 1: %v %v", revs, err)
	}
	revs2, err := e.directories.ListDirectoryRevisions(as(keyViewer), &resourcesv1.ListDirectoryRevisionsRequest{Name: d.GetName(), PageSize: 2, PageToken: revs.GetNextPageToken()})
	if err != nil || len(revs2.GetRevisions()) != 2 || revs2.GetRevisions()[1].GetAction() != "create" ||
		!slices.Equal(revs2.GetRevisions()[0].GetChangedFields(), []string{"entries"}) {
		t.Errorf("revisions page 2: %v %v", revs2, err)
	}
}

// TestDirectoryEntriesNameTheirResources: a directory read names each entry's resource from
// the index (output only: a name sent in is ignored), and names none for a resource deleted or
// moved off the directory's site since.
func TestDirectoryEntriesNameTheirResources(t *testing.T) {
	e := sitesEnv(t)
	a := mustCreateResource(t, e, line("Line A", "sites/site-a"))
	b := mustCreateResource(t, e, line("Line B", "sites/site-a"))
	c := mustCreateResource(t, e, line("Line C", "sites/site-a", "sites/site-b"))
	d := mustCreateDirectory(t, e, keyEditorA, &resourcesv1.Directory{Title: "Lines", Site: "sites/site-a", Entries: []*resourcesv1.DirectoryEntry{
		{Resource: a.GetName(), DisplayName: "Forged"}, {Resource: b.GetName()}, {Resource: c.GetName()}}})
	names := func(d *resourcesv1.Directory) []string {
		var out []string
		for _, e := range d.GetEntries() {
			out = append(out, e.GetDisplayName())
		}
		return out
	}
	if got, want := names(d), []string{"Line A", "Line B", "Line C"}; !slices.Equal(got, want) {
		t.Errorf("created directory names %q, want %q", got, want)
	}
	if _, err := e.resources.DeleteResource(as(keyAdmin), &resourcesv1.DeleteResourceRequest{Name: b.GetName()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.resources.UpdateResource(as(keyAdmin), &resourcesv1.UpdateResourceRequest{
		Resource:   &resourcesv1.Resource{Name: c.GetName(), Etag: c.GetEtag(), TargetSites: []string{"sites/site-b"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"target_sites"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.directories.GetDirectory(as(keyViewer), &resourcesv1.GetDirectoryRequest{Name: d.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(got), []string{"Line A", "", ""}; !slices.Equal(got, want) {
		t.Errorf("after deleting B and moving C to site-b the directory names %q, want %q", got, want)
	}
}

func TestListDirectoriesFiltersOrdersAndPages(t *testing.T) {
	e := sitesEnv(t)
	a := mustCreateResource(t, e, line("A", "sites/site-a"))
	bRes := mustCreateResource(t, e, line("B", "sites/site-b"))
	for _, title := range []string{"Charlie", "Alpha", "Bravo"} {
		mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: title, Site: "sites/site-a", Entries: entries(a.GetName())})
	}
	mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: "Alpha", Site: "sites/site-b", Entries: entries(bRes.GetName())})

	list := func(key string, req *resourcesv1.ListDirectoriesRequest) []string {
		t.Helper()
		var got []string
		for {
			resp, err := e.directories.ListDirectories(as(key), req)
			if err != nil {
				t.Fatalf("ListDirectories(%v): %v", req, err)
			}
			for _, d := range resp.GetDirectories() {
				got = append(got, strings.TrimPrefix(d.GetSite(), "sites/")+":"+d.GetSlug())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return got
			}
		}
	}
	tests := []struct {
		name string
		key  string
		req  *resourcesv1.ListDirectoriesRequest
		want []string
	}{
		{"site-a by title, pages of 2", keyViewer, &resourcesv1.ListDirectoriesRequest{Filter: `site = "sites/site-a"`, OrderBy: "title", PageSize: 2},
			[]string{"site-a:alpha", "site-a:bravo", "site-a:charlie"}},
		{"slug across sites", keyViewer, &resourcesv1.ListDirectoriesRequest{Filter: `slug = "alpha"`, OrderBy: "create_time"},
			[]string{"site-a:alpha", "site-b:alpha"}},
		{"site-a's key sees site-a only", keyEditorA, &resourcesv1.ListDirectoriesRequest{OrderBy: "title", PageSize: 1},
			[]string{"site-a:alpha", "site-a:bravo", "site-a:charlie"}},
		{"site-a's key asking for site-b", keyEditorA, &resourcesv1.ListDirectoriesRequest{Filter: `site = "site-b"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, list(tt.key, tt.req)); diff != "" {
				t.Errorf("listed (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := e.directories.ListDirectories(as(keyViewer), &resourcesv1.ListDirectoriesRequest{OrderBy: "slug"}); codeOf(err) != codes.InvalidArgument ||
		!slices.Equal(badRequestFields(err), []string{"order_by"}) {
		t.Errorf("order by slug: %v, want INVALID_ARGUMENT naming order_by", err)
	}
	if _, err := e.directories.ListDirectories(as(keyViewer), &resourcesv1.ListDirectoriesRequest{Filter: `title = "x"`}); codeOf(err) != codes.InvalidArgument {
		t.Errorf("filter on title: %v, want INVALID_ARGUMENT", err)
	}
}

// TestDirectoryValidationNamesFields: every bad input gets its code and the field's name.
func TestDirectoryValidationNamesFields(t *testing.T) {
	e := sitesEnv(t)
	a := mustCreateResource(t, e, line("A", "sites/site-a"))
	bRes := mustCreateResource(t, e, line("B", "sites/site-b"))
	gone := mustCreateResource(t, e, line("Gone", "sites/site-a"))
	if _, err := e.resources.DeleteResource(as(keyAdmin), &resourcesv1.DeleteResourceRequest{Name: gone.GetName()}); err != nil {
		t.Fatal(err)
	}
	existing := mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: "Taken", Site: "sites/site-a", Entries: entries(a.GetName())})

	create := func(d *resourcesv1.Directory) error {
		_, err := e.directories.CreateDirectory(as(keyAdmin), &resourcesv1.CreateDirectoryRequest{Directory: d})
		return err
	}
	update := func(d *resourcesv1.Directory, paths ...string) error {
		_, err := e.directories.UpdateDirectory(as(keyAdmin), &resourcesv1.UpdateDirectoryRequest{Directory: d, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return err
	}
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		fields []string
	}{
		{"no directory", create(nil), codes.InvalidArgument, []string{"directory"}},
		{"no title", create(&resourcesv1.Directory{Site: "sites/site-a", Entries: entries(a.GetName())}), codes.InvalidArgument, []string{"directory.title", "directory.slug"}},
		{"bad site name", create(&resourcesv1.Directory{Title: "T", Site: "site-a", Entries: entries(a.GetName())}), codes.InvalidArgument, []string{"directory.site"}},
		{"bad entry name", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Entries: entries("res/1")}), codes.InvalidArgument, []string{"directory.entries[0].resource"}},
		{"repeated entry", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Entries: entries(a.GetName(), a.GetName())}), codes.InvalidArgument, []string{"directory.entries[1].resource"}},
		{"neither entries nor rule", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a"}), codes.InvalidArgument, []string{"directory.entries"}},
		{"bad rule kind", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Rule: &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{42}}}),
			codes.InvalidArgument, []string{"directory.rule.kinds[0]"}},
		{"bad rule region", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Rule: &resourcesv1.DirectoryRule{Region: &resourcesv1.ServiceArea{Country: "USA"}}}),
			codes.InvalidArgument, []string{"directory.rule.region.country"}},
		{"bad slug", create(&resourcesv1.Directory{Title: "T", Slug: "---", Site: "sites/site-a", Entries: entries(a.GetName())}), codes.InvalidArgument, []string{"directory.slug"}},
		{"unknown site", create(&resourcesv1.Directory{Title: "T", Site: "sites/nowhere", Entries: entries(a.GetName())}), codes.FailedPrecondition, []string{"directory.site", "directory.entries[0].resource"}},
		{"deleted site", create(&resourcesv1.Directory{Title: "T", Site: "sites/gone", Rule: &resourcesv1.DirectoryRule{}}), codes.FailedPrecondition, []string{"directory.site"}},
		{"resource of another site", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Entries: entries(bRes.GetName())}), codes.FailedPrecondition, []string{"directory.entries[0].resource"}},
		{"missing resource", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Entries: entries(a.GetName(), "resources/nosuchthing")}), codes.FailedPrecondition, []string{"directory.entries[1].resource"}},
		{"deleted resource", create(&resourcesv1.Directory{Title: "T", Site: "sites/site-a", Entries: entries(gone.GetName())}), codes.FailedPrecondition, []string{"directory.entries[0].resource"}},
		{"taken slug", create(&resourcesv1.Directory{Title: "T", Slug: "taken", Site: "sites/site-a", Entries: entries(a.GetName())}), codes.AlreadyExists, []string{"directory.slug"}},
		{"update without etag", update(&resourcesv1.Directory{Name: existing.GetName(), Title: "New"}, "title"), codes.InvalidArgument, []string{"directory.etag"}},
		{"update of an unknown field", update(&resourcesv1.Directory{Name: existing.GetName(), Etag: existing.GetEtag()}, "title", "color"), codes.InvalidArgument, []string{"update_mask.paths[1]"}},
		{"update with a bad name", update(&resourcesv1.Directory{Name: "dirs/x", Etag: existing.GetEtag()}, "title"), codes.InvalidArgument, []string{"directory.name"}},
		{"update to another site's resource", update(&resourcesv1.Directory{Name: existing.GetName(), Etag: existing.GetEtag(), Entries: entries(a.GetName(), bRes.GetName())}, "entries"),
			codes.FailedPrecondition, []string{"directory.entries[1].resource"}},
		{"get with a bad name", func() error {
			_, err := e.directories.GetDirectory(as(keyAdmin), &resourcesv1.GetDirectoryRequest{Name: "directories/"})
			return err
		}(), codes.InvalidArgument, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if codeOf(tt.err) != tt.code {
				t.Errorf("got %v, want %v", tt.err, tt.code)
			}
			if diff := cmp.Diff(tt.fields, badRequestFields(tt.err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDirectorySiteScopeOnEveryMethod calls every method with a key for site-a on a directory of
// site-b, and with a viewer key for writes.
func TestDirectorySiteScopeOnEveryMethod(t *testing.T) {
	e := sitesEnv(t)
	a := mustCreateResource(t, e, line("A", "sites/site-a", "sites/site-b"))
	d := mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: "B's", Site: "sites/site-b", Entries: entries(a.GetName())})
	own := mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: "A's", Site: "sites/site-a", Entries: entries(a.GetName())})
	ctx := as(keyEditorA)
	calls := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"create for site-b", func() error {
			_, err := e.directories.CreateDirectory(ctx, &resourcesv1.CreateDirectoryRequest{Directory: &resourcesv1.Directory{Title: "x", Site: "sites/site-b", Entries: entries(a.GetName())}})
			return err
		}, codes.PermissionDenied},
		{"get", func() error {
			_, err := e.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: d.GetName()})
			return err
		}, codes.NotFound},
		{"update", func() error {
			_, err := e.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{Directory: &resourcesv1.Directory{Name: d.GetName(), Etag: d.GetEtag(), Title: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
			return err
		}, codes.NotFound},
		{"move own directory to site-b", func() error {
			_, err := e.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{Directory: &resourcesv1.Directory{Name: own.GetName(), Etag: own.GetEtag(), Site: "sites/site-b"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"site"}}})
			return err
		}, codes.PermissionDenied},
		{"delete", func() error {
			_, err := e.directories.DeleteDirectory(ctx, &resourcesv1.DeleteDirectoryRequest{Name: d.GetName()})
			return err
		}, codes.NotFound},
		{"undelete", func() error {
			_, err := e.directories.UndeleteDirectory(ctx, &resourcesv1.UndeleteDirectoryRequest{Name: d.GetName()})
			return err
		}, codes.NotFound},
		{"revisions", func() error {
			_, err := e.directories.ListDirectoryRevisions(ctx, &resourcesv1.ListDirectoryRevisionsRequest{Name: d.GetName()})
			return err
		}, codes.NotFound},
		{"list", func() error {
			resp, err := e.directories.ListDirectories(ctx, &resourcesv1.ListDirectoriesRequest{})
			if err == nil && (len(resp.GetDirectories()) != 1 || resp.GetDirectories()[0].GetName() != own.GetName()) {
				return status.Errorf(codes.Internal, "site-a's key listed %v", resp.GetDirectories())
			}
			return err
		}, codes.OK},
		{"delivery of site-b", func() error {
			_, err := e.delivery.GetSiteDirectory(ctx, &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-b", Slug: d.GetSlug()})
			return err
		}, codes.NotFound},
		{"viewer creates", func() error {
			_, err := e.directories.CreateDirectory(as(keyViewer), &resourcesv1.CreateDirectoryRequest{Directory: &resourcesv1.Directory{Title: "x", Site: "sites/site-a", Entries: entries(a.GetName())}})
			return err
		}, codes.PermissionDenied},
		{"viewer deletes", func() error {
			_, err := e.directories.DeleteDirectory(as(keyViewer), &resourcesv1.DeleteDirectoryRequest{Name: own.GetName()})
			return err
		}, codes.PermissionDenied},
		{"no key", func() error {
			_, err := e.directories.GetDirectory(t.Context(), &resourcesv1.GetDirectoryRequest{Name: own.GetName()})
			return err
		}, codes.Unauthenticated},
	}
	for _, tc := range calls {
		if got := codeOf(tc.call()); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got, _ := e.directories.GetDirectory(as(keyAdmin), &resourcesv1.GetDirectoryRequest{Name: d.GetName()}); got.GetRevisionId() != 1 {
		t.Errorf("refused calls changed site-b's directory to revision %d", got.GetRevisionId())
	}
}

func publishedNames(d *resourcesv1.PublishedDirectory) string {
	var out []string
	for _, e := range d.GetEntries() {
		out = append(out, e.GetResource().GetDisplayName())
	}
	return strings.Join(out, ",")
}

// TestSiteDirectoryDeliveryIsFreshAfterEdits: the delivered directory resolves entries in the
// editor's order and then the rule's picks by name, leaves out inactive and defunct resources,
// and shows each edit (of the directory or of a resource) on the next request.
func TestSiteDirectoryDeliveryIsFreshAfterEdits(t *testing.T) {
	e := sitesEnv(t)
	group := func(name string) *resourcesv1.Resource {
		r := line(name, "sites/site-a")
		r.Kind, r.Crisis, r.TaxonomyTerms = resourcesv1.Kind_KIND_SUPPORT_GROUP, false, []string{"kratom"}
		return r
	}
	zulu := mustCreateResource(t, e, group("Zulu group"))
	mike := mustCreateResource(t, e, group("Mike group"))
	bravo := mustCreateResource(t, e, group("Bravo group"))
	hotline := mustCreateResource(t, e, line("Hotline", "sites/site-a"))
	defunct := group("Defunct group")
	defunct.Status = resourcesv1.Status_STATUS_DEFUNCT
	gone := mustCreateResource(t, e, defunct)

	d := mustCreateDirectory(t, e, keyEditorA, &resourcesv1.Directory{Title: "Kratom groups", Site: "sites/site-a", Intro: "**Peer** groups",
		Entries: []*resourcesv1.DirectoryEntry{{Resource: hotline.GetName(), Note: "Call first"}, {Resource: gone.GetName()}, {Resource: zulu.GetName()}},
		Rule:    &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_SUPPORT_GROUP}, TaxonomyTerms: []string{"Kratom"}}})
	get := func() *resourcesv1.PublishedDirectory {
		t.Helper()
		out, err := e.delivery.GetSiteDirectory(as(keyEditorA), &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-a", Slug: "kratom-groups"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	pub := get()
	if got := publishedNames(pub); got != "Hotline,Zulu group,Bravo group,Mike group" {
		t.Errorf("entries = %s; want the hand-picked ones in order (no defunct), then the rule's by name", got)
	}
	if pub.GetEntries()[0].GetNote() != "Call first" || pub.GetEntries()[2].GetNote() != "" || !strings.Contains(pub.GetIntroHtml(), "<strong>Peer</strong>") {
		t.Errorf("published %v", pub)
	}

	// A resource edit: Mike becomes inactive and leaves; Bravo leaves the rule's taxonomy.
	for _, r := range []struct {
		res   *resourcesv1.Resource
		patch *resourcesv1.Resource
		path  string
	}{
		{mike, &resourcesv1.Resource{Status: resourcesv1.Status_STATUS_INACTIVE}, "status"},
		{bravo, &resourcesv1.Resource{TaxonomyTerms: []string{"alcohol"}}, "taxonomy_terms"},
	} {
		r.patch.Name, r.patch.Etag = r.res.GetName(), r.res.GetEtag()
		if _, err := e.resources.UpdateResource(as(keyAdmin), &resourcesv1.UpdateResourceRequest{Resource: r.patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{r.path}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := publishedNames(get()); got != "Hotline,Zulu group" {
		t.Errorf("after the resource edits: %s, want Hotline,Zulu group", got)
	}

	// A directory edit: new order, new slug; the old slug is gone at once.
	upd, err := e.directories.UpdateDirectory(as(keyEditorA), &resourcesv1.UpdateDirectoryRequest{
		Directory:  &resourcesv1.Directory{Name: d.GetName(), Etag: d.GetEtag(), Slug: "groups", Entries: entries(zulu.GetName(), hotline.GetName())},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"slug", "entries"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.delivery.GetSiteDirectory(as(keyEditorA), &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-a", Slug: "kratom-groups"}); codeOf(err) != codes.NotFound {
		t.Errorf("the old slug after a rename: %v, want NOT_FOUND", err)
	}
	moved, err := e.delivery.GetSiteDirectory(as(keyEditorA), &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-a", Slug: "groups"})
	if err != nil || publishedNames(moved) != "Zulu group,Hotline" {
		t.Errorf("after the directory edit: %v %v, want Zulu group,Hotline", publishedNames(moved), err)
	}
	if _, err := e.directories.DeleteDirectory(as(keyEditorA), &resourcesv1.DeleteDirectoryRequest{Name: d.GetName(), Etag: upd.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.delivery.GetSiteDirectory(as(keyEditorA), &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-a", Slug: "groups"}); codeOf(err) != codes.NotFound {
		t.Errorf("a deleted directory: %v, want NOT_FOUND", err)
	}
	if _, err := e.delivery.GetSiteDirectory(as(keyEditorA), &resourcesv1.GetSiteDirectoryRequest{Site: "sites/site-a", Slug: "Not A Slug"}); codeOf(err) != codes.InvalidArgument ||
		!slices.Equal(badRequestFields(err), []string{"slug"}) {
		t.Errorf("a malformed slug: %v, want INVALID_ARGUMENT naming slug", err)
	}
}

// TestCrisisLinesFollowTheEditorsOrder: without a "crisis-lines" directory the site's crisis
// resources come by name; with one, its resolved entries come first in the editor's order (only
// crisis resources), then the rest by name; each carries open_now.
func TestCrisisLinesFollowTheEditorsOrder(t *testing.T) {
	e := sitesEnv(t) // Mondays: line()'s Sunday-only hours are closed, 24/7 ones open
	alwaysOpen := func(name string) *resourcesv1.Resource {
		r := line(name, "sites/site-a")
		r.Hours = &resourcesv1.Hours{AlwaysOpen: true}
		return r
	}
	charlie := mustCreateResource(t, e, alwaysOpen("Charlie line"))
	alpha := mustCreateResource(t, e, line("Alpha line", "sites/site-a"))
	mustCreateResource(t, e, alwaysOpen("Bravo line"))
	group := line("Delta group", "sites/site-a")
	group.Crisis, group.Kind = false, resourcesv1.Kind_KIND_SUPPORT_GROUP
	delta := mustCreateResource(t, e, group)
	mustCreateResource(t, e, line("Echo line", "sites/site-b")) // another site's: never listed

	crisisLines := func() (names []string, open []bool) {
		t.Helper()
		resp, err := e.delivery.ListCrisisLines(as(keyEditorA), &resourcesv1.ListCrisisLinesRequest{Site: "sites/site-a"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.GetCrisisLines() {
			names, open = append(names, r.GetDisplayName()), append(open, r.GetOpenNow())
		}
		return names, open
	}
	tests := []struct {
		name      string
		entries   []string // the crisis-lines directory's entries; nil: no directory
		rule      *resourcesv1.DirectoryRule
		wantNames []string
		wantOpen  []bool
	}{
		{name: "no directory: by name", wantNames: []string{"Alpha line", "Bravo line", "Charlie line"}, wantOpen: []bool{false, true, true}},
		{name: "editor order first, the rest by name; non-crisis entries left out",
			entries:   []string{charlie.GetName(), delta.GetName(), alpha.GetName()},
			wantNames: []string{"Charlie line", "Alpha line", "Bravo line"}, wantOpen: []bool{true, false, true}},
		{name: "a rule after the entries", entries: []string{alpha.GetName()}, rule: &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_CRISIS_LINE}},
			wantNames: []string{"Alpha line", "Bravo line", "Charlie line"}, wantOpen: []bool{false, true, true}},
	}
	var dir *resourcesv1.Directory
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.entries != nil {
				var entries []*resourcesv1.DirectoryEntry
				for _, n := range tt.entries {
					entries = append(entries, &resourcesv1.DirectoryEntry{Resource: n})
				}
				want := &resourcesv1.Directory{Title: "Crisis lines", Site: "sites/site-a", Entries: entries, Rule: tt.rule}
				var err error
				if dir == nil {
					dir, err = e.directories.CreateDirectory(as(keyEditorA), &resourcesv1.CreateDirectoryRequest{Directory: want})
				} else {
					want.Name, want.Etag, want.Slug = dir.GetName(), dir.GetEtag(), dir.GetSlug()
					dir, err = e.directories.UpdateDirectory(as(keyEditorA), &resourcesv1.UpdateDirectoryRequest{Directory: want})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			names, open := crisisLines()
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("crisis lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOpen, open); diff != "" {
				t.Errorf("open now (-want +got):\n%s", diff)
			}
		})
	}
}
