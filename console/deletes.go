package console

import (
	"context"
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

// softDelete is one resources-service item's delete and undelete, as the console runs them:
// the confirmation page (confirm loads what it shows), then the delete with the etag the user
// saw, then the item's editor, which offers Undelete.
type softDelete struct {
	noun     string // "resource", in messages
	editor   string // the item's editor path
	confirm  func(ctx context.Context) (confirmPage, error)
	del      func(ctx context.Context, etag string) error
	undelete func(ctx context.Context) error
}

// runDelete deletes d's item (soft) after the confirmation step, with the etag the user saw,
// and opens its editor.
func (c *Console) runDelete(w http.ResponseWriter, r *http.Request, d softDelete) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if r.PostFormValue(confirmedField) != "1" {
		p, err := d.confirm(ctx)
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		p.Cancel = d.editor
		c.deleteConfirmed(w, r, sess, p)
		return
	}
	err := d.del(ctx, r.PostFormValue("etag"))
	if status.Code(err) == codes.Aborted {
		c.renderError(w, r, http.StatusConflict, "This "+d.noun+" changed after you loaded it, so it was not deleted. Open it again, check the current version, then delete.")
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, d.editor+"?deleted=1", http.StatusSeeOther)
}

// runUndelete brings d's deleted item back and opens its editor.
func (c *Console) runUndelete(w http.ResponseWriter, r *http.Request, d softDelete) {
	token, _, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if err := d.undelete(ctx); err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, d.editor+"?undeleted=1", http.StatusSeeOther)
}

// resourceSoftDelete is the delete and undelete of the resource the request's path names.
func (c *Console) resourceSoftDelete(r *http.Request) softDelete {
	id := r.PathValue("id")
	name := "resources/" + id
	return softDelete{noun: "resource", editor: resourcesPath + "/" + id,
		confirm: func(ctx context.Context) (confirmPage, error) {
			res, err := c.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: name})
			if err != nil {
				return confirmPage{}, err
			}
			row := resourceRowOf(res)
			return confirmPage{Heading: "Delete a resource", Button: "Delete the resource",
				Question: "Delete “" + row.DisplayName + "”? It leaves every site, its directories and the crisis lines; its editor keeps it, with Undelete.",
				Details:  []string{"Kind: " + row.Kind, "Sites: " + orNone(row.Sites), "Resource " + name}}, nil
		},
		del: func(ctx context.Context, etag string) error {
			_, err := c.resources.DeleteResource(ctx, &resourcesv1.DeleteResourceRequest{Name: name, Etag: etag})
			return err
		},
		undelete: func(ctx context.Context) error {
			_, err := c.resources.UndeleteResource(ctx, &resourcesv1.UndeleteResourceRequest{Name: name})
			return err
		},
	}
}

// directorySoftDelete is the delete and undelete of the directory the request's path names
// (undelete is refused while another live directory of the site has its slug).
func (c *Console) directorySoftDelete(r *http.Request) softDelete {
	id := r.PathValue("id")
	name := "directories/" + id
	return softDelete{noun: "directory", editor: directoriesPath + "/" + id,
		confirm: func(ctx context.Context) (confirmPage, error) {
			d, err := c.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: name})
			if err != nil {
				return confirmPage{}, err
			}
			return confirmPage{Heading: "Delete a directory", Button: "Delete the directory",
				Question: "Delete “" + d.GetTitle() + "”? Its site stops serving it at once (its slug is free again); its editor keeps it, with Undelete.",
				Details:  []string{"Site: " + siteID(d.GetSite()), "Slug: " + d.GetSlug(), "Directory " + name}}, nil
		},
		del: func(ctx context.Context, etag string) error {
			_, err := c.directories.DeleteDirectory(ctx, &resourcesv1.DeleteDirectoryRequest{Name: name, Etag: etag})
			return err
		},
		undelete: func(ctx context.Context) error {
			_, err := c.directories.UndeleteDirectory(ctx, &resourcesv1.UndeleteDirectoryRequest{Name: name})
			return err
		},
	}
}

func (c *Console) resourceDelete(w http.ResponseWriter, r *http.Request) {
	c.runDelete(w, r, c.resourceSoftDelete(r))
}

func (c *Console) resourceUndelete(w http.ResponseWriter, r *http.Request) {
	c.runUndelete(w, r, c.resourceSoftDelete(r))
}

func (c *Console) directoryDelete(w http.ResponseWriter, r *http.Request) {
	c.runDelete(w, r, c.directorySoftDelete(r))
}

func (c *Console) directoryUndelete(w http.ResponseWriter, r *http.Request) {
	c.runUndelete(w, r, c.directorySoftDelete(r))
}
