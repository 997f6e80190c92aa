package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// liveArticles returns what ForEachLiveArticle yields, by id, as delivery reads it.
func liveArticles(tb testing.TB, s *store.Store) map[string]*domain.Article {
	tb.Helper()
	out := map[string]*domain.Article{}
	err := s.ForEachLiveArticle(context.Background(), func(a *domain.Article) error {
		out[a.ID] = deliveryView(a)
		return nil
	})
	if err != nil {
		tb.Fatalf("ForEachLiveArticle: %v", err)
	}
	return out
}

// deliveryView is a as delivery reads it: no draft, no draft rendering.
func deliveryView(a *domain.Article) *domain.Article {
	out := &domain.Article{ID: a.ID, RevisionID: a.RevisionID, DeleteTime: a.DeleteTime, PublishedSlugs: a.PublishedSlugs, Published: a.Published}
	if p := a.Published; p != nil {
		snap := *p
		if snap.SearchText != "" { // the Markdown is left out then
			snap.Content.Body = ""
		}
		if len(snap.CompressedBody) > 0 || len(snap.CompressedText) > 0 { // compressed apart: compared as what they hold
			dec, err := zstd.NewReader(nil)
			if err != nil {
				panic(err)
			}
			decode := func(b []byte) string {
				if len(b) == 0 {
					return ""
				}
				out, err := dec.DecodeAll(b, nil)
				if err != nil {
					panic(err)
				}
				return string(out)
			}
			if len(snap.CompressedText) > 0 { // the text stored apart
				snap.Rendering.HTML, snap.SearchText = decode(snap.CompressedBody), decode(snap.CompressedText)
			} else {
				snap.Rendering.HTML, snap.SearchText, _ = strings.Cut(decode(snap.CompressedBody), "\x00")
			}
			snap.CompressedBody, snap.CompressedText = nil, nil
		}
		out.Published = &snap
	}
	return out
}

// Delivery reads live snapshots from the live shards: published articles come back whole (HTML,
// TOC and search text through the compression), drafts, unpublished and deleted ones do not, an interrupted
// write is read from the article itself, and a restart (a new Store) sees the same.
func TestLiveEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	published := newArticle("pub", "pub", "kh")
	published.Draft.Body = "# Withdrawal\n\nDay one to three."
	published.Rendering = markdown.Rendering{HTML: "<h1 id=\"withdrawal\">Withdrawal</h1>", TOC: []markdown.TOCEntry{{Level: 1, Text: "Withdrawal", Anchor: "withdrawal"}}, WordCount: 5, ReadingTimeMinutes: 1}
	draft := newArticle("draft", "draft", "kh")
	gone := newArticle("gone", "gone", "kh")
	mustCreate(t, s, published, draft, gone)
	published = mustUpdate(t, s, published, "publish", func(n *domain.Article) {
		publish(n, at)
		n.PublishedSlugs = []string{"pub"}
		n.Published.SearchText = "Withdrawal\n\nDay one to three." // kept only in article_live
	})
	if got := mustGet(t, s, "pub").Published.SearchText; got != "" {
		t.Errorf("the articles collection kept the search text %q; want it only in article_live", got)
	}
	gone = mustUpdate(t, s, gone, "publish", func(n *domain.Article) { publish(n, at) })
	gone = mustUpdate(t, s, gone, "delete", func(n *domain.Article) { n.DeleteTime = at.Add(time.Hour) })

	want := map[string]*domain.Article{"pub": deliveryView(published)}
	if diff := cmp.Diff(want, liveArticles(t, s), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("live articles (-want +got):\n%s", diff)
	}
	got, err := s.GetArticlesForDelivery(ctx, []string{"gone", "pub", "draft", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b *domain.Article) int { return strings.Compare(a.ID, b.ID) })
	for i, a := range got {
		got[i] = deliveryView(a)
	}
	wantAll := []*domain.Article{deliveryView(&domain.Article{ID: "draft", RevisionID: 1}), deliveryView(gone), deliveryView(published)}
	if diff := cmp.Diff(wantAll, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetArticlesForDelivery (-want +got):\n%s", diff)
	}

	// The process dies after the article write of a publish: article_live still has the draft
	// state, a marker is left; loading reads the article.
	draft2 := next(draft, "publish", func(n *domain.Article) { publish(n, at) })
	if err := s.UpdateArticle(ctx, draft, draft2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection(store.LiveShardName("draft")).ReplaceOne(damage(ctx), bson.D{{Key: "_id", Value: "draft"}},
		bson.D{{Key: "_id", Value: "draft"}, {Key: "schemaVersion", Value: 1}, {Key: "revision", Value: int64(1)}, {Key: "deleteTime", Value: nil}, {Key: "publishedSlugs", Value: bson.A{}}, {Key: "snapshot", Value: nil}}); err != nil {
		t.Fatal(err)
	}
	leaveMarker(t, db, "draft", draft2.RevisionID)
	restarted := store.New(db, mongodb.NewDocLocks(), nil)
	want["draft"] = deliveryView(draft2)
	if diff := cmp.Diff(want, liveArticles(t, restarted), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after a restart with a pending write (-want +got):\n%s", diff)
	}
}

// The change log's head moves with every write and every import, and pruning the log keeps it.
func TestChangesHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	head := func() int64 {
		t.Helper()
		h, err := s.ArticleChangesHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := head()
	a := newArticle("a", "a", "kh")
	mustCreate(t, s, a)
	h1 := head()
	mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Renamed" })
	h2 := head()
	if err := s.ImportArticles(ctx, []*domain.Article{newArticle("b", "b", "kh")}); err != nil {
		t.Fatal(err)
	}
	h3 := head()
	if h1 <= h0 || h2 <= h1 || h3 <= h2 {
		t.Errorf("heads %d, %d, %d, %d: want them to move with each write", h0, h1, h2, h3)
	}
	if err := s.PruneArticleChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h := head(); h != h3 {
		t.Errorf("after pruning every entry the head is %d, want %d", h, h3)
	}
	changes, err := s.ListArticleChanges(ctx, time.Time{}, 100)
	if err != nil || len(changes) != 0 {
		t.Errorf("after pruning, the log lists %v, %v; want nothing (the head is not an entry)", changes, err)
	}
}

// Head moves of a Store's own writes are its own; a revision completed by the flusher (a write
// nobody was told of) and another Store's writes are not.
func TestOwnArticleChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores, db := newStores(t, 2)
	s, other := stores[0], stores[1]
	head := func() int64 {
		t.Helper()
		h, err := s.ArticleChangesHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := head()
	a := newArticle("a", "a", "kh")
	mustCreate(t, s, a)
	a = mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Two" })
	h1 := head()
	if !s.OwnArticleChanges(h0, h1) || other.OwnArticleChanges(h0, h1) {
		t.Errorf("own(%d, %d): writer %t, other store %t; want true, false", h0, h1, s.OwnArticleChanges(h0, h1), other.OwnArticleChanges(h0, h1))
	}
	mustCreate(t, other, newArticle("b", "b", "kh"))
	h2 := head()
	if s.OwnArticleChanges(h1, h2) || s.OwnArticleChanges(h0, h2) {
		t.Error("another store's write counted as the writer's own")
	}

	// The process dies after writing revision 3: the flusher completes it.
	a3 := next(a, "update", func(n *domain.Article) { n.Draft.Title = "Three" })
	if err := s.UpdateArticle(ctx, a, a3); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("article_revisions").DeleteOne(damage(ctx), bson.D{{Key: "_id", Value: "a/3"}}); err != nil {
		t.Fatal(err)
	}
	leaveMarker(t, db, "a", 3)
	h3 := head()
	restarted := store.New(db, mongodb.NewDocLocks(), nil)
	if err := restarted.FlushPendingRevisions(ctx); err != nil {
		t.Fatal(err)
	}
	if h4 := head(); h4 == h3 || restarted.OwnArticleChanges(h3, h4) {
		t.Errorf("the flushed revision moved the head from %d to %d as the flusher's own", h3, h4)
	}
}

// An import logs its articles in batch entries of at most 200, which the log lists as one change
// per article at its revision: 450 articles make 3 stored entries.
func TestImportLogsBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	var corpus []*domain.Article
	want := map[string]int64{}
	for i := range 450 {
		a := newArticle(fmt.Sprintf("imp%03d", i), fmt.Sprintf("imp-%03d", i), "kh")
		a.RevisionID = int64(1 + i%3)
		corpus = append(corpus, a)
		want[a.ID] = a.RevisionID
	}
	if err := s.ImportArticles(ctx, corpus); err != nil {
		t.Fatal(err)
	}
	stored, err := db.Collection("article_changes").CountDocuments(mongodb.WithScan(ctx, "test"), bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: changelog.HeadID}}}})
	if err != nil {
		t.Fatal(err)
	}
	if stored != 3 {
		t.Errorf("the import stored %d change-log entries, want 3", stored)
	}
	changes, err := s.ListArticleChanges(ctx, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range changes {
		got[c.ArticleID] = c.RevisionID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed changes (-want +got):\n%s", diff)
	}
}

// Migration 12 moves every entry of article_live into the shard its id hashes to, and drops
// article_live; run again, it finds nothing to move.
func TestShardLiveEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := newStore(t)
	legacy := db.Collection(store.LegacyLiveCollection)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("a%02d", i)
		ids = append(ids, id)
		if _, err := legacy.InsertOne(damage(ctx), bson.D{{Key: "_id", Value: id}, {Key: "schemaVersion", Value: 1}, {Key: "revision", Value: int64(i + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	for run := range 2 {
		if err := store.ShardLiveEntries(damage(ctx), db); err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		names, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(names, store.LegacyLiveCollection) {
			t.Errorf("run %d: article_live still exists", run+1)
		}
		shards := map[string]int{}
		for i, id := range ids {
			var got struct {
				Revision int64 `bson:"revision"`
			}
			if err := db.Collection(store.LiveShardName(id)).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil || got.Revision != int64(i+1) {
				t.Errorf("run %d: %s in %s: revision %d, %v; want %d", run+1, id, store.LiveShardName(id), got.Revision, err, i+1)
			}
			shards[store.LiveShardName(id)]++
		}
		if len(shards) < 2 {
			t.Errorf("run %d: 40 entries all in one shard: %v", run+1, shards)
		}
	}
}

// A write that leaves the live snapshot, delete time and former slugs as they were (a draft edit
// of a published article) keeps the live entry as stored, at its earlier revision; a write that
// changes any of them rewrites it. Delivery reads the same snapshot either way.
func TestLiveEntryKeptByDraftEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entryRevision := func(tb testing.TB, id string) int64 {
		tb.Helper()
		var l struct {
			Revision int64 `bson:"revision"`
		}
		if err := db.Collection(store.LiveShardName(id)).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&l); err != nil {
			tb.Fatal(err)
		}
		return l.Revision
	}
	a := newArticle("kept", "kept", "kh")
	mustCreate(t, s, a)
	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) {
		publish(n, at)
		n.Published.SearchText = "Search text of " + n.Published.Content.Title
	})
	live := deliveryView(a)
	steps := []struct {
		action    string
		change    func(*domain.Article)
		rewritten bool
	}{
		{"update", func(n *domain.Article) { n.Draft.Title = "A draft title" }, false},
		{"update", func(n *domain.Article) { n.Draft.Tags = []string{"sleep"} }, false},
		{"publish", func(n *domain.Article) { publish(n, at.Add(time.Hour)) }, true},
		{"update", func(n *domain.Article) { n.Draft.Summary = "Edited after the publish" }, false},
		{"delete", func(n *domain.Article) { n.DeleteTime = at.Add(2 * time.Hour) }, true},
	}
	for i, step := range steps {
		// As the service writes: the article read back (its snapshot without search text, which
		// only the live entry keeps), changed, the search text filled again.
		a = mustUpdate(t, s, mustGet(t, s, a.ID), step.action, func(n *domain.Article) {
			step.change(n)
			if n.Published != nil {
				n.Published.SearchText = "Search text of " + n.Published.Content.Title
			}
		})
		want := live.RevisionID
		if step.rewritten {
			want, live = a.RevisionID, deliveryView(a)
		}
		if got := entryRevision(t, a.ID); got != want {
			t.Errorf("step %d (%s): live entry at revision %d, want %d", i, step.action, got, want)
		}
		got, err := store.New(db, mongodb.NewDocLocks(), nil).GetArticlesForDelivery(ctx, []string{a.ID})
		if err != nil || len(got) != 1 {
			t.Fatalf("step %d: GetArticlesForDelivery = %v, %v", i, got, err)
		}
		if diff := cmp.Diff(live, deliveryView(got[0]), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("step %d (%s): delivery reads (-want +got):\n%s", i, step.action, diff)
		}
	}
}

// An entry written while the search text was stored apart (the HTML alone in body, the text in
// text) is read as it was written: delivery gets the HTML and the search text back.
func TestLiveEntryWithTheTextApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := newArticle("pub", "pub", "kh")
	a.Draft.Body = "Day one to three."
	a.Rendering = markdown.Rendering{HTML: "<p>Day one to three.</p>", WordCount: 4, ReadingTimeMinutes: 1}
	mustCreate(t, s, a)
	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) {
		publish(n, at)
		n.PublishedSlugs = []string{"pub"}
		n.Published.SearchText = "Day one to three."
	})

	shard := db.Collection(store.LiveShardName("pub"))
	var doc bson.D
	if err := shard.FindOne(ctx, bson.D{{Key: "_id", Value: "pub"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	apart := false
	for i, e := range doc {
		if e.Key != "body" {
			continue
		}
		joined, err := dec.DecodeAll(e.Value.(bson.Binary).Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		html, text, found := strings.Cut(string(joined), "\x00")
		if !found || html != a.Published.Rendering.HTML || text != a.Published.SearchText {
			t.Fatalf("the stored body is %q; want the HTML and the search text joined by a NUL byte", joined)
		}
		doc[i].Value = enc.EncodeAll([]byte(html), nil)
		doc = append(doc, bson.E{Key: "text", Value: enc.EncodeAll([]byte(text), nil)})
		apart = true
		break
	}
	if !apart {
		t.Fatalf("no body in the live entry %v", doc)
	}
	if _, err := shard.ReplaceOne(damage(ctx), bson.D{{Key: "_id", Value: "pub"}}, doc); err != nil {
		t.Fatal(err)
	}
	// Read without the text, the entry would come back with the HTML and no search text.
	restarted := store.New(db, mongodb.NewDocLocks(), nil)
	want := map[string]*domain.Article{"pub": deliveryView(a)}
	if diff := cmp.Diff(want, liveArticles(t, restarted), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("live articles (-want +got):\n%s", diff)
	}
}
