package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskPaths(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"no mask means every field", nil, nil},
		{"star means every field", []string{"title", "*"}, nil},
		{"proto names pass", []string{"title", "editor_notes"}, []string{"title", "editor_notes"}},
		{"JSON names become proto names", []string{"editorNotes", "seo.metaTitle", "lastReviewedDate"}, []string{"editor_notes", "seo.meta_title", "last_reviewed_date"}},
		{"output-only and identifier fields are ignored", []string{"name", "etag", "updateTime", "summary"}, []string{"summary"}},
		{"only ignored fields change nothing", []string{"etag", "state"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := maskPaths(tt.paths, articleIgnoredPaths)
			if diff := cmp.Diff(tt.want, got); diff != "" || (tt.want == nil) != (got == nil) {
				t.Errorf("maskPaths(%q) (-want +got):\n%s (nil want %v, nil got %v)", tt.paths, diff, tt.want == nil, got == nil)
			}
		})
	}
}
