// Package delivery serves published content to branded sites from an in-memory read model.
//
// The model holds, per site, an immutable view: pre-rendered JSON (and gzip) bytes and ETags of
// every live article, cards in listing order, tag and topic indexes, a full-text index and the
// sitemap and feed. Readers load the current view with one atomic pointer read and never touch
// the store; writers (the content service's own writes, and a poller of the store's change log
// for writes made by other replicas) build a new view and swap it in.
package delivery

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// body is a pre-rendered response: JSON (or XML) bytes, their gzip form and the header values
// that go with them, computed once when the content changes.
type body struct {
	raw      []byte
	gz       []byte   // nil when gzip would not help
	etag     []string // header value, strong: `"<hash>"`
	etagGzip []string // `"<hash>-gz"`: the gzip representation is a different one
	hash     string
	rawLen   []string // Content-Length header values
	gzLen    []string
	dynamic  bool // made for one response; compressed on the fly when the client accepts gzip
}

// newBody prepares a response that will be served many times: its gzip form is computed now.
func newBody(raw []byte) *body {
	b := staticBody(raw)
	if len(raw) >= 512 {
		if gz := gzipBytes(raw); len(gz) < len(raw) {
			b.gz = gz
			b.gzLen = []string{strconv.Itoa(len(gz))}
		}
	}
	return b
}

// newDynamicBody prepares a response served once (e.g. search results): no gzip form is made
// ahead; Handler.write compresses it only for clients that accept gzip.
func newDynamicBody(raw []byte) *body {
	b := staticBody(raw)
	b.dynamic = true
	return b
}

func staticBody(raw []byte) *body {
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:12])
	return &body{raw: raw, hash: hash, etag: []string{`"` + hash + `"`}, etagGzip: []string{`"` + hash + `-gz"`},
		rawLen: []string{strconv.Itoa(len(raw))}}
}

// gzipWriters reuses compressors: a new one allocates about a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

// gzipBytes compresses raw into an exactly sized slice.
func gzipBytes(raw []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	gzipWriters.Put(zw)
	return bytes.Clone(buf.Bytes())
}

// entry is one live article as one site delivers it.
type entry struct {
	id          string
	slug        string
	title       string
	publishTime time.Time
	tags        []string
	topics      []string
	authors     []string
	card        *contentv1.ArticleCard
	cardJSON    []byte
	article     *body
	surrogate   []string // Surrogate-Key header: "site-<site> article-<id>"
	cacheTag    []string // Cache-Tag header: the same keys, comma-separated
	url         string
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

// articleURL is where the site shows an article: {base_url}/articles/{slug}.
func articleURL(site *domain.Site, slug string) string {
	return strings.TrimRight(site.BaseURL, "/") + "/articles/" + url.PathEscape(slug)
}

func isoDate(d domain.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

func publishedPerson(p domain.Person) *contentv1.PublishedPerson {
	if p.IsZero() {
		return nil
	}
	return &contentv1.PublishedPerson{DisplayName: p.DisplayName, Credentials: p.Credentials, Url: p.URL}
}

// newEntry renders a's live snapshot for site, with html as its body. It reads only
// a.Published: drafts and editor notes can never reach a site.
func newEntry(site *domain.Site, a *domain.Article, html string) (*entry, error) {
	snap := a.Published
	c := snap.Content
	pageURL := articleURL(site, c.Slug)
	publishTime := timestamppb.New(snap.PublishTime)
	card := &contentv1.ArticleCard{
		Name:               a.Name(),
		Title:              c.Title,
		Slug:               c.Slug,
		Summary:            c.Summary,
		Tags:               c.Tags,
		Topics:             c.Topics,
		PublishTime:        publishTime,
		UpdateTime:         publishTime,
		ReadingTimeMinutes: int32(snap.Rendering.ReadingTimeMinutes),
		SocialImageUrl:     c.SEO.SocialImageURL,
	}
	pa := &contentv1.PublishedArticle{
		Name:               a.Name(),
		Title:              c.Title,
		Slug:               c.Slug,
		Summary:            c.Summary,
		Html:               html,
		Tags:               c.Tags,
		Topics:             c.Topics,
		MedicalReviewer:    publishedPerson(c.MedicalReviewer),
		LastReviewedDate:   isoDate(c.LastReviewedDate),
		PublishTime:        publishTime,
		UpdateTime:         publishTime,
		WordCount:          int32(snap.Rendering.WordCount),
		ReadingTimeMinutes: int32(snap.Rendering.ReadingTimeMinutes),
		Url:                pageURL,
		CrisisLineText:     site.CrisisLineText,
	}
	for _, t := range snap.Rendering.TOC {
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
	ld, err := medicalWebPage(site, a, pageURL)
	if err != nil {
		return nil, err
	}
	pa.JsonLd = ld
	raw, err := jsonMarshal(pa)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", a.Name(), err)
	}
	cardJSON, err := jsonMarshal(card)
	if err != nil {
		return nil, fmt.Errorf("render card of %s: %w", a.Name(), err)
	}
	keys := []string{"site-" + site.ID, "article-" + a.ID}
	authors := make([]string, 0, len(c.Authors))
	for _, p := range c.Authors {
		authors = append(authors, p.DisplayName)
	}
	return &entry{
		authors:     authors,
		id:          a.ID,
		slug:        c.Slug,
		title:       c.Title,
		publishTime: snap.PublishTime,
		tags:        c.Tags,
		topics:      c.Topics,
		card:        card,
		cardJSON:    cardJSON,
		article:     newBody(raw),
		surrogate:   []string{strings.Join(keys, " ")},
		cacheTag:    []string{strings.Join(keys, ",")},
		url:         pageURL,
	}, nil
}

// medicalWebPage renders schema.org MedicalWebPage JSON-LD. encoding/json escapes <, > and &,
// so the text is safe inside a <script> element.
func medicalWebPage(site *domain.Site, a *domain.Article, pageURL string) (string, error) {
	c := a.Published.Content
	type thing = map[string]any
	doc := thing{
		"@context":      "https://schema.org",
		"@type":         "MedicalWebPage",
		"headline":      c.Title,
		"name":          c.Title,
		"url":           pageURL,
		"datePublished": a.Published.PublishTime.Format(time.RFC3339),
		"dateModified":  a.Published.PublishTime.Format(time.RFC3339),
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
	if !c.MedicalReviewer.IsZero() {
		doc["reviewedBy"] = person(c.MedicalReviewer)
	}
	if d := isoDate(c.LastReviewedDate); d != "" {
		doc["lastReviewed"] = d
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
