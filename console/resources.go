package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// The Resources and Directories screens (issue #11 screens 6 and 7) and Home's stale
// resources. Like every screen they call the resources service as the signed-in user: the
// service's policy and site scope decide what the user sees and may change.

const (
	resourcesPath      = Prefix + "resources"
	resourceImportPath = Prefix + "resources/import"
	directoriesPath    = Prefix + "directories"

	resourcesPageSize  = 25
	homeStaleResources = 20 // least recently verified first

	// maxImportFormBytes caps the import form's upload: the file travels to the resources
	// service in one gRPC message, which is limited to 1 MiB (`beacon import resources` splits
	// larger files).
	maxImportFormBytes = 1 << 20
	// maxImportFileBytes caps the file itself: the gRPC message holds it and a few fields.
	maxImportFileBytes = maxImportFormBytes - 8<<10
	// maxExportBytes bounds the export the console accepts from the resources service.
	maxExportBytes = 256 << 20
)

// resourcePageNames are the templates of these screens.
var resourcePageNames = []string{"resources", "resource-edit", "resource-import", "directories", "directory-edit"}

// resourceKinds and resourceStatuses are the resources API's enums, as its filter and forms
// name them (without the KIND_ and STATUS_ prefixes).
var (
	resourceKinds    = protoEnumOptions(resourcesv1.Kind_name, "KIND_")
	resourceStatuses = protoEnumOptions(resourcesv1.Status_name, "STATUS_")
	resourceSorts    = []option{
		{Value: "update_time", Label: "Last changed"},
		{Value: "display_name", Label: "Name"},
		{Value: "last_verified_date", Label: "Last verified"},
		{Value: "create_time", Label: "Created"},
	}
)

// protoEnumOptions lists a proto enum's values but the unspecified one, in number order, as
// options whose value is the name without prefix ("CRISIS_LINE") and whose label is it in
// words ("Crisis line").
func protoEnumOptions(names map[int32]string, prefix string) []option {
	var out []option
	for i := int32(1); ; i++ {
		name, ok := names[i]
		if !ok {
			return out
		}
		v := strings.TrimPrefix(name, prefix)
		out = append(out, option{Value: v, Label: enumWords(v)})
	}
}

// enumWords writes an enum name as words: "TEMPORARILY_CLOSED" -> "Temporarily closed".
func enumWords(v string) string {
	s := strings.ToLower(strings.ReplaceAll(v, "_", " "))
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (c *Console) resourceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/resources", c.resourceList)
	mux.HandleFunc("GET /console/resources/new", c.resourceNew)
	mux.HandleFunc("POST /console/resources", c.resourceCreate)
	mux.HandleFunc("GET /console/resources/import", c.resourceImportForm)
	mux.HandleFunc("POST /console/resources/import", c.resourceImport)
	mux.HandleFunc("GET /console/resources/export", c.resourceExport)
	mux.HandleFunc("GET /console/resources/{id}", c.resourceEdit)
	mux.HandleFunc("POST /console/resources/{id}", c.resourceUpdate)
	mux.HandleFunc("POST /console/resources/{id}/verify", c.resourceVerify)
	mux.HandleFunc("POST /console/resources/{id}/delete", c.resourceDelete)
	mux.HandleFunc("POST /console/resources/{id}/undelete", c.resourceUndelete)
	mux.HandleFunc("GET /console/directories", c.directoryList)
	mux.HandleFunc("GET /console/directories/new", c.directoryNew)
	mux.HandleFunc("POST /console/directories", c.directoryCreate)
	mux.HandleFunc("GET /console/directories/{id}", c.directoryEdit)
	mux.HandleFunc("POST /console/directories/{id}", c.directoryUpdate)
	mux.HandleFunc("POST /console/directories/{id}/entries", c.directoryEntries)
	mux.HandleFunc("POST /console/directories/{id}/rule", c.directoryRule)
	mux.HandleFunc("POST /console/directories/{id}/delete", c.directoryDelete)
	mux.HandleFunc("POST /console/directories/{id}/undelete", c.directoryUndelete)
}

// sessionOrSignIn returns the session of a request. ok is false when the request has been answered:
// sent to sign-in, or an error page.
func (c *Console) sessionOrSignIn(w http.ResponseWriter, r *http.Request) (string, *accessv1.Session, bool) {
	token, sess, ok := c.current(w, r)
	if !ok {
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return "", nil, false
	}
	if sess == nil {
		return "", nil, false // answered by current
	}
	return token, sess, true
}

// resourceQuery is the Resources screen's form: the URL's query, as typed.
type resourceQuery struct {
	Stale, Kind, Status, Site string
	Sort                      string // one of resourceSorts' values
	Desc                      bool
	// Deleted lists the deleted resources too (the list's show_deleted).
	Deleted   bool
	PageToken string
	Page      int
}

// resourceFilterFields are the Resources form's filter inputs, in the order a refused filter
// is attributed to them.
var resourceFilterFields = []string{"stale", "kind", "status", "site"}

func resourceQueryOf(q url.Values) resourceQuery {
	rq := resourceQuery{
		Stale: strings.TrimSpace(q.Get("stale")), Kind: strings.TrimSpace(q.Get("kind")),
		Status: strings.TrimSpace(q.Get("status")), Site: strings.TrimSpace(q.Get("site")),
		Sort: q.Get("sort"), Desc: q.Get("dir") != "asc", PageToken: q.Get("page_token"), Page: 1,
		Deleted: q.Get("deleted") == "include",
	}
	if rq.Sort == "" {
		rq.Sort = "update_time"
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && rq.PageToken != "" {
		rq.Page = n
	}
	return rq
}

func (q resourceQuery) value(field string) string {
	switch field {
	case "stale":
		return q.Stale
	case "kind":
		return q.Kind
	case "status":
		return q.Status
	case "site":
		return q.Site
	}
	return ""
}

// condition is the AIP-160 condition of one input ("" when empty): values quoted, the
// resources API parses them and refuses what it does not accept.
func (q resourceQuery) condition(field string) string {
	if v := q.value(field); v != "" {
		return field + " = " + quoteFilterValue(v)
	}
	return ""
}

func (q resourceQuery) filter() string {
	var conds []string
	for _, f := range resourceFilterFields {
		if c := q.condition(f); c != "" {
			conds = append(conds, c)
		}
	}
	return strings.Join(conds, " AND ")
}

func (q resourceQuery) orderBy() string {
	if q.Desc {
		return q.Sort + " desc"
	}
	return q.Sort
}

// link is the Resources screen with the same filter and sort, opening pageToken as page
// number page (the first page without a token).
func (q resourceQuery) link(pageToken string, page int) string {
	v := url.Values{}
	for _, f := range resourceFilterFields {
		if s := q.value(f); s != "" {
			v.Set(f, s)
		}
	}
	if q.Deleted {
		v.Set("deleted", "include")
	}
	v.Set("sort", q.Sort)
	v.Set("dir", map[bool]string{true: "desc", false: "asc"}[q.Desc])
	if pageToken != "" {
		v.Set("page_token", pageToken)
		v.Set("page", strconv.Itoa(page))
	}
	return resourcesPath + "?" + v.Encode()
}

// resourcesPage is the Resources screen's data.
type resourcesPage struct {
	Query               resourceQuery
	Kinds, Statuses     []option
	Sorts               []option
	Rows                []resourceRow
	FieldErrors         map[string]string // form input name -> the API's message
	NextLink, FirstLink string
	Sites               []siteOption // the export's choices
	Note                string
	Here                string // this page's URL, where a verify returns
}

// resourceRow is one resource of a list.
type resourceRow struct {
	ID, DisplayName, Kind, Status, Sites, Etag string
	Verified                                   string // "2026-12-02", or "never"
	Stale, Crisis, Deleted                     bool
}

func resourceRowOf(r *resourcesv1.Resource) resourceRow {
	sites := make([]string, 0, len(r.GetTargetSites()))
	for _, s := range r.GetTargetSites() {
		sites = append(sites, siteID(s))
	}
	return resourceRow{
		ID: strings.TrimPrefix(r.GetName(), "resources/"), DisplayName: r.GetDisplayName(),
		Kind:   enumWords(strings.TrimPrefix(r.GetKind().String(), "KIND_")),
		Status: enumWords(strings.TrimPrefix(r.GetStatus().String(), "STATUS_")),
		Sites:  strings.Join(sites, ", "), Etag: r.GetEtag(), Verified: isoDateOrNever(r.GetLastVerifiedDate()),
		Stale: r.GetStale(), Crisis: r.GetCrisis(), Deleted: r.GetDeleteTime() != nil,
	}
}

// isoDateOrNever writes a date as ISO 8601, or "never" when unset.
func isoDateOrNever(d *date.Date) string {
	if d == nil || d.GetYear() == 0 {
		return "never"
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// resourceList lists the resources the user may see, filtered (stale, kind, status, site),
// sorted and paged by the resources service. A refused filter is shown beside its input.
func (c *Console) resourceList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	q := resourceQueryOf(r.URL.Query())
	page := &resourcesPage{Query: q, Kinds: resourceKinds, Statuses: resourceStatuses, Sorts: resourceSorts, Here: q.link(q.PageToken, q.Page)}
	data := pageData{Title: "Resources", Viewer: viewerOf(sess), Resources: page}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{
		Filter: q.filter(), OrderBy: q.orderBy(), PageSize: resourcesPageSize, PageToken: q.PageToken, ShowDeleted: q.Deleted})
	if status.Code(err) == codes.InvalidArgument {
		page.FieldErrors = c.attributeResourceListError(ctx, q, err)
		c.render(w, r, http.StatusBadRequest, "resources", data)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	verified := r.URL.Query().Get("verified")
	for _, res := range resp.GetResources() {
		row := resourceRowOf(res)
		if verified != "" && row.ID == verified {
			page.Note = fmt.Sprintf("Verified %s on %s.", row.DisplayName, row.Verified)
		}
		page.Rows = append(page.Rows, row)
	}
	if next := resp.GetNextPageToken(); next != "" {
		page.NextLink = q.link(next, q.Page+1)
	}
	if q.PageToken != "" {
		page.FirstLink = q.link("", 1)
	}
	if page.Sites, err = c.writableSites(r, token, sess); err != nil {
		c.serviceError(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "resources", data)
}

// attributeResourceListError asks the resources service about each filter input alone, then
// the sort, and gives each refused one the service's message; a refusal none explains goes
// above the form ("form").
func (c *Console) attributeResourceListError(ctx context.Context, q resourceQuery, listErr error) map[string]string {
	out := map[string]string{}
	for _, f := range resourceFilterFields {
		if cond := q.condition(f); cond != "" {
			_, err := c.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{Filter: cond, PageSize: 1})
			if status.Code(err) == codes.InvalidArgument {
				out[f] = status.Convert(err).Message()
			}
		}
	}
	if _, err := c.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{OrderBy: q.orderBy(), PageSize: 1}); status.Code(err) == codes.InvalidArgument {
		out["sort"] = status.Convert(err).Message()
	}
	if len(out) == 0 {
		out["form"] = status.Convert(listErr).Message()
	}
	return out
}

// staleResources are Home's resources whose verification is stale: the resources service's
// stale filter, as the user (so only the sites the user may see), least recently verified
// first.
func (c *Console) staleResources(ctx context.Context) ([]resourceRow, error) {
	resp, err := c.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{
		Filter: "stale = true", OrderBy: "last_verified_date", PageSize: homeStaleResources})
	if err != nil {
		return nil, err
	}
	rows := make([]resourceRow, 0, len(resp.GetResources()))
	for _, res := range resp.GetResources() {
		rows = append(rows, resourceRowOf(res))
	}
	return rows, nil
}

// consoleReturnPath is target when it is a path of the console (never another host), else fallback.
func consoleReturnPath(target, fallback string) string {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, Prefix) ||
		strings.HasPrefix(target, "//") || strings.Contains(target, `\`) {
		return fallback
	}
	return u.RequestURI()
}

// withQueryValue returns target with key=value added to its query.
func withQueryValue(target, key, value string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// resourceVerify records, in one click, that the user checked the resource today (:verify
// with the etag of the version the user saw: a resource changed meanwhile is a conflict, not
// verified blind). It returns to the page the button was on.
func (c *Console) resourceVerify(w http.ResponseWriter, r *http.Request) {
	token, _, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	_, err := c.resources.VerifyResource(ctx, &resourcesv1.VerifyResourceRequest{Name: "resources/" + id, Etag: r.PostFormValue("etag")})
	if status.Code(err) == codes.Aborted {
		c.renderError(w, r, http.StatusConflict, "This resource changed after you loaded the page, so it was not verified. "+
			"Open it again, check the current version, then verify.")
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	back := consoleReturnPath(r.PostFormValue("return"), resourcesPath+"/"+id)
	http.Redirect(w, r, withQueryValue(back, "verified", id), http.StatusSeeOther)
}

// resourceExport downloads a site's resources as HSDS 3.0 JSON (ExportResources as the user).
func (c *Console) resourceExport(w http.ResponseWriter, r *http.Request) {
	token, _, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	site := r.URL.Query().Get("site")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	body, err := c.resources.ExportResources(ctx, &resourcesv1.ExportResourcesRequest{Site: "sites/" + site},
		grpc.MaxCallRecvMsgSize(maxExportBytes))
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	// The service accepted the site id, so it is a site id (lowercase letters, digits, '-');
	// the filename keeps only those characters anyway.
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, site)
	w.Header().Set("Content-Type", body.GetContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-resources.hsds.json"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body.GetData())))
	_, _ = w.Write(body.GetData())
}
