package store

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The articles collection stores the HTML of an article's renderings (the draft's, and the live
// snapshot's when it is not the draft's) zstd-compressed, in rendering.htmlZstd, instead of as
// text in rendering.html, as documents before articleSchemaVersion 4 did. The HTML is most of an
// article document (about 7 KB of 20 KB for a 6 KB body) and is never queried; compressed, every
// write of the document moves a third as many of those bytes, and on the embedded store, which
// parses and re-encodes whole documents as JSON, that is most of an import's cost.
//
// An articleDoc in memory always holds its HTML as text: storedArticle returns the copy to write,
// and readArticle restores the text of a document just read. Both leave documents of older
// versions, and renderings without HTML, as they are.

// storedArticle returns the document to write for d: a copy whose renderings carry their HTML
// compressed. d is not changed.
func (c *snapshotCodec) storedArticle(d *articleDoc) (*articleDoc, error) {
	out := *d
	if err := c.packRendering(&out.Rendering); err != nil {
		return nil, fmt.Errorf("articles/%s: %w", d.ID, err)
	}
	if d.Published != nil {
		snap := *d.Published
		if err := c.packRendering(&snap.Rendering); err != nil {
			return nil, fmt.Errorf("articles/%s: the live snapshot: %w", d.ID, err)
		}
		out.Published = &snap
	}
	return &out, nil
}

// readArticle restores the HTML of a document read from the articles collection, in place.
func (c *snapshotCodec) readArticle(d *articleDoc) error {
	if err := c.unpackRendering(&d.Rendering); err != nil {
		return fmt.Errorf("articles/%s: %w", d.ID, err)
	}
	if d.Published != nil {
		if err := c.unpackRendering(&d.Published.Rendering); err != nil {
			return fmt.Errorf("articles/%s: the live snapshot: %w", d.ID, err)
		}
	}
	return nil
}

func (c *snapshotCodec) packRendering(r *renderingDoc) error {
	if r.HTML == "" {
		return nil
	}
	if err := c.init(); err != nil {
		return err
	}
	r.HTMLZstd = c.enc.EncodeAll([]byte(r.HTML), make([]byte, 0, len(r.HTML)/3))
	r.HTML = ""
	return nil
}

func (c *snapshotCodec) unpackRendering(r *renderingDoc) error {
	if r.HTMLZstd == nil {
		return nil
	}
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

// decodeArticle decodes one document of the articles collection, HTML restored.
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
