package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/genproto/googleapis/type/timeofday"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/api"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
	"github.com/beaconcms/beacon/services/resources/internal/store"
)

const (
	keyAdmin   = "admin-secret"
	keyEditorA = "editor-a-secret" // editor limited to site-a
	keyViewer  = "viewer-secret"
)

type fakeVerifier map[string]auth.Principal

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	p, ok := f[secret]
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "no such key")
	}
	return p, nil
}

type catalog map[string]domain.SiteSettings

func (c catalog) Site(_ context.Context, id string) (domain.SiteSettings, bool, error) {
	s, ok := c[id]
	return s, ok, nil
}

func newClient(tb testing.TB) (resourcesv1.ResourceServiceClient, resourcesv1.DeliveryServiceClient) {
	tb.Helper()
	return newClientAt(tb, nil, catalog{"site-a": {ID: "site-a"}, "site-b": {ID: "site-b"}})
}

// newClientAt serves the resource and delivery APIs over a fresh database with the clock now
// (nil for the real one) and the site catalog sites.
func newClientAt(tb testing.TB, now func() time.Time, sites catalog) (resourcesv1.ResourceServiceClient, resourcesv1.DeliveryServiceClient) {
	tb.Helper()
	e := newEnv(tb, now, sites)
	return e.resources, e.delivery
}

// env is the three APIs of the service over one database.
type env struct {
	resources   resourcesv1.ResourceServiceClient
	directories resourcesv1.DirectoryServiceClient
	delivery    resourcesv1.DeliveryServiceClient
	// deliveryServer is the delivery API itself, for read-side tests.
	deliveryServer *api.DeliveryServer
}

// newEnv serves the resource, directory and delivery APIs over a fresh database with the clock
// now (nil for the real one) and the site catalog sites.
func newEnv(tb testing.TB, now func() time.Time, sites catalog) *env {
	tb.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(mongodb.WithScan(ctx, "test setup"), db, store.Migrations(), logger); err != nil {
		tb.Fatal(err)
	}
	var ix *index.Index
	st := store.New(db, mongodb.NewDocLocks(), func(r *domain.Resource) { ix.Put(r) }, nil)
	st.OnDirectoryWrite(func(d *domain.Directory) { ix.PutDirectory(d) })
	ix = index.New(st, time.Second, logger)
	if err := ix.Load(ctx); err != nil {
		tb.Fatal(err)
	}
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := domain.NewService(st, ix, sites, linter, now, nil, logger)
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	policy, err := auth.Merge(api.Rules(), api.DirectoryRules(), api.DeliveryRules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	verifier := fakeVerifier{
		keyAdmin:   {KeyName: "apiKeys/admin", Role: auth.RoleAdmin},
		keyEditorA: {KeyName: "apiKeys/editor-a", Role: auth.RoleEditor, Site: "site-a"},
		keyViewer:  {KeyName: "apiKeys/viewer", Role: auth.RoleViewer},
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, verifier, logger), logger)
	resourcesv1.RegisterResourceServiceServer(srv, api.NewResourceServer(svc, tokens))
	resourcesv1.RegisterDirectoryServiceServer(srv, api.NewDirectoryServer(domain.NewDirectoryService(st, ix, ix, sites, linter, now, nil, logger), tokens))
	deliveryServer := api.NewDeliveryServer(delivery.New(ix, sites, now, svc.RenderDescription), tokens)
	resourcesv1.RegisterDeliveryServiceServer(srv, deliveryServer)
	if missing := policy.MissingRules(srv); len(missing) > 0 {
		tb.Fatalf("methods without an access rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	return &env{resources: resourcesv1.NewResourceServiceClient(conn), directories: resourcesv1.NewDirectoryServiceClient(conn),
		delivery: resourcesv1.NewDeliveryServiceClient(conn), deliveryServer: deliveryServer}
}

func as(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
}

func codeOf(err error) codes.Code { return status.Code(err) }

func line(name string, sites ...string) *resourcesv1.Resource {
	return &resourcesv1.Resource{
		DisplayName: name, Kind: resourcesv1.Kind_KIND_CRISIS_LINE, Crisis: true,
		Phones: []*resourcesv1.Phone{{Number: "(512) 555-0100"}},
		Hours: &resourcesv1.Hours{TimeZone: "America/Chicago", Periods: []*resourcesv1.WeeklyPeriod{
			{Day: dayofweek.DayOfWeek_SUNDAY, Opens: &timeofday.TimeOfDay{Hours: 9}, Closes: &timeofday.TimeOfDay{Hours: 24}},
		}},
		TargetSites: sites,
	}
}

func TestEnumsMatchTheDomain(t *testing.T) {
	for n, name := range resourcesv1.Kind_name {
		if n != 0 && "KIND_"+domain.Kind(n).String() != name {
			t.Errorf("proto kind %d is %s, domain %s", n, name, domain.Kind(n))
		}
	}
	for n, name := range resourcesv1.Status_name {
		if n != 0 && "STATUS_"+domain.Status(n).String() != name {
			t.Errorf("proto status %d is %s, domain %s", n, name, domain.Status(n))
		}
	}
	for n, name := range resourcesv1.Cost_name {
		if n != 0 && "COST_"+domain.Cost(n).String() != name {
			t.Errorf("proto cost %d is %s, domain %s", n, name, domain.Cost(n))
		}
	}
	for n, name := range resourcesv1.Phone_Type_name {
		if n != 0 && "TYPE_"+domain.PhoneType(n).String() != name {
			t.Errorf("proto phone type %d is %s, domain %s", n, name, domain.PhoneType(n))
		}
	}
	for n, name := range resourcesv1.Location_Type_name {
		if n != 0 && "TYPE_"+domain.LocationType(n).String() != name {
			t.Errorf("proto location type %d is %s, domain %s", n, name, domain.LocationType(n))
		}
	}
	outcomes := map[domain.ImportOutcome]resourcesv1.ImportRowResult_Outcome{
		domain.ImportCreated: resourcesv1.ImportRowResult_OUTCOME_CREATED, domain.ImportUpdated: resourcesv1.ImportRowResult_OUTCOME_UPDATED,
		domain.ImportSkipped: resourcesv1.ImportRowResult_OUTCOME_SKIPPED,
	}
	for d, p := range outcomes {
		if int(d) != int(p) {
			t.Errorf("outcome %d is proto %v", d, p)
		}
	}
}

func TestResourceLifecycleOverGRPC(t *testing.T) {
	c, _ := newClient(t)
	r, err := c.CreateResource(as(keyEditorA), &resourcesv1.CreateResourceRequest{Resource: line("Line A", "sites/site-a")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.GetName(), "resources/") || r.GetPhones()[0].GetNumber() != "+15125550100" || !r.GetStale() || r.GetEtag() == "" {
		t.Errorf("created %v", r)
	}
	if p := r.GetHours().GetPeriods()[0]; p.GetDay() != dayofweek.DayOfWeek_SUNDAY || p.GetCloses().GetHours() != 24 {
		t.Errorf("Sunday period came back as %v", p)
	}
	bad := line("", "sites/site-a")
	bad.Website = "javascript:alert(1)"
	bad.Hours.Periods[0].Opens = &timeofday.TimeOfDay{Hours: 9, Seconds: 30}
	_, err = c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: bad})
	if codeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "resource.hours.periods[0].opens") {
		t.Errorf("create with bad fields: %v", err)
	}
	upd := &resourcesv1.Resource{Name: r.GetName(), Etag: r.GetEtag(), DisplayName: "Line A (renamed)"}
	r2, err := c.UpdateResource(as(keyEditorA), &resourcesv1.UpdateResourceRequest{Resource: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	if err != nil || r2.GetDisplayName() != "Line A (renamed)" || r2.GetRevisionId() != 2 {
		t.Fatalf("update: %v %v", r2, err)
	}
	if _, err := c.UpdateResource(as(keyEditorA), &resourcesv1.UpdateResourceRequest{Resource: upd}); codeOf(err) != codes.Aborted {
		t.Errorf("update with a stale etag: %v, want ABORTED", err)
	}
	v, err := c.VerifyResource(as(keyEditorA), &resourcesv1.VerifyResourceRequest{Name: r.GetName()})
	if err != nil || v.GetStale() || v.GetVerifier() != "apiKeys/editor-a" || v.GetLastVerifiedDate() == nil {
		t.Errorf("verify: %v %v", v, err)
	}
	revs, err := c.ListResourceRevisions(as(keyViewer), &resourcesv1.ListResourceRevisionsRequest{Name: r.GetName(), PageSize: 2})
	if err != nil || len(revs.GetRevisions()) != 2 || revs.GetRevisions()[0].GetAction() != "verify" || revs.GetNextPageToken() == "" {
		t.Fatalf("revisions page 1: %v %v", revs, err)
	}
	revs2, err := c.ListResourceRevisions(as(keyViewer), &resourcesv1.ListResourceRevisionsRequest{Name: r.GetName(), PageSize: 2, PageToken: revs.GetNextPageToken()})
	if err != nil || len(revs2.GetRevisions()) != 1 || revs2.GetRevisions()[0].GetAction() != "create" {
		t.Errorf("revisions page 2: %v %v", revs2, err)
	}
}

func TestListFiltersOrdersAndPages(t *testing.T) {
	c, _ := newClient(t)
	names := []string{"Charlie", "Alpha", "Bravo", "Delta"}
	for i, n := range names {
		r := line(n, "sites/site-a")
		if i == 3 {
			r.Kind, r.Crisis, r.TargetSites = resourcesv1.Kind_KIND_SUPPORT_GROUP, false, []string{"sites/site-b"}
		}
		if _, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: r}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for {
		resp, err := c.ListResources(as(keyViewer), &resourcesv1.ListResourcesRequest{Filter: `kind = CRISIS_LINE AND stale = true`, OrderBy: "display_name", PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.GetResources() {
			got = append(got, r.GetDisplayName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if strings.Join(got, ",") != "Alpha,Bravo,Charlie" {
		t.Errorf("pages = %v, want Alpha,Bravo,Charlie", got)
	}
	resp, err := c.ListResources(as(keyViewer), &resourcesv1.ListResourcesRequest{Filter: `site = "site-b"`})
	if err != nil || len(resp.GetResources()) != 1 || resp.GetResources()[0].GetDisplayName() != "Delta" {
		t.Errorf("site-b list: %v %v", resp, err)
	}
	resp, err = c.ListResources(as(keyEditorA), &resourcesv1.ListResourcesRequest{OrderBy: "display_name desc"})
	if err != nil || len(resp.GetResources()) != 3 || resp.GetResources()[0].GetDisplayName() != "Charlie" {
		t.Errorf("site-a editor list: %v %v", resp, err)
	}
	for _, tt := range []struct {
		filter string
		want   string // names, by name; "" for none
		code   codes.Code
	}{
		{filter: `display_name:"ha"`, want: "Alpha,Charlie"},
		{filter: `display_name:"BRAVO"`, want: "Bravo"},
		{filter: `display_name:"ta" AND site = "site-b"`, want: "Delta"},
		{filter: `display_name:"ta" AND site = "site-a"`, want: ""},
		{filter: `display_name:"zulu"`, want: ""},
		{filter: `display_name = "Alpha"`, code: codes.InvalidArgument},
		{filter: `display_name:""`, code: codes.InvalidArgument},
	} {
		resp, err := c.ListResources(as(keyViewer), &resourcesv1.ListResourcesRequest{Filter: tt.filter, OrderBy: "display_name"})
		if codeOf(err) != tt.code {
			t.Errorf("ListResources(%s): %v, want code %v", tt.filter, err, tt.code)
			continue
		}
		var names []string
		for _, r := range resp.GetResources() {
			names = append(names, r.GetDisplayName())
		}
		if got := strings.Join(names, ","); err == nil && got != tt.want {
			t.Errorf("ListResources(%s) = %q, want %q", tt.filter, got, tt.want)
		}
	}
	if _, err := c.ListResources(as(keyViewer), &resourcesv1.ListResourcesRequest{Filter: `colour = "red"`}); codeOf(err) != codes.InvalidArgument {
		t.Errorf("unknown filter field: %v", err)
	}
	if _, err := c.ListResources(as(keyViewer), &resourcesv1.ListResourcesRequest{OrderBy: "kind"}); codeOf(err) != codes.InvalidArgument {
		t.Errorf("unknown order: %v", err)
	}
}

// TestSiteScopeOnEveryMethod calls every method with a key for site-a on a resource of site-b.
func TestSiteScopeOnEveryMethod(t *testing.T) {
	c, _ := newClient(t)
	r, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: line("B", "sites/site-b")})
	if err != nil {
		t.Fatal(err)
	}
	both, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: line("AB", "sites/site-a", "sites/site-b")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := as(keyEditorA)
	calls := map[string]struct {
		call func() error
		want codes.Code
	}{
		"create for site-b": {func() error {
			_, err := c.CreateResource(ctx, &resourcesv1.CreateResourceRequest{Resource: line("x", "sites/site-b")})
			return err
		}, codes.PermissionDenied},
		"get": {func() error {
			_, err := c.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: r.GetName()})
			return err
		}, codes.NotFound},
		"update": {func() error {
			_, err := c.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{Resource: &resourcesv1.Resource{Name: r.GetName(), Etag: r.GetEtag(), DisplayName: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
			return err
		}, codes.NotFound},
		"update a two-site resource": {func() error {
			_, err := c.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{Resource: &resourcesv1.Resource{Name: both.GetName(), Etag: both.GetEtag(), DisplayName: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
			return err
		}, codes.PermissionDenied},
		"delete": {func() error {
			_, err := c.DeleteResource(ctx, &resourcesv1.DeleteResourceRequest{Name: r.GetName()})
			return err
		}, codes.NotFound},
		"undelete": {func() error {
			_, err := c.UndeleteResource(ctx, &resourcesv1.UndeleteResourceRequest{Name: r.GetName()})
			return err
		}, codes.NotFound},
		"verify": {func() error {
			_, err := c.VerifyResource(ctx, &resourcesv1.VerifyResourceRequest{Name: both.GetName()})
			return err
		}, codes.PermissionDenied},
		"revisions": {func() error {
			_, err := c.ListResourceRevisions(ctx, &resourcesv1.ListResourceRevisionsRequest{Name: r.GetName()})
			return err
		}, codes.NotFound},
		"export": {func() error {
			_, err := c.ExportResources(ctx, &resourcesv1.ExportResourcesRequest{Site: "sites/site-b"})
			return err
		}, codes.PermissionDenied},
		"import": {func() error {
			stream, err := c.ImportResources(ctx, &resourcesv1.ImportResourcesRequest{Site: "sites/site-b", Format: resourcesv1.ImportFormat_IMPORT_FORMAT_CSV, Content: "external_id,name\n1,a\n"})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}, codes.PermissionDenied},
		"viewer writes": {func() error {
			_, err := c.CreateResource(as(keyViewer), &resourcesv1.CreateResourceRequest{Resource: line("x", "sites/site-a")})
			return err
		}, codes.PermissionDenied},
	}
	for name, tc := range calls {
		if got := codeOf(tc.call()); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestImportStreamsProgressAndReport(t *testing.T) {
	c, _ := newClient(t)
	var b strings.Builder
	b.WriteString("external_id,name,kind,phones\n")
	for i := range 250 {
		b.WriteString("row-" + itoa(i) + ",Group " + itoa(i) + ",SUPPORT_GROUP,(512) 555-0100\n")
	}
	b.WriteString("bad,Bad row,DRAGON,\n")
	run := func() []*resourcesv1.ImportResourcesResponse {
		stream, err := c.ImportResources(as(keyEditorA), &resourcesv1.ImportResourcesRequest{Site: "sites/site-a", Format: resourcesv1.ImportFormat_IMPORT_FORMAT_CSV, Content: b.String()})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []*resourcesv1.ImportResourcesResponse
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return msgs
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
	}
	msgs := run()
	last := msgs[len(msgs)-1]
	if !last.GetDone() || last.GetCreated() != 250 || last.GetSkipped() != 1 || last.GetRowsTotal() != 251 {
		t.Errorf("final message: %v", last)
	}
	if len(msgs) != 4 || msgs[0].GetRowsDone() != 100 || len(msgs[0].GetResults()) != 100 {
		t.Errorf("progress: %d messages, first %v rows done", len(msgs), msgs[0].GetRowsDone())
	}
	badRow := msgs[2].GetResults()[len(msgs[2].GetResults())-1]
	if badRow.GetRow() != 251 || badRow.GetOutcome() != resourcesv1.ImportRowResult_OUTCOME_SKIPPED || !strings.HasPrefix(badRow.GetFieldViolations()[0], "kind: ") {
		t.Errorf("bad row result: %v", badRow)
	}
	again := run()
	if l := again[len(again)-1]; l.GetCreated() != 0 || l.GetUpdated() != 0 || l.GetSkipped() != 251 {
		t.Errorf("second import: %v", l)
	}
	body, err := c.ExportResources(as(keyEditorA), &resourcesv1.ExportResourcesRequest{Site: "sites/site-a"})
	if err != nil || body.GetContentType() != "application/json" || strings.Count(string(body.GetData()), `"name": "Group `) != 250 {
		t.Errorf("export: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDeliveryOverGRPC(t *testing.T) {
	c, d := newClient(t)
	clinic := line("Clinic", "sites/site-a")
	clinic.Crisis, clinic.Kind = false, resourcesv1.Kind_KIND_TREATMENT_PROVIDER
	clinic.Locations = []*resourcesv1.Location{{Type: resourcesv1.Location_TYPE_PHYSICAL, Address: &resourcesv1.Address{City: "Austin", Country: "US"},
		Coordinates: &latlng.LatLng{Latitude: 30.27, Longitude: -97.75}}}
	clinic.EditorNotes = "private"
	if _, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: clinic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: line("Hotline", "sites/site-a")}); err != nil {
		t.Fatal(err)
	}
	resp, err := d.ListSiteResources(as(keyEditorA), &resourcesv1.ListSiteResourcesRequest{Site: "sites/site-a", Near: "30.2672,-97.7431", RadiusKm: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 1 || resp.GetResources()[0].GetDisplayName() != "Clinic" || resp.GetResources()[0].GetDistanceKm() <= 0 ||
		len(resp.GetRemoteResources()) != 1 || resp.GetRemoteResources()[0].GetDisplayName() != "Hotline" {
		t.Errorf("near list: %v", resp)
	}
	lines, err := d.ListCrisisLines(as(keyEditorA), &resourcesv1.ListCrisisLinesRequest{Site: "sites/site-a"})
	if err != nil || len(lines.GetCrisisLines()) != 1 || lines.GetCrisisLines()[0].GetPhones()[0].GetNumber() != "+15125550100" {
		t.Errorf("crisis lines: %v %v", lines, err)
	}
	for name, req := range map[string]*resourcesv1.ListSiteResourcesRequest{
		"bad near":             {Site: "sites/site-a", Near: "91,0"},
		"bad radius":           {Site: "sites/site-a", Near: "30,-97", RadiusKm: 501},
		"bad remote page size": {Site: "sites/site-a", Near: "30,-97", RemotePageSize: 101},
	} {
		if _, err := d.ListSiteResources(as(keyAdmin), req); codeOf(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if _, err := d.ListSiteResources(as(keyEditorA), &resourcesv1.ListSiteResourcesRequest{Site: "sites/site-b"}); codeOf(err) != codes.NotFound {
		t.Errorf("another site's delivery: %v, want NOT_FOUND", err)
	}
}

// TestNearPagesBothListsWithOneToken: a near list pages its local list by page_size and its
// remote list by remote_page_size (5 by default), and the page token continues both until both
// are done.
func TestNearPagesBothListsWithOneToken(t *testing.T) {
	c, d := newClient(t)
	for i := range 3 {
		clinic := line("Clinic "+itoa(i), "sites/site-a")
		clinic.Crisis, clinic.Kind = false, resourcesv1.Kind_KIND_TREATMENT_PROVIDER
		clinic.Locations = []*resourcesv1.Location{{Type: resourcesv1.Location_TYPE_PHYSICAL, Address: &resourcesv1.Address{City: "Austin", Country: "US"},
			Coordinates: &latlng.LatLng{Latitude: 30.27 + float64(i)/100, Longitude: -97.75}}}
		if _, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: clinic}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 7 {
		if _, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: line("Hotline "+itoa(i), "sites/site-a")}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(rs []*resourcesv1.PublishedResource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.GetDisplayName())
		}
		return out
	}
	first, err := d.ListSiteResources(as(keyEditorA), &resourcesv1.ListSiteResourcesRequest{Site: "sites/site-a", Near: "30.27,-97.75"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(first.GetRemoteResources()); len(got) != 5 || len(first.GetResources()) != 3 || first.GetNextPageToken() == "" {
		t.Fatalf("default page: %d local, remote %v, token %q; want 3, the first 5 remote and a token", len(first.GetResources()), got, first.GetNextPageToken())
	}
	var local, remote [][]string
	token := ""
	for range 10 {
		resp, err := d.ListSiteResources(as(keyEditorA), &resourcesv1.ListSiteResourcesRequest{Site: "sites/site-a", Near: "30.27,-97.75",
			PageSize: 2, RemotePageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		local, remote = append(local, names(resp.GetResources())), append(remote, names(resp.GetRemoteResources()))
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	wantLocal := [][]string{{"Clinic 0", "Clinic 1"}, {"Clinic 2"}, nil}
	wantRemote := [][]string{{"Hotline 0", "Hotline 1", "Hotline 2"}, {"Hotline 3", "Hotline 4", "Hotline 5"}, {"Hotline 6"}}
	if diff := cmp.Diff(wantLocal, local); diff != "" {
		t.Errorf("local pages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRemote, remote); diff != "" {
		t.Errorf("remote pages (-want +got):\n%s", diff)
	}
}

// TestStaleUsesTheSiteThreshold: the stale list filter and flag follow each site's
// resource_stale_after_days (0 = 180 days): a filter naming a site, or a key limited to one, uses
// that site's threshold; otherwise the strictest of the resource's sites.
func TestStaleUsesTheSiteThreshold(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, _ := newClientAt(t, clock, catalog{"site-a": {ID: "site-a"}, "site-b": {ID: "site-b", StaleAfterDays: 30}})
	both, err := c.CreateResource(as(keyAdmin), &resourcesv1.CreateResourceRequest{Resource: line("Both", "sites/site-a", "sites/site-b")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyResource(as(keyAdmin), &resourcesv1.VerifyResourceRequest{Name: both.GetName()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.AddDate(0, 0, 60) // past site-b's 30 days, within site-a's default 180
	mu.Unlock()

	tests := []struct {
		name   string
		key    string
		filter string
		want   int
	}{
		{name: "site-a's default threshold", key: keyAdmin, filter: `stale = true AND site = "site-a"`, want: 0},
		{name: "site-b's 30 days", key: keyAdmin, filter: `stale = true AND site = "sites/site-b"`, want: 1},
		{name: "fresh on site-a", key: keyAdmin, filter: `stale = false AND site = "site-a"`, want: 1},
		{name: "no site: the strictest", key: keyViewer, filter: `stale = true`, want: 1},
		{name: "site-a's key", key: keyEditorA, filter: `stale = true`, want: 0},
		{name: "site-a's key asking for site-b's view", key: keyEditorA, filter: `stale != false`, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.ListResources(as(tt.key), &resourcesv1.ListResourcesRequest{Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.GetResources()); got != tt.want {
				t.Errorf("ListResources(%s) listed %d, want %d", tt.filter, got, tt.want)
			}
		})
	}
	got, err := c.GetResource(as(keyEditorA), &resourcesv1.GetResourceRequest{Name: both.GetName()})
	if err != nil || !got.GetStale() {
		t.Errorf("GetResource = stale %v, %v; editors see the flag of the strictest site", got.GetStale(), err)
	}
}
