package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
)

// keysPageSize is how many keys one page of the API keys screen lists.
const keysPageSize = 50

// keysPage is the API keys screen's data.
type keysPage struct {
	Rows      []keyRow
	NextLink  string
	FirstLink string
	Roles     []option
	Sites     []siteOption
	// The create form as typed, and what the access service refused in it (by input).
	Form        keyForm
	FieldErrors map[string]string
	// Created is the key just made, with its secret: shown on this response only.
	Created *createdKey
	Revoked string // name of the key just revoked
}

type keyForm struct{ DisplayName, Role, Site string }

type keyRow struct {
	Name, ID, DisplayName, Role, Site, Prefix string
	Created, Revoked                          time.Time
}

type createdKey struct {
	Row    keyRow
	Secret string
}

func keyRowOf(k *accessv1.ApiKey) keyRow {
	row := keyRow{Name: k.GetName(), ID: strings.TrimPrefix(k.GetName(), "apiKeys/"), DisplayName: k.GetDisplayName(),
		Role: roleName(k.GetRole()), Site: "all sites", Prefix: k.GetKeyPrefix(), Created: k.GetCreateTime().AsTime()}
	if k.GetSite() != "" {
		row.Site = siteID(k.GetSite())
	}
	if k.GetRevokeTime() != nil {
		row.Revoked = k.GetRevokeTime().AsTime()
	}
	return row
}

// keyList shows a page of API keys and the create form.
func (c *Console) keyList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	page := &keysPage{Form: keyForm{Role: "ROLE_DELIVERY"}, Revoked: r.URL.Query().Get("revoked")}
	c.renderKeys(w, r, token, sess, http.StatusOK, page, r.URL.Query().Get("page_token"))
}

// renderKeys fills page with a page of keys (from pageToken) and the site choices, and renders
// it with status; a refused list is answered by serviceError.
func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, status int, page *keysPage, pageToken string) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.keys.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageSize: keysPageSize, PageToken: pageToken})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, k := range resp.GetApiKeys() {
		page.Rows = append(page.Rows, keyRowOf(k))
	}
	if next := resp.GetNextPageToken(); next != "" {
		page.NextLink = Prefix + "keys?page_token=" + url.QueryEscape(next)
	}
	if pageToken != "" {
		page.FirstLink = Prefix + "keys"
	}
	if page.Sites, err = c.siteChoices(r, token); err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Roles = roleChoices
	c.render(w, r, status, "keys", pageData{Title: "API keys", Viewer: viewerOf(sess), Keys: page})
}

// createKey creates a key as the signed-in user and shows its secret once, on this response
// (never in a URL; the console's responses are not stored: Cache-Control no-store).
func (c *Console) createKey(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	form := keyForm{DisplayName: strings.TrimSpace(r.PostFormValue("display_name")), Role: r.PostFormValue("role"), Site: r.PostFormValue("site")}
	page := &keysPage{Form: form}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.keys.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
		DisplayName: form.DisplayName, Role: roleOf(form.Role), Site: siteNameOf(form.Site)}})
	switch {
	case isFormError(err):
		code, msg := statusOf(err)
		page.FieldErrors = fieldErrors(err, "api_key.")
		if page.FieldErrors == nil {
			page.FieldErrors = map[string]string{"form": msg}
		}
		c.renderKeys(w, r, token, sess, code, page, "")
		return
	case err != nil:
		c.serviceError(w, r, err)
		return
	}
	c.logger.InfoContext(r.Context(), "console: API key created", "key", resp.GetApiKey().GetName(), "by", sess.GetUser())
	page.Created = &createdKey{Row: keyRowOf(resp.GetApiKey()), Secret: resp.GetSecret()}
	page.Form = keyForm{Role: "ROLE_DELIVERY"}
	c.renderKeys(w, r, token, sess, http.StatusOK, page, "")
}

// findKey looks for the key with this name among the first 1,000 keys the caller may see (the
// access service has no GetApiKey); nil when it is not among them.
func (c *Console) findKey(r *http.Request, token, name string) (*accessv1.ApiKey, error) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	req := &accessv1.ListApiKeysRequest{PageSize: 100}
	for range 10 {
		resp, err := c.keys.ListApiKeys(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, k := range resp.GetApiKeys() {
			if k.GetName() == name {
				return k, nil
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return nil, nil
}

// revokeKeyConfirm asks whether to revoke the key.
func (c *Console) revokeKeyConfirm(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	id := r.PathValue("key")
	k, err := c.findKey(r, token, "apiKeys/"+id)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	p := confirmPage{Heading: "Revoke an API key", Action: Prefix + "keys/" + url.PathEscape(id) + "/revoke", Button: "Revoke the key", Cancel: Prefix + "keys",
		Question: "Revoke this key? Every service refuses it within a minute; this cannot be undone."}
	if k == nil {
		p.Details = []string{"Key apiKeys/" + id}
	} else {
		row := keyRowOf(k)
		p.Details = []string{"Key " + row.Name + " (" + row.Prefix + "…)", "Label: " + row.DisplayName, "Role: " + row.Role + " on " + row.Site}
		if !row.Revoked.IsZero() {
			p.Question = "This key is revoked already; revoking it again changes nothing."
		}
	}
	c.renderConfirm(w, r, sess, p)
}

// revokeKey revokes the key as the signed-in user.
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	k, err := c.keys.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{Name: "apiKeys/" + r.PathValue("key")})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	c.logger.InfoContext(r.Context(), "console: API key revoked", "key", k.GetName(), "by", sess.GetUser())
	http.Redirect(w, r, Prefix+"keys?revoked="+url.QueryEscape(k.GetName()), http.StatusSeeOther)
}
