package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// The Directories screen: a site's curated, ordered lists of resources. Entries are
// reordered with Move up / Move down buttons, each a real form button (no script): the page
// comes back with the focus on the moved entry's button, so a keyboard user presses Enter
// again to move it further.
//
// Resources to add are offered by a bounded picker, never the whole site: one page of the
// site's resources by name (the resources service lists them from its in-memory index),
// narrowed by a name search and paged with the service's page tokens. The entries' names come
// with the directory (named from the same index). A render costs two calls, GetDirectory and
// one ListResources of a page, whatever the size of the site.

const (
	directoriesListed = 100 // directories listed, by title
	// pickerPageSize resources are offered per page of the directory editor's picker, and
	// newDirectoryPicker as the new-directory form's checkboxes.
	pickerPageSize     = 20
	newDirectoryPicker = 50
)

// directoriesPage is the Directories screen's data: the list, or the new-directory form.
type directoriesPage struct {
	Rows  []directoryRow
	Sites []siteOption
	// The new-directory form (New), for Site: the first newDirectoryPicker resources by name
	// (whose name contains Find, when given); More says there are more.
	New                bool
	Site, Find         string
	Title, Slug, Intro string
	Candidates         []entryCandidate
	More               bool
	FieldErrors        map[string]string
}

type directoryRow struct {
	ID, Title, Site, Slug string
	Entries               int
	Rule                  bool
	Updated               time.Time
}

// entryCandidate is a resource offered as a directory entry. Listed: it is an entry already
// (offered, but not to pick again).
type entryCandidate struct {
	ID, Name        string
	Checked, Listed bool
}

// resourcePicker is one page of the directory editor's picker: the site's resources by name,
// those whose name contains Find when it is set.
type resourcePicker struct {
	Find       string
	Candidates []entryCandidate
	// NextLink opens the next page, FirstLink the first (on a later page); "" when none.
	NextLink, FirstLink string
}

// directoryEditPage is the directory editor's data.
type directoryEditPage struct {
	ID, Title, Slug, Intro, Site, Etag string
	Entries                            []directoryEntryRow
	Picker                             resourcePicker
	Rule                               string
	FieldErrors                        map[string]string
	Note                               string
	DeliveryPath                       string
	// Deleted is when the directory was deleted ("" when it is not); Writable: the user may
	// change it (a writer, and it is not deleted).
	Deleted  string
	Writable bool
	// RuleForm is the rule's form (the stored rule, or the user's beside a refusal).
	RuleForm directoryRuleForm
}

// directoryEntryRow is one entry of the editor's ordered list.
type directoryEntryRow struct {
	Index, Position, Count int
	ResourceID, Name, Note string
	Focus                  string // "up" or "down": this entry's button that gets the focus
}

func (c *Console) directoryList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.directories.ListDirectories(ctx, &resourcesv1.ListDirectoriesRequest{OrderBy: "title", PageSize: directoriesListed})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &directoriesPage{}
	for _, d := range resp.GetDirectories() {
		page.Rows = append(page.Rows, directoryRow{ID: strings.TrimPrefix(d.GetName(), "directories/"), Title: d.GetTitle(),
			Site: siteID(d.GetSite()), Slug: d.GetSlug(), Entries: len(d.GetEntries()), Rule: d.GetRule() != nil, Updated: d.GetUpdateTime().AsTime()})
	}
	c.render(w, r, http.StatusOK, "directories", pageData{Title: "Directories", Viewer: viewerOf(sess), Directories: page})
}

// pickResources lists one page of the live resources of site the user may see, by name: those
// whose name contains find (case-insensitive) when it is not empty. The resources service
// refuses a page token of another search (InvalidArgument).
func (c *Console) pickResources(ctx context.Context, site, find, pageToken string, size int32) ([]*resourcesv1.Resource, string, error) {
	filter := "site = " + quoteFilterValue(site)
	if find != "" {
		filter += " AND display_name:" + quoteFilterValue(find)
	}
	resp, err := c.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{Filter: filter, OrderBy: "display_name", PageSize: size, PageToken: pageToken})
	if err != nil {
		return nil, "", err
	}
	return resp.GetResources(), resp.GetNextPageToken(), nil
}

// directoryNew shows the new-directory form for the site in the query (the user's site, or
// the first it may write, when none is given).
func (c *Console) directoryNew(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	page := &directoriesPage{New: true, Site: r.URL.Query().Get("site"), Find: strings.TrimSpace(r.URL.Query().Get("find"))}
	c.renderNewDirectory(w, r, token, sess, http.StatusOK, page, nil)
}

func (c *Console) renderNewDirectory(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, code int, page *directoriesPage, checked []string) {
	sites, err := c.writableSites(r, token, sess)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Sites = sites
	if page.Site == "" && len(sites) > 0 {
		page.Site = sites[0].ID
	}
	if page.Site != "" {
		ctx, cancel := c.callContext(r, token)
		defer cancel()
		list, next, err := c.pickResources(ctx, page.Site, page.Find, "", newDirectoryPicker)
		page.More = next != ""
		if status.Code(err) == codes.InvalidArgument || status.Code(err) == codes.PermissionDenied {
			if page.FieldErrors == nil {
				page.FieldErrors = map[string]string{}
			}
			page.FieldErrors["site"] = status.Convert(err).Message()
			code = http.StatusBadRequest
		} else if err != nil {
			c.serviceError(w, r, err)
			return
		}
		for _, res := range list {
			id := strings.TrimPrefix(res.GetName(), "resources/")
			page.Candidates = append(page.Candidates, entryCandidate{ID: id, Name: res.GetDisplayName(), Checked: slices.Contains(checked, id)})
		}
	}
	c.render(w, r, code, "directories", pageData{Title: "New directory", Viewer: viewerOf(sess), Directories: page})
}

// directoryInput is the form input a DirectoryService field violation is about.
func directoryInput(field string) string {
	field = strings.TrimPrefix(field, "directory.")
	switch {
	case field == "title", field == "slug", field == "intro", field == "site":
		return field
	case strings.HasPrefix(field, "entries"):
		return "entries"
	case strings.HasPrefix(field, "rule.kinds"):
		return "rule_kinds"
	case strings.HasPrefix(field, "rule.taxonomy_terms"):
		return "rule_taxonomy"
	case strings.HasPrefix(field, "rule.region.country"):
		return "rule_country"
	case strings.HasPrefix(field, "rule.region.region"):
		return "rule_region"
	case strings.HasPrefix(field, "rule.region.postal_codes"):
		return "rule_postal_codes"
	case strings.HasPrefix(field, "rule"):
		return "rule"
	}
	return "form"
}

// directoryViolations maps a refused directory write to the form's inputs.
func directoryViolations(err error) map[string]string {
	out := map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				in := directoryInput(v.GetField())
				out[in] = strings.TrimSpace(out[in] + " " + strings.TrimPrefix(v.GetField(), "directory.") + ": " + v.GetDescription())
			}
		}
	}
	if len(out) == 0 {
		out["form"] = status.Convert(err).Message()
	}
	return out
}

// directoryCreate creates a directory with the checked resources as its entries, in the
// list's order (reordered afterwards in the editor).
func (c *Console) directoryCreate(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	page := &directoriesPage{New: true, Site: r.PostFormValue("site"), Find: strings.TrimSpace(r.PostFormValue("find")), Title: strings.TrimSpace(r.PostFormValue("title")),
		Slug: strings.TrimSpace(r.PostFormValue("slug")), Intro: r.PostFormValue("intro")}
	checked := r.PostForm["entries"]
	d := &resourcesv1.Directory{Title: page.Title, Slug: page.Slug, Intro: page.Intro, Site: "sites/" + page.Site}
	for _, id := range checked {
		d.Entries = append(d.Entries, &resourcesv1.DirectoryEntry{Resource: "resources/" + id})
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	created, err := c.directories.CreateDirectory(ctx, &resourcesv1.CreateDirectoryRequest{Directory: d})
	if code := status.Code(err); code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.AlreadyExists {
		page.FieldErrors = directoryViolations(err)
		c.renderNewDirectory(w, r, token, sess, http.StatusBadRequest, page, checked)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, directoriesPath+"/"+strings.TrimPrefix(created.GetName(), "directories/")+"?created=1", http.StatusSeeOther)
}

// directoryEdit shows a directory: its title, slug and intro, its ordered entries with their
// move and remove buttons, and the site's other resources to add.
func (c *Console) directoryEdit(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	d, err := c.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: "directories/" + r.PathValue("id")})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	c.renderDirectoryEditor(w, r, token, sess, http.StatusOK, d, nil, r.URL.Query())
}

// renderDirectoryEditor renders the editor of d. q may say what the last action did
// (created, saved, moved=<resource>&op=up|down, added=<resource>, removed=<resource>); the
// moved or added entry gets the focus. q's find, page_token and page are the picker's search
// and page.
func (c *Console) renderDirectoryEditor(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, code int,
	d *resourcesv1.Directory, fieldErrors map[string]string, q url.Values) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	site := siteID(d.GetSite())
	page := &directoryEditPage{ID: strings.TrimPrefix(d.GetName(), "directories/"), Title: d.GetTitle(), Slug: d.GetSlug(),
		Intro: d.GetIntro(), Site: site, Etag: d.GetEtag(), FieldErrors: fieldErrors, Rule: describeRule(d.GetRule()),
		DeliveryPath: "/v1/sites/" + site + "/directories/" + d.GetSlug()}
	if t := d.GetDeleteTime(); t != nil {
		page.Deleted = t.AsTime().UTC().Format("2 Jan 2006, 15:04 UTC")
	}
	page.Writable = viewerOf(sess).CanWrite && page.Deleted == ""
	page.RuleForm = ruleFormOf(d.GetRule())
	in := map[string]bool{}
	for i, e := range d.GetEntries() {
		id := strings.TrimPrefix(e.GetResource(), "resources/")
		in[id] = true
		name := e.GetDisplayName()
		if name == "" { // gone, deleted or off the site since it was added
			name = e.GetResource() + " (not on this site now)"
		}
		page.Entries = append(page.Entries, directoryEntryRow{Index: i, Position: i + 1, Count: len(d.GetEntries()),
			ResourceID: id, Name: name, Note: e.GetNote()})
	}
	var err error
	if page.Picker, err = c.entryPicker(ctx, page.ID, site, q, in); status.Code(err) == codes.InvalidArgument {
		if page.FieldErrors == nil {
			page.FieldErrors = map[string]string{}
		}
		page.FieldErrors["find"] = status.Convert(err).Message()
		code = http.StatusBadRequest
	} else if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Note = entryFocus(page.Entries, q)
	switch {
	case q.Get("created") != "":
		page.Note = "Created. Order the entries with Move up and Move down."
	case q.Get("saved") != "":
		page.Note = "Saved."
	case q.Get("rule") != "":
		page.Note = "Rule saved."
	case q.Get("deleted") != "":
		page.Note = "Deleted. Undelete brings it back."
	case q.Get("undeleted") != "":
		page.Note = "Undeleted: its site serves it again."
	}
	c.render(w, r, code, "directory-edit", pageData{Title: "Directory: " + d.GetTitle(), Viewer: viewerOf(sess), DirectoryEdit: page})
}

// entryPicker is the page of the picker that q asks for (find, page_token, page) on the
// directory editor of id; the resources in listed are marked Listed. The first resource
// that is not gets the check, so Add works without a choice.
func (c *Console) entryPicker(ctx context.Context, id, site string, q url.Values, listed map[string]bool) (resourcePicker, error) {
	p := resourcePicker{Find: strings.TrimSpace(q.Get("find"))}
	pageToken := q.Get("page_token")
	list, next, err := c.pickResources(ctx, site, p.Find, pageToken, pickerPageSize)
	if err != nil {
		return p, err
	}
	checked := false
	for _, res := range list {
		rid := strings.TrimPrefix(res.GetName(), "resources/")
		cand := entryCandidate{ID: rid, Name: res.GetDisplayName(), Listed: listed[rid]}
		if !cand.Listed && !checked {
			cand.Checked, checked = true, true
		}
		p.Candidates = append(p.Candidates, cand)
	}
	link := func(token string, page int) string {
		v := url.Values{}
		if p.Find != "" {
			v.Set("find", p.Find)
		}
		if token != "" {
			v.Set("page_token", token)
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return directoriesPath + "/" + id + "#add-heading"
		}
		return directoriesPath + "/" + id + "?" + v.Encode() + "#add-heading"
	}
	pageNo := 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && pageToken != "" {
		pageNo = n
	}
	if next != "" {
		p.NextLink = link(next, pageNo+1)
	}
	if pageToken != "" {
		p.FirstLink = link("", 1)
	}
	return p, nil
}

// entryFocus gives the focus to the entry the last action moved or added, on the button
// that moves it the same way again (the other one at either end of the list), and returns
// the status message that says where it is now.
func entryFocus(entries []directoryEntryRow, q url.Values) string {
	target, op := q.Get("moved"), q.Get("op")
	verb := "Moved"
	if target == "" {
		target, op, verb = q.Get("added"), "up", "Added"
	}
	if target == "" {
		if removed := q.Get("removed"); removed != "" {
			return "Removed the entry."
		}
		return ""
	}
	for i := range entries {
		e := &entries[i]
		if e.ResourceID != target {
			continue
		}
		switch {
		case e.Count == 1:
			e.Focus = ""
		case op == "up" && e.Position > 1, op == "down" && e.Position == e.Count:
			e.Focus = "up"
		default:
			e.Focus = "down"
		}
		return fmt.Sprintf("%s %s: now %d of %d.", verb, e.Name, e.Position, e.Count)
	}
	return ""
}

// describeRule says in words which resources a directory's rule adds.
func describeRule(rule *resourcesv1.DirectoryRule) string {
	if rule == nil {
		return ""
	}
	var parts []string
	if len(rule.GetKinds()) > 0 {
		kinds := make([]string, 0, len(rule.GetKinds()))
		for _, k := range rule.GetKinds() {
			kinds = append(kinds, strings.ToLower(enumWords(strings.TrimPrefix(k.String(), "KIND_"))))
		}
		parts = append(parts, "kind "+strings.Join(kinds, " or "))
	}
	if len(rule.GetTaxonomyTerms()) > 0 {
		parts = append(parts, "taxonomy "+strings.Join(rule.GetTaxonomyTerms(), " or "))
	}
	if a := rule.GetRegion(); a != nil {
		parts = append(parts, "serving "+strings.Trim(a.GetCountry()+"-"+a.GetRegion(), "-"))
	}
	if len(parts) == 0 {
		return "every resource of the site"
	}
	return "resources of the site with " + strings.Join(parts, ", ")
}

// directoryUpdate saves the title, slug and intro over the version the user opened.
func (c *Console) directoryUpdate(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name := "directories/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	d := &resourcesv1.Directory{Name: name, Etag: r.PostFormValue("etag"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Slug: strings.TrimSpace(r.PostFormValue("slug")), Intro: r.PostFormValue("intro")}
	_, err := c.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{Directory: d,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "slug", "intro"}}})
	c.afterDirectoryWrite(w, r, token, sess, name, err, func(current *resourcesv1.Directory) {
		// Show the user's values, not the stored ones, beside the refusal.
		current.Title, current.Slug, current.Intro = d.GetTitle(), d.GetSlug(), d.GetIntro()
	}, "saved=1")
}

// directoryEntries changes the entries: op "up", "down" or "remove" on the entry at index,
// or "add" of a resource with a note, on the version the user saw (its etag).
func (c *Console) directoryEntries(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name := "directories/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	current, err := c.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	etag := r.PostFormValue("etag")
	if etag != current.GetEtag() {
		c.renderDirectoryEditor(w, r, token, sess, http.StatusConflict, current,
			map[string]string{"form": "This directory changed after you loaded the page, so nothing was done. Here is the current version: check it and try again."}, nil)
		return
	}
	entries, result, err := applyEntryOp(current.GetEntries(), r.PostFormValue("op"), r.PostFormValue("index"),
		strings.TrimSpace(r.PostFormValue("resource")), strings.TrimSpace(r.PostFormValue("note")))
	if err != nil {
		c.renderError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if find := strings.TrimSpace(r.PostFormValue("find")); find != "" {
		result += "&find=" + url.QueryEscape(find) // the picker stays on the user's search
	}
	_, err = c.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{
		Directory:  &resourcesv1.Directory{Name: name, Etag: etag, Entries: entries},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"entries"}}})
	c.afterDirectoryWrite(w, r, token, sess, name, err, func(*resourcesv1.Directory) {}, result)
}

// applyEntryOp returns entries after op, and the query that tells the editor what happened.
func applyEntryOp(entries []*resourcesv1.DirectoryEntry, op, index, resource, note string) ([]*resourcesv1.DirectoryEntry, string, error) {
	out := slices.Clone(entries)
	if op == "add" {
		if resource == "" {
			return nil, "", fmt.Errorf("choose a resource to add")
		}
		out = append(out, &resourcesv1.DirectoryEntry{Resource: "resources/" + resource, Note: note})
		return out, "added=" + url.QueryEscape(resource), nil
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 || i >= len(out) {
		return nil, "", fmt.Errorf("there is no entry %q in this directory", index)
	}
	id := strings.TrimPrefix(out[i].GetResource(), "resources/")
	switch op {
	case "up":
		if i == 0 {
			return nil, "", fmt.Errorf("the first entry cannot move up")
		}
		out[i-1], out[i] = out[i], out[i-1]
	case "down":
		if i == len(out)-1 {
			return nil, "", fmt.Errorf("the last entry cannot move down")
		}
		out[i+1], out[i] = out[i], out[i+1]
	case "remove":
		return slices.Delete(out, i, i+1), "removed=" + url.QueryEscape(id), nil
	default:
		return nil, "", fmt.Errorf("unknown action %q", op)
	}
	return out, "moved=" + url.QueryEscape(id) + "&op=" + op, nil
}

// afterDirectoryWrite answers a directory write: back to the editor (with result in its
// query), or the editor with the refusal beside its field, or a conflict.
func (c *Console) afterDirectoryWrite(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, name string, err error,
	keepInput func(*resourcesv1.Directory), result string) {
	code := status.Code(err)
	if err == nil {
		// No fragment: a page opened at a fragment gets no autofocus, and the moved entry's
		// autofocused button is what keeps the keyboard user's place (and scrolls to it).
		http.Redirect(w, r, directoriesPath+"/"+strings.TrimPrefix(name, "directories/")+"?"+result, http.StatusSeeOther)
		return
	}
	if code != codes.InvalidArgument && code != codes.FailedPrecondition && code != codes.AlreadyExists && code != codes.Aborted {
		c.serviceError(w, r, err)
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	current, getErr := c.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: name})
	if getErr != nil {
		c.serviceError(w, r, getErr)
		return
	}
	if code == codes.Aborted {
		c.renderDirectoryEditor(w, r, token, sess, http.StatusConflict, current,
			map[string]string{"form": "This directory changed after you loaded the page, so nothing was saved. Here is the current version: check it and try again."}, nil)
		return
	}
	keepInput(current)
	c.renderDirectoryEditor(w, r, token, sess, http.StatusBadRequest, current, directoryViolations(err), nil)
}
