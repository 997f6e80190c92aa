package delivery

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// Page sizes of the delivery lists.
const (
	defaultListSize   = 20
	maxListSize       = 100
	defaultSearchSize = 10
	maxSearchSize     = 50
	maxQueryLen       = 200
	maxCachedPages    = 256 // per site view
)

// Handler serves the delivery REST routes from the model's pre-rendered bytes.
type Handler struct {
	model    *Model
	verifier auth.Verifier
	tokens   *pagetoken.Codec
	logger   *slog.Logger
}

// NewHandler returns the REST handler of the delivery API.
func NewHandler(model *Model, verifier auth.Verifier, tokens *pagetoken.Codec, logger *slog.Logger) *Handler {
	return &Handler{model: model, verifier: verifier, tokens: tokens, logger: logger}
}

// Route reports whether r is a delivery request and, if so, serves it:
//
//	GET|HEAD /v1/sites/{site}/articles
//	GET|HEAD /v1/sites/{site}/articles/{slug}
//	GET|HEAD /v1/sites/{site}/search
//	GET|HEAD /v1/sites/{site}/sitemap.xml
//	GET|HEAD /v1/sites/{site}/feed.xml
//
// It matches the path itself rather than through http.ServeMux patterns: this is the hottest
// path of the system and pattern matching (with path cleaning) was a measurable share of it.
// Anything else, including other methods on these paths, is left to the caller.
func (h *Handler) Route(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/sites/")
	if !ok {
		return false
	}
	site, rest, ok := strings.Cut(rest, "/")
	if !ok || site == "" {
		return false
	}
	var serve func(http.ResponseWriter, *http.Request, string, string)
	slug := ""
	switch rest {
	case "articles":
		serve = h.list
	case "search":
		serve = h.search
	case "sitemap.xml":
		serve = h.sitemap
	case "feed.xml":
		serve = h.feed
	default:
		var isArticle bool
		if slug, isArticle = strings.CutPrefix(rest, "articles/"); !isArticle || slug == "" || strings.Contains(slug, "/") {
			return false
		}
		serve = h.article
	}
	serve(w, r, site, slug)
	return true
}

// Header values shared by every response; assigned directly to avoid allocations.
var (
	hdrJSON      = []string{"application/json"}
	hdrXML       = []string{"application/xml; charset=utf-8"}
	hdrAtom      = []string{"application/atom+xml; charset=utf-8"}
	hdrGzip      = []string{"gzip"}
	hdrVaryAE    = []string{"Accept-Encoding"}
	hdrVaryAuth  = []string{"Accept-Encoding, Authorization"}
	hdrNoStore   = []string{"no-store"}
	hdrNoSniff   = []string{"nosniff"}
	emptyDetails = []any{}
)

// access authorizes the request for the site in its path and returns the site's view.
func (h *Handler) access(w http.ResponseWriter, r *http.Request, site string) (*view, bool) {
	authz := r.Header.Get("Authorization")
	var p auth.Principal
	if authz != "" {
		scheme, token, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			h.fail(w, r, apperr.New(apperr.Unauthenticated, "the Authorization header must be 'Bearer <key>'"))
			return nil, false
		}
		var err error
		if p, err = h.verifier.Verify(r.Context(), token); err != nil {
			h.fail(w, r, err)
			return nil, false
		}
	}
	v, err := h.model.access(site, p, authz != "")
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return v, true
}

// fail writes err as {code, message, details} with the HTTP status of its gRPC code: the same
// mapping, through grpcserver.Status, that every gRPC and gateway error takes.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := grpcserver.Status(r.Context(), h.logger, "delivery "+r.URL.Path, err)
	w.Header()["Content-Type"] = hdrJSON
	w.Header()["Cache-Control"] = hdrNoStore
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_ = json.NewEncoder(w).Encode(map[string]any{"code": st.Code(), "message": st.Message(), "details": emptyDetails})
}

// write sends b with caching headers, answering 304 when If-None-Match names it and gzip when
// the client accepts it.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, v *view, b *body, contentType []string) {
	hdr := w.Header()
	hdr["Cache-Control"] = v.cacheAge
	if v.site.Public {
		hdr["Vary"] = hdrVaryAE
	} else {
		hdr["Vary"] = hdrVaryAuth
	}
	gz, gzLen := b.gz, b.gzLen
	if b.dynamic && len(b.raw) >= 512 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		// Served once: compress now, for this client only. (Shared bodies are never modified.)
		if z := gzipBytes(b.raw); len(z) < len(b.raw) {
			gz, gzLen = z, []string{strconv.Itoa(len(z))}
		}
	}
	useGzip := gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if useGzip {
		hdr["Etag"] = b.etagGzip
	} else {
		hdr["Etag"] = b.etag
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, b.hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = contentType
	hdr["X-Content-Type-Options"] = hdrNoSniff
	payload, length := b.raw, b.rawLen
	if useGzip {
		hdr["Content-Encoding"] = hdrGzip
		payload, length = gz, gzLen
	}
	hdr["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(payload)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
// An explicit gzip entry decides wherever it is; "*" applies only when gzip is not listed
// (RFC 9110 12.5.3), so "*;q=0, gzip" allows gzip and "*, gzip;q=0" does not.
func acceptsGzip(ae string) bool {
	star := false
	for part := range strings.SplitSeq(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		if strings.EqualFold(coding, "gzip") {
			return !qZero(params)
		}
		if coding == "*" {
			star = !qZero(params)
		}
	}
	return star
}

// qZero reports whether a coding's parameters give it q=0 ("not acceptable"); "q" is
// case-insensitive and qvalue = "0" [ "." 0*3DIGIT ].
func qZero(params string) bool {
	q := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(params), " ", ""))
	return q == "q=0" || q == "q=0." || q == "q=0.0" || q == "q=0.00" || q == "q=0.000"
}

// etagMatches reports whether an If-None-Match value names hash, in either representation
// (identity or gzip) and with or without the weak prefix (RFC 9110 weak comparison).
func etagMatches(inm, hash string) bool {
	if strings.TrimSpace(inm) == "*" {
		return true
	}
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		tag = strings.Trim(tag, `"`)
		tag = strings.TrimSuffix(tag, "-gz")
		if tag == hash {
			return true
		}
	}
	return false
}

func (h *Handler) article(w http.ResponseWriter, r *http.Request, site, slug string) {
	v, ok := h.access(w, r, site)
	if !ok {
		return
	}
	e := v.bySlug[slug]
	if e == nil {
		if to, moved := v.redirects[slug]; moved {
			hdr := w.Header()
			hdr["Location"] = []string{"/v1/sites/" + v.site.ID + "/articles/" + to}
			hdr["Cache-Control"] = v.cacheAge
			hdr["Content-Type"] = hdrJSON
			w.WriteHeader(http.StatusMovedPermanently)
			raw, _ := json.Marshal(map[string]string{"redirectSlug": to})
			_, _ = w.Write(raw)
			return
		}
		h.fail(w, r, apperr.New(apperr.NotFound, "sites/%s has no published article %q", v.site.ID, slug))
		return
	}
	hdr := w.Header()
	hdr["Surrogate-Key"] = e.surrogate
	hdr["Cache-Tag"] = e.cacheTag
	h.write(w, r, v, e.article, hdrJSON)
}

// listCursor is what a delivery list page token carries: the last card of the previous page.
type listCursor struct {
	T time.Time `json:"t"`
	I string    `json:"i"`
}

// page is a rendered list page with the surrogate keys of everything in it.
type page struct {
	body      *body
	surrogate []string
	cacheTag  []string
	expires   time.Time // re-rendered after this, so its nextPageToken is never near pagetoken.TTL
}

// listPageTTL is how long a rendered list page is served from the view's cache. A view lives
// until its site's content changes, which can be days; the page's nextPageToken must not
// expire (pagetoken.TTL) while the page is still served.
const listPageTTL = time.Hour

func (h *Handler) list(w http.ResponseWriter, r *http.Request, site, _ string) {
	v, ok := h.access(w, r, site)
	if !ok {
		return
	}
	key := r.URL.RawQuery
	now := h.model.now()
	cached, hit := v.pages.Load(key)
	if hit && now.Before(cached.(*page).expires) {
		p := cached.(*page)
		w.Header()["Surrogate-Key"] = p.surrogate
		w.Header()["Cache-Tag"] = p.cacheTag
		h.write(w, r, v, p.body, hdrJSON)
		return
	}
	p, err := h.renderList(v, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.expires = now.Add(listPageTTL)
	if hit { // replaces an expired page
		v.pages.Store(key, p)
	} else if v.pageCount.Load() < maxCachedPages && v.pageCount.Add(1) <= maxCachedPages {
		v.pages.Store(key, p)
	}
	w.Header()["Surrogate-Key"] = p.surrogate
	w.Header()["Cache-Tag"] = p.cacheTag
	h.write(w, r, v, p.body, hdrJSON)
}

func (h *Handler) renderList(v *view, r *http.Request) (*page, error) {
	q := r.URL.Query()
	size, err := parsePageSize(q.Get("pageSize"), "pageSize", defaultListSize, maxListSize)
	if err != nil {
		return nil, err
	}
	cards, nextToken, err := listCards(h.tokens, v, q.Get("tag"), q.Get("topic"), q.Get("pageToken"), size)
	if err != nil {
		return nil, err
	}
	keys := []string{"site-" + v.site.ID}
	buf := make([]byte, 0, 64+len(cards)*512)
	buf = append(buf, `{"articles":[`...)
	for i, e := range cards {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.cardJSON...)
		keys = append(keys, "article-"+e.id)
	}
	buf = append(buf, ']')
	if nextToken != "" {
		buf = append(buf, `,"nextPageToken":`...)
		buf = strconv.AppendQuote(buf, nextToken)
	}
	buf = append(buf, '}')
	return &page{body: newBody(buf), surrogate: []string{strings.Join(keys, " ")}, cacheTag: []string{strings.Join(keys, ",")}}, nil
}

// listCards returns one page of the view's cards filtered by tag and topic, continuing after
// token, and the token of the next page ("" on the last page). REST and gRPC both list
// through it.
func listCards(tokens *pagetoken.Codec, v *view, tag, topic, token string, size int) ([]*entry, string, error) {
	tag, topic = strings.ToLower(tag), strings.ToLower(topic)
	scope := pagetoken.Scope("delivery-list", v.site.ID, tag, topic)
	var after *listCursor
	if token != "" {
		after = &listCursor{}
		if err := tokens.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	cards, next := v.listPage(tag, topic, after, size)
	if next == nil {
		return cards, "", nil
	}
	nextToken, err := tokens.Encode(scope, next)
	return cards, nextToken, err
}

// listPage returns up to size entries after the cursor, filtered by tag and topic, and the
// cursor of the next page (nil on the last page).
func (v *view) listPage(tag, topic string, after *listCursor, size int) ([]*entry, *listCursor) {
	source := v.ordered
	if tag != "" {
		source = v.byTag[tag]
	} else if topic != "" {
		source = v.byTopic[topic]
	}
	start := 0
	if after != nil {
		// Entries are ordered by publishTime desc, id desc; skip those at or before the cursor.
		for start < len(source) && !entryAfter(source[start], after) {
			start++
		}
	}
	var out []*entry
	i := start
	for ; i < len(source) && len(out) < size; i++ {
		e := source[i]
		if tag != "" && topic != "" && !contains(e.topics, topic) {
			continue
		}
		out = append(out, e)
	}
	if len(out) == size {
		for ; i < len(source); i++ { // is there anything left?
			if tag == "" || topic == "" || contains(source[i].topics, topic) {
				last := out[len(out)-1]
				return out, &listCursor{T: last.publishTime, I: last.id}
			}
		}
	}
	return out, nil
}

// entryAfter reports whether e comes after the cursor in listing order.
func entryAfter(e *entry, c *listCursor) bool {
	if !e.publishTime.Equal(c.T) {
		return e.publishTime.Before(c.T)
	}
	return e.id < c.I
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parsePageSize(raw, field string, def, max int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		return 0, apperr.InvalidField(field, "must be a whole number, got %q", raw)
	case n < 0:
		return 0, apperr.InvalidField(field, "must not be negative")
	case n == 0:
		return def, nil
	case n > max:
		return max, nil
	}
	return n, nil
}

// searchCursor is what a search page token carries.
type searchCursor struct {
	Offset int `json:"o"`
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request, site, _ string) {
	v, ok := h.access(w, r, site)
	if !ok {
		return
	}
	q := r.URL.Query()
	res, err := runSearch(h.tokens, v, q.Get("q"), q.Get("pageSize"), q.Get("pageToken"))
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
		buf = append(buf, hit.entry.cardJSON...)
		buf = append(buf, `,"score":`...)
		buf = strconv.AppendFloat(buf, hit.score, 'g', -1, 64)
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
	hdr["Surrogate-Key"] = []string{"site-" + v.site.ID}
	hdr["Cache-Tag"] = hdr["Surrogate-Key"]
	h.write(w, r, v, newDynamicBody(buf), hdrJSON)
}

type searchHit struct {
	entry *entry
	score float64
}

type searchResult struct {
	hits  []searchHit
	next  string
	total int
}

// runSearch ranks the view's articles against query and returns one page.
func runSearch(tokens *pagetoken.Codec, v *view, query, rawSize, token string) (searchResult, error) {
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return searchResult{}, apperr.InvalidField("q", "is required")
	case len(query) > maxQueryLen:
		return searchResult{}, apperr.InvalidField("q", "must be at most %d bytes", maxQueryLen)
	}
	size, err := parsePageSize(rawSize, "pageSize", defaultSearchSize, maxSearchSize)
	if err != nil {
		return searchResult{}, err
	}
	scope := pagetoken.Scope("delivery-search", v.site.ID, query)
	var cur searchCursor
	if token != "" {
		if err := tokens.Decode(token, scope, &cur); err != nil {
			return searchResult{}, err
		}
	}
	hits := v.search.Search(query)
	all := make([]searchHit, 0, len(hits))
	for _, hit := range hits {
		if e := v.byID[hit.ID]; e != nil {
			all = append(all, searchHit{entry: e, score: hit.Score})
		}
	}
	res := searchResult{total: len(all)}
	if cur.Offset < len(all) {
		end := min(cur.Offset+size, len(all))
		res.hits = all[cur.Offset:end]
		if end < len(all) {
			if res.next, err = tokens.Encode(scope, searchCursor{Offset: end}); err != nil {
				return searchResult{}, err
			}
		}
	}
	return res, nil
}

func (h *Handler) sitemap(w http.ResponseWriter, r *http.Request, site, _ string) {
	v, ok := h.access(w, r, site)
	if !ok {
		return
	}
	b, err := v.sitemapBody()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header()["Surrogate-Key"] = []string{"site-" + v.site.ID}
	h.write(w, r, v, b, hdrXML)
}

func (h *Handler) feed(w http.ResponseWriter, r *http.Request, site, _ string) {
	v, ok := h.access(w, r, site)
	if !ok {
		return
	}
	b, err := v.feedBody()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header()["Surrogate-Key"] = []string{"site-" + v.site.ID}
	h.write(w, r, v, b, hdrAtom)
}

func itoa(n int) string { return strconv.Itoa(n) }
