package api

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strconv"
	"sync"

	"github.com/cespare/xxhash/v2"
	"google.golang.org/protobuf/encoding/protojson"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// The REST read side writes its JSON from per-revision fragments instead of marshalling every
// resource of every response with protojson (which cost half the CPU of a near query): each
// resource's PublishedResource without the per-request fields (stale, openNow, distanceKm) is
// marshalled once per revision, and a response is those fragments with the per-request fields
// appended. The JSON is the protojson form of the same messages (field order aside).

// fragments caches the JSON of resources' per-revision part (by resource id, *fragment values),
// for the revisions the read model holds now: a newer revision or a delete drops an entry
// (forget), and fragment keeps what it makes only while it is still current. Reads take no lock
// (sync.Map); mu serializes the writes.
type fragments struct {
	mu   sync.Mutex
	byID sync.Map
}

func (f *fragments) forget(r *domain.Resource) {
	f.mu.Lock()
	f.byID.Delete(r.ID)
	f.mu.Unlock()
}

// len returns the number of resources whose JSON is cached.
func (f *fragments) len() int {
	n := 0
	f.byID.Range(func(any, any) bool { n++; return true })
	return n
}

// bytes returns the bytes of the cached JSON.
func (f *fragments) bytes() int64 {
	var n int64
	f.byID.Range(func(_, v any) bool { n += int64(len(v.(*fragment).json)); return true })
	return n
}

type fragment struct {
	revision int64
	json     []byte // a JSON object: starts with '{', ends with '}'
}

func (s *DeliveryServer) fragment(it delivery.Item) []byte {
	r := it.Resource
	if v, ok := s.frags.byID.Load(r.ID); ok {
		if f := v.(*fragment); f.revision == r.RevisionID {
			return f.json
		}
	}
	base := it
	base.Stale, base.OpenNow, base.DistanceKm = false, false, 0
	raw, err := protojson.Marshal(s.published(base))
	if err != nil || len(raw) < 2 || raw[len(raw)-1] != '}' {
		raw = []byte(`{"name":` + strconv.Quote(r.Name()) + `}`) // never for a valid message
	}
	s.frags.mu.Lock()
	if s.model.Current(r) { // not a revision forget has dropped (or will not see) already
		s.frags.byID.Store(r.ID, &fragment{revision: r.RevisionID, json: raw})
	}
	s.frags.mu.Unlock()
	return raw
}

// appendItemJSON appends it as the JSON of a PublishedResource.
func (s *DeliveryServer) appendItemJSON(dst []byte, it delivery.Item) []byte {
	f := s.fragment(it)
	dst = append(dst, f[:len(f)-1]...)
	if it.Stale {
		dst = append(dst, `,"stale":true`...)
	}
	if it.OpenNow {
		dst = append(dst, `,"openNow":true`...)
	}
	if cents := math.Round(it.DistanceKm * 100); cents != 0 {
		dst = append(dst, `,"distanceKm":`...)
		dst = appendHundredths(dst, cents)
	}
	return append(dst, '}')
}

// appendHundredths appends cents/100 as protojson writes that double (strconv's shortest 'g'
// form), without float formatting: the integer part, then up to two decimals, trailing zeros
// dropped. Past what an int64 holds exactly it falls back to strconv.
func appendHundredths(dst []byte, cents float64) []byte {
	if cents < 0 || cents >= 1<<53 {
		return strconv.AppendFloat(dst, cents/100, 'g', -1, 64)
	}
	c := int64(cents)
	dst = strconv.AppendInt(dst, c/100, 10)
	if frac := c % 100; frac != 0 {
		dst = append(dst, '.', byte('0'+frac/10))
		if frac%10 != 0 {
			dst = append(dst, byte('0'+frac%10))
		}
	}
	return dst
}

func (s *DeliveryServer) appendItemsJSON(dst []byte, name string, items []delivery.Item) []byte {
	if len(items) == 0 {
		return dst
	}
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, `":[`...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = s.appendItemJSON(dst, it)
	}
	return append(dst, ']')
}

// readJSON is a read-side response: its JSON and what it holds, for its surrogate keys: the
// resources (items, then remote) and other keys. A body from bodyPool goes back to it once
// written (release).
type readJSON struct {
	answer *listAnswer // a kept list response: served as it is (body and the fields below unset)
	body   []byte
	items  []delivery.Item
	remote []delivery.Item
	keys   []string
	pooled bool
	page   *delivery.Page // from pagePool, going back with the body
}

// bodyPool recycles response buffers: a near query's JSON is tens of kilobytes, and allocating
// it per request made the garbage collector a third of the read side's CPU.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func pooledBody() []byte { return (*bodyPool.Get().(*[]byte))[:0] }

// pagePool recycles the pages lists are answered in (their item slices and search scratch).
var pagePool = sync.Pool{New: func() any { return new(delivery.Page) }}

// release returns a pooled body and page; the response must not be used after.
func (r readJSON) release() {
	if r.pooled && cap(r.body) <= 1<<20 {
		b := r.body[:0]
		bodyPool.Put(&b)
	}
	if r.page != nil {
		r.page.Reset()
		pagePool.Put(r.page)
	}
}

// listJSON answers ListSiteResources as JSON: the answer kept for the same request when it is
// still the answer (list_answers.go), else a new one, which it keeps.
func (s *DeliveryServer) listJSON(ctx context.Context, req *resourcesv1.ListSiteResourcesRequest) (readJSON, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return readJSON{}, err
	}
	settings, err := s.model.SiteRules(ctx, site)
	if err != nil {
		return readJSON{}, err
	}
	kp := keyBuffers.Get().(*[]byte)
	key := appendListKey((*kp)[:0], site, req)
	defer func() { *kp = key[:0]; keyBuffers.Put(kp) }()
	now := s.model.Now()
	if a := s.answers.get(key, settings, now); a != nil {
		if req.GetPageToken() == "" {
			return readJSON{answer: a}, nil
		}
		if _, err := s.listToken(site, req); err == nil { // it may have expired since
			return readJSON{answer: a}, nil
		}
	}
	gen, keep := s.answers.admit(key)
	out, err := s.buildListJSON(ctx, req)
	if err != nil || !keep {
		return out, err
	}
	defer out.release()
	page := out.page
	until := page.ValidUntil
	if limit := now.Add(MaxListAnswerAge); limit.Before(until) {
		until = limit // the next page token's issue time ages with the answer
	}
	surrogate, tags := out.surrogateKeys(site)
	body := bytes.Clone(out.body)
	a := &listAnswer{body: httpcache.NewLazyHashed(body, bodyHash(body)), surrogate: []string{surrogate}, cacheTag: []string{tags},
		site: page.Site, made: now, until: until}
	s.answers.put(key, gen, a, now)
	return readJSON{answer: a}, nil
}

// bodyHash is the hash a read-side response's ETag is made of: xxHash (64 bits) in hex (SHA-256
// over every response cost a fifth of a near query's CPU).
func bodyHash(body []byte) string { return strconv.FormatUint(xxhash.Sum64(body), 16) }

// buildListJSON answers ListSiteResources as JSON from the read model.
func (s *DeliveryServer) buildListJSON(ctx context.Context, req *resourcesv1.ListSiteResourcesRequest) (readJSON, error) {
	page := pagePool.Get().(*delivery.Page)
	token, err := s.list(ctx, req, page)
	if err != nil {
		page.Reset()
		pagePool.Put(page)
		return readJSON{}, err
	}
	b := append(pooledBody(), '{')
	b = s.appendItemsJSON(b, "resources", page.Local)
	b = s.appendItemsJSON(b, "remoteResources", page.Remote)
	if token != "" {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"nextPageToken":`...)
		quoted, _ := json.Marshal(token)
		b = append(b, quoted...)
	}
	b = append(b, '}')
	return readJSON{body: b, items: page.Local, remote: page.Remote, pooled: true, page: page}, nil
}

// crisisLinesJSON answers ListCrisisLines as JSON.
func (s *DeliveryServer) crisisLinesJSON(ctx context.Context, req *resourcesv1.ListCrisisLinesRequest) (readJSON, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return readJSON{}, err
	}
	items, err := s.model.CrisisLines(ctx, site)
	if err != nil {
		return readJSON{}, err
	}
	b := s.appendItemsJSON(append(pooledBody(), '{'), "crisisLines", items)
	return readJSON{body: append(b, '}'), items: items, pooled: true}, nil
}

// resourceJSON answers GetSiteResource as JSON.
func (s *DeliveryServer) resourceJSON(ctx context.Context, req *resourcesv1.GetSiteResourceRequest) (readJSON, error) {
	it, err := s.getItem(ctx, req)
	if err != nil {
		return readJSON{}, err
	}
	return readJSON{body: s.appendItemJSON(pooledBody(), it), items: []delivery.Item{it}, pooled: true}, nil
}
