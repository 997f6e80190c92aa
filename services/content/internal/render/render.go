// Package render turns live articles into what delivery serves: the PublishedArticle JSON with
// its schema.org JSON-LD, the list card, and a site's sitemap and Atom feed. It renders from
// the live record ([Article]) and the site's settings ([Site]) only: drafts and editor notes
// are not in its input, so they cannot reach a site.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Site is what rendering and delivery need of a site's settings.
type Site struct {
	ID             string
	DisplayName    string
	BaseURL        string
	DefaultLocale  string
	CrisisLineText string
	Public         bool
	// CacheMaxAgeSeconds is the delivery cache lifetime (the site's default already applied).
	CacheMaxAgeSeconds int
	// ReviewValidityMonths is how long a review stays valid (the site's default applied).
	ReviewValidityMonths int
	// ExampleContent marks the site's content as example content.
	ExampleContent bool
	CreateTime     time.Time
	UpdateTime     time.Time
	// Deleted marks a soft-deleted site: delivery answers 404 for it until it is undeleted.
	Deleted bool
}

// Article is the live record of an article: the parts of its published snapshot that delivery
// renders from. It is never modified once made.
type Article struct {
	ID         string
	RevisionID int64
	// Content is the published content without its Markdown body and editor notes.
	Content            domain.Content
	PublishTime        time.Time
	WordCount          int
	ReadingTimeMinutes int
	// The table of contents is not kept: PublishedArticle reads it from the HTML
	// (markdown.TOCFromHTML), which has every heading with its id, rather than every live article
	// holding its headings twice (about 8 MB at 10,000 articles).

	// PublishedSlugs is every slug the article was published under, its current one included.
	PublishedSlugs []string
}

// Name returns the resource name "articles/{id}".
func (a *Article) Name() string { return "articles/" + a.ID }

// HTML is an article's rendered body as the read model keeps it: plain, or compressed as the
// store handed it (see domain.Snapshot.CompressedBody). The zero HTML is an empty body.
type HTML struct {
	text string
	zstd []byte // zstd of the HTML, or (entries stored before the text was apart) of the HTML, a NUL byte and the search text
}

// PlainHTML is the body s.
func PlainHTML(s string) HTML { return HTML{text: s} }

// SnapshotHTML is the body of a live snapshot, compressed when the store handed it so.
func SnapshotHTML(s *domain.Snapshot) HTML {
	return HTML{text: s.Rendering.HTML, zstd: s.CompressedBody}
}

// Size is the number of bytes h holds.
func (h HTML) Size() int { return len(h.text) + len(h.zstd) }

// IsZero reports whether h is the empty body.
func (h HTML) IsZero() bool { return h.text == "" && len(h.zstd) == 0 }

// String returns the body, decompressing it when it is compressed.
func (h HTML) String() (string, error) {
	if len(h.zstd) == 0 {
		return h.text, nil
	}
	html, _, err := h.unpack()
	return html, err
}

// SearchText returns the search text compressed with the body, "" for a plain body or one
// compressed without it.
func (h HTML) SearchText() (string, error) {
	if len(h.zstd) == 0 {
		return "", nil
	}
	_, text, err := h.unpack()
	return text, err
}

func (h HTML) unpack() (html, text string, err error) {
	dec, err := htmlDecoder()
	if err != nil {
		return "", "", err
	}
	raw, err := dec.DecodeAll(h.zstd, nil)
	if err != nil {
		return "", "", fmt.Errorf("decompressing an article's body: %w", err)
	}
	html, text, _ = strings.Cut(string(raw), "\x00")
	return html, text, nil
}

// UnpackSearchText returns the search text a store compressed apart from the body
// (domain.Snapshot.CompressedText); "" for none.
func UnpackSearchText(compressed []byte) (string, error) {
	if len(compressed) == 0 {
		return "", nil
	}
	dec, err := htmlDecoder()
	if err != nil {
		return "", err
	}
	raw, err := dec.DecodeAll(compressed, nil)
	if err != nil {
		return "", fmt.Errorf("decompressing an article's search text: %w", err)
	}
	return string(raw), nil
}

// htmlDecoder is the one zstd decoder of compressed bodies, made on first use; DecodeAll is safe
// for concurrent use.
var htmlDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
})

// LiveArticle returns the live record of a and its published HTML body, or nil when a is not
// live (never published, unpublished, archived or deleted).
func LiveArticle(a *domain.Article) (*Article, HTML) {
	if !a.Live() {
		return nil, HTML{}
	}
	snap := a.Published
	c := snap.Content
	c.Body, c.EditorNotes = "", ""
	return &Article{
		ID:                 a.ID,
		RevisionID:         a.RevisionID,
		Content:            c,
		PublishTime:        snap.PublishTime,
		WordCount:          snap.Rendering.WordCount,
		ReadingTimeMinutes: snap.Rendering.ReadingTimeMinutes,
		PublishedSlugs:     a.PublishedSlugs,
	}, SnapshotHTML(snap)
}

// Entry is one live article as one site delivers it. It keeps the article's body as the read
// model holds it (compressed, see [HTML]) for life; its PublishedArticle JSON is rendered on a
// request for it ([Entry.Body]), not when the entry is made (a read model makes thousands of
// entries at start, and most are not asked for soon), and kept while its [BodyCache] holds it.
type Entry struct {
	Live        *Article // what it was rendered from
	ID          string
	Slug        string
	Title       string
	Summary     string
	URL         string
	PublishTime time.Time
	Tags        []string
	Topics      []string
	Authors     []string // display names
	// CardJSON is the entry's ArticleCard, as REST lists serve it (gRPC lists build the message
	// again: Card).
	CardJSON []byte
	// Surrogate and CacheTag are header values naming the site and the article for CDN purges:
	// "site-<site> article-<id>" and the same keys comma-separated.
	Surrogate []string
	CacheTag  []string

	site *Site     // the settings it renders with; shared with the read model, never changed
	at   time.Time // the time it renders as of: what it says of reviews is true then
	html HTML      // the article's body, never changed

	// ReviewRefresh is when what the entry says of its reviews changes with time alone (a review
	// falls due, or a review dated ahead begins): the entry must be made again then. Zero: never.
	ReviewRefresh time.Time

	cache *BodyCache                     // holds body; nil: body is kept once rendered
	mu    sync.Mutex                     // serializes the rendering
	body  atomic.Pointer[httpcache.Body] // the PublishedArticle JSON while cached, else nil
	used  atomic.Bool                    // read since the cache's clock hand last passed (CLOCK)
	held  atomic.Int64                   // bytes body holds as the cache counts them (JSON, gzip)
	slot  int                            // index in cache.ring while cached, else -1; guarded by cache.mu
}

// Body returns the entry's PublishedArticle JSON, rendering it when it is not cached (the first
// call, and the first after its cache evicted it): the same bytes, and so the same ETag, every
// time. It is safe for concurrent use; a cached body costs an atomic load (and a store to mark
// the entry read, when it was not). An error means the article cannot be rendered; it is not
// cached.
func (e *Entry) Body() (*httpcache.Body, error) {
	if b := e.body.Load(); b != nil {
		if !e.used.Load() {
			e.used.Store(true)
		}
		return b, nil
	}
	return e.render()
}

// render renders the entry's JSON and hands it to its cache, once for concurrent callers.
func (e *Entry) render() (*httpcache.Body, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b := e.body.Load(); b != nil {
		return b, nil
	}
	html, err := e.html.String()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", e.Live.Name(), err)
	}
	pa, err := PublishedArticle(e.site, e.Live, html, e.at)
	if err != nil {
		return nil, err
	}
	raw, err := jsonMarshal(pa)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", e.Live.Name(), err)
	}
	if e.cache == nil {
		b := httpcache.NewLazy(raw)
		e.held.Store(int64(len(raw)))
		e.body.Store(b)
		return b, nil
	}
	var b *httpcache.Body
	b = httpcache.NewLazyNotify(raw, func(gzipBytes int) { e.cache.grew(e, b, gzipBytes) })
	e.cache.admit(e, b)
	return b, nil
}

// Size estimates the bytes the entry holds: its card JSON, its article body (compressed, and
// shared with the read model's record and the article's entries on other sites) and, while
// cached, its rendered JSON and the gzip form made of it.
func (e *Entry) Size() int {
	return len(e.CardJSON) + e.html.Size() + int(e.held.Load())
}

// HTML returns the entry's article body (for the gRPC API), without rendering the entry.
func (e *Entry) HTML() (string, error) { return e.html.String() }

// Source returns the entry's article body as kept (for a re-render after the site's settings
// changed: a compressed body stays compressed), without rendering the entry.
func (e *Entry) Source() HTML { return e.html }

// Pack copies the entries' cards into a shared slab (see httpcache.Slab), to keep the heap of
// thousands of entries unfragmented. Call it before the entries are shared.
func Pack(entries []*Entry) {
	total := 0
	for _, e := range entries {
		total += len(e.CardJSON)
	}
	slab := httpcache.NewSlab(total)
	for _, e := range entries {
		e.CardJSON = slab.Copy(e.CardJSON)
	}
}

// jsonMarshal renders a proto message as compact protojson. protojson randomizes whitespace
// between builds; compacting keeps the bytes, and so the ETags, stable.
func jsonMarshal(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(raw)))
	if err := json.Compact(buf, raw); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil // exact size: the model keeps thousands of these
}

// ArticleURL is where the site shows an article: {base_url}/articles/{slug}.
func ArticleURL(site *Site, slug string) string {
	return strings.TrimRight(site.BaseURL, "/") + "/articles/" + url.PathEscape(slug)
}

func isoDate(d domain.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

var roleToProto = map[domain.ReviewerRole]contentv1.Reviewer_Role{
	domain.RoleClinical:        contentv1.Reviewer_ROLE_CLINICAL,
	domain.RoleEditorial:       contentv1.Reviewer_ROLE_EDITORIAL,
	domain.RoleLivedExperience: contentv1.Reviewer_ROLE_LIVED_EXPERIENCE,
}

// reviewValidity is the site's review validity in months, the default applied.
func reviewValidity(site *Site) int {
	if site.ReviewValidityMonths > 0 {
		return site.ReviewValidityMonths
	}
	return domain.DefaultReviewValidityMonths
}

// reviewState is what a site says of an article's reviews at one time.
type reviewState struct {
	// current are the reviewers whose review is valid now, in order.
	current []bool
	// trusted are the current reviewers who are real people: the only ones JSON-LD names.
	trusted []domain.Reviewer
	// lastReviewed is the latest review date of the trusted reviewers.
	lastReviewed domain.Date
	// refresh is the next time the state changes, zero if never.
	refresh time.Time
}

// reviewsAt returns what site says at now of the reviews of c: a review is current from its
// date until the site's validity has passed since it (domain.ReviewCurrent); only current
// reviews by people who are not fictional count as review in the JSON-LD.
func reviewsAt(site *Site, c *domain.Content, now time.Time) reviewState {
	months := reviewValidity(site)
	st := reviewState{current: make([]bool, len(c.Reviewers))}
	later := func(t time.Time) {
		if t.After(now) && (st.refresh.IsZero() || t.Before(st.refresh)) {
			st.refresh = t
		}
	}
	for i, r := range c.Reviewers {
		d := c.ReviewedOn(r)
		if d.IsZero() {
			continue
		}
		later(d.Time())
		later(domain.ReviewDue(d, months))
		st.current[i] = domain.ReviewCurrent(d, months, now)
		if st.current[i] && !r.Fictional {
			st.trusted = append(st.trusted, r)
			if d.After(st.lastReviewed) {
				st.lastReviewed = d
			}
		}
	}
	return st
}

func publishedPerson(p domain.Person) *contentv1.PublishedPerson {
	if p.IsZero() {
		return nil
	}
	return &contentv1.PublishedPerson{DisplayName: p.DisplayName, Credentials: p.Credentials, Url: p.URL}
}

// Card returns a's list card.
func Card(a *Article) *contentv1.ArticleCard {
	c := a.Content
	publishTime := timestamppb.New(a.PublishTime)
	return &contentv1.ArticleCard{
		Name:               a.Name(),
		Title:              c.Title,
		Slug:               c.Slug,
		Summary:            c.Summary,
		Tags:               c.Tags,
		Topics:             c.Topics,
		PublishTime:        publishTime,
		UpdateTime:         publishTime,
		ReadingTimeMinutes: int32(a.ReadingTimeMinutes),
		SocialImageUrl:     c.SEO.SocialImageURL,
	}
}

// PublishedArticle returns a as site delivers it, with html as its body.
func PublishedArticle(site *Site, a *Article, html string, now time.Time) (*contentv1.PublishedArticle, error) {
	c := a.Content
	reviews := reviewsAt(site, &c, now)
	// The deprecated medical_reviewer: the first clinical reviewer, only when real and current.
	var medical domain.Person
	for _, r := range reviews.trusted {
		if r.Role == domain.RoleClinical {
			medical = r.Person
			break
		}
	}
	pageURL := ArticleURL(site, c.Slug)
	publishTime := timestamppb.New(a.PublishTime)
	pa := &contentv1.PublishedArticle{
		Name:               a.Name(),
		Title:              c.Title,
		Slug:               c.Slug,
		Summary:            c.Summary,
		Html:               html,
		Tags:               c.Tags,
		Topics:             c.Topics,
		MedicalReviewer:    publishedPerson(medical),
		LastReviewedDate:   isoDate(c.LastReviewedDate),
		PublishTime:        publishTime,
		UpdateTime:         publishTime,
		WordCount:          int32(a.WordCount),
		ReadingTimeMinutes: int32(a.ReadingTimeMinutes),
		Url:                pageURL,
		CrisisLineText:     site.CrisisLineText,
		ExampleContent:     site.ExampleContent,
	}
	for i, r := range c.Reviewers {
		pa.Reviewers = append(pa.Reviewers, &contentv1.PublishedReviewer{DisplayName: r.DisplayName, Credentials: r.Credentials,
			Url: r.URL, Role: roleToProto[r.Role], ReviewDate: isoDate(c.ReviewedOn(r)), Fictional: r.Fictional, Current: reviews.current[i]})
	}
	if due := domain.ReviewDue(c.LastReview(), reviewValidity(site)); !due.IsZero() {
		pa.ReviewDueTime = timestamppb.New(due)
	}
	for _, t := range markdown.TOCFromHTML(html) {
		pa.TableOfContents = append(pa.TableOfContents, &contentv1.TocEntry{Level: int32(t.Level), Text: t.Text, Anchor: t.Anchor})
	}
	for _, p := range c.Authors {
		pa.Authors = append(pa.Authors, publishedPerson(p))
	}
	for _, ct := range c.Citations {
		pa.Citations = append(pa.Citations, &contentv1.PublishedCitation{Title: ct.Title, Url: ct.URL, Doi: ct.DOI, Pmid: ct.PMID, AccessedDate: isoDate(ct.AccessedDate)})
	}
	if c.SEO != (domain.SEO{}) {
		pa.Seo = &contentv1.Seo{MetaTitle: c.SEO.MetaTitle, MetaDescription: c.SEO.MetaDescription, CanonicalUrl: c.SEO.CanonicalURL, SocialImageUrl: c.SEO.SocialImageURL}
	}
	ld, err := medicalWebPage(site, a, pageURL, reviews)
	if err != nil {
		return nil, err
	}
	pa.JsonLd = ld
	return pa, nil
}

// NewEntry makes the entry of a on site, with html as its body; its JSON is rendered on demand
// and kept while cache holds it (nil: kept once rendered, without bound). It renders as of now:
// see Entry.ReviewRefresh. The entry keeps site, which must not change afterwards (a read model
// replaces a site's settings, never edits them).
func NewEntry(site *Site, a *Article, html HTML, now time.Time, cache *BodyCache) (*Entry, error) {
	card := Card(a)
	cardJSON, err := jsonMarshal(card)
	if err != nil {
		return nil, fmt.Errorf("render card of %s: %w", a.Name(), err)
	}
	c := a.Content
	keys := []string{"site-" + site.ID, "article-" + a.ID}
	authors := make([]string, 0, len(c.Authors))
	for _, p := range c.Authors {
		authors = append(authors, p.DisplayName)
	}
	return &Entry{
		Live:          a,
		ID:            a.ID,
		Slug:          c.Slug,
		Title:         c.Title,
		Summary:       c.Summary,
		URL:           ArticleURL(site, c.Slug),
		PublishTime:   a.PublishTime,
		Tags:          c.Tags,
		Topics:        c.Topics,
		Authors:       authors,
		CardJSON:      cardJSON,
		Surrogate:     []string{strings.Join(keys, " ")},
		CacheTag:      []string{strings.Join(keys, ",")},
		site:          site,
		at:            now,
		html:          html,
		ReviewRefresh: reviewsAt(site, &c, now).refresh,
		cache:         cache,
		slot:          -1,
	}, nil
}

// Card returns the entry's ArticleCard message, made anew on each call (the gRPC delivery
// lists'; the entry keeps only its JSON).
func (e *Entry) Card() *contentv1.ArticleCard { return Card(e.Live) }

// MedicalWebPage renders schema.org MedicalWebPage JSON-LD as site shows a at now. encoding/json
// escapes <, > and &, so the text is safe inside a <script> element.
//
// reviewedBy and lastReviewed are trust signals, so they say only what is true: they name the
// reviewers whose review is current on the site at now (dated, not ahead, within the site's
// review validity) and who are real people (not fictional), and are left out when there is none.
func MedicalWebPage(site *Site, a *Article, pageURL string, now time.Time) (string, error) {
	return medicalWebPage(site, a, pageURL, reviewsAt(site, &a.Content, now))
}

func medicalWebPage(site *Site, a *Article, pageURL string, reviews reviewState) (string, error) {
	c := a.Content
	type thing = map[string]any
	doc := thing{
		"@context":      "https://schema.org",
		"@type":         "MedicalWebPage",
		"headline":      c.Title,
		"name":          c.Title,
		"url":           pageURL,
		"datePublished": a.PublishTime.Format(time.RFC3339),
		"dateModified":  a.PublishTime.Format(time.RFC3339),
		"inLanguage":    site.DefaultLocale,
		"publisher":     thing{"@type": "Organization", "name": site.DisplayName, "url": site.BaseURL},
	}
	if c.Summary != "" {
		doc["description"] = c.Summary
	}
	if len(c.Tags) > 0 {
		doc["keywords"] = strings.Join(c.Tags, ", ")
	}
	if len(c.Topics) > 0 {
		about := make([]thing, 0, len(c.Topics))
		for _, t := range c.Topics {
			about = append(about, thing{"@type": "Thing", "name": t})
		}
		doc["about"] = about
	}
	person := func(p domain.Person) thing {
		t := thing{"@type": "Person", "name": p.DisplayName}
		if p.Credentials != "" {
			t["jobTitle"] = p.Credentials
		}
		if p.URL != "" {
			t["url"] = p.URL
		}
		return t
	}
	if len(c.Authors) > 0 {
		authors := make([]thing, 0, len(c.Authors))
		for _, p := range c.Authors {
			authors = append(authors, person(p))
		}
		doc["author"] = authors
	}
	if len(reviews.trusted) > 0 {
		reviewers := make([]thing, 0, len(reviews.trusted))
		for _, r := range reviews.trusted {
			reviewers = append(reviewers, person(r.Person))
		}
		doc["reviewedBy"] = reviewers
		doc["lastReviewed"] = isoDate(reviews.lastReviewed)
	}
	if len(c.Citations) > 0 {
		cites := make([]thing, 0, len(c.Citations))
		for _, ct := range c.Citations {
			t := thing{"@type": "CreativeWork", "name": ct.Title}
			if ct.URL != "" {
				t["url"] = ct.URL
			}
			cites = append(cites, t)
		}
		doc["citation"] = cites
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	return string(raw), nil
}
