package api

import (
	"context"
	"strings"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "missing API key")
	}
	return p, nil
}

// articleIgnoredPaths are identifier and output-only fields of an article; AIP-203 says to
// ignore them in masks.
var articleIgnoredPaths = map[string]bool{"name": true, "etag": true, "state": true, "create_time": true, "update_time": true,
	"publish_time": true, "scheduled_publish_time": true, "delete_time": true, "revision_id": true,
	"published_revision_id": true, "rendering": true, "creator": true, "live_snapshot_only": true, "review_due_time": true}

// maskPaths drops ignored paths; "*" means every field (returned as nil). Paths may use proto
// names (editor_notes) or, as REST clients write them, JSON names (editorNotes).
func maskPaths(paths []string, ignored map[string]bool) []string {
	var out []string
	for _, p := range paths {
		if p == "*" {
			return nil
		}
		p = snakeCase(p)
		if !ignored[p] {
			out = append(out, p)
		}
	}
	if len(paths) > 0 && len(out) == 0 {
		return []string{}
	}
	return out
}

// snakeCase turns a lowerCamelCase field path into proto names: "seo.metaTitle" → "seo.meta_title".
func snakeCase(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
