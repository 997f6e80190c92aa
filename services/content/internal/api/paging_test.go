package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// walk lists every page of req as key and returns the articles in the order received. It fails
// when a page is larger than want or a page token repeats.
func walk(tb testing.TB, e *env, key string, req *contentv1.ListArticlesRequest, maxPage int) []*contentv1.Article {
	tb.Helper()
	var all []*contentv1.Article
	seen := map[string]bool{}
	req.PageToken = ""
	for page := 0; ; page++ {
		if page > 1000 {
			tb.Fatal("more than 1000 pages")
		}
		resp, err := e.articles.ListArticles(as(context.Background(), key), req)
		if err != nil {
			tb.Fatalf("ListArticles(%v) page %d: %v", req, page, err)
		}
		if n := len(resp.GetArticles()); n > maxPage {
			tb.Fatalf("page %d has %d articles, want at most %d", page, n, maxPage)
		}
		all = append(all, resp.GetArticles()...)
		if resp.GetNextPageToken() == "" {
			return all
		}
		if seen[resp.GetNextPageToken()] {
			tb.Fatalf("page token repeated on page %d", page)
		}
		seen[resp.GetNextPageToken()] = true
		req.PageToken = resp.GetNextPageToken()
	}
}

func names(articles []*contentv1.Article) []string {
	out := make([]string, len(articles))
	for i, a := range articles {
		out[i] = a.GetName()
	}
	return out
}

// compareBy compares two articles in the order of field ("" = update_time), ties broken by name.
func compareBy(field string, a, b *contentv1.Article) int {
	ts := func(t *timestamppb.Timestamp) time.Time {
		if t == nil {
			return time.Time{} // never published: sorts before every time
		}
		return t.AsTime()
	}
	var c int
	switch field {
	case "", "update_time":
		c = ts(a.GetUpdateTime()).Compare(ts(b.GetUpdateTime()))
	case "create_time":
		c = ts(a.GetCreateTime()).Compare(ts(b.GetCreateTime()))
	case "publish_time":
		c = ts(a.GetPublishTime()).Compare(ts(b.GetPublishTime()))
	case "title":
		c = strings.Compare(a.GetTitle(), b.GetTitle())
	}
	if c == 0 {
		c = strings.Compare(a.GetName(), b.GetName())
	}
	return c
}

func TestListArticlesPaging(t *testing.T) {
	e := newEnv(t)
	// 95 articles on site-a, 8 on site-b, 5 on both; every fourth published, every eighth edited
	// after that.
	const total = 108
	names108 := make([]string, total)
	for i := range total {
		sites := []string{"site-a"}
		switch {
		case i >= 103:
			sites = []string{"site-a", "site-b"}
		case i >= 95:
			sites = []string{"site-b"}
		}
		a := e.article(t, sites...)
		if i%4 == 0 {
			a = e.do(t, a, "publish")
		}
		if i%8 == 0 { // edited after publishing: update_time differs from publish_time
			a.Summary = "Edited after publishing"
			if _, err := e.articles.UpdateArticle(as(t.Context(), keyAdmin), &contentv1.UpdateArticleRequest{
				Article: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"summary"}},
			}); err != nil {
				t.Fatalf("UpdateArticle: %v", err)
			}
		}
		names108[i] = a.GetName()
	}
	var all, onA, onB, published []string
	for i, name := range names108 {
		all = append(all, name)
		if i%4 == 0 {
			published = append(published, name)
		}
		if i < 95 || i >= 103 {
			onA = append(onA, name)
		}
		if i >= 95 {
			onB = append(onB, name)
		}
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })

	t.Run("page sizes", func(t *testing.T) {
		for _, tc := range []struct {
			size     int32
			wantSize int
		}{{0, 20}, {1, 1}, {100, 100}, {101, 100}, {5000, 100}} {
			resp, err := e.articles.ListArticles(as(t.Context(), keyAdmin), &contentv1.ListArticlesRequest{PageSize: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.GetArticles()); got != tc.wantSize || resp.GetNextPageToken() == "" {
				t.Errorf("page_size %d: got %d articles and next token %q, want %d and a token", tc.size, got, resp.GetNextPageToken(), tc.wantSize)
			}
		}
	})

	t.Run("walks", func(t *testing.T) {
		for _, orderBy := range []string{"", "update_time", "create_time", "create_time DESC", "title asc", "title desc", "publish_time", "publish_time desc"} {
			t.Run("order_by="+orderBy, func(t *testing.T) {
				t.Parallel()
				got := walk(t, e, keyAdmin, &contentv1.ListArticlesRequest{OrderBy: orderBy, PageSize: 11}, 11)
				if diff := cmp.Diff(all, names(got), sorted); diff != "" {
					t.Fatalf("walk did not list every article exactly once (-want +got):\n%s", diff)
				}
				field, dir, _ := strings.Cut(orderBy, " ")
				desc := orderBy == "" || strings.EqualFold(dir, "desc")
				for i := 1; i < len(got); i++ {
					c := compareBy(field, got[i-1], got[i])
					if (desc && c <= 0) || (!desc && c >= 0) {
						t.Errorf("order_by %q: %s listed before %s, out of order", orderBy, got[i-1].GetName(), got[i].GetName())
					}
				}
			})
		}
	})

	t.Run("walk with filters and scopes", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			key  string
			req  *contentv1.ListArticlesRequest
			want []string
		}{
			{"published", keyAdmin, &contentv1.ListArticlesRequest{Filter: "state = PUBLISHED", PageSize: 4}, published},
			{"site-b", keyViewer, &contentv1.ListArticlesRequest{Filter: `site = "site-b"`, OrderBy: "title", PageSize: 3}, onB},
			{"site key", keyEditorA, &contentv1.ListArticlesRequest{PageSize: 9}, onA},
			{"site key asking for another site", keyEditorA, &contentv1.ListArticlesRequest{Filter: `site = "site-b"`, PageSize: 9}, onA[95:]},
		} {
			got := walk(t, e, tc.key, tc.req, int(tc.req.PageSize))
			if diff := cmp.Diff(tc.want, names(got), sorted); diff != "" {
				t.Errorf("%s: listed (-want +got):\n%s", tc.name, diff)
			}
		}
	})

	t.Run("page tokens are bound to their query and key", func(t *testing.T) {
		first, err := e.articles.ListArticles(as(t.Context(), keyViewer), &contentv1.ListArticlesRequest{OrderBy: "title", PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		tok := first.GetNextPageToken()
		tampered := []byte(tok)
		tampered[len(tampered)/2] ^= 1
		for _, tc := range []struct {
			name string
			key  string
			req  *contentv1.ListArticlesRequest
			want codes.Code
		}{
			{"same query", keyViewer, &contentv1.ListArticlesRequest{OrderBy: "title", PageSize: 50, PageToken: tok}, codes.OK},
			{"other order", keyViewer, &contentv1.ListArticlesRequest{OrderBy: "create_time", PageToken: tok}, codes.InvalidArgument},
			{"other filter", keyViewer, &contentv1.ListArticlesRequest{OrderBy: "title", Filter: "state = DRAFT", PageToken: tok}, codes.InvalidArgument},
			{"other show_deleted", keyViewer, &contentv1.ListArticlesRequest{OrderBy: "title", ShowDeleted: true, PageToken: tok}, codes.InvalidArgument},
			{"other key", keyAdmin, &contentv1.ListArticlesRequest{OrderBy: "title", PageToken: tok}, codes.InvalidArgument},
			{"tampered", keyViewer, &contentv1.ListArticlesRequest{OrderBy: "title", PageToken: string(tampered)}, codes.InvalidArgument},
		} {
			_, err := e.articles.ListArticles(as(t.Context(), tc.key), tc.req)
			if status.Code(err) != tc.want {
				t.Errorf("%s: code %v (%v), want %v", tc.name, status.Code(err), err, tc.want)
			}
			if tc.want == codes.InvalidArgument {
				if diff := cmp.Diff([]string{"page_token"}, badRequestFields(err)); diff != "" {
					t.Errorf("%s: BadRequest fields (-want +got):\n%s", tc.name, diff)
				}
			}
		}
	})

	t.Run("show_deleted", func(t *testing.T) {
		var deleted []string
		for _, name := range []string{all[3], all[50]} {
			a, err := e.articles.GetArticle(as(t.Context(), keyAdmin), &contentv1.GetArticleRequest{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			if a = e.do(t, a, "delete"); a.GetDeleteTime() == nil {
				t.Errorf("%s has no delete_time after delete", name)
			}
			deleted = append(deleted, name)
		}
		live := walk(t, e, keyAdmin, &contentv1.ListArticlesRequest{PageSize: 30}, 30)
		var want []string
		for _, n := range all {
			if n != deleted[0] && n != deleted[1] {
				want = append(want, n)
			}
		}
		if diff := cmp.Diff(want, names(live), sorted); diff != "" {
			t.Errorf("without show_deleted (-want +got):\n%s", diff)
		}
		withDeleted := walk(t, e, keyAdmin, &contentv1.ListArticlesRequest{PageSize: 30, ShowDeleted: true}, 30)
		if diff := cmp.Diff(all, names(withDeleted), sorted); diff != "" {
			t.Errorf("with show_deleted (-want +got):\n%s", diff)
		}
	})
}

func TestListArticleRevisionsPaging(t *testing.T) {
	e := newEnv(t)
	a := e.article(t, "site-a")
	other := e.article(t, "site-a")
	for i := range 11 {
		var err error
		a.Summary = "Edit " + string(rune('a'+i))
		a, err = e.articles.UpdateArticle(as(t.Context(), keyAdmin), &contentv1.UpdateArticleRequest{Article: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"summary"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	req := &contentv1.ListArticleRevisionsRequest{Name: a.GetName(), PageSize: 5}
	var firstToken string
	for page := 0; page < 10; page++ {
		resp, err := e.articles.ListArticleRevisions(as(t.Context(), keyEditorA), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetRevisions()) > 5 {
			t.Fatalf("page of %d revisions, want at most 5", len(resp.GetRevisions()))
		}
		for _, r := range resp.GetRevisions() {
			got = append(got, r.GetRevisionId())
			if want := a.GetName() + "/revisions/" + strconv.FormatInt(r.GetRevisionId(), 10); r.GetName() != want || r.GetSnapshot().GetName() != a.GetName() {
				t.Errorf("revision name %q, snapshot name %q; want %q, %q", r.GetName(), r.GetSnapshot().GetName(), want, a.GetName())
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		if firstToken == "" {
			firstToken = resp.GetNextPageToken()
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if diff := cmp.Diff([]int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, got); diff != "" {
		t.Errorf("revisions, newest first (-want +got):\n%s", diff)
	}
	_, err := e.articles.ListArticleRevisions(as(t.Context(), keyEditorA), &contentv1.ListArticleRevisionsRequest{Name: other.GetName(), PageToken: firstToken})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("page token of another article's revisions: %v, want INVALID_ARGUMENT", err)
	}
}
