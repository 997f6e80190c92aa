// Package recommend is how the screening service asks the content and resources services for
// what a result recommends: over gRPC, like any client, with an API key of its own (never by
// reading their stores). It implements domain.ArticleSource and domain.ResourceSource.
//
// Answers never reach it: a call carries only the site, the band's tags, topics and resource
// kinds, and the reader's point when the reader gave one.
//
// What does not depend on the reader (articles; resources without a point; a site's crisis
// lines) is kept for CacheTTL, so a burst of screenings costs the other services one call per
// site and band. Resources near a point are fetched every time. (The domain keeps its own copy of
// crisis lines, without expiry, for outages.)
package recommend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// DefaultCacheTTL is how long reader-independent recommendations are reused.
const DefaultCacheTTL = 10 * time.Second

// SiteURLs gives a site's base URL, to build article URLs ({base_url}/articles/{slug}, as the
// content service does).
type SiteURLs interface {
	BaseURL(ctx context.Context, site string) string
}

// Client calls content's and resources' DeliveryService with the screening service's key.
type Client struct {
	articles  contentv1.DeliveryServiceClient
	resources resourcesv1.DeliveryServiceClient
	key       string
	sites     SiteURLs
	ttl       time.Duration
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]cached
	// downUntil holds, per service ("content", "resources"), until when calls fail at once
	// without being sent: a service that was unreachable is asked again only after
	// retryDownAfter, so an outage under traffic costs one refused call per second, not one
	// per screening.
	downUntil map[string]time.Time
}

// retryDownAfter is how long a service that was unreachable is not called.
const retryDownAfter = time.Second

// errDown is what a call to a service marked down returns.
type errDown struct{ service string }

func (e errDown) Error() string { return e.service + ": unreachable a moment ago; not asked again yet" }

// down reports whether service is marked down; then it returns the error to give.
func (c *Client) down(service string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.downUntil[service]) {
		return errDown{service}
	}
	return nil
}

// observe marks service down for retryDownAfter when err says it could not be reached.
func (c *Client) observe(service string, err error) {
	if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
		return
	}
	c.mu.Lock()
	c.downUntil[service] = c.now().Add(retryDownAfter)
	c.mu.Unlock()
}

type cached struct {
	articles  []domain.ArticleRef
	resources []domain.ResourceRef
	crisis    []domain.CrisisLine
	expires   time.Time
}

// New returns a Client over connections to content and resources; key is sent as a bearer
// token on every call. ttl 0 means DefaultCacheTTL; a negative ttl disables the cache.
func New(content, resources grpc.ClientConnInterface, key string, sites SiteURLs, ttl time.Duration) *Client {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	return &Client{
		articles: contentv1.NewDeliveryServiceClient(content), resources: resourcesv1.NewDeliveryServiceClient(resources),
		key: key, sites: sites, ttl: ttl, now: time.Now, cache: map[string]cached{}, downUntil: map[string]time.Time{},
	}
}

func (c *Client) outgoing(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.key)
}

func (c *Client) lookup(key string) (cached, bool) {
	if c.ttl < 0 {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok || !c.now().Before(e.expires) {
		return cached{}, false
	}
	return e, true
}

func (c *Client) store(key string, e cached) {
	if c.ttl < 0 {
		return
	}
	e.expires = c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, old := range c.cache { // drop expired entries now and then: keys are few (site x band)
		if len(c.cache) > 1000 && !c.now().Before(old.expires) {
			delete(c.cache, k)
		}
	}
	c.cache[key] = e
}

// RecommendArticles implements domain.ArticleSource: published articles of site with any of the
// tags or topics, in the order content lists them (newest first), each once, at most limit.
func (c *Client) RecommendArticles(ctx context.Context, site string, tags, topics []string, limit int) ([]domain.ArticleRef, error) {
	key := "a\x00" + site + "\x00" + strings.Join(tags, ",") + "\x00" + strings.Join(topics, ",") + "\x00" + strconv.Itoa(limit)
	if e, ok := c.lookup(key); ok {
		return e.articles, nil
	}
	if err := c.down("content"); err != nil {
		return nil, err
	}
	type query struct{ tag, topic string }
	var queries []query
	for _, t := range tags {
		queries = append(queries, query{tag: t})
	}
	for _, t := range topics {
		queries = append(queries, query{topic: t})
	}
	results := make([][]*contentv1.ArticleCard, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	out := c.outgoing(ctx)
	for i, q := range queries {
		wg.Go(func() {
			resp, err := c.articles.ListPublishedArticles(out, &contentv1.ListPublishedArticlesRequest{
				Site: "sites/" + site, Tag: q.tag, Topic: q.topic, PageSize: int32(limit)})
			results[i], errs[i] = resp.GetArticles(), err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.observe("content", err)
			return nil, fmt.Errorf("content: %w", err)
		}
	}
	var cards []*contentv1.ArticleCard
	seen := map[string]bool{}
	for _, list := range results {
		for _, a := range list {
			if !seen[a.GetName()] {
				seen[a.GetName()] = true
				cards = append(cards, a)
			}
		}
	}
	slices.SortStableFunc(cards, func(a, b *contentv1.ArticleCard) int {
		return b.GetPublishTime().AsTime().Compare(a.GetPublishTime().AsTime())
	})
	if len(cards) > limit {
		cards = cards[:limit]
	}
	base := strings.TrimRight(c.sites.BaseURL(ctx, site), "/")
	refs := make([]domain.ArticleRef, 0, len(cards))
	for _, a := range cards {
		refs = append(refs, domain.ArticleRef{Name: a.GetName(), Title: a.GetTitle(), Slug: a.GetSlug(), Summary: a.GetSummary(),
			URL: base + "/articles/" + a.GetSlug()})
	}
	c.store(key, cached{articles: refs})
	return refs, nil
}

// RecommendResources implements domain.ResourceSource: resources of site of any of the kinds;
// with near, local ones nearest first and then remote ones (virtual or area-wide), else by name.
func (c *Client) RecommendResources(ctx context.Context, site string, kinds []string, near *domain.Point, limit int) ([]domain.ResourceRef, error) {
	key := "r\x00" + site + "\x00" + strings.Join(kinds, ",") + "\x00" + strconv.Itoa(limit)
	if near == nil {
		if e, ok := c.lookup(key); ok {
			return e.resources, nil
		}
	}
	if err := c.down("resources"); err != nil {
		return nil, err
	}
	nearText := ""
	if near != nil {
		nearText = strconv.FormatFloat(near.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(near.Longitude, 'f', -1, 64)
	}
	results := make([]*resourcesv1.ListSiteResourcesResponse, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	out := c.outgoing(ctx)
	for i, kind := range kinds {
		k, ok := resourcesv1.Kind_value["KIND_"+strings.ToUpper(kind)]
		if !ok {
			continue // validation admits only resource kinds; a kind resources dropped finds nothing
		}
		wg.Go(func() {
			results[i], errs[i] = c.resources.ListSiteResources(out, &resourcesv1.ListSiteResourcesRequest{
				Site: "sites/" + site, Kind: resourcesv1.Kind(k), Near: nearText, PageSize: int32(limit)})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.observe("resources", err)
			return nil, fmt.Errorf("resources: %w", err)
		}
	}
	var local, remote []domain.ResourceRef
	seen := map[string]bool{}
	add := func(list *[]domain.ResourceRef, rs []*resourcesv1.PublishedResource) {
		for _, r := range rs {
			if !seen[r.GetName()] {
				seen[r.GetName()] = true
				*list = append(*list, resourceRef(r))
			}
		}
	}
	for _, resp := range results {
		add(&local, resp.GetResources())
		add(&remote, resp.GetRemoteResources())
	}
	if near != nil {
		slices.SortStableFunc(local, func(a, b domain.ResourceRef) int { return cmp.Compare(a.DistanceMeters, b.DistanceMeters) })
	} else {
		slices.SortStableFunc(local, func(a, b domain.ResourceRef) int { return strings.Compare(a.Title, b.Title) })
	}
	refs := append(local, remote...)
	if len(refs) > limit {
		refs = refs[:limit]
	}
	if near == nil {
		c.store(key, cached{resources: refs})
	}
	return refs, nil
}

func resourceRef(r *resourcesv1.PublishedResource) domain.ResourceRef {
	ref := domain.ResourceRef{
		Name: r.GetName(), Title: r.GetDisplayName(), URL: r.GetWebsite(), DistanceMeters: r.GetDistanceKm() * 1000,
		Kind: strings.ToLower(strings.TrimPrefix(r.GetKind().String(), "KIND_")),
	}
	for _, p := range r.GetPhones() {
		if p.GetType() != resourcesv1.Phone_TYPE_TEXT && p.GetType() != resourcesv1.Phone_TYPE_FAX {
			ref.Phone = p.GetNumber()
			break
		}
	}
	return ref
}

// CrisisLines implements domain.ResourceSource: the site's crisis lines as the resources service
// lists them.
func (c *Client) CrisisLines(ctx context.Context, site string) ([]domain.CrisisLine, error) {
	key := "c\x00" + site
	if e, ok := c.lookup(key); ok {
		return e.crisis, nil
	}
	if err := c.down("resources"); err != nil {
		return nil, err
	}
	resp, err := c.resources.ListCrisisLines(c.outgoing(ctx), &resourcesv1.ListCrisisLinesRequest{Site: "sites/" + site})
	if err != nil {
		c.observe("resources", err)
		return nil, fmt.Errorf("resources: %w", err)
	}
	out := make([]domain.CrisisLine, 0, len(resp.GetCrisisLines()))
	for _, r := range resp.GetCrisisLines() {
		line := domain.CrisisLine{Title: r.GetDisplayName(), URL: r.GetWebsite()}
		for _, p := range r.GetPhones() {
			switch {
			case p.GetType() == resourcesv1.Phone_TYPE_TEXT && line.SMS == "":
				line.SMS = p.GetNumber()
			case (p.GetType() == resourcesv1.Phone_TYPE_VOICE || p.GetType() == resourcesv1.Phone_TYPE_UNSPECIFIED) && line.Phone == "":
				line.Phone = p.GetNumber()
			}
		}
		if r.GetHours().GetAlwaysOpen() {
			line.Hours = "24/7"
		}
		out = append(out, line)
	}
	c.store(key, cached{crisis: out})
	return out, nil
}
