package console

import (
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/genproto/googleapis/type/timeofday"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

func TestResourceQueryFilter(t *testing.T) {
	tests := []struct {
		query, filter, orderBy, next string
	}{
		{"", "", "update_time desc", "/console/resources?dir=desc&page=2&page_token=tok&sort=update_time"},
		{"stale=true&kind=CRISIS_LINE&sort=display_name&dir=asc", `stale = "true" AND kind = "CRISIS_LINE"`, "display_name",
			"/console/resources?dir=asc&kind=CRISIS_LINE&page=2&page_token=tok&sort=display_name&stale=true"},
		{"status=ACTIVE&site=+a%22b+", `status = "ACTIVE" AND site = "a\"b"`, "update_time desc",
			"/console/resources?dir=desc&page=2&page_token=tok&site=a%22b&sort=update_time&status=ACTIVE"},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		q := resourceQueryOf(v)
		if got := q.filter(); got != tt.filter {
			t.Errorf("%q: filter %q, want %q", tt.query, got, tt.filter)
		}
		if got := q.orderBy(); got != tt.orderBy {
			t.Errorf("%q: order_by %q, want %q", tt.query, got, tt.orderBy)
		}
		if got := q.link("tok", 2); got != tt.next {
			t.Errorf("%q: link %q, want %q", tt.query, got, tt.next)
		}
	}
}

func TestFieldInput(t *testing.T) {
	for path, want := range map[string]string{
		"resource.display_name":                       "display_name",
		"resource.kind":                               "kind",
		"resource.phones[0].number":                   "phone-0-number",
		"resource.phones[2].languages[1]":             "phone-2-languages",
		"resource.hours.periods[1].closes":            "period-1-closes",
		"resource.hours.periods[3]":                   "period-3-day",
		"resource.hours.time_zone":                    "time_zone",
		"resource.hours.periods":                      "always_open",
		"resource.hours.closures[0].date":             "closure-0-date",
		"resource.locations[0].coordinates":           "location-0-latitude",
		"resource.locations[1].coordinates.longitude": "location-1-longitude",
		"resource.locations[0].address.country":       "location-0-country",
		"resource.locations[0].address":               "location-0-address_1",
		"resource.locations[0].url":                   "location-0-url",
		"resource.service_areas[0].postal_codes[3]":   "area-0-postal_codes",
		"resource.languages[2]":                       "languages",
		"resource.target_sites[0]":                    "target_sites",
		"resource.target_sites":                       "target_sites",
		"resource.external_ids[0].source":             "",
		"resource.etag":                               "",
		"update_mask.paths[0]":                        "",
	} {
		if got := fieldInput(path); got != want {
			t.Errorf("fieldInput(%q) = %q, want %q", path, got, want)
		}
	}
}

// fullResource is a resource with every field the editor shows.
func fullResource() *resourcesv1.Resource {
	return &resourcesv1.Resource{
		Name: "resources/r1", Etag: "e1", RevisionId: 4, DisplayName: "Help line", OrganizationName: "Org",
		Kind: resourcesv1.Kind_KIND_CRISIS_LINE, Status: resourcesv1.Status_STATUS_TEMPORARILY_CLOSED, Crisis: true,
		Description: "Call *us*", Website: "https://example.org", Email: "help@example.org", Eligibility: "Adults",
		CostDescription: "Free", EditorNotes: "check\nyearly", Languages: []string{"en", "es"}, TaxonomyTerms: []string{"a:b"},
		Costs: []resourcesv1.Cost{resourcesv1.Cost_COST_FREE, resourcesv1.Cost_COST_INSURANCE}, TargetSites: []string{"sites/s1", "sites/s2"},
		Phones: []*resourcesv1.Phone{{Number: "+12025550100", Extension: "12", Type: resourcesv1.Phone_TYPE_TEXT, Description: "Text us", Languages: []string{"en"}}},
		Hours: &resourcesv1.Hours{TimeZone: "America/Chicago", Periods: []*resourcesv1.WeeklyPeriod{
			{Day: dayofweek.DayOfWeek_MONDAY, Opens: &timeofday.TimeOfDay{Hours: 9}, Closes: &timeofday.TimeOfDay{Hours: 17, Minutes: 30}},
			{Day: dayofweek.DayOfWeek_FRIDAY, Opens: &timeofday.TimeOfDay{Hours: 22}, Closes: &timeofday.TimeOfDay{Hours: 24}},
		}, Closures: []*resourcesv1.Closure{{Date: &date.Date{Year: 2026, Month: 12, Day: 25}, Description: "Christmas"}}},
		Locations: []*resourcesv1.Location{
			{Type: resourcesv1.Location_TYPE_PHYSICAL, Name: "Clinic", Address: &resourcesv1.Address{Address_1: "1 Main St", City: "Austin", Region: "TX", PostalCode: "78701", Country: "US"},
				Coordinates: &latlng.LatLng{Latitude: 30.2672, Longitude: -97.7431}},
			{Type: resourcesv1.Location_TYPE_VIRTUAL, Url: "https://example.org/chat"},
		},
		ServiceAreas: []*resourcesv1.ServiceArea{{Country: "US", Region: "TX", PostalCodes: []string{"78701", "78702"}}},
	}
}

// postedForm renders the editor of r and reads its inputs back as a browser would post them:
// every input with its value, checked boxes only, blank rows included.
func postedForm(tb testing.TB, r *resourcesv1.Resource) url.Values {
	tb.Helper()
	page := resourceEditor(resourceFormOf(r), inputErrors{}, []siteOption{{ID: "s1", Name: "S1"}, {ID: "s3", Name: "S3"}})
	v := url.Values{"etag": {r.GetEtag()}}
	add := func(f editorInput) {
		switch f.Kind {
		case "checkbox":
			if f.Checked {
				v.Add(f.ID, "on")
			}
		case "checkboxes":
			for _, o := range f.Options {
				if f.Selected[o.Value] {
					v.Add(f.ID, o.Value)
				}
			}
		default:
			v.Add(f.ID, f.Value)
		}
	}
	for _, s := range page.Sections {
		for _, f := range s.Inputs {
			add(f)
		}
		for _, row := range s.Rows {
			for _, f := range row.Inputs {
				add(f)
			}
		}
	}
	return v
}

func TestResourceFormRoundTrip(t *testing.T) {
	want := fullResource()
	errs := inputErrors{}
	got := resourceFormFrom(postedForm(t, want)).resource(errs)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	// The form carries no output-only fields or name.
	want.Name, want.RevisionId = "", 0
	if !proto.Equal(got, want) {
		t.Errorf("the editor's form of a resource posts back\n%v\nwant\n%v", got, want)
	}
}

func TestResourceFormParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		inputs map[string]string // input -> the API path its message must name
	}{
		{"time not HH:MM", url.Values{"period-0-day": {"MONDAY"}, "period-0-opens": {"nine"}, "period-0-closes": {"17:00"}},
			map[string]string{"period-0-opens": "hours.periods[0].opens"}},
		{"date not ISO", url.Values{"closure-0-date": {"25/12/2026"}}, map[string]string{"closure-0-date": "hours.closures[0].date"}},
		{"coordinates not numbers", url.Values{"location-0-type": {"PHYSICAL"}, "location-0-latitude": {"north"}, "location-0-longitude": {"1"}},
			map[string]string{"location-0-latitude": "locations[0].coordinates.latitude"}},
		{"unknown kind", url.Values{"kind": {"VOLCANO"}}, map[string]string{"kind": "kind"}},
		{"valid", url.Values{"period-0-day": {"SUNDAY"}, "period-0-opens": {"9:05"}, "period-0-closes": {"24:00"}, "closure-0-date": {"2026-12-25"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := inputErrors{}
			resourceFormFrom(tt.form).resource(errs)
			if len(errs) != len(tt.inputs) {
				t.Errorf("errors %v, want on %v", errs, tt.inputs)
			}
			for in, path := range tt.inputs {
				if !strings.HasPrefix(errs[in], path+": ") {
					t.Errorf("error of %s = %q, want it to name %s", in, errs[in], path)
				}
			}
		})
	}
}

func TestResourceFormDropsBlankRowsAndSortsHours(t *testing.T) {
	v := url.Values{
		"phone-0-number": {""}, "phone-0-type": {"VOICE"}, "phone-1-number": {"988"}, "phone-1-type": {""},
		"period-0-day": {"FRIDAY"}, "period-0-opens": {"09:00"}, "period-0-closes": {"12:00"},
		"period-1-day": {""}, "period-1-opens": {""}, "period-1-closes": {""},
		"period-2-day": {"MONDAY"}, "period-2-opens": {"13:00"}, "period-2-closes": {"14:00"},
		"period-3-day": {"MONDAY"}, "period-3-opens": {"8:00"}, "period-3-closes": {"9:00"},
		"location-0-type": {"PHYSICAL"},
	}
	f := resourceFormFrom(v)
	f.sortHours()
	if len(f.Phones) != 1 || f.Phones[0].Number != "988" || len(f.Locations) != 0 {
		t.Errorf("phones %v, locations %v: want the blank rows dropped", f.Phones, f.Locations)
	}
	var order []string
	for _, p := range f.Periods {
		order = append(order, p.Day+" "+p.Opens)
	}
	if want := []string{"MONDAY 8:00", "MONDAY 13:00", "FRIDAY 09:00"}; !slices.Equal(order, want) {
		t.Errorf("periods in the order %q, want %q (as the service stores them)", order, want)
	}
}

func TestLocalReturn(t *testing.T) {
	for target, want := range map[string]string{
		"/console/resources?stale=true": "/console/resources?stale=true",
		"/console/resources/r1":         "/console/resources/r1",
		"//evil.example/console/":       "fallback",
		"https://evil.example/console/": "fallback",
		"/v1/resources":                 "fallback",
		`/console/\evil`:                "fallback",
		"":                              "fallback",
	} {
		if got := consoleReturnPath(target, "fallback"); got != want {
			t.Errorf("localReturn(%q) = %q, want %q", target, got, want)
		}
	}
}

func TestImportFormat(t *testing.T) {
	tests := []struct {
		choice, file, content string
		want                  resourcesv1.ImportFormat
	}{
		{"", "list.csv", "[not json]", resourcesv1.ImportFormat_IMPORT_FORMAT_CSV},
		{"", "export.JSON", "external_id", resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"", "upload", "\ufeff  [{}]", resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"", "upload", "external_id,name", resourcesv1.ImportFormat_IMPORT_FORMAT_CSV},
		{"hsds", "list.csv", "", resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"csv", "x.json", "{}", resourcesv1.ImportFormat_IMPORT_FORMAT_CSV},
	}
	for _, tt := range tests {
		if got := importFormat(tt.choice, tt.file, []byte(tt.content)); got != tt.want {
			t.Errorf("importFormat(%q, %q, %q) = %v, want %v", tt.choice, tt.file, tt.content, got, tt.want)
		}
	}
}

func entriesOf(ids ...string) []*resourcesv1.DirectoryEntry {
	var out []*resourcesv1.DirectoryEntry
	for _, id := range ids {
		out = append(out, &resourcesv1.DirectoryEntry{Resource: "resources/" + id})
	}
	return out
}

func TestApplyEntryOp(t *testing.T) {
	tests := []struct {
		op, index, resource string
		want                []string
		result              string
		wantErr             bool
	}{
		{op: "up", index: "2", want: []string{"a", "c", "b"}, result: "moved=c&op=up"},
		{op: "down", index: "0", want: []string{"b", "a", "c"}, result: "moved=a&op=down"},
		{op: "remove", index: "1", want: []string{"a", "c"}, result: "removed=b"},
		{op: "add", resource: "d", want: []string{"a", "b", "c", "d"}, result: "added=d"},
		{op: "up", index: "0", wantErr: true},
		{op: "down", index: "2", wantErr: true},
		{op: "up", index: "7", wantErr: true},
		{op: "up", index: "x", wantErr: true},
		{op: "add", wantErr: true},
		{op: "sideways", index: "1", wantErr: true},
	}
	for _, tt := range tests {
		before := entriesOf("a", "b", "c")
		got, result, err := applyEntryOp(before, tt.op, tt.index, tt.resource, "")
		if (err != nil) != tt.wantErr {
			t.Errorf("%s %s: error %v, want error %v", tt.op, tt.index, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, strings.TrimPrefix(e.GetResource(), "resources/"))
		}
		if !slices.Equal(ids, tt.want) || result != tt.result {
			t.Errorf("%s %s: %v %q, want %v %q", tt.op, tt.index, ids, result, tt.want, tt.result)
		}
		if strings.TrimPrefix(before[0].GetResource(), "resources/") != "a" || len(before) != 3 {
			t.Errorf("%s %s changed the entries it was given", tt.op, tt.index)
		}
	}
}

func TestEntryFocus(t *testing.T) {
	rows := func() []directoryEntryRow {
		return []directoryEntryRow{{Position: 1, Count: 3, ResourceID: "a", Name: "A"}, {Position: 2, Count: 3, ResourceID: "b", Name: "B"},
			{Position: 3, Count: 3, ResourceID: "c", Name: "C"}}
	}
	tests := []struct {
		query     string
		focusedAt int // -1: none
		focus     string
		note      string
	}{
		{"moved=b&op=up", 1, "up", "Moved B: now 2 of 3."},
		{"moved=a&op=up", 0, "down", "Moved A: now 1 of 3."}, // at the top: Move up is disabled
		{"moved=b&op=down", 1, "down", "Moved B: now 2 of 3."},
		{"moved=c&op=down", 2, "up", "Moved C: now 3 of 3."}, // at the bottom: Move down is disabled
		{"added=c", 2, "up", "Added C: now 3 of 3."},
		{"removed=x", -1, "", "Removed the entry."},
		{"moved=gone&op=up", -1, "", ""},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		entries := rows()
		note := entryFocus(entries, q)
		for i, e := range entries {
			want := ""
			if i == tt.focusedAt {
				want = tt.focus
			}
			if e.Focus != want {
				t.Errorf("%s: entry %d focus %q, want %q", tt.query, i, e.Focus, want)
			}
		}
		if note != tt.note {
			t.Errorf("%s: note %q, want %q", tt.query, note, tt.note)
		}
	}
}

// fakeResources is the resources service as the handlers' tests need it.
type fakeResources struct {
	resourcesv1.ResourceServiceClient
	resourcesv1.DirectoryServiceClient
	stored      *resourcesv1.Resource
	lists       []*resourcesv1.ListResourcesRequest
	updates     []*resourcesv1.UpdateResourceRequest
	refuse      error // the answer to a write
	importMsgs  []*resourcesv1.ImportResourcesResponse
	importReq   *resourcesv1.ImportResourcesRequest
	importToken string
	directory   *resourcesv1.Directory
	dirUpdates  []*resourcesv1.UpdateDirectoryRequest
	// page and next answer ListResources when page is set (else stored alone).
	page []*resourcesv1.Resource
	next string
}

func (f *fakeResources) ListResources(_ context.Context, req *resourcesv1.ListResourcesRequest, _ ...grpc.CallOption) (*resourcesv1.ListResourcesResponse, error) {
	f.lists = append(f.lists, req)
	if strings.Contains(req.GetFilter(), "NOPE") {
		return nil, status.Error(codes.InvalidArgument, "invalid request: filter: invalid value \"NOPE\" for kind")
	}
	if req.GetPageToken() == "bad" {
		return nil, status.Error(codes.InvalidArgument, "invalid request: page_token: does not belong to this list")
	}
	if f.page != nil {
		return &resourcesv1.ListResourcesResponse{Resources: f.page, NextPageToken: f.next}, nil
	}
	return &resourcesv1.ListResourcesResponse{Resources: []*resourcesv1.Resource{f.stored}, NextPageToken: ""}, nil
}

func (f *fakeResources) GetResource(context.Context, *resourcesv1.GetResourceRequest, ...grpc.CallOption) (*resourcesv1.Resource, error) {
	return f.stored, nil
}

func (f *fakeResources) UpdateResource(_ context.Context, req *resourcesv1.UpdateResourceRequest, _ ...grpc.CallOption) (*resourcesv1.Resource, error) {
	f.updates = append(f.updates, req)
	if f.refuse != nil {
		return nil, f.refuse
	}
	return f.stored, nil
}

func (f *fakeResources) ListResourceRevisions(context.Context, *resourcesv1.ListResourceRevisionsRequest, ...grpc.CallOption) (*resourcesv1.ListResourceRevisionsResponse, error) {
	return &resourcesv1.ListResourceRevisionsResponse{Revisions: []*resourcesv1.ResourceRevision{
		{RevisionId: 5, Actor: "users/other@example.org", Action: "update", ChangedFields: []string{"phones"}},
		{RevisionId: 4, Actor: "users/ed@example.org", Action: "create"},
	}}, nil
}

type fakeImportStream struct {
	grpc.ClientStream
	msgs []*resourcesv1.ImportResourcesResponse
	err  error // after the messages
}

func (s *fakeImportStream) Recv() (*resourcesv1.ImportResourcesResponse, error) {
	if len(s.msgs) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

func (f *fakeResources) ImportResources(ctx context.Context, req *resourcesv1.ImportResourcesRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[resourcesv1.ImportResourcesResponse], error) {
	f.importReq = req
	md, _ := metadata.FromOutgoingContext(ctx)
	f.importToken = strings.Join(md.Get("authorization"), ",")
	return &fakeImportStream{msgs: f.importMsgs, err: f.refuse}, nil
}

func (f *fakeResources) GetDirectory(context.Context, *resourcesv1.GetDirectoryRequest, ...grpc.CallOption) (*resourcesv1.Directory, error) {
	return f.directory, nil
}

func (f *fakeResources) CreateDirectory(_ context.Context, req *resourcesv1.CreateDirectoryRequest, _ ...grpc.CallOption) (*resourcesv1.Directory, error) {
	if f.refuse != nil {
		return nil, f.refuse
	}
	d := proto.CloneOf(req.GetDirectory())
	d.Name = "directories/new1"
	return d, nil
}

func (f *fakeResources) UpdateDirectory(_ context.Context, req *resourcesv1.UpdateDirectoryRequest, _ ...grpc.CallOption) (*resourcesv1.Directory, error) {
	f.dirUpdates = append(f.dirUpdates, req)
	if f.refuse != nil {
		return nil, f.refuse
	}
	return f.directory, nil
}

// fakeSites lists one site.
type fakeSites struct{ sitesv1.SiteServiceClient }

func (fakeSites) ListSites(context.Context, *sitesv1.ListSitesRequest, ...grpc.CallOption) (*sitesv1.ListSitesResponse, error) {
	return &sitesv1.ListSitesResponse{Sites: []*sitesv1.Site{{Name: "sites/s1", DisplayName: "Site one"}}}, nil
}

// viewerSessions answers GetCurrentSession with a viewer's session.
type viewerSessions struct{ accessv1.SessionServiceClient }

func (viewerSessions) GetCurrentSession(context.Context, *accessv1.GetCurrentSessionRequest, ...grpc.CallOption) (*accessv1.Session, error) {
	return &accessv1.Session{User: "users/vera@example.org", DisplayName: "Vera",
		ActingAs: &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_VIEWER, Site: "sites/s1"}}, nil
}

func newResourceConsole(tb testing.TB, fake *fakeResources, sessions accessv1.SessionServiceClient) *Console {
	tb.Helper()
	pages, err := parsePages()
	if err != nil {
		tb.Fatal(err)
	}
	return &Console{pages: pages, sessions: sessions, resources: fake, directories: fake, sites: fakeSites{},
		logger: slog.New(slog.DiscardHandler), cfg: Config{CallTimeout: time.Second}}
}

func signedInRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
	if body != nil && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

func TestResourceListHandler(t *testing.T) {
	hostile := `<script>alert(1)</script>`
	stored := &resourcesv1.Resource{Name: "resources/r1", DisplayName: hostile, Kind: resourcesv1.Kind_KIND_CHAT, Etag: "e1",
		TargetSites: []string{"sites/s1"}, Stale: true, LastVerifiedDate: &date.Date{Year: 2025, Month: 1, Day: 2}}
	tests := []struct {
		name     string
		sessions accessv1.SessionServiceClient
		query    string
		status   int
		want     []string
		notWant  []string
		filter   string
	}{
		{"editor", fakeSessions{}, "stale=true&kind=CHAT", 200,
			[]string{`<label for="stale">`, `<label for="kind">`, `<label for="status">`, "2025-01-02", `class="badge warn">stale`,
				`action="/console/resources/r1/verify"`, `name="etag" value="e1"`, `href="/console/resources/new"`, `id="export-site"`},
			nil, `stale = "true" AND kind = "CHAT"`},
		{"viewer", viewerSessions{}, "", 200, []string{`id="export-site"`},
			[]string{`/verify"`, `href="/console/resources/new"`, `href="/console/resources/import"`}, ""},
		{"refused filter", fakeSessions{}, "kind=NOPE", 400, []string{`id="kind-error">invalid request: filter: invalid value &#34;NOPE&#34; for kind`},
			[]string{`id="resources"`}, `kind = "NOPE"`},
		{"deleted listed too", fakeSessions{}, "deleted=include", 200, []string{`<option value="include" selected>Listed too</option>`, `class="badge warn">deleted`},
			[]string{`action="/console/resources/r1/verify"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{stored: stored}
			deleted := strings.Contains(tt.query, "deleted=include")
			if deleted {
				fake.stored = proto.CloneOf(stored)
				fake.stored.DeleteTime = timestamppb.Now()
			}
			c := newResourceConsole(t, fake, tt.sessions)
			w := httptest.NewRecorder()
			c.resourceList(w, signedInRequest("GET", "/console/resources?"+tt.query, nil))
			if fake.lists[0].GetShowDeleted() != deleted {
				t.Errorf("show_deleted sent %v, want %v", fake.lists[0].GetShowDeleted(), deleted)
			}
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, body)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("unescaped markup:\n%s", body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
			if got := fake.lists[0].GetFilter(); got != tt.filter {
				t.Errorf("filter sent %q, want %q", got, tt.filter)
			}
		})
	}
}

func badRequest(tb testing.TB, code codes.Code, field, description string) error {
	tb.Helper()
	st, err := status.New(code, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}})
	if err != nil {
		tb.Fatal(err)
	}
	return st.Err()
}

func TestResourceUpdateHandler(t *testing.T) {
	tests := []struct {
		name    string
		refuse  error
		status  int
		want    []string
		notWant []string
	}{
		{"saved", nil, http.StatusSeeOther, nil, nil},
		{"hours refused", badRequest(t, codes.InvalidArgument, "resource.hours.periods[0].closes", "must be after opens (09:00)"), http.StatusBadRequest,
			[]string{`id="period-0-closes" name="period-0-closes" value="08:00" placeholder="17:00" aria-invalid="true" aria-describedby="period-0-closes-error"`,
				`<p class="field-error" id="period-0-closes-error">hours.periods[0].closes: must be after opens (09:00)</p>`,
				`<a href="#period-0-closes">hours.periods[0].closes: must be after opens (09:00)</a>`},
			[]string{`id="conflict"`}},
		{"lint refused", badRequest(t, codes.FailedPrecondition, "resource.description", "uses a stigmatising term"), http.StatusBadRequest,
			[]string{`<p class="field-error" id="description-error">description: uses a stigmatising term</p>`}, nil},
		{"not shown in the form", badRequest(t, codes.InvalidArgument, "resource.external_ids[0].source", "bad source"), http.StatusBadRequest,
			[]string{`<li>external_ids[0].source: bad source</li>`}, nil},
		{"conflict", status.Error(codes.Aborted, "etag mismatch"), http.StatusConflict,
			[]string{`id="conflict"`, "update by users/other@example.org", "phones", `name="etag" value="e-now"`, `name="revision" value="5"`,
				`value="My new name"`, "Save my version over theirs"},
			[]string{"update by users/ed@example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{stored: &resourcesv1.Resource{Name: "resources/r1", DisplayName: "Stored name", Etag: "e-now", RevisionId: 5}, refuse: tt.refuse}
			c := newResourceConsole(t, fake, fakeSessions{})
			form := url.Values{"etag": {"e-old"}, "revision": {"4"}, "display_name": {"My new name"}, "kind": {"CHAT"}, "target_sites": {"s1"},
				"period-0-day": {"MONDAY"}, "period-0-opens": {"09:00"}, "period-0-closes": {"08:00"}, "time_zone": {"America/Chicago"}}
			r := signedInRequest("POST", "/console/resources/r1", strings.NewReader(form.Encode()))
			r.SetPathValue("id", "r1")
			w := httptest.NewRecorder()
			c.resourceUpdate(w, r)
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
			up := fake.updates[0]
			if up.GetResource().GetEtag() != "e-old" || up.GetResource().GetName() != "resources/r1" || !slices.Equal(up.GetUpdateMask().GetPaths(), resourceFormMask) {
				t.Errorf("update sent %v", up)
			}
			if tt.status == http.StatusSeeOther && w.Header().Get("Location") != "/console/resources/r1?saved=1" {
				t.Errorf("saved: redirect to %q", w.Header().Get("Location"))
			}
		})
	}
}

func TestResourceImportHandler(t *testing.T) {
	done := &resourcesv1.ImportResourcesResponse{RowsTotal: 2, RowsDone: 2, Done: true, Created: 1, Skipped: 1}
	progress := &resourcesv1.ImportResourcesResponse{RowsTotal: 2, RowsDone: 2, Results: []*resourcesv1.ImportRowResult{
		{Row: 1, ExternalId: "csv/a", Outcome: resourcesv1.ImportRowResult_OUTCOME_CREATED, Resource: "resources/r9"},
		{Row: 2, ExternalId: "csv/<b>", Outcome: resourcesv1.ImportRowResult_OUTCOME_SKIPPED, Reason: "invalid", FieldViolations: []string{"phones[0].number: must be a valid phone number"}},
	}}
	tests := []struct {
		name    string
		msgs    []*resourcesv1.ImportResourcesResponse
		refuse  error
		status  int
		want    []string
		notWant []string
		content string // the file; default a two-line CSV
	}{
		{"too large for one message", []*resourcesv1.ImportResourcesResponse{done}, nil, http.StatusRequestEntityTooLarge,
			[]string{`id="file-error">The file is larger than the console takes (1016 KiB): import it with`}, []string{"import-progress"},
			"external_id,name\n" + strings.Repeat("a,A\n", 300_000)},
		{"report", []*resourcesv1.ImportResourcesResponse{progress, done}, nil, 200,
			[]string{`<div id="import-progress" class="progress" role="status"><p>Processed 2 of 2 rows…`, "All 2 rows processed.",
				`id="import-summary">1 created, 0 updated, 1 skipped (1 refused) of 2 rows.`, `<a href="/console/resources/r9">r9</a>`,
				`<tr class="refused">`, "csv/&lt;b&gt;", "<li>phones[0].number: must be a valid phone number</li>", "</html>"},
			[]string{streamMarker, `id="import-error"`}, ""},
		{"refused before it starts", nil, badRequest(t, codes.InvalidArgument, "content", "cannot be read: line 2: wrong number of fields"), 400,
			[]string{`id="file-error">content: cannot be read: line 2: wrong number of fields`, `<form method="post" action="/console/resources/import"`},
			[]string{"import-progress"}, ""},
		{"a viewer's forged import", nil, status.Error(codes.PermissionDenied, "the role viewer may not call ImportResources"), 403,
			[]string{"Your role does not allow this"}, []string{"import-progress"}, ""},
		{"stopped midway", []*resourcesv1.ImportResourcesResponse{progress}, status.Error(codes.Unavailable, "gone"), 200,
			[]string{`id="import-error">The import stopped: A Beacon service is unavailable`, `<a href="/console/resources/r9">r9</a>`, "</html>"},
			[]string{`id="import-summary"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{importMsgs: tt.msgs, refuse: tt.refuse}
			c := newResourceConsole(t, fake, fakeSessions{})
			var body strings.Builder
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("site", "s1")
			_ = mw.WriteField("format", "")
			fw, _ := mw.CreateFormFile("file", "list.csv")
			content := tt.content
			if content == "" {
				content = "external_id,name\na,A\n"
			}
			_, _ = io.WriteString(fw, content)
			_ = mw.Close()
			r := signedInRequest("POST", resourceImportPath, strings.NewReader(body.String()))
			r.Header.Set("Content-Type", mw.FormDataContentType())
			w := httptest.NewRecorder()
			c.resourceImport(w, r)
			got := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, got)
			}
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(got, s) {
					t.Errorf("has %q:\n%s", s, got)
				}
			}
			if tt.content != "" {
				if fake.importReq != nil {
					t.Errorf("a file too large was sent to the service")
				}
				return
			}
			if req := fake.importReq; req.GetSite() != "sites/s1" || req.GetFormat() != resourcesv1.ImportFormat_IMPORT_FORMAT_CSV ||
				req.GetContent() != "external_id,name\na,A\n" || fake.importToken != "Bearer bs_token" {
				t.Errorf("import request %v as %q", req, fake.importToken)
			}
		})
	}
}

func TestDirectoryEntriesHandler(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		refuse   error
		status   int
		location string
		order    []string
	}{
		{"move up", url.Values{"etag": {"d1"}, "op": {"up"}, "index": {"1"}}, nil, http.StatusSeeOther,
			"/console/directories/dir1?moved=b&op=up", []string{"b", "a", "c"}},
		{"stale page", url.Values{"etag": {"old"}, "op": {"up"}, "index": {"1"}}, nil, http.StatusConflict, "", nil},
		{"refused by the service", url.Values{"etag": {"d1"}, "op": {"add"}, "resource": {"z"}},
			badRequest(t, codes.FailedPrecondition, "directory.entries[3].resource", "must target sites/s1"), http.StatusBadRequest, "", []string{"a", "b", "c", "z"}},
		{"a viewer's forged move", url.Values{"etag": {"d1"}, "op": {"down"}, "index": {"0"}},
			status.Error(codes.PermissionDenied, "the role viewer may not call UpdateDirectory"), http.StatusForbidden, "", []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{refuse: tt.refuse, stored: &resourcesv1.Resource{Name: "resources/a", DisplayName: "A"},
				directory: &resourcesv1.Directory{Name: "directories/dir1", Site: "sites/s1", Title: "D", Slug: "d", Etag: "d1", Entries: entriesOf("a", "b", "c")}}
			c := newResourceConsole(t, fake, fakeSessions{})
			r := signedInRequest("POST", "/console/directories/dir1/entries", strings.NewReader(tt.form.Encode()))
			r.SetPathValue("id", "dir1")
			w := httptest.NewRecorder()
			c.directoryEntries(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("redirect to %q, want %q", got, tt.location)
			}
			if tt.order == nil {
				if len(fake.dirUpdates) > 0 {
					t.Errorf("a stale page was written: %v", fake.dirUpdates)
				}
				return
			}
			up := fake.dirUpdates[0]
			var ids []string
			for _, e := range up.GetDirectory().GetEntries() {
				ids = append(ids, strings.TrimPrefix(e.GetResource(), "resources/"))
			}
			if !slices.Equal(ids, tt.order) || up.GetDirectory().GetEtag() != "d1" || !slices.Equal(up.GetUpdateMask().GetPaths(), []string{"entries"}) {
				t.Errorf("update sent %v", up)
			}
			if tt.status == http.StatusBadRequest && !strings.Contains(w.Body.String(), `id="entries-error">entries[3].resource: must target sites/s1`) {
				t.Errorf("the refusal is not shown beside the entries:\n%s", w.Body)
			}
		})
	}
}

// TestDirectoryEditorPicker: the editor asks the resources service for one page of the
// site's resources by name (a name search and a page token when given), never the whole site,
// names each entry by its own lookup, and offers the entries already listed disabled.
func TestDirectoryEditorPicker(t *testing.T) {
	res := func(id, name string, sites ...string) *resourcesv1.Resource {
		return &resourcesv1.Resource{Name: "resources/" + id, DisplayName: name, TargetSites: sites}
	}
	tests := []struct {
		name     string
		query    string
		next     string
		status   int
		wantList *resourcesv1.ListResourcesRequest
		want     []string
		notWant  []string
	}{
		{name: "first page", query: "", next: "tok2", status: http.StatusOK,
			wantList: &resourcesv1.ListResourcesRequest{Filter: `site = "s1"`, OrderBy: "display_name", PageSize: pickerPageSize},
			want: []string{`value="a" disabled>`, `Alpha line (listed already)`, `value="c" checked>`, `<a href="/console/resources/a">Alpha line</a>`,
				`resources/gone (not on this site now)`, `resources/b (not on this site now)`, `id="picker-next">More resources</a>`,
				`href="/console/directories/dir1?page=2&amp;page_token=tok2#add-heading"`},
			notWant: []string{`id="picker-first"`}},
		{name: "a search, second page", query: "?find=%22li%22&page_token=tok2&page=2", status: http.StatusOK,
			wantList: &resourcesv1.ListResourcesRequest{Filter: `site = "s1" AND display_name:"\"li\""`, OrderBy: "display_name", PageSize: pickerPageSize, PageToken: "tok2"},
			want:     []string{`value="&#34;li&#34;"`, `containing “&#34;li&#34;”`, `id="picker-first">First page</a>`, `href="/console/directories/dir1?find=%22li%22#add-heading"`},
			notWant:  []string{`id="picker-next"`}},
		{name: "a page token of another search", query: "?find=x&page_token=bad&page=2", status: http.StatusBadRequest,
			wantList: &resourcesv1.ListResourcesRequest{Filter: `site = "s1" AND display_name:"x"`, OrderBy: "display_name", PageSize: pickerPageSize, PageToken: "bad"},
			want:     []string{`id="find-error">invalid request: page_token: does not belong to this list`, `<a href="/console/resources/a">Alpha line</a>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{
				directory: &resourcesv1.Directory{Name: "directories/dir1", Site: "sites/s1", Title: "D", Slug: "d", Etag: "d1", Entries: []*resourcesv1.DirectoryEntry{
					{Resource: "resources/a", DisplayName: "Alpha line"}, {Resource: "resources/gone"}, {Resource: "resources/b"}}},
				page: []*resourcesv1.Resource{res("a", "Alpha line", "sites/s1"), res("c", "Charlie line", "sites/s1"), res("d", "Delta line", "sites/s1")},
				next: tt.next,
			}
			c := newResourceConsole(t, fake, fakeSessions{})
			r := signedInRequest("GET", "/console/directories/dir1"+tt.query, nil)
			r.SetPathValue("id", "dir1")
			w := httptest.NewRecorder()
			c.directoryEdit(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, w.Body)
			}
			if len(fake.lists) != 1 || !proto.Equal(fake.lists[0], tt.wantList) {
				t.Errorf("list calls %v, want one: %v", fake.lists, tt.wantList)
			}
			body := w.Body.String()
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
		})
	}
}

// TestNewDirectoryFormOffersOnePage: the new-directory form offers the first
// newDirectoryPicker resources of the site by name (with the name search), says when there are
// more, and keeps the search and the checked boxes when the service refuses the directory.
func TestNewDirectoryFormOffersOnePage(t *testing.T) {
	page := []*resourcesv1.Resource{{Name: "resources/a", DisplayName: "Alpha line"}, {Name: "resources/c", DisplayName: "Charlie line"}}
	tests := []struct {
		name, method, target string
		form                 url.Values
		refuse               error
		status               int
		wantFilter           string
		want                 []string
	}{
		{name: "the form", method: "GET", target: "/console/directories/new?site=s1&find=line", status: http.StatusOK,
			wantFilter: `site = "s1" AND display_name:"line"`,
			want: []string{`<label for="find">Name contains</label>`, `type="search" value="line"`, `whose name contains “line”`,
				`id="entries-more">The first 2 by name`, `<label for="entry-1">Charlie line</label>`}},
		{name: "refused", method: "POST", target: "/console/directories", refuse: badRequest(t, codes.InvalidArgument, "directory.title", "is required"),
			form:   url.Values{"site": {"s1"}, "find": {"line"}, "entries": {"c"}},
			status: http.StatusBadRequest, wantFilter: `site = "s1" AND display_name:"line"`,
			want: []string{`id="title-error">title: is required`, `name="find" value="line"`, `id="entry-1" name="entries" value="c" checked>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{page: page, next: "more", refuse: tt.refuse}
			c := newResourceConsole(t, fake, fakeSessions{})
			var body io.Reader
			if tt.form != nil {
				body = strings.NewReader(tt.form.Encode())
			}
			w := httptest.NewRecorder()
			if tt.method == "GET" {
				c.directoryNew(w, signedInRequest(tt.method, tt.target, body))
			} else {
				c.directoryCreate(w, signedInRequest(tt.method, tt.target, body))
			}
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.status, w.Body)
			}
			if len(fake.lists) != 1 || fake.lists[0].GetFilter() != tt.wantFilter || fake.lists[0].GetPageSize() != newDirectoryPicker {
				t.Errorf("list calls %v, want one of %d with filter %s", fake.lists, newDirectoryPicker, tt.wantFilter)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
		})
	}
}

func TestResourceScreensEscapeAndLabel(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{pages: pages}
	hostile := `<script>alert(1)</script>`
	editor := resourceEditor(resourceFormOf(&resourcesv1.Resource{DisplayName: hostile, Phones: []*resourcesv1.Phone{{Number: hostile}}}),
		inputErrors{"phone-0-number": hostile}, []siteOption{{ID: "s1", Name: hostile}})
	editor.ID, editor.Action = "r1", "/console/resources/r1"
	deletedEditor := *editor
	deletedEditor.Deleted = "2 Dec 2026, 09:00 UTC"
	tests := []struct {
		page    string
		data    pageData
		want    []string
		notWant []string
	}{
		{"home", pageData{Title: "Home", Viewer: &viewer{DisplayName: "Ed"}, StaleResources: []resourceRow{{ID: "r1", DisplayName: hostile, Sites: "s1", Verified: "never"}}},
			[]string{`id="stale-heading"`, `<a href="/console/resources/r1">&lt;script&gt;`, "never"}, nil},
		{"home", pageData{Title: "Home", Viewer: &viewer{DisplayName: "Ed"}}, []string{"Every resource you can see was verified recently."}, nil},
		{"resource-edit", pageData{Title: "Edit", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, ResourceEdit: editor},
			[]string{`<label for="display_name">Name</label>`, `<label for="phone-0-number">Number</label>`, `<label for="period-1-opens">Opens</label>`,
				`<label for="location-0-latitude">Latitude</label>`, `<legend>Sites</legend>`, `id="phone-0-number-error">&lt;script&gt;`,
				`action="/console/resources/r1/verify"`, `id="save"`}, nil},
		{"resource-edit", pageData{Title: "Edit", Viewer: &viewer{DisplayName: "Vera"}, ResourceEdit: editor},
			[]string{"can read resources but not change them"}, []string{`/verify"`, `id="save"`}},
		{"resource-edit", pageData{Title: "Edit", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, ResourceEdit: editor},
			[]string{`action="/console/resources/r1/delete"`, `id="delete">Delete…</button>`}, []string{`id="undelete"`}},
		{"resource-edit", pageData{Title: "Edit", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, ResourceEdit: &deletedEditor},
			[]string{`deleted on 2 Dec 2026, 09:00 UTC`, `action="/console/resources/r1/undelete"`, `id="undelete">Undelete</button>`},
			[]string{`id="save"`, `id="verify"`, `id="delete"`}},
		{"resource-edit", pageData{Title: "Edit", Viewer: &viewer{DisplayName: "Vera"}, ResourceEdit: &deletedEditor},
			[]string{`deleted on 2 Dec 2026, 09:00 UTC`}, []string{`id="undelete"`, `id="delete"`}},
		{"resource-import", pageData{Title: "Import", Viewer: &viewer{DisplayName: "Vera"}, Import: &importPage{Sites: []siteOption{{ID: "s1"}}}},
			[]string{"can read resources but not import them"}, []string{`action="/console/resources/import"`}},
		{"resource-import", pageData{Title: "Import", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, Import: &importPage{Sites: []siteOption{{ID: "s1", Name: hostile}}, Formats: importFormats}},
			[]string{`enctype="multipart/form-data"`, `<label for="file">File</label>`, `<label for="site">Site</label>`, `<label for="format">Format</label>`}, nil},
		{"directories", pageData{Title: "Directories", Viewer: &viewer{DisplayName: "Vera"}, Directories: &directoriesPage{Rows: []directoryRow{{ID: "d1", Title: hostile, Entries: 2, Rule: true}}}},
			[]string{`<a href="/console/directories/d1">&lt;script&gt;`, "2 and a rule"}, []string{`href="/console/directories/new"`}},
		{"directory-edit", pageData{Title: "Directory", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, DirectoryEdit: &directoryEditPage{ID: "d1", Etag: "e", Title: hostile, Writable: true, RuleForm: ruleFormOf(nil),
			Entries: []directoryEntryRow{{Index: 0, Position: 1, Count: 2, ResourceID: "a", Name: hostile, Focus: "down"}, {Index: 1, Position: 2, Count: 2, ResourceID: "b", Name: "B"}},
			Picker: resourcePicker{Find: hostile, Candidates: []entryCandidate{{ID: "a", Name: hostile, Listed: true}, {ID: "c", Name: "C", Checked: true}},
				NextLink: "/console/directories/d1?find=x&page=2&page_token=t#add-heading"}}},
			[]string{`aria-label="Move up: &lt;script&gt;alert(1)&lt;/script&gt;" disabled>Move up`, `aria-label="Move down: &lt;script&gt;alert(1)&lt;/script&gt;" autofocus>Move down`,
				`aria-label="Move down: B" disabled>Move down`, `name="index" value="1"`, `<label for="find">Name contains</label>`,
				`value="a" disabled>`, `<label for="candidate-0">&lt;script&gt;alert(1)&lt;/script&gt; (listed already)</label>`, `value="c" checked>`,
				`<label for="candidate-1">C</label>`, `<label for="add-note">Note (optional)</label>`, `id="picker-next">More resources</a>`, `action="/console/directories/d1/delete"`, `id="rule-form"`, `<label for="rule_kinds-0">Crisis line</label>`}, []string{`id="picker-first"`, `id="undelete"`}},
		{"directory-edit", pageData{Title: "Directory", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, DirectoryEdit: &directoryEditPage{ID: "d1", Etag: "e", Title: "D", Writable: true,
			Picker: resourcePicker{Find: "zz"}, FieldErrors: map[string]string{"find": "page_token: stale"}}},
			[]string{`id="no-candidates">No resource of  has a name containing “zz”.`, `aria-invalid="true" aria-describedby="find-error"`, `id="find-error">page_token: stale`}, []string{`id="add-entry"`}},
		{"directory-edit", pageData{Title: "Directory", Viewer: &viewer{DisplayName: "Ed", CanWrite: true}, DirectoryEdit: &directoryEditPage{ID: "d1", Etag: "e", Title: "D",
			Deleted: "2 Dec 2026, 09:00 UTC", Entries: []directoryEntryRow{{Position: 1, Count: 2, ResourceID: "a", Name: "A"}, {Position: 2, Count: 2, ResourceID: "b", Name: "B"}},
			Picker: resourcePicker{Candidates: []entryCandidate{{ID: "c", Name: "C"}}}}},
			[]string{`deleted on 2 Dec 2026, 09:00 UTC`, `action="/console/directories/d1/undelete"`, `id="undelete">Undelete</button>`},
			[]string{"Move up", `id="add-resource"`, `id="save-directory"`, `id="delete"`, `id="rule-form"`}},
		{"directory-edit", pageData{Title: "Directory", Viewer: &viewer{DisplayName: "Vera"}, DirectoryEdit: &directoryEditPage{ID: "d1", Title: "D",
			Entries: []directoryEntryRow{{Position: 1, Count: 1, ResourceID: "a", Name: "A"}}, Picker: resourcePicker{Candidates: []entryCandidate{{ID: "c", Name: "C"}}}}},
			[]string{"A"}, []string{"Move up", `id="add-resource"`, `id="find"`, `id="save-directory"`, `id="rule-form"`}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			w := httptest.NewRecorder()
			c.render(w, httptest.NewRequest("GET", "/console/", nil), http.StatusOK, tt.page, tt.data)
			body := w.Body.String()
			if strings.Contains(body, "<script") {
				t.Errorf("unescaped markup:\n%s", body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
		})
	}
}
