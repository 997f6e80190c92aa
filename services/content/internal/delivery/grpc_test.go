package delivery

import (
	"context"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"google.golang.org/protobuf/encoding/protojson"
)

// grpcCaller is how a test calls the server: without a key, or with a principal in the
// context as the auth interceptor leaves it.
type grpcCaller struct {
	name string
	ctx  context.Context
}

var (
	callerAnonymous = grpcCaller{"anonymous", context.Background()}
	callerPrivate   = grpcCaller{"private key", auth.WithPrincipal(context.Background(), principalPrivate)}
	callerOther     = grpcCaller{"other key", auth.WithPrincipal(context.Background(), principalOther)}
	callerAdmin     = grpcCaller{"admin key", auth.WithPrincipal(context.Background(), principalAdmin)}
)

// TestGRPCAccess calls every method with the access cases of TestAccess.
func TestGRPCAccess(t *testing.T) {
	e := newFixtureEnv(t)
	s := e.server
	slugs := map[string]string{"public": "sleep-basics", "private": "private-guide", "nowhere": "x"}
	methods := map[string]func(ctx context.Context, site string) error{
		"GetPublishedArticle": func(ctx context.Context, site string) error {
			_, err := s.GetPublishedArticle(ctx, &contentv1.GetPublishedArticleRequest{Site: "sites/" + site, Slug: slugs[site]})
			return err
		},
		"ListPublishedArticles": func(ctx context.Context, site string) error {
			_, err := s.ListPublishedArticles(ctx, &contentv1.ListPublishedArticlesRequest{Site: "sites/" + site})
			return err
		},
		"SearchPublishedArticles": func(ctx context.Context, site string) error {
			_, err := s.SearchPublishedArticles(ctx, &contentv1.SearchPublishedArticlesRequest{Site: "sites/" + site, Q: "guide"})
			return err
		},
		"GetSitemap": func(ctx context.Context, site string) error {
			_, err := s.GetSitemap(ctx, &contentv1.GetSitemapRequest{Site: "sites/" + site})
			return err
		},
		"GetFeed": func(ctx context.Context, site string) error {
			_, err := s.GetFeed(ctx, &contentv1.GetFeedRequest{Site: "sites/" + site})
			return err
		},
	}
	tests := []struct {
		caller grpcCaller
		site   string
		want   apperr.Code // "" means OK
	}{
		{callerAnonymous, "public", ""},
		{callerAdmin, "public", ""},
		{callerOther, "public", apperr.NotFound},
		{callerAnonymous, "private", apperr.Unauthenticated},
		{callerPrivate, "private", ""},
		{callerAdmin, "private", ""},
		{callerOther, "private", apperr.NotFound},
		{callerAnonymous, "nowhere", apperr.NotFound},
		{callerAdmin, "nowhere", apperr.NotFound},
	}
	for name, call := range methods {
		for _, tt := range tests {
			err := call(tt.caller.ctx, tt.site)
			if got := apperr.CodeOf(err); (err == nil) != (tt.want == "") || got != tt.want {
				t.Errorf("%s(sites/%s) as %s: %v, want code %q", name, tt.site, tt.caller.name, err, tt.want)
			}
		}
		// Malformed site names.
		for _, bad := range []string{"", "public", "sites/", "sites/public/articles", "projects/public"} {
			var err error
			switch name {
			case "GetPublishedArticle":
				_, err = s.GetPublishedArticle(context.Background(), &contentv1.GetPublishedArticleRequest{Site: bad, Slug: "sleep-basics"})
			case "ListPublishedArticles":
				_, err = s.ListPublishedArticles(context.Background(), &contentv1.ListPublishedArticlesRequest{Site: bad})
			case "SearchPublishedArticles":
				_, err = s.SearchPublishedArticles(context.Background(), &contentv1.SearchPublishedArticlesRequest{Site: bad, Q: "guide"})
			case "GetSitemap":
				_, err = s.GetSitemap(context.Background(), &contentv1.GetSitemapRequest{Site: bad})
			case "GetFeed":
				_, err = s.GetFeed(context.Background(), &contentv1.GetFeedRequest{Site: bad})
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s(%q): %v, want Invalid", name, bad, err)
			}
		}
	}
}

func TestGRPCGetPublishedArticle(t *testing.T) {
	e := newFixtureEnv(t)
	ctx := context.Background()
	get := func(slug string) (*contentv1.PublishedArticle, error) {
		return e.server.GetPublishedArticle(ctx, &contentv1.GetPublishedArticleRequest{Site: "sites/public", Slug: slug})
	}
	a, err := get("sleep-basics")
	if err != nil {
		t.Fatal(err)
	}
	if a.GetName() != "articles/a2" || a.GetUrl() != "https://public.example.org/articles/sleep-basics" || a.GetRedirectSlug() != "" ||
		a.GetCrisisLineText() != "Call or text 988" || !strings.HasPrefix(a.GetHtml(), "<p>") {
		t.Errorf("article = %v", a)
	}
	// The same as the REST body.
	rest := e.get("/v1/sites/public/articles/sleep-basics").Body.Bytes()
	var fromREST contentv1.PublishedArticle
	if err := protojson.Unmarshal(rest, &fromREST); err != nil {
		t.Fatal(err)
	}
	if !protoEqual(a, &fromREST) {
		t.Errorf("gRPC and REST differ:\n%v\n%v", a, &fromREST)
	}
	for _, old := range []string{"kratom-withdrawal-old", "kratom-withdrawal-2024"} {
		r, err := get(old)
		if err != nil || r.GetRedirectSlug() != "kratom-withdrawal" || r.GetName() != "" {
			t.Errorf("%s: %v, %v; want only redirect_slug kratom-withdrawal", old, r, err)
		}
	}
	if _, err := get("no-such-article"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("unknown slug: %v", err)
	}
	if r, err := get("hydration-tips"); err != nil || r.GetName() != "articles/a5" {
		t.Errorf("hydration-tips: %v, %v", r, err)
	}
	for _, m := range []string{editorNoteMarker, draftMarker} {
		if strings.Contains(protojson.Format(a), m) {
			t.Errorf("article contains %s", m)
		}
	}
}

func protoEqual(a, b *contentv1.PublishedArticle) bool {
	x, _ := protojson.Marshal(a)
	y, _ := protojson.Marshal(b)
	return string(x) == string(y)
}

func TestGRPCListPagination(t *testing.T) {
	e := newFixtureEnv(t)
	for _, f := range listFilters {
		q := parseQuery(f.query)
		for size := int32(1); size <= 3; size++ {
			var seen []string
			token := ""
			for pages := 0; ; pages++ {
				if pages > len(f.want)+1 {
					t.Fatalf("%s: too many pages", f.query)
				}
				resp, err := e.server.ListPublishedArticles(callerAnonymous.ctx, &contentv1.ListPublishedArticlesRequest{
					Site: "sites/public", Tag: q["tag"], Topic: q["topic"], PageSize: size, PageToken: token})
				if err != nil {
					t.Fatalf("%s size %d: %v", f.query, size, err)
				}
				if len(resp.GetArticles()) > int(size) || len(resp.GetArticles()) == 0 && len(f.want) > 0 {
					t.Errorf("%s size %d: %d cards", f.query, size, len(resp.GetArticles()))
				}
				for _, c := range resp.GetArticles() {
					seen = append(seen, strings.TrimPrefix(c.GetName(), "articles/"))
				}
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
			if !slices.Equal(seen, f.want) && !(len(seen) == 0 && len(f.want) == 0) {
				t.Errorf("%s size %d: %v, want %v", f.query, size, seen, f.want)
			}
		}
	}
	// Tokens are interchangeable between REST and gRPC, and bound to their filter.
	rest := getList(t, e, "pageSize=2&tag=kratom")
	resp, err := e.server.ListPublishedArticles(callerAnonymous.ctx, &contentv1.ListPublishedArticlesRequest{
		Site: "sites/public", Tag: "kratom", PageSize: 2, PageToken: rest.NextPageToken})
	if err != nil || len(resp.GetArticles()) != 2 || resp.GetArticles()[0].GetName() != "articles/a1" {
		t.Errorf("REST token on gRPC: %v, %v", resp, err)
	}
	for _, req := range []*contentv1.ListPublishedArticlesRequest{
		{Site: "sites/public", PageSize: 2, PageToken: rest.NextPageToken},                 // another filter
		{Site: "sites/public", Tag: "kratom", PageSize: 2, PageToken: "garbage"},           // garbage
		{Site: "sites/public", Tag: "kratom", PageSize: -1},                                // negative size
		{Site: "sites/private", Tag: "kratom", PageSize: 2, PageToken: rest.NextPageToken}, // another site
	} {
		ctx := callerAnonymous.ctx
		if req.Site == "sites/private" {
			ctx = callerPrivate.ctx
		}
		if _, err := e.server.ListPublishedArticles(ctx, req); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%v: %v, want Invalid", req, err)
		}
	}
}

// parseQuery parses "a=b&c=d" without unescaping.
func parseQuery(q string) map[string]string {
	out := map[string]string{}
	for kv := range strings.SplitSeq(q, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func TestGRPCSearch(t *testing.T) {
	e := newFixtureEnv(t)
	search := func(req *contentv1.SearchPublishedArticlesRequest) *contentv1.SearchPublishedArticlesResponse {
		t.Helper()
		req.Site = "sites/public"
		resp, err := e.server.SearchPublishedArticles(context.Background(), req)
		if err != nil {
			t.Fatalf("%v: %v", req, err)
		}
		return resp
	}
	resp := search(&contentv1.SearchPublishedArticlesRequest{Q: "hydration"})
	if len(resp.GetResults()) != 2 || resp.GetResults()[0].GetArticle().GetName() != "articles/a5" || resp.GetTotalSize() != 2 {
		t.Errorf("hydration: %v", resp)
	}
	for size := int32(1); size <= 3; size++ {
		var seen []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 7 {
				t.Fatal("too many pages")
			}
			page := search(&contentv1.SearchPublishedArticlesRequest{Q: "guide", PageSize: size, PageToken: token})
			for _, r := range page.GetResults() {
				seen = append(seen, strings.TrimPrefix(r.GetArticle().GetName(), "articles/"))
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		slices.Sort(seen)
		if want := slices.Sorted(slices.Values(fixtureOrder)); !slices.Equal(seen, want) {
			t.Errorf("size %d: %v, want %v", size, seen, want)
		}
	}
	for _, req := range []*contentv1.SearchPublishedArticlesRequest{
		{Site: "sites/public", Q: ""},
		{Site: "sites/public", Q: "   "},
		{Site: "sites/public", Q: strings.Repeat("x", maxQueryLen+1)},
		{Site: "sites/public", Q: "guide", PageToken: "garbage"},
		{Site: "sites/public", Q: "guide", PageSize: -5},
	} {
		if _, err := e.server.SearchPublishedArticles(context.Background(), req); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%v: %v, want Invalid", req, err)
		}
	}
}

func TestGRPCSitemapAndFeed(t *testing.T) {
	e := newFixtureEnv(t)
	e.model.ApplyArticles(revise(fixtureArticles()[0], func(a *domain.Article) { a.Published = nil }))
	sm, err := e.server.GetSitemap(callerPrivate.ctx, &contentv1.GetSitemapRequest{Site: "sites/private"})
	if err != nil {
		t.Fatal(err)
	}
	if sm.GetContentType() != "application/xml; charset=utf-8" || xml.Unmarshal(sm.GetData(), new(any)) != nil {
		t.Errorf("sitemap: %s %s", sm.GetContentType(), sm.GetData())
	}
	if got := strings.Count(string(sm.GetData()), "<loc>"); got != 3 {
		t.Errorf("private sitemap has %d URLs, want home + 2", got)
	}
	feed, err := e.server.GetFeed(context.Background(), &contentv1.GetFeedRequest{Site: "sites/public"})
	if err != nil {
		t.Fatal(err)
	}
	if feed.GetContentType() != "application/atom+xml; charset=utf-8" {
		t.Errorf("feed content type %q", feed.GetContentType())
	}
	if got := strings.Count(string(feed.GetData()), "<entry>"); got != 5 {
		t.Errorf("public feed has %d entries, want 5", got)
	}
	if strings.Contains(string(feed.GetData()), "kratom-withdrawal") {
		t.Error("the feed lists an unpublished article")
	}
	if rest := e.get("/v1/sites/public/feed.xml").Body.String(); rest != string(feed.GetData()) {
		t.Error("gRPC and REST feeds differ")
	}
}
