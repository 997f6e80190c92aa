package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// TestTextStoredCompressed: the articles collection holds the draft's and a live snapshot's
// Markdown body and HTML packed together in the rendering's textZstd, never as text, and the
// article reads back whole; revisions hold their body compressed. Documents of older versions
// (the HTML as text, schema 3; the HTML alone compressed, schema 4) read back too and are packed
// at their next write.
func TestTextStoredCompressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := func(words string) string { return strings.Repeat(words+" ", 400) }
	html := func(words string) string { return "<p>" + body(words) + "</p>" }

	type storedRendering struct {
		HTML     *string    `bson:"html"`
		HTMLZstd []byte     `bson:"htmlZstd"`
		TextZstd []byte     `bson:"textZstd"`
		TOC      []bson.Raw `bson:"toc"`
	}
	type storedContent struct {
		Body *string `bson:"body"`
	}
	type storedArticle struct {
		SchemaVersion int             `bson:"schemaVersion"`
		Draft         storedContent   `bson:"draft"`
		Rendering     storedRendering `bson:"rendering"`
		Published     *struct {
			Content   storedContent   `bson:"content"`
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
	packed := func(t *testing.T, what string, c storedContent, r storedRendering, text int) {
		t.Helper()
		if (c.Body != nil && *c.Body != "") || r.HTML != nil || r.HTMLZstd != nil || r.TOC != nil || len(r.TextZstd) == 0 || len(r.TextZstd) >= text/4 {
			t.Errorf("%s: stored body %v, html %v, htmlZstd %v, toc %v and %d packed bytes; want only the packed text, under a quarter of its %d bytes",
				what, c.Body != nil && *c.Body != "", r.HTML != nil, r.HTMLZstd != nil, r.TOC != nil, len(r.TextZstd), text)
		}
	}

	a := newArticle("a", "a", "kh")
	a.Draft.Body = body("Kratom and sleep.")
	a.Rendering = markdown.Rendering{HTML: html("Kratom and sleep."), WordCount: 1200, ReadingTimeMinutes: 6,
		TOC: []markdown.TOCEntry{{Level: 2, Text: "Sleep", Anchor: "sleep"}, {Level: 2, Text: "Help", Anchor: "help"}}}
	mustCreate(t, s, a)
	readRaw(t, "a")
	packed(t, "draft", raw.Draft, raw.Rendering, len(a.Draft.Body)+len(a.Rendering.HTML))

	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) { publish(n, at) })
	a = mustUpdate(t, s, a, "update", func(n *domain.Article) {
		n.Draft.Body = body("Kratom, sleep and withdrawal.")
		n.Rendering = markdown.Rendering{HTML: html("Kratom, sleep and withdrawal."), WordCount: 1600, ReadingTimeMinutes: 8}
	})
	readRaw(t, "a")
	packed(t, "draft after the edit", raw.Draft, raw.Rendering, len(a.Draft.Body)+len(a.Rendering.HTML))
	if raw.Published == nil {
		t.Fatal("no live snapshot stored")
	}
	packed(t, "live snapshot", raw.Published.Content, raw.Published.Rendering, len(a.Published.Content.Body)+len(a.Published.Rendering.HTML))
	if diff := cmp.Diff(a, mustGet(t, s, "a"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}

	// Revisions: the body compressed, and read back whole.
	var rawRev struct {
		Content  storedContent `bson:"content"`
		BodyZstd []byte        `bson:"bodyZstd"`
	}
	if err := db.Collection("article_revisions").FindOne(ctx, bson.D{{Key: "_id", Value: "a/3"}}).Decode(&rawRev); err != nil {
		t.Fatal(err)
	}
	if (rawRev.Content.Body != nil && *rawRev.Content.Body != "") || len(rawRev.BodyZstd) == 0 || len(rawRev.BodyZstd) >= len(a.Draft.Body)/4 {
		t.Errorf("revision 3: stored body %v and %d compressed bytes; want only the compressed body, under a quarter of %d bytes",
			rawRev.Content.Body != nil, len(rawRev.BodyZstd), len(a.Draft.Body))
	}
	if r, err := s.GetRevision(ctx, "a", 3); err != nil || r.Content.Body != a.Draft.Body {
		t.Errorf("GetRevision(a, 3) = body of %d bytes, %v; want the draft's body", len(r.Content.Body), err)
	}

	// Documents as releases 3 (the body and the HTML as text) and 4 (the HTML alone compressed)
	// wrote them.
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for _, tt := range []struct {
		version   int
		rendering bson.E
	}{
		{3, bson.E{Key: "rendering.html", Value: html("Kratom and tolerance.")}},
		{4, bson.E{Key: "rendering.htmlZstd", Value: enc.EncodeAll([]byte(html("Kratom and tolerance.")), nil)}},
	} {
		id := fmt.Sprintf("old%d", tt.version)
		old := newArticle(id, id, "kh")
		old.Draft.Body = body("Kratom and tolerance.")
		old.Rendering = markdown.Rendering{HTML: html("Kratom and tolerance."), WordCount: 1200, ReadingTimeMinutes: 6}
		mustCreate(t, s, old)
		if _, err := db.Collection("articles").UpdateOne(damage(ctx), bson.D{{Key: "_id", Value: id}}, bson.D{
			{Key: "$set", Value: bson.D{{Key: "schemaVersion", Value: tt.version}, {Key: "draft.body", Value: old.Draft.Body}, tt.rendering}},
			{Key: "$unset", Value: bson.D{{Key: "rendering.textZstd", Value: ""}}},
		}); err != nil {
			t.Fatal(err)
		}
		readRaw(t, id)
		if raw.SchemaVersion != tt.version || raw.Draft.Body == nil || raw.Rendering.TextZstd != nil {
			t.Fatalf("the test's version-%d document: %+v", tt.version, raw)
		}
		got := mustGet(t, s, id)
		if diff := cmp.Diff(old, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("version %d read back (-want +got):\n%s", tt.version, diff)
		}
		mustUpdate(t, s, got, "update", func(n *domain.Article) { n.Draft.Title = "Renamed" })
		readRaw(t, id)
		if raw.SchemaVersion != store.ArticleSchemaVersion {
			t.Errorf("rewritten version %d: schemaVersion %d, want %d", tt.version, raw.SchemaVersion, store.ArticleSchemaVersion)
		}
		packed(t, fmt.Sprintf("rewritten version %d", tt.version), raw.Draft, raw.Rendering, len(old.Draft.Body)+len(old.Rendering.HTML))
	}
}
