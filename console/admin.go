package console

import (
	"net/http"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// The admin screens (Sites, API keys, Users) decide no access of their own either: their links
// are shown to admins only (viewer.IsAdmin), and every page and form is a call to the sites or
// access service as the signed-in user, which refuses anyone else (403 from the service).

// signedIn returns the request's session; ok is false when the request has been answered (a
// redirect to sign-in, or an error page).
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request) (token string, sess *accessv1.Session, ok bool) {
	token, sess, found := c.current(w, r)
	if !found {
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return "", nil, false
	}
	return token, sess, sess != nil
}

// fieldErrors maps the field violations of a service error to form inputs: the field path
// without the first of prefixes it starts with (e.g. "site."), up to its first "." or "["
// ("roles[0].site" is "roles"). The messages of one input are joined. Nil when err names no
// field.
func fieldErrors(err error, prefixes ...string) map[string]string {
	var out map[string]string
	for _, d := range status.Convert(err).Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			field := v.GetField()
			for _, p := range prefixes {
				if rest, ok := strings.CutPrefix(field, p); ok {
					field = rest
					break
				}
			}
			if i := strings.IndexAny(field, ".["); i > 0 {
				field = field[:i]
			}
			if out == nil {
				out = map[string]string{}
			}
			if prev := out[field]; prev != "" {
				out[field] = prev + "; " + v.GetDescription()
			} else {
				out[field] = v.GetDescription()
			}
		}
	}
	return out
}

// isFormError reports whether err is a refusal of what the form said (shown beside the form,
// 400 or 409), rather than of the session, the role or the server.
func isFormError(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted, codes.OutOfRange:
		return true
	}
	return false
}

// listAllSites returns every site the caller may see (deleted ones too when showDeleted), by
// id, reading at most 1,000.
func (c *Console) listAllSites(r *http.Request, token string, showDeleted bool) ([]*sitesv1.Site, error) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	var out []*sitesv1.Site
	req := &sitesv1.ListSitesRequest{PageSize: 100, ShowDeleted: showDeleted}
	for range 10 {
		resp, err := c.sites.ListSites(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetSites()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	slices.SortFunc(out, func(a, b *sitesv1.Site) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// siteChoices are the sites of a role or key select: every live site the caller may see.
func (c *Console) siteChoices(r *http.Request, token string) ([]siteOption, error) {
	sites, err := c.listAllSites(r, token, false)
	if err != nil {
		return nil, err
	}
	out := make([]siteOption, 0, len(sites))
	for _, s := range sites {
		out = append(out, siteOption{ID: siteID(s.GetName()), Name: s.GetDisplayName()})
	}
	return out, nil
}

// roleChoices are the roles keys and users may have, in the order the selects offer them.
var roleChoices = []option{
	{Value: "ROLE_ADMIN", Label: "admin"},
	{Value: "ROLE_EDITOR", Label: "editor"},
	{Value: "ROLE_VIEWER", Label: "viewer"},
	{Value: "ROLE_DELIVERY", Label: "delivery"},
}

// roleOf parses a role select's value; unknown values are ROLE_UNSPECIFIED, which the access
// service refuses naming the field.
func roleOf(v string) accessv1.ApiKey_Role {
	return accessv1.ApiKey_Role(accessv1.ApiKey_Role_value[v])
}

// siteNameOf is the "sites/{id}" of a site select's value; "" (all sites) stays "".
func siteNameOf(id string) string {
	if id == "" {
		return ""
	}
	return "sites/" + id
}

// confirmPage is a confirmation step before an action that cannot be undone from the console
// (or, for a delete, only by undeleting).
type confirmPage struct {
	Heading  string
	Question string
	Details  []string
	Action   string // the form's POST URL
	Button   string
	Cancel   string // the URL "Cancel" goes back to
	// Hidden are the form's hidden inputs (e.g. the etag the user saw, and confirmed=1).
	Hidden []hiddenInput
}

// hiddenInput is a hidden form input.
type hiddenInput struct{ Name, Value string }

// renderConfirm shows a confirmation page.
func (c *Console) renderConfirm(w http.ResponseWriter, r *http.Request, sess *accessv1.Session, p confirmPage) {
	c.render(w, r, http.StatusOK, "confirm", pageData{Title: p.Heading, Viewer: viewerOf(sess), Confirm: &p})
}
