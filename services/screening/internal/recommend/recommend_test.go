package recommend_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/recommend"
)

// fakes is a content and a resources DeliveryService that record each call with the bearer
// token it carried.
type fakes struct {
	contentv1.UnimplementedDeliveryServiceServer
	resources resourcesFake

	mu    sync.Mutex
	calls []string
	down  bool
}

type resourcesFake struct {
	resourcesv1.UnimplementedDeliveryServiceServer
	f *fakes
}

func (f *fakes) record(ctx context.Context, call string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call+" auth="+strings.Join(md.Get("authorization"), ","))
	if f.down {
		return status.Error(codes.Unavailable, "down")
	}
	return nil
}

func (f *fakes) taken() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	slices.Sort(out)
	return out
}

func day(d int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC))
}

func (f *fakes) ListPublishedArticles(ctx context.Context, req *contentv1.ListPublishedArticlesRequest) (*contentv1.ListPublishedArticlesResponse, error) {
	if err := f.record(ctx, "articles "+req.GetSite()+" tag="+req.GetTag()+" topic="+req.GetTopic()); err != nil {
		return nil, err
	}
	byLabel := map[string][]*contentv1.ArticleCard{
		"kratom":    {{Name: "articles/a", Slug: "a", Title: "A", PublishTime: day(1)}, {Name: "articles/b", Slug: "b", Title: "B", PublishTime: day(3)}},
		"treatment": {{Name: "articles/b", Slug: "b", Title: "B", PublishTime: day(3)}, {Name: "articles/c", Slug: "c", Title: "C", PublishTime: day(2)}},
	}
	return &contentv1.ListPublishedArticlesResponse{Articles: byLabel[req.GetTag()+req.GetTopic()]}, nil
}

func (r resourcesFake) ListSiteResources(ctx context.Context, req *resourcesv1.ListSiteResourcesRequest) (*resourcesv1.ListSiteResourcesResponse, error) {
	if err := r.f.record(ctx, "resources "+req.GetSite()+" kind="+req.GetKind().String()+" near="+req.GetNear()); err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListSiteResourcesResponse{}
	switch req.GetKind() {
	case resourcesv1.Kind_KIND_TREATMENT_PROVIDER:
		resp.Resources = []*resourcesv1.PublishedResource{
			{Name: "resources/far", DisplayName: "Zeta clinic", Kind: req.GetKind(), DistanceKm: 12, Phones: []*resourcesv1.PublishedPhone{{Number: "+15550100"}}},
		}
		resp.RemoteResources = []*resourcesv1.PublishedResource{{Name: "resources/tele", DisplayName: "Telehealth", Kind: req.GetKind(), Website: "https://tele.example.org"}}
	case resourcesv1.Kind_KIND_PEER_SUPPORT:
		resp.Resources = []*resourcesv1.PublishedResource{{Name: "resources/near", DisplayName: "Alpha group", Kind: req.GetKind(), DistanceKm: 1.5}}
	}
	return resp, nil
}

func (r resourcesFake) ListCrisisLines(ctx context.Context, req *resourcesv1.ListCrisisLinesRequest) (*resourcesv1.ListCrisisLinesResponse, error) {
	if err := r.f.record(ctx, "crisis "+req.GetSite()); err != nil {
		return nil, err
	}
	return &resourcesv1.ListCrisisLinesResponse{CrisisLines: []*resourcesv1.PublishedResource{{
		DisplayName: "988 Lifeline", Website: "https://988lifeline.org", Hours: &resourcesv1.Hours{AlwaysOpen: true},
		Phones: []*resourcesv1.PublishedPhone{{Number: "988", Type: resourcesv1.Phone_TYPE_TEXT}, {Number: "988", Type: resourcesv1.Phone_TYPE_VOICE}},
	}}}, nil
}

type baseURLs struct{}

func (baseURLs) BaseURL(context.Context, string) string { return "https://kratom.example.org/" }

func newClient(t *testing.T, ttl time.Duration) (*recommend.Client, *fakes) {
	t.Helper()
	f := &fakes{}
	f.resources.f = f
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	contentv1.RegisterDeliveryServiceServer(srv, f)
	resourcesv1.RegisterDeliveryServiceServer(srv, f.resources)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return recommend.New(conn, conn, "bk_screening", baseURLs{}, ttl), f
}

func TestArticles(t *testing.T) {
	c, f := newClient(t, time.Minute)
	ctx := context.Background()
	got, err := c.RecommendArticles(ctx, "kratom-help", []string{"kratom"}, []string{"treatment"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first, each once, at most 2; URLs on the site.
	if len(got) != 2 || got[0].Name != "articles/b" || got[1].Name != "articles/c" || got[0].URL != "https://kratom.example.org/articles/b" {
		t.Errorf("articles %+v", got)
	}
	want := []string{
		"articles sites/kratom-help tag= topic=treatment auth=Bearer bk_screening",
		"articles sites/kratom-help tag=kratom topic= auth=Bearer bk_screening",
	}
	if calls := f.taken(); !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if _, err := c.RecommendArticles(ctx, "kratom-help", []string{"kratom"}, []string{"treatment"}, 2); err != nil {
		t.Fatal(err)
	}
	if calls := f.taken(); len(calls) != 0 {
		t.Errorf("a second identical request within the TTL called content: %q", calls)
	}
}

func TestResources(t *testing.T) {
	c, f := newClient(t, time.Minute)
	ctx := context.Background()
	kinds := []string{"treatment_provider", "peer_support"}
	got, err := c.RecommendResources(ctx, "kratom-help", kinds, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	names := func(rs []domain.ResourceRef) (out []string) {
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	// Without a point: local ones by name, then remote ones.
	if n := names(got); !slices.Equal(n, []string{"resources/near", "resources/far", "resources/tele"}) || got[1].Phone != "+15550100" || got[1].Kind != "treatment_provider" {
		t.Errorf("resources %+v", got)
	}
	if calls := f.taken(); len(calls) != 2 || !strings.Contains(calls[0], "kind=KIND_PEER_SUPPORT near= auth=Bearer bk_screening") {
		t.Errorf("calls %q", calls)
	}
	if _, err := c.RecommendResources(ctx, "kratom-help", kinds, nil, 5); err != nil || len(f.taken()) != 0 {
		t.Errorf("cached resources: %v", err)
	}
	// With a point: nearest first, distances in metres, the point sent, and never cached.
	for range 2 {
		got, err = c.RecommendResources(ctx, "kratom-help", kinds, &domain.Point{Latitude: 38.6, Longitude: -90.2}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n := names(got); !slices.Equal(n, []string{"resources/near", "resources/far"}) || got[0].DistanceMeters != 1500 {
			t.Errorf("near resources %+v", got)
		}
		if calls := f.taken(); len(calls) != 2 || !strings.Contains(calls[0], "near=38.6,-90.2") {
			t.Errorf("near calls %q", calls)
		}
	}
}

func TestCrisisLinesAndOutages(t *testing.T) {
	c, f := newClient(t, -1) // no cache: every call reaches the fake
	ctx := context.Background()
	lines, err := c.CrisisLines(ctx, "kratom-help")
	if err != nil || len(lines) != 1 {
		t.Fatalf("crisis lines %+v, %v", lines, err)
	}
	if l := lines[0]; l.Phone != "988" || l.SMS != "988" || l.Hours != "24/7" || l.Title != "988 Lifeline" {
		t.Errorf("crisis line %+v", l)
	}
	f.taken()
	setDown := func(down bool) {
		f.mu.Lock()
		f.down = down
		f.mu.Unlock()
	}
	setDown(true)
	for range 3 {
		if _, err := c.CrisisLines(ctx, "kratom-help"); err == nil {
			t.Error("crisis lines with resources down: no error")
		}
		if _, err := c.RecommendArticles(ctx, "kratom-help", []string{"kratom"}, nil, 3); err == nil {
			t.Error("articles with content down: no error")
		}
		if _, err := c.RecommendResources(ctx, "kratom-help", []string{"peer_support"}, nil, 3); err == nil {
			t.Error("resources with resources down: no error")
		}
	}
	// Each service was asked once; then it counted as down and was not asked again.
	if calls := f.taken(); len(calls) != 2 {
		t.Errorf("calls during the outage %q, want one to content and one to resources", calls)
	}
	setDown(false)
	time.Sleep(1100 * time.Millisecond) // past retryDownAfter
	if lines, err := c.CrisisLines(ctx, "kratom-help"); err != nil || len(lines) != 1 {
		t.Errorf("crisis lines once resources is back: %v, %v", lines, err)
	}
}
