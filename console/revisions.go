package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// revisionsPageSize is how many revisions one page of the Revisions screen lists.
const revisionsPageSize = 50

// revisionPagesSearched bounds how many pages of revisions a comparison reads to find the two
// revisions it compares (5,000 revisions).
const revisionPagesSearched = 100

// revisionsPage is the Revisions screen's data (and the rollback confirmation's).
type revisionsPage struct {
	Name, ID, Title string
	Etag            string
	Current         int64 // the draft's revision
	Rows            []revisionRow
	NextLink        string
	FirstLink       string
	From, To        int64
	Changes         []fieldChange
	Compared        bool // From and To were both found and compared
	CanWrite        bool
	Error           string
	// Confirm is set on the rollback confirmation: the revision to restore.
	Confirm *revisionRow
}

type revisionRow struct {
	ID      int64
	Action  string
	Actor   string
	Time    time.Time
	Changed string
}

func revisionRowOf(r *contentv1.Revision) revisionRow {
	return revisionRow{ID: r.GetRevisionId(), Action: r.GetAction(), Actor: r.GetActor(), Time: tsTime(r.GetCreateTime()),
		Changed: strings.Join(r.GetChangedFields(), ", ")}
}

// revisions lists an article's revisions (newest first, paged by the API's page tokens) and
// compares two of them field by field (?from=&to=; by default the newest with the one before).
func (c *Console) revisions(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	name := "articles/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	a, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	q := r.URL.Query()
	pageToken := q.Get("page_token")
	resp, err := c.articles.ListArticleRevisions(ctx, &contentv1.ListArticleRevisionsRequest{Name: name, PageSize: revisionsPageSize, PageToken: pageToken})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &revisionsPage{Name: name, ID: r.PathValue("id"), Title: a.GetTitle(), Etag: a.GetEtag(), Current: a.GetRevisionId(),
		CanWrite: viewerOf(sess).CanWrite && !a.GetLiveSnapshotOnly()}
	for _, rev := range resp.GetRevisions() {
		page.Rows = append(page.Rows, revisionRowOf(rev))
	}
	if next := resp.GetNextPageToken(); next != "" {
		page.NextLink = Prefix + name + "/revisions?" + url.Values{"page_token": {next}}.Encode()
	}
	if pageToken != "" {
		page.FirstLink = Prefix + name + "/revisions"
	}
	page.From, page.To = revisionParam(q.Get("from")), revisionParam(q.Get("to"))
	if page.From == 0 && page.To == 0 && pageToken == "" && len(resp.GetRevisions()) >= 2 {
		page.From, page.To = resp.GetRevisions()[1].GetRevisionId(), resp.GetRevisions()[0].GetRevisionId()
	}
	httpStatus := http.StatusOK
	if page.From != 0 || page.To != 0 {
		snaps, err := c.revisionSnapshots(r, token, name, resp.GetRevisions(), page.From, page.To)
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		from, to := snaps[page.From], snaps[page.To]
		switch {
		case from == nil || to == nil:
			page.Error = fmt.Sprintf("Choose two revisions you can see: revision %s is not among them.", missingRevision(page, from == nil))
			httpStatus = http.StatusNotFound
		default:
			page.Changes, page.Compared = diffArticles(from, to), true
		}
	}
	c.render(w, r, httpStatus, "revisions", pageData{Title: "Revisions", Viewer: viewerOf(sess), Revisions: page})
}

func missingRevision(p *revisionsPage, from bool) string {
	if from {
		return strconv.FormatInt(p.From, 10)
	}
	return strconv.FormatInt(p.To, 10)
}

// revisionParam reads a revision number; anything else is 0 (none).
func revisionParam(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// revisionSnapshots finds the snapshots of the wanted revisions: in first (a page already
// read), then in the following pages of the list, at most revisionPagesSearched of them.
func (c *Console) revisionSnapshots(r *http.Request, token, name string, first []*contentv1.Revision, wanted ...int64) (map[int64]*contentv1.Article, error) {
	out := map[int64]*contentv1.Article{}
	need := 0
	for _, id := range wanted {
		if id != 0 {
			out[id] = nil
			need++
		}
	}
	found := 0
	take := func(revs []*contentv1.Revision) {
		for _, rev := range revs {
			if snap, ok := out[rev.GetRevisionId()]; ok && snap == nil {
				out[rev.GetRevisionId()] = rev.GetSnapshot()
				found++
			}
		}
	}
	take(first)
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	req := &contentv1.ListArticleRevisionsRequest{Name: name, PageSize: 100}
	for range revisionPagesSearched {
		if found >= len(out) || need == 0 {
			break
		}
		resp, err := c.articles.ListArticleRevisions(ctx, req)
		if err != nil {
			return nil, err
		}
		take(resp.GetRevisions())
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return out, nil
}

// rollbackConfirm shows what a rollback to a revision would change in the current draft, with
// the button that does it.
func (c *Console) rollbackConfirm(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	c.showRollback(w, r, token, sess, http.StatusOK, revisionParam(r.PathValue("rev")), "")
}

func (c *Console) showRollback(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, httpStatus int, rev int64, message string) {
	name := "articles/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	a, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &revisionsPage{Name: name, ID: r.PathValue("id"), Title: a.GetTitle(), Etag: a.GetEtag(), Current: a.GetRevisionId(),
		CanWrite: viewerOf(sess).CanWrite && !a.GetLiveSnapshotOnly(), Error: message}
	snaps, err := c.revisionSnapshots(r, token, name, nil, rev)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	snap := snaps[rev]
	if snap == nil {
		c.renderError(w, r, http.StatusNotFound, fmt.Sprintf("Revision %d of %s is not one you can see.", rev, name))
		return
	}
	page.Confirm = &revisionRow{ID: rev}
	page.From, page.To = a.GetRevisionId(), rev
	page.Changes, page.Compared = diffArticles(a, snap), true
	c.render(w, r, httpStatus, "revisions", pageData{Title: "Roll back", Viewer: viewerOf(sess), Revisions: page})
}

// rollback restores a revision's draft as the signed-in user, with the etag the confirmation
// showed: a change made since is refused and the confirmation shown again, up to date.
func (c *Console) rollback(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name := "articles/" + r.PathValue("id")
	rev := revisionParam(r.PostFormValue("revision_id"))
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	_, err := c.articles.RollbackArticle(ctx, &contentv1.RollbackArticleRequest{Name: name, RevisionId: rev, Etag: r.PostFormValue("etag")})
	switch status.Code(err) {
	case codes.OK:
		http.Redirect(w, r, Prefix+name+"?done=rollback", http.StatusSeeOther)
	case codes.Aborted:
		c.showRollback(w, r, token, sess, http.StatusConflict, rev,
			"Not rolled back: the article changed since you opened this page. Here is what a rollback would change now.")
	case codes.InvalidArgument, codes.FailedPrecondition:
		c.showRollback(w, r, token, sess, http.StatusBadRequest, rev, "Not rolled back: "+status.Convert(err).Message())
	default:
		c.serviceError(w, r, err)
	}
}
