package markdown_test

import (
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/markdown"
)

// TestTOCTextIsPlainText pins the contract of TOCEntry.Text (and of the API's
// TocEntry.text): the heading's text with references resolved and markup characters as
// themselves, for the client to escape; the HTML beside it is escaped.
func TestTOCTextIsPlainText(t *testing.T) {
	r := markdown.NewRenderer()
	got := r.Render("# Fish &amp; \"chips\" \\<3 `<b>`\n")
	want := `Fish & "chips" <3 <b>`
	if len(got.TOC) != 1 || got.TOC[0].Text != want {
		t.Fatalf("TOC = %+v, want one entry with text %q", got.TOC, want)
	}
	if strings.Contains(got.HTML, "<3") || strings.Contains(got.HTML, "<b>") || !strings.Contains(got.HTML, "&lt;3") {
		t.Errorf("HTML beside it is not escaped: %s", got.HTML)
	}
}
