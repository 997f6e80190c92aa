package store

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The articles collection stores the big text of an article compressed: for the draft, and for
// a live snapshot that is not the draft's, the Markdown body and the HTML rendered from it are
// stored together, zstd-compressed, in the rendering's textZstd (article schema 5), with the
// rendering's table of contents. They are most
// of an article document (about 6 KB of body and 7 KB of HTML for a 6 KB article), are never
// queried, and share most of their words, so together they compress to a fraction of either; on
// the embedded store, which parses and re-encodes every document it reads or writes as JSON, the
// bytes a document does not carry are most of what a write costs. Schema 4 stored the HTML alone
// compressed (htmlZstd), earlier schemas stored both as text; such documents are read as they
// are and packed at their next write. Revisions store their body compressed (bodyZstd, revision
// schema 3) for the same reason.
//
// An articleDoc or revisionDoc in memory always holds its text unpacked: storedArticle and
// storedRevision return the copy to write, and readArticle and readRevision restore the text of a
// document just read. fromArticleDoc and fromRevisionDoc refuse a document still packed, so that
// a read path that skips the codec fails loudly rather than losing the body.

// packedTextDoc is what a rendering's textZstd holds. The table of contents goes with the text it
// is made from: stored as an array of subdocuments it would cost the embedded store a type
// description per entry in every document.
type packedTextDoc struct {
	Body string     `bson:"body"`
	HTML string     `bson:"html"`
	TOC  []tocEntry `bson:"toc,omitempty"`
}

// packed reports whether r holds text still compressed.
func (r *renderingDoc) packed() bool { return r.HTMLZstd != nil || r.TextZstd != nil }

// storedArticle returns the document to write for d: a copy whose text is packed. d is not
// changed.
func (c *snapshotCodec) storedArticle(d *articleDoc) (*articleDoc, error) {
	out := *d
	if err := c.packText(&out.Draft, &out.Rendering); err != nil {
		return nil, fmt.Errorf("articles/%s: %w", d.ID, err)
	}
	if d.Published != nil {
		snap := *d.Published
		if err := c.packText(&snap.Content, &snap.Rendering); err != nil {
			return nil, fmt.Errorf("articles/%s: the live snapshot: %w", d.ID, err)
		}
		out.Published = &snap
	}
	return &out, nil
}

// readArticle restores the text of a document read from the articles collection, in place.
func (c *snapshotCodec) readArticle(d *articleDoc) error {
	if err := c.unpackText(&d.Draft, &d.Rendering); err != nil {
		return fmt.Errorf("articles/%s: %w", d.ID, err)
	}
	if d.Published != nil {
		if err := c.unpackText(&d.Published.Content, &d.Published.Rendering); err != nil {
			return fmt.Errorf("articles/%s: the live snapshot: %w", d.ID, err)
		}
	}
	return nil
}

// packText moves content's body and r's HTML and table of contents into r.TextZstd. Content and
// rendering without any (a snapshot stored as sameAsDraft) stay as they are.
func (c *snapshotCodec) packText(content *contentDoc, r *renderingDoc) error {
	if content.Body == "" && r.HTML == "" && len(r.TOC) == 0 {
		return nil
	}
	packed, err := c.compress(packedTextDoc{Body: content.Body, HTML: r.HTML, TOC: r.TOC})
	if err != nil {
		return fmt.Errorf("packing the body and HTML: %w", err)
	}
	r.TextZstd, content.Body, r.HTML, r.TOC = packed, "", "", nil
	return nil
}

// unpackText restores what packText (or schema 4's compressed HTML) moved away.
func (c *snapshotCodec) unpackText(content *contentDoc, r *renderingDoc) error {
	switch {
	case r.TextZstd != nil && (content.Body != "" || r.HTML != "" || r.HTMLZstd != nil || len(r.TOC) != 0):
		return fmt.Errorf("a rendering has textZstd beside a body, html, htmlZstd or toc")
	case r.TextZstd != nil:
		var t packedTextDoc
		if err := c.decompress(r.TextZstd, &t); err != nil {
			return fmt.Errorf("the packed body and HTML: %w", err)
		}
		content.Body, r.HTML, r.TOC, r.TextZstd = t.Body, t.HTML, t.TOC, nil
		return nil
	case r.HTMLZstd != nil:
		return c.unpackHTML(r)
	}
	return nil
}

// unpackHTML restores the HTML of a rendering written at article schema 4.
func (c *snapshotCodec) unpackHTML(r *renderingDoc) error {
	if r.HTML != "" {
		return fmt.Errorf("a rendering has both html and htmlZstd")
	}
	if err := c.init(); err != nil {
		return err
	}
	html, err := c.dec.DecodeAll(r.HTMLZstd, nil)
	if err != nil {
		return fmt.Errorf("decompressing the rendering's HTML: %w", err)
	}
	r.HTML, r.HTMLZstd = string(html), nil
	return nil
}

// decodeArticle decodes one document of the articles collection, text restored.
func (c *snapshotCodec) decodeArticle(decode func(any) error, d *articleDoc) error {
	if err := decode(d); err != nil {
		return err
	}
	return c.readArticle(d)
}

// marshalStoredArticle returns the BSON of the document to write for d (see storedArticle).
func (c *snapshotCodec) marshalStoredArticle(d *articleDoc) (bson.Raw, error) {
	stored, err := c.storedArticle(d)
	if err != nil {
		return nil, err
	}
	return bson.Marshal(stored)
}

// storedRevision returns the revision document to write for r: a copy with its body compressed.
func (c *snapshotCodec) storedRevision(r *revisionDoc) (*revisionDoc, error) {
	out := *r
	if out.Content.Body == "" {
		return &out, nil
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	out.BodyZstd = c.enc.EncodeAll([]byte(out.Content.Body), make([]byte, 0, len(out.Content.Body)/3))
	out.Content.Body = ""
	return &out, nil
}

// readRevision restores the body of a revision document just read, in place.
func (c *snapshotCodec) readRevision(r *revisionDoc) error {
	if r.BodyZstd == nil {
		return nil
	}
	if r.Content.Body != "" {
		return fmt.Errorf("revision %s has both a body and bodyZstd", r.ID)
	}
	if err := c.init(); err != nil {
		return err
	}
	body, err := c.dec.DecodeAll(r.BodyZstd, nil)
	if err != nil {
		return fmt.Errorf("revision %s: decompressing its body: %w", r.ID, err)
	}
	r.Content.Body, r.BodyZstd = string(body), nil
	return nil
}
