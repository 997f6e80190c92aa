package console

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// editorInput is one control of a generated form, rendered by the "input" template: a label, the
// control and, when the service refused the value, the message beside it (aria-describedby).
type editorInput struct {
	ID, Label, Value string
	Kind             string // text, email, url, textarea, select, checkboxes, checkbox
	Options          []option
	Checked          bool            // checkbox
	Selected         map[string]bool // checkboxes
	Error, Hint      string
	Placeholder      string
	Required         bool
	Wide             bool
}

// DescribedBy is the ids of the input's hint and error, for aria-describedby.
func (f editorInput) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// editorRow is one repeated row (a phone, a period, ...), a fieldset with its legend.
type editorRow struct {
	Legend string
	Inputs []editorInput
}

// editorSection is a part of the editor with its heading.
type editorSection struct {
	ID, Heading, Hint string
	Inputs            []editorInput
	Rows              []editorRow
}

// inputViolation is one refused field, listed above the form with a link to its input.
type inputViolation struct{ Input, Text string }

// resourceEditPage is the resource editor's data.
type resourceEditPage struct {
	ID, Action, Etag string
	Revision         int64
	Sections         []editorSection
	Violations       []inputViolation
	Conflict         *resourceConflict
	Note             string
	Verified         string // last verified date, or "never"
	Verifier         string
	Stale            bool
	Lint             []string
	Here             string
	// Deleted is the time the stored resource was deleted ("" when it is not): the editor
	// then offers Undelete instead of the writes.
	Deleted string
}

// resourceConflict is what the editor shows when the resource changed since the user opened
// it: who changed what. The form keeps the user's values; saving again overwrites knowingly.
type resourceConflict struct {
	Changes []string
}

// resourceEditor builds the editor page of form with the service's errors.
func resourceEditor(form resourceForm, errs inputErrors, sites []siteOption) *resourceEditPage {
	in := func(id, label, value string) editorInput {
		return editorInput{ID: id, Label: label, Value: value, Kind: "text", Error: errs[id]}
	}
	sel := func(id, label, value string, opts []option, empty string) editorInput {
		if empty != "" {
			opts = append([]option{{Value: "", Label: empty}}, opts...)
		}
		return editorInput{ID: id, Label: label, Value: value, Kind: "select", Options: opts, Error: errs[id]}
	}
	with := func(f editorInput, mod func(*editorInput)) editorInput { mod(&f); return f }
	selected := func(values []string) map[string]bool {
		out := map[string]bool{}
		for _, v := range values {
			out[v] = true
		}
		return out
	}
	siteOpts := make([]option, 0, len(sites))
	for _, s := range sites {
		siteOpts = append(siteOpts, option{Value: s.ID, Label: s.Name + " (" + s.ID + ")"})
	}
	for _, s := range form.Sites { // a site the list does not offer stays shown, checked
		if !slices.ContainsFunc(siteOpts, func(o option) bool { return o.Value == s }) {
			siteOpts = append(siteOpts, option{Value: s, Label: s})
		}
	}
	page := &resourceEditPage{Etag: form.Etag, Revision: form.Revision}
	page.Sections = append(page.Sections, editorSection{ID: "about", Heading: "About", Inputs: []editorInput{
		with(in("display_name", "Name", form.DisplayName), func(f *editorInput) { f.Required, f.Wide = true, true }),
		in("organization_name", "Organization", form.Organization),
		sel("kind", "Kind", form.Kind, resourceKinds, "Choose a kind"),
		sel("status", "Status", form.Status, resourceStatuses, "Active (default)"),
		with(in("crisis", "Offers immediate help in a crisis (listed in the site's crisis lines)", ""), func(f *editorInput) { f.Kind, f.Checked = "checkbox", form.Crisis }),
		with(in("description", "Description (Markdown)", form.Description), func(f *editorInput) { f.Kind = "textarea" }),
		with(in("website", "Website", form.Website), func(f *editorInput) { f.Kind, f.Placeholder = "url", "https://" }),
		with(in("email", "Email", form.Email), func(f *editorInput) { f.Kind = "email" }),
		with(in("languages", "Languages", form.Languages), func(f *editorInput) { f.Hint = "BCP 47 tags, comma-separated, e.g. en, es" }),
		with(in("taxonomy_terms", "Taxonomy terms", form.Taxonomy), func(f *editorInput) { f.Hint = "comma-separated" }),
		in("eligibility", "Eligibility", form.Eligibility),
		with(in("costs", "Costs", ""), func(f *editorInput) {
			f.Kind, f.Options, f.Selected = "checkboxes", resourceCosts, selected(form.Costs)
		}),
		in("cost_description", "About the cost", form.CostDescription),
		with(in("target_sites", "Sites", ""), func(f *editorInput) { f.Kind, f.Options, f.Selected = "checkboxes", siteOpts, selected(form.Sites) }),
		with(in("editor_notes", "Notes for editors (never delivered)", form.Notes), func(f *editorInput) { f.Kind = "textarea" }),
	}})

	phones := editorSection{ID: "phones", Heading: "Phones", Hint: "Clear a row to remove it."}
	for i, p := range withBlankRows(form.Phones, blankPhones) {
		id := func(f string) string { return fmt.Sprintf("phone-%d-%s", i, f) }
		phones.Rows = append(phones.Rows, editorRow{Legend: fmt.Sprintf("Phone %d", i+1), Inputs: []editorInput{
			with(in(id("number"), "Number", p.Number), func(f *editorInput) { f.Kind = "tel" }),
			sel(id("type"), "Type", p.Type, phoneTypes, ""),
			in(id("extension"), "Extension", p.Extension),
			in(id("description"), "Description", p.Description),
			with(in(id("languages"), "Languages", p.Languages), func(f *editorInput) { f.Hint = "comma-separated" }),
		}})
	}
	page.Sections = append(page.Sections, phones)

	hours := editorSection{ID: "hours", Heading: "Hours", Hint: "Times are HH:MM in the time zone below; 24:00 is midnight at the end of the day. Write a period past midnight as two. Clear a row to remove it.", Inputs: []editorInput{
		with(in("time_zone", "Time zone", form.TimeZone), func(f *editorInput) {
			f.Placeholder, f.Hint = "America/Chicago", "IANA name; required with periods or closures"
		}),
		with(in("always_open", "Open 24 hours a day, 7 days a week", ""), func(f *editorInput) { f.Kind, f.Checked = "checkbox", form.AlwaysOpen }),
	}}
	for i, p := range withBlankRows(form.Periods, blankPeriods) {
		id := func(f string) string { return fmt.Sprintf("period-%d-%s", i, f) }
		hours.Rows = append(hours.Rows, editorRow{Legend: fmt.Sprintf("Opening period %d", i+1), Inputs: []editorInput{
			sel(id("day"), "Day", p.Day, weekDays, "—"),
			with(in(id("opens"), "Opens", p.Opens), func(f *editorInput) { f.Placeholder = "09:00" }),
			with(in(id("closes"), "Closes", p.Closes), func(f *editorInput) { f.Placeholder = "17:00" }),
		}})
	}
	for i, c := range withBlankRows(form.Closures, blankClosures) {
		id := func(f string) string { return fmt.Sprintf("closure-%d-%s", i, f) }
		hours.Rows = append(hours.Rows, editorRow{Legend: fmt.Sprintf("Closed on day %d", i+1), Inputs: []editorInput{
			with(in(id("date"), "Date", c.Date), func(f *editorInput) { f.Placeholder = "YYYY-MM-DD" }),
			in(id("description"), "Why", c.Description),
		}})
	}
	page.Sections = append(page.Sections, hours)

	locations := editorSection{ID: "locations", Heading: "Locations", Hint: "A physical location needs a country, a street or city, and coordinates; a virtual one a URL. Clear a row to remove it."}
	for i, l := range withBlankRows(form.Locations, blankLocations) {
		id := func(f string) string { return fmt.Sprintf("location-%d-%s", i, f) }
		locations.Rows = append(locations.Rows, editorRow{Legend: fmt.Sprintf("Location %d", i+1), Inputs: []editorInput{
			sel(id("type"), "Type", l.Type, locationTypes, "—"),
			in(id("name"), "Name", l.Name),
			in(id("address_1"), "Street address", l.Address1),
			in(id("address_2"), "Address line 2", l.Address2),
			in(id("city"), "City", l.City),
			in(id("region"), "State or region", l.Region),
			in(id("postal_code"), "Postal code", l.PostalCode),
			with(in(id("country"), "Country", l.Country), func(f *editorInput) { f.Placeholder = "US" }),
			with(in(id("latitude"), "Latitude", l.Latitude), func(f *editorInput) { f.Placeholder = "30.2672" }),
			with(in(id("longitude"), "Longitude", l.Longitude), func(f *editorInput) { f.Placeholder = "-97.7431" }),
			with(in(id("url"), "URL (virtual)", l.URL), func(f *editorInput) { f.Kind = "url" }),
		}})
	}
	page.Sections = append(page.Sections, locations)

	areas := editorSection{ID: "areas", Heading: "Service areas", Hint: "The first area's country is the one phone numbers are read for. Clear a row to remove it."}
	for i, a := range withBlankRows(form.Areas, blankAreas) {
		id := func(f string) string { return fmt.Sprintf("area-%d-%s", i, f) }
		areas.Rows = append(areas.Rows, editorRow{Legend: fmt.Sprintf("Area %d", i+1), Inputs: []editorInput{
			with(in(id("country"), "Country", a.Country), func(f *editorInput) { f.Placeholder = "US" }),
			with(in(id("region"), "Region", a.Region), func(f *editorInput) { f.Placeholder = "TX" }),
			with(in(id("postal_codes"), "Postal codes", a.PostalCodes), func(f *editorInput) { f.Hint = "comma-separated; empty means all" }),
		}})
	}
	page.Sections = append(page.Sections, areas)

	// Every error, above the form, linked to its input; those no input shows are listed too.
	shown := map[string]bool{}
	for _, s := range page.Sections {
		for _, f := range s.Inputs {
			shown[f.ID] = true
		}
		for _, row := range s.Rows {
			for _, f := range row.Inputs {
				shown[f.ID] = true
			}
		}
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for k := range errs {
			if !yield(k) {
				return
			}
		}
	}) {
		v := inputViolation{Text: errs[id]}
		if shown[id] {
			v.Input = id
		}
		page.Violations = append(page.Violations, v)
	}
	return page
}

// withBlankRows returns rows followed by n blank ones.
func withBlankRows[T any](rows []T, n int) []T {
	return append(slices.Clone(rows), make([]T, n)...)
}

// sortHours orders the form's periods (Monday first, then by opening time) and closures (by
// date) as the resources service stores them, so that the service's field paths
// (hours.periods[i]) name the rows as the form shows them.
func (f *resourceForm) sortHours() {
	minutes := func(s string) int {
		m := clockInputPattern.FindStringSubmatch(s)
		if m == nil {
			return -1
		}
		h, _ := strconv.Atoi(m[1])
		mm, _ := strconv.Atoi(m[2])
		return h*60 + mm
	}
	slices.SortStableFunc(f.Periods, func(a, b periodRow) int {
		return cmp.Or(cmp.Compare(dayofweek.DayOfWeek_value[a.Day], dayofweek.DayOfWeek_value[b.Day]), cmp.Compare(minutes(a.Opens), minutes(b.Opens)))
	})
	slices.SortStableFunc(f.Closures, func(a, b closureRow) int { return strings.Compare(a.Date, b.Date) })
}

// violationsOf returns the field violations of a refused write by input ("" when it has
// none), the message naming the API field.
func violationsOf(err error) inputErrors {
	errs := inputErrors{}
	for _, d := range status.Convert(err).Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			path := strings.TrimPrefix(v.GetField(), "resource.")
			input := fieldInput(v.GetField())
			if input == "" {
				input = "form:" + path
			}
			errs.add(input, path, v.GetDescription())
		}
	}
	return errs
}

// resourceNew shows an empty editor.
func (c *Console) resourceNew(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	form := resourceForm{}
	if site := sess.GetActingAs().GetSite(); site != "" {
		form.Sites = []string{siteID(site)}
	}
	c.renderResourceEditor(w, r, token, sess, http.StatusOK, "", form, inputErrors{}, func(p *resourceEditPage) {})
}

// renderResourceEditor renders the editor of resource id ("" for a new one).
func (c *Console) renderResourceEditor(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, code int,
	id string, form resourceForm, errs inputErrors, finish func(*resourceEditPage)) {
	sites, err := c.writableSites(r, token, sess)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := resourceEditor(form, errs, sites)
	page.ID, page.Action, page.Here = id, resourcesPath, resourcesPath+"/new"
	title := "New resource"
	if id != "" {
		page.Action, page.Here, title = resourcesPath+"/"+id, resourcesPath+"/"+id, "Edit "+form.DisplayName
	}
	finish(page)
	c.render(w, r, code, "resource-edit", pageData{Title: title, Viewer: viewerOf(sess), ResourceEdit: page})
}

// resourceEdit shows the editor of a stored resource.
func (c *Console) resourceEdit(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	res, err := c.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: "resources/" + id})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	q := r.URL.Query()
	c.renderResourceEditor(w, r, token, sess, http.StatusOK, id, resourceFormOf(res), inputErrors{}, func(p *resourceEditPage) {
		describeStored(p, res)
		switch {
		case q.Get("verified") != "":
			p.Note = "Verified on " + p.Verified + "."
		case q.Get("saved") != "":
			p.Note = "Saved."
		case q.Get("created") != "":
			p.Note = "Created."
		case q.Get("deleted") != "":
			p.Note = "Deleted. Undelete brings it back."
		case q.Get("undeleted") != "":
			p.Note = "Undeleted: it is back on its sites."
		}
	})
}

// describeStored fills in what the editor shows about the stored resource.
func describeStored(p *resourceEditPage, res *resourcesv1.Resource) {
	p.Verified, p.Verifier, p.Stale = isoDateOrNever(res.GetLastVerifiedDate()), res.GetVerifier(), res.GetStale()
	if t := res.GetDeleteTime(); t != nil {
		p.Deleted = t.AsTime().UTC().Format("2 Jan 2006, 15:04 UTC")
	}
	for _, f := range res.GetLintFindings() {
		if f.GetSuppressedReason() != "" {
			continue
		}
		text := fmt.Sprintf("%s (%s, %s): %s", f.GetField(), strings.ToLower(strings.TrimPrefix(f.GetSeverity().String(), "SEVERITY_")), f.GetRuleId(), f.GetMessage())
		if f.GetSuggestion() != "" {
			text += " Suggested: " + f.GetSuggestion()
		}
		p.Lint = append(p.Lint, text)
	}
}

// resourceCreate creates a resource from the editor; a refused one is shown again with each
// inputViolation beside its field.
func (c *Console) resourceCreate(w http.ResponseWriter, r *http.Request) {
	c.saveResource(w, r, "")
}

// resourceUpdate saves the editor's fields over the version the user opened (its etag). A
// version changed meanwhile is a conflict: the form keeps the user's values, shows what
// changed, and saving again overwrites knowingly.
func (c *Console) resourceUpdate(w http.ResponseWriter, r *http.Request) {
	c.saveResource(w, r, r.PathValue("id"))
}

func (c *Console) saveResource(w http.ResponseWriter, r *http.Request, id string) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	form := resourceFormFrom(r.PostForm)
	form.sortHours()
	errs := inputErrors{}
	res := form.resource(errs)
	if len(errs) > 0 {
		c.renderResourceEditor(w, r, token, sess, http.StatusBadRequest, id, form, errs, func(*resourceEditPage) {})
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	var saved *resourcesv1.Resource
	var err error
	if id == "" {
		saved, err = c.resources.CreateResource(ctx, &resourcesv1.CreateResourceRequest{Resource: res})
	} else {
		res.Name = "resources/" + id
		saved, err = c.resources.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{Resource: res,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: resourceFormMask}})
	}
	switch code := status.Code(err); {
	case err == nil:
		next := "saved"
		if id == "" {
			next = "created"
		}
		http.Redirect(w, r, resourcesPath+"/"+strings.TrimPrefix(saved.GetName(), "resources/")+"?"+next+"=1", http.StatusSeeOther)
	case code == codes.InvalidArgument || code == codes.FailedPrecondition:
		errs = violationsOf(err)
		if len(errs) == 0 {
			errs["form:"] = status.Convert(err).Message()
		}
		c.renderResourceEditor(w, r, token, sess, http.StatusBadRequest, id, form, errs, func(*resourceEditPage) {})
	case code == codes.Aborted && id != "":
		c.resourceConflict(w, r, token, sess, id, form)
	default:
		c.serviceError(w, r, err)
	}
}

// resourceConflict shows the editor with the user's values after a refused update whose etag
// was stale: which revisions came in between (who, when, which fields), and the current etag,
// so that saving again overwrites them knowingly.
func (c *Console) resourceConflict(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, id string, form resourceForm) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	current, err := c.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: "resources/" + id})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	conflict := &resourceConflict{}
	seen := form.Revision
	revs, err := c.resources.ListResourceRevisions(ctx, &resourcesv1.ListResourceRevisionsRequest{Name: "resources/" + id, PageSize: 20})
	if err == nil {
		for _, rev := range revs.GetRevisions() {
			if rev.GetRevisionId() <= seen {
				break
			}
			conflict.Changes = append(conflict.Changes, fmt.Sprintf("%s by %s at %s: %s", rev.GetAction(), rev.GetActor(),
				rev.GetCreateTime().AsTime().UTC().Format(time.DateTime+" UTC"), strings.Join(rev.GetChangedFields(), ", ")))
		}
	}
	form.Etag, form.Revision = current.GetEtag(), current.GetRevisionId()
	c.renderResourceEditor(w, r, token, sess, http.StatusConflict, id, form, inputErrors{}, func(p *resourceEditPage) {
		p.Conflict = conflict
		describeStored(p, current)
	})
}
