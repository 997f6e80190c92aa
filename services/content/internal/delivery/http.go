// Package delivery is the content service's delivery API: thin HTTP (a gateway read side) and
// gRPC adapters over the read model (package readmodel), serving its pre-rendered bytes. Both
// adapters list, search and decide access the same way, through query.go and
// readmodel.Model.Access.
package delivery

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
)

// Handler serves the delivery REST routes; it is the content service's gateway read side:
//
//	GET|HEAD /v1/sites/{site}/articles
//	GET|HEAD /v1/sites/{site}/articles/{slug}
//	GET|HEAD /v1/sites/{site}/search
//	GET|HEAD /v1/sites/{site}/sitemap.xml
//	GET|HEAD /v1/sites/{site}/feed.xml
type Handler struct {
	model  *readmodel.Model
	tokens *pagetoken.Codec
	logger *slog.Logger
	now    func() time.Time
}

// NewHandler returns the REST read side of the delivery API.
func NewHandler(model *readmodel.Model, tokens *pagetoken.Codec, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{model: model, tokens: tokens, logger: logger, now: time.Now}
}

// Segments are the read routes the handler serves.
func (h *Handler) Segments() []string {
	return []string{"articles", "search", "sitemap.xml", "feed.xml"}
}

// ServeRead serves one read route (see gateway.ReadSide).
func (h *Handler) ServeRead(w http.ResponseWriter, r *http.Request, req gateway.ReadRequest) {
	v, err := h.model.Access(req.Site, req.Caller, req.Authenticated)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case req.Segment == "articles" && req.Item != "":
		h.article(w, r, v, req.Item)
	case req.Segment == "articles":
		h.list(w, r, v)
	case req.Segment == "search" && req.Item == "":
		h.search(w, r, v)
	case req.Segment == "sitemap.xml" && req.Item == "":
		h.xml(w, r, v, v.Sitemap, hdrXML)
	case req.Segment == "feed.xml" && req.Item == "":
		h.xml(w, r, v, v.Feed, hdrAtom)
	default:
		h.fail(w, r, apperr.New(apperr.NotFound, "no route %s", r.URL.Path))
	}
}

// Header values shared by every response; assigned directly to avoid allocations.
var (
	hdrJSON = []string{"application/json"}
	hdrXML  = []string{"application/xml; charset=utf-8"}
	hdrAtom = []string{"application/atom+xml; charset=utf-8"}
)

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	gateway.WriteError(w, r, h.logger, err)
}

// write sends b with the view's caching headers (see httpcache.Write).
func write(w http.ResponseWriter, r *http.Request, v *readmodel.View, b *httpcache.Body, contentType []string) {
	hdr := w.Header()
	hdr["Cache-Control"] = v.CacheControl()
	if v.Site().Public {
		hdr["Vary"] = gateway.VaryPublic
	} else {
		hdr["Vary"] = gateway.VaryPrivate
	}
	httpcache.Write(w, r, b, contentType)
}

func (h *Handler) article(w http.ResponseWriter, r *http.Request, v *readmodel.View, slug string) {
	e := v.Article(slug)
	if e == nil {
		if to, moved := v.Redirect(slug); moved {
			hdr := w.Header()
			hdr["Location"] = []string{"/v1/sites/" + v.Site().ID + "/articles/" + to}
			hdr["Cache-Control"] = v.CacheControl()
			hdr["Content-Type"] = hdrJSON
			w.WriteHeader(http.StatusMovedPermanently)
			raw, _ := json.Marshal(map[string]string{"redirectSlug": to})
			_, _ = w.Write(raw)
			return
		}
		h.fail(w, r, articleNotFound(v, slug))
		return
	}
	body, err := e.Body()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr["Surrogate-Key"] = e.Surrogate
	hdr["Cache-Tag"] = e.CacheTag
	write(w, r, v, body, hdrJSON)
}

// page is a rendered list page with the surrogate keys of everything in it.
type page struct {
	body      *httpcache.Body
	surrogate []string
	cacheTag  []string
	expires   time.Time // re-rendered after this, so its nextPageToken is never near pagetoken.TTL
}

// listPageTTL is how long a rendered list page is served from the view's cache. A view lives
// until its site's content changes, which can be days; the page's nextPageToken must not
// expire (pagetoken.TTL) while the page is still served.
const listPageTTL = time.Hour

func (h *Handler) list(w http.ResponseWriter, r *http.Request, v *readmodel.View) {
	key := r.URL.RawQuery
	now := h.now()
	cached, hit := v.Pages().Load(key)
	if hit && now.Before(cached.(*page).expires) {
		p := cached.(*page)
		w.Header()["Surrogate-Key"] = p.surrogate
		w.Header()["Cache-Tag"] = p.cacheTag
		write(w, r, v, p.body, hdrJSON)
		return
	}
	p, err := h.renderList(v, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.expires = now.Add(listPageTTL)
	v.Pages().Store(key, p, hit)
	w.Header()["Surrogate-Key"] = p.surrogate
	w.Header()["Cache-Tag"] = p.cacheTag
	write(w, r, v, p.body, hdrJSON)
}

func (h *Handler) renderList(v *readmodel.View, r *http.Request) (*page, error) {
	q := r.URL.Query()
	size, err := parsePageSize(q.Get("pageSize"), "pageSize", defaultListSize, maxListSize)
	if err != nil {
		return nil, err
	}
	cards, nextToken, err := listCards(h.tokens, v, q.Get("tag"), q.Get("topic"), q.Get("pageToken"), size)
	if err != nil {
		return nil, err
	}
	keys := []string{"site-" + v.Site().ID}
	buf := make([]byte, 0, 64+len(cards)*512)
	buf = append(buf, `{"articles":[`...)
	for i, e := range cards {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.CardJSON...)
		keys = append(keys, "article-"+e.ID)
	}
	buf = append(buf, ']')
	if nextToken != "" {
		buf = append(buf, `,"nextPageToken":`...)
		buf = strconv.AppendQuote(buf, nextToken)
	}
	buf = append(buf, '}')
	return &page{body: httpcache.New(buf), surrogate: []string{strings.Join(keys, " ")}, cacheTag: []string{strings.Join(keys, ",")}}, nil
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request, v *readmodel.View) {
	q := r.URL.Query()
	res, err := runSearch(r.Context(), h.tokens, v, q.Get("q"), q.Get("pageSize"), q.Get("pageToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	buf := make([]byte, 0, 64+len(res.hits)*600)
	buf = append(buf, `{"results":[`...)
	for i, hit := range res.hits {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"article":`...)
		buf = append(buf, hit.Entry.CardJSON...)
		buf = append(buf, `,"score":`...)
		buf = strconv.AppendFloat(buf, hit.Score, 'g', -1, 64)
		buf = append(buf, '}')
	}
	buf = append(buf, ']')
	if res.next != "" {
		buf = append(buf, `,"nextPageToken":`...)
		buf = strconv.AppendQuote(buf, res.next)
	}
	buf = append(buf, `,"totalSize":`...)
	buf = strconv.AppendInt(buf, int64(res.total), 10)
	buf = append(buf, '}')
	hdr := w.Header()
	hdr["Surrogate-Key"] = []string{"site-" + v.Site().ID}
	hdr["Cache-Tag"] = hdr["Surrogate-Key"]
	write(w, r, v, httpcache.NewDynamic(buf), hdrJSON)
}

// xml serves the view's sitemap or feed.
func (h *Handler) xml(w http.ResponseWriter, r *http.Request, v *readmodel.View, body func() (*httpcache.Body, error), contentType []string) {
	b, err := body()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header()["Surrogate-Key"] = []string{"site-" + v.Site().ID}
	write(w, r, v, b, contentType)
}
