package console

import (
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
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// sitesPage is the Sites screen's data.
type sitesPage struct {
	Rows []siteRow
}

type siteRow struct {
	ID, DisplayName, BaseURL, Path string
	Public, Deleted                bool
	Updated                        time.Time
}

// siteForm is a site's settings as the edit form shows and posts them (numbers as typed).
type siteForm struct {
	ID, Etag                                             string
	DisplayName, BaseURL, DefaultLocale, CrisisLineText  string
	CacheMaxAge, ResourceStaleAfterDays, ReviewValidity  string
	Public, HideStale, Commercial, PublishGates, Example bool
	DisabledRules                                        string // one rule id per line
	RuleSeverities                                       string // "rule-id: error|warning|info" per line
	AllowedOrigins                                       string // one CORS origin per line
}

// siteEditPage is the data of a site's settings page.
type siteEditPage struct {
	Form        siteForm
	Deleted     bool
	Updated     time.Time
	FieldErrors map[string]string
	// Conflicts are the values saved by someone else since the form was opened, by input, where
	// they differ from the form's (set with the "form" error of a stale etag).
	Conflicts map[string]string
	Saved     bool
}

// siteInputs are the form's inputs, each with the site field (update_mask path) it writes.
var siteInputs = []struct{ Input, Field string }{
	{"display_name", "display_name"}, {"base_url", "base_url"}, {"default_locale", "default_locale"},
	{"crisis_line_text", "crisis_line_text"}, {"public", "public"}, {"cache_max_age_seconds", "cache_max_age_seconds"},
	{"resource_stale_after_days", "resource_stale_after_days"}, {"hide_stale_resources", "hide_stale_resources"},
	{"commercial", "commercial"}, {"review_validity_months", "review_validity_months"}, {"publish_gates", "publish_gates"},
	{"example_content", "example_content"}, {"disabled_rules", "lint_tuning"}, {"rule_severities", "lint_tuning"},
	{"allowed_origins", "allowed_origins"},
}

func siteRowOf(s *sitesv1.Site) siteRow {
	id := siteID(s.GetName())
	return siteRow{ID: id, DisplayName: s.GetDisplayName(), BaseURL: s.GetBaseUrl(), Path: Prefix + "sites/" + url.PathEscape(id),
		Public: s.GetPublic(), Deleted: s.GetDeleteTime() != nil, Updated: s.GetUpdateTime().AsTime()}
}

// siteFormOf is the form of a stored site.
func siteFormOf(s *sitesv1.Site) siteForm {
	f := siteForm{
		ID: siteID(s.GetName()), Etag: s.GetEtag(), DisplayName: s.GetDisplayName(), BaseURL: s.GetBaseUrl(),
		DefaultLocale: s.GetDefaultLocale(), CrisisLineText: s.GetCrisisLineText(),
		CacheMaxAge:            strconv.Itoa(int(s.GetCacheMaxAgeSeconds())),
		ResourceStaleAfterDays: strconv.Itoa(int(s.GetResourceStaleAfterDays())),
		ReviewValidity:         strconv.Itoa(int(s.GetReviewValidityMonths())),
		Public:                 s.GetPublic(), HideStale: s.GetHideStaleResources(), Commercial: s.GetCommercial(),
		PublishGates: s.GetPublishGates(), Example: s.GetExampleContent(),
		DisabledRules:  strings.Join(s.GetLintTuning().GetDisabledRules(), "\n"),
		AllowedOrigins: strings.Join(s.GetAllowedOrigins(), "\n"),
	}
	var sev []string
	for id, v := range s.GetLintTuning().GetRuleSeverities() {
		sev = append(sev, id+": "+strings.ToLower(strings.TrimPrefix(v.String(), "SEVERITY_")))
	}
	slices.Sort(sev)
	f.RuleSeverities = strings.Join(sev, "\n")
	return f
}

// siteFormOfPost reads the posted form of site id.
func siteFormOfPost(id string, form url.Values) siteForm {
	return siteForm{
		ID: id, Etag: form.Get("etag"), DisplayName: strings.TrimSpace(form.Get("display_name")), BaseURL: strings.TrimSpace(form.Get("base_url")),
		DefaultLocale: strings.TrimSpace(form.Get("default_locale")), CrisisLineText: strings.TrimSpace(form.Get("crisis_line_text")),
		CacheMaxAge: strings.TrimSpace(form.Get("cache_max_age_seconds")), ResourceStaleAfterDays: strings.TrimSpace(form.Get("resource_stale_after_days")),
		ReviewValidity: strings.TrimSpace(form.Get("review_validity_months")),
		Public:         form.Get("public") == "on", HideStale: form.Get("hide_stale_resources") == "on", Commercial: form.Get("commercial") == "on",
		PublishGates: form.Get("publish_gates") == "on", Example: form.Get("example_content") == "on",
		DisabledRules: strings.TrimSpace(form.Get("disabled_rules")), RuleSeverities: strings.TrimSpace(form.Get("rule_severities")),
		AllowedOrigins: strings.TrimSpace(form.Get("allowed_origins")),
	}
}

// value is what input shows, for comparing two forms.
func (f siteForm) value(input string) string {
	switch input {
	case "display_name":
		return f.DisplayName
	case "base_url":
		return f.BaseURL
	case "default_locale":
		return f.DefaultLocale
	case "crisis_line_text":
		return f.CrisisLineText
	case "public":
		return onOff(f.Public)
	case "cache_max_age_seconds":
		return f.CacheMaxAge
	case "resource_stale_after_days":
		return f.ResourceStaleAfterDays
	case "hide_stale_resources":
		return onOff(f.HideStale)
	case "commercial":
		return onOff(f.Commercial)
	case "review_validity_months":
		return f.ReviewValidity
	case "publish_gates":
		return onOff(f.PublishGates)
	case "example_content":
		return onOff(f.Example)
	case "disabled_rules":
		return f.DisabledRules
	case "rule_severities":
		return f.RuleSeverities
	case "allowed_origins":
		return f.AllowedOrigins
	}
	return ""
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// site converts the form into the site to send; problems of the form itself (a number that is
// not one, a severity line without a colon) are returned by input. The sites service checks
// the values.
func (f siteForm) site() (*sitesv1.Site, map[string]string) {
	problems := map[string]string{}
	number := func(input, v string) int32 {
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			problems[input] = "must be a whole number"
		}
		return int32(n)
	}
	gates := f.PublishGates
	s := &sitesv1.Site{
		Name: "sites/" + f.ID, Etag: f.Etag, DisplayName: f.DisplayName, BaseUrl: f.BaseURL, DefaultLocale: f.DefaultLocale,
		CrisisLineText: f.CrisisLineText, Public: f.Public, HideStaleResources: f.HideStale, Commercial: f.Commercial,
		PublishGates: &gates, ExampleContent: f.Example,
		CacheMaxAgeSeconds:     number("cache_max_age_seconds", f.CacheMaxAge),
		ResourceStaleAfterDays: number("resource_stale_after_days", f.ResourceStaleAfterDays),
		ReviewValidityMonths:   number("review_validity_months", f.ReviewValidity),
		LintTuning:             &sitesv1.LintTuning{DisabledRules: lines(f.DisabledRules)},
		AllowedOrigins:         lines(f.AllowedOrigins),
	}
	for _, l := range lines(f.RuleSeverities) {
		id, sev, ok := strings.Cut(l, ":")
		if !ok {
			problems["rule_severities"] = fmt.Sprintf("line %q: write a rule id, a colon and error, warning or info", l)
			continue
		}
		if s.LintTuning.RuleSeverities == nil {
			s.LintTuning.RuleSeverities = map[string]sitesv1.LintTuning_Severity{}
		}
		s.LintTuning.RuleSeverities[strings.TrimSpace(id)] = sitesv1.LintTuning_Severity(
			sitesv1.LintTuning_Severity_value["SEVERITY_"+strings.ToUpper(strings.TrimSpace(sev))])
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return s, nil
}

// siteList lists the sites the signed-in user may see, deleted ones too.
func (c *Console) siteList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	sites, err := c.listAllSites(r, token, true)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &sitesPage{}
	for _, s := range sites {
		page.Rows = append(page.Rows, siteRowOf(s))
	}
	c.render(w, r, http.StatusOK, "sites", pageData{Title: "Sites", Viewer: viewerOf(sess), SiteAdmin: page})
}

// getSite reads the request's {site} as the signed-in user.
func (c *Console) getSite(r *http.Request, token string) (*sitesv1.Site, error) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	return c.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: "sites/" + r.PathValue("site")})
}

// siteEdit shows a site's settings form.
func (c *Console) siteEdit(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	s, err := c.getSite(r, token)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &siteEditPage{Form: siteFormOf(s), Deleted: s.GetDeleteTime() != nil, Updated: s.GetUpdateTime().AsTime(),
		Saved: r.URL.Query().Get("saved") == "1"}
	c.renderSite(w, r, sess, http.StatusOK, page)
}

func (c *Console) renderSite(w http.ResponseWriter, r *http.Request, sess *accessv1.Session, status int, page *siteEditPage) {
	c.render(w, r, status, "site", pageData{Title: "Site " + page.Form.ID, Viewer: viewerOf(sess), SiteEdit: page})
}

// updateSite saves the form with the etag it was opened with. A site changed meanwhile
// (ABORTED) shows the saved values beside the form's and takes the new etag, so that saving
// again overwrites them knowingly; refused values are shown beside their inputs.
func (c *Console) updateSite(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	form := siteFormOfPost(r.PathValue("site"), r.PostForm)
	page := &siteEditPage{Form: form}
	site, problems := form.site()
	if problems != nil {
		page.FieldErrors = problems
		c.renderSite(w, r, sess, http.StatusBadRequest, page)
		return
	}
	var paths []string
	for _, in := range siteInputs {
		if !slices.Contains(paths, in.Field) {
			paths = append(paths, in.Field)
		}
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	_, err := c.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{Site: site, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	switch {
	case status.Code(err) == codes.Aborted:
		current, gerr := c.getSite(r, token)
		if gerr != nil {
			c.serviceError(w, r, gerr)
			return
		}
		saved := siteFormOf(current)
		page.Form.Etag = saved.Etag
		page.Conflicts = map[string]string{}
		for _, in := range siteInputs {
			if v := saved.value(in.Input); v != form.value(in.Input) {
				page.Conflicts[in.Input] = v
			}
		}
		page.FieldErrors = map[string]string{"form": "Someone saved this site after you opened it. Where their values differ from yours they are shown under the field. " +
			"Save again to overwrite them with yours, or reload the page to start from theirs."}
		c.renderSite(w, r, sess, http.StatusConflict, page)
		return
	case isFormError(err):
		code, msg := statusOf(err)
		page.FieldErrors = fieldErrors(err, "site.lint_tuning.", "site.")
		if msg := originErrors(err, site.GetAllowedOrigins()); msg != "" && page.FieldErrors != nil {
			page.FieldErrors["allowed_origins"] = msg
		}
		if page.FieldErrors == nil {
			page.FieldErrors = map[string]string{"form": msg}
		}
		c.renderSite(w, r, sess, code, page)
		return
	case err != nil:
		c.serviceError(w, r, err)
		return
	}
	c.logger.InfoContext(r.Context(), "console: site settings saved", "site", site.GetName(), "by", sess.GetUser())
	http.Redirect(w, r, Prefix+"sites/"+url.PathEscape(form.ID)+"?saved=1", http.StatusSeeOther)
}

// originErrors is the service's refusal of allowed_origins entries as the form shows it: each
// named by its position and value ("origin 2, ftp://x: ..."), since the textarea has no
// input per entry. "" when the refusal is not about them; a refusal of the whole list (too
// many) as the service words it.
func originErrors(err error, origins []string) string {
	var msgs []string
	for _, d := range status.Convert(err).Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			rest, ok := strings.CutPrefix(v.GetField(), "site.allowed_origins")
			if !ok {
				continue
			}
			var i int
			if _, err := fmt.Sscanf(rest, "[%d]", &i); err == nil && i >= 0 && i < len(origins) {
				msgs = append(msgs, fmt.Sprintf("origin %d, %s: %s", i+1, origins[i], v.GetDescription()))
			} else {
				msgs = append(msgs, v.GetDescription())
			}
		}
	}
	return strings.Join(msgs, "; ")
}
