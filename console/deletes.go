package console

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// Deletes (articles, resources, directories) take two steps, both plain forms: the editor's
// Delete button posts the etag the user saw; without confirmed=1 the answer is a confirmation
// page whose form posts the same etag with confirmed=1, and only that deletes. The delete is
// soft: the editor of the deleted item says so and offers Undelete (one step: it only undoes).
// A change made in between is refused by the service's etag check, not deleted blind.

// confirmedField is the input the confirmation page adds to a delete form.
const confirmedField = "confirmed"

// deleteConfirmed reports whether the posted delete form came from the confirmation page.
// When it did not, it renders that page (p, with the posted etag and confirmed=1 added) and
// returns false.
func (c *Console) deleteConfirmed(w http.ResponseWriter, r *http.Request, sess *accessv1.Session, p confirmPage) bool {
	if r.PostFormValue(confirmedField) == "1" {
		return true
	}
	p.Action = r.URL.Path
	p.Hidden = append(p.Hidden, hiddenInput{Name: "etag", Value: r.PostFormValue("etag")}, hiddenInput{Name: confirmedField, Value: "1"})
	c.renderConfirm(w, r, sess, p)
	return false
}

// confirmArticleDelete is the confirmation step of an article's delete: true when confirmed.
func (c *Console) confirmArticleDelete(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, name string) bool {
	if r.PostFormValue(confirmedField) == "1" {
		return true
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	a, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return false
	}
	title := a.GetTitle()
	if title == "" {
		title = "Untitled article"
	}
	sites := make([]string, 0, len(a.GetTargetSites()))
	for _, s := range a.GetTargetSites() {
		sites = append(sites, siteID(s))
	}
	return c.deleteConfirmed(w, r, sess, confirmPage{Heading: "Delete an article", Button: "Delete the article", Cancel: Prefix + name,
		Question: "Delete “" + title + "”? It leaves every site it is on and the lists; its editor keeps it, with Undelete.",
		Details: []string{"State: " + enumWords(strings.TrimPrefix(a.GetState().String(), "STATE_")), "Sites: " + orNone(strings.Join(sites, ", ")),
			"Article " + name}})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// resourceDelete deletes a resource (soft) after the confirmation step, with the etag the
// user saw, and opens its editor, which offers Undelete.
func (c *Console) resourceDelete(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	name := "resources/" + id
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if r.PostFormValue(confirmedField) != "1" {
		res, err := c.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: name})
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		row := resourceRowOf(res)
		c.deleteConfirmed(w, r, sess, confirmPage{Heading: "Delete a resource", Button: "Delete the resource", Cancel: resourcesPath + "/" + id,
			Question: "Delete “" + row.DisplayName + "”? It leaves every site, its directories and the crisis lines; its editor keeps it, with Undelete.",
			Details:  []string{"Kind: " + row.Kind, "Sites: " + orNone(row.Sites), "Resource " + name}})
		return
	}
	_, err := c.resources.DeleteResource(ctx, &resourcesv1.DeleteResourceRequest{Name: name, Etag: r.PostFormValue("etag")})
	if status.Code(err) == codes.Aborted {
		c.renderError(w, r, http.StatusConflict, "This resource changed after you loaded it, so it was not deleted. Open it again, check the current version, then delete.")
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, resourcesPath+"/"+id+"?deleted=1", http.StatusSeeOther)
}

// resourceUndelete brings a deleted resource back and opens its editor.
func (c *Console) resourceUndelete(w http.ResponseWriter, r *http.Request) {
	token, _, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if _, err := c.resources.UndeleteResource(ctx, &resourcesv1.UndeleteResourceRequest{Name: "resources/" + id}); err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, resourcesPath+"/"+id+"?undeleted=1", http.StatusSeeOther)
}

// directoryDelete deletes a directory (soft) after the confirmation step, with the etag the
// user saw, and opens its editor, which offers Undelete.
func (c *Console) directoryDelete(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	name := "directories/" + id
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if r.PostFormValue(confirmedField) != "1" {
		d, err := c.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: name})
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		c.deleteConfirmed(w, r, sess, confirmPage{Heading: "Delete a directory", Button: "Delete the directory", Cancel: directoriesPath + "/" + id,
			Question: "Delete “" + d.GetTitle() + "”? Its site stops serving it at once (its slug is free again); its editor keeps it, with Undelete.",
			Details:  []string{"Site: " + siteID(d.GetSite()), "Slug: " + d.GetSlug(), "Directory " + name}})
		return
	}
	_, err := c.directories.DeleteDirectory(ctx, &resourcesv1.DeleteDirectoryRequest{Name: name, Etag: r.PostFormValue("etag")})
	if status.Code(err) == codes.Aborted {
		c.renderError(w, r, http.StatusConflict, "This directory changed after you loaded it, so it was not deleted. Open it again, check the current version, then delete.")
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, directoriesPath+"/"+id+"?deleted=1", http.StatusSeeOther)
}

// directoryUndelete brings a deleted directory back (refused while another live directory of
// the site has its slug) and opens its editor.
func (c *Console) directoryUndelete(w http.ResponseWriter, r *http.Request) {
	token, _, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if _, err := c.directories.UndeleteDirectory(ctx, &resourcesv1.UndeleteDirectoryRequest{Name: "directories/" + id}); err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, directoriesPath+"/"+id+"?undeleted=1", http.StatusSeeOther)
}
