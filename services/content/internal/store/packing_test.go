package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// TestRenderingHTMLStoredCompressed: the articles collection holds the renderings' HTML (the
// draft's and a live snapshot's) compressed in htmlZstd, never as text in html, and the article
// reads back whole; a document of an older version, with its HTML as text, reads back too and is
// stored compressed at its next write.
func TestRenderingHTMLStoredCompressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	html := func(words string) string { return "<p>" + strings.Repeat(words+" ", 400) + "</p>" }

	type storedRendering struct {
		HTML     *string `bson:"html"`
		HTMLZstd []byte  `bson:"htmlZstd"`
	}
	type storedArticle struct {
		SchemaVersion int             `bson:"schemaVersion"`
		Rendering     storedRendering `bson:"rendering"`
		Published     *struct {
			Rendering storedRendering `bson:"rendering"`
		} `bson:"published"`
	}
	var raw storedArticle
	readRaw := func(t *testing.T, id string) {
		t.Helper()
		raw = storedArticle{}
		if err := db.Collection("articles").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&raw); err != nil {
			t.Fatal(err)
		}
	}
	compressed := func(t *testing.T, what string, r storedRendering, text string) {
		t.Helper()
		if r.HTML != nil || len(r.HTMLZstd) == 0 || len(r.HTMLZstd) >= len(text)/2 {
			t.Errorf("%s: stored html %v and %d compressed bytes; want no html and under half of its %d bytes compressed",
				what, r.HTML != nil, len(r.HTMLZstd), len(text))
		}
	}

	a := newArticle("a", "a", "kh")
	a.Draft.Body = "Kratom and sleep."
	a.Rendering = markdown.Rendering{HTML: html("Kratom and sleep."), WordCount: 1200, ReadingTimeMinutes: 6}
	mustCreate(t, s, a)
	readRaw(t, "a")
	compressed(t, "draft", raw.Rendering, a.Rendering.HTML)

	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) { publish(n, at) })
	a = mustUpdate(t, s, a, "update", func(n *domain.Article) {
		n.Draft.Body = "Kratom, sleep and withdrawal."
		n.Rendering = markdown.Rendering{HTML: html("Kratom, sleep and withdrawal."), WordCount: 1600, ReadingTimeMinutes: 8}
	})
	readRaw(t, "a")
	compressed(t, "draft after the edit", raw.Rendering, a.Rendering.HTML)
	if raw.Published == nil {
		t.Fatal("no live snapshot stored")
	}
	compressed(t, "live snapshot", raw.Published.Rendering, a.Published.Rendering.HTML)
	if diff := cmp.Diff(a, mustGet(t, s, "a"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}

	// A document as release 3 wrote it: the HTML as text.
	old := newArticle("old", "old", "kh")
	old.Draft.Body = "Kratom and tolerance."
	old.Rendering = markdown.Rendering{HTML: html("Kratom and tolerance."), WordCount: 1200, ReadingTimeMinutes: 6}
	mustCreate(t, s, old)
	if _, err := db.Collection("articles").UpdateOne(damage(ctx), bson.D{{Key: "_id", Value: "old"}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "schemaVersion", Value: 3}, {Key: "rendering.html", Value: old.Rendering.HTML}}},
		{Key: "$unset", Value: bson.D{{Key: "rendering.htmlZstd", Value: ""}}},
	}); err != nil {
		t.Fatal(err)
	}
	readRaw(t, "old")
	if raw.SchemaVersion != 3 || raw.Rendering.HTML == nil || raw.Rendering.HTMLZstd != nil {
		t.Fatalf("the test's version-3 document: %+v", raw)
	}
	got := mustGet(t, s, "old")
	if diff := cmp.Diff(old, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("version 3 read back (-want +got):\n%s", diff)
	}
	mustUpdate(t, s, got, "update", func(n *domain.Article) { n.Draft.Title = "Renamed" })
	readRaw(t, "old")
	if raw.SchemaVersion != store.ArticleSchemaVersion {
		t.Errorf("rewritten: schemaVersion %d, want %d", raw.SchemaVersion, store.ArticleSchemaVersion)
	}
	compressed(t, "rewritten version 3", raw.Rendering, old.Rendering.HTML)
}
