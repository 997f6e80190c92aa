package weburl_test

import (
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/weburl"
)

func TestCheckAbsolute(t *testing.T) {
	tests := []struct {
		raw  string
		want string // substring of the error; "" means accepted
	}{
		{"https://example.org/", ""},
		{"http://example.org", ""},
		{"HTTPS://EXAMPLE.ORG/%41", ""},
		{"https://example.org/a?b=1&c='2'#top", ""},
		{"https://example.org/es/nutrición", ""},
		{"http://[2001:db8::1]:8080/x", ""},
		{"https://example.org:443/", ""},
		{"https://example.org:65535/", ""},
		{"https://example.org/" + strings.Repeat("a", weburl.MaxLength-20), ""},
		{"", "must be an absolute http or https URL"},
		{"http://a.b/", "at least 12"},
		{"https://example.org/" + strings.Repeat("a", weburl.MaxLength-19), "at most 2048"},
		{"/articles/salt", "no scheme"},
		{"//example.org/articles/salt", "no scheme"},
		{"javascript:alert(document.cookie)", `scheme is "javascript"`},
		{"ftp://example.org/file", `scheme is "ftp"`},
		{"http:example.org/page", "with a host"},
		{"https:///path/only", "with a host"},
		{"https://:8080/path/only", "with a host"},
		{"https://user:pw@example.org/", "user info"},
		{"https://example.org:99999/", `port from 1 to 65535 (it has "99999")`},
		{"https://example.org:0/", "port from 1 to 65535"},
		{"https://example.org:/", "port from 1 to 65535"},
		{"http://[2001:db8::1]:70000/", "port from 1 to 65535"},
		{"https://nutrición.example/", ""},
		{"https://nutrici%C3%B3n.example/", "percent-encode its host"},
		{"http://[fe80::1%25en0]/", "percent-encode its host"},
		{"https://example.org/a page", `contains ' '`},
		{"https://example .org/", `contains ' '`},
		{`https://example.org/"x"`, `contains '"'`},
		{"https://example.org/<x>", `contains '<'`},
		{"https://example.org/a>b", `contains '>'`},
		{"https://example.org/{x}", `contains '{'`},
		{"https://example.org/a|b", `contains '|'`},
		{`https://example.org/a\b`, `contains '\\'`},
		{"https://example.org/a^b", `contains '^'`},
		{"https://example.org/a`b", "contains '`'"},
		{"https://example.org/a\x00b", "percent-encoded"},
		{"https://example.org/a\nb", "percent-encoded"},
		{"https://example.org/\u00a0x", "U+00A0"},
		{"https://example.org/\xff", "UTF-8"},
		{"https://example.org/%zz", "two hex digits"},
		{"https://example.org/a#b#c", "more than one '#'"},
		{"https://example.org/[x]", "outside the host"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := weburl.CheckAbsolute(tt.raw)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckAbsolute(%q) = %v, want accepted", tt.raw, err)
			case tt.want != "" && err == nil:
				t.Fatalf("CheckAbsolute(%q) accepted, want an error mentioning %q", tt.raw, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("CheckAbsolute(%q) = %q, want it to mention %q", tt.raw, err, tt.want)
			}
		})
	}
}

func TestCheckBase(t *testing.T) {
	tests := []struct {
		raw  string
		want string // substring of the error; "" means accepted
	}{
		{"https://kratom-help.example.org", ""},
		{"https://example.org/", ""},
		{"https://example.org/es/", ""},
		{"http://x.io", ""}, // its home page http://x.io/ has 12 characters
		{"http://[2001:db8::1]:8080", ""},
		{"https://example.org/" + strings.Repeat("a", weburl.MaxBaseLength-20), ""},
		{"https://example.org/" + strings.Repeat("a", weburl.MaxBaseLength-19), "at most 1024"},
		{"http://a.b", "at least 12"},
		{"", "must be an absolute"},
		{"https://example.org?x=1", "query or fragment"},
		{"https://example.org/?", "query or fragment"},
		{"https://example.org/#top", "query or fragment"},
		{"https://exa mple.org", `contains ' '`},
		{"https://example.org/a b", `contains ' '`},
		{`https://example.org/"`, `contains '"'`},
		{"https://example.org/{x}", `contains '{'`},
		{"https://example.org/|", `contains '|'`},
		{"https://example.org/<x>", `contains '<'`},
		{`https://example.org\`, `contains '\\'`},
		{"https://example.org:99999", "port from 1 to 65535"},
		{"mailto:someone@example.org", `scheme is "mailto"`},
		{"https://user@example.org", "user info"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := weburl.CheckBase(tt.raw)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckBase(%q) = %v, want accepted", tt.raw, err)
			case tt.want != "" && err == nil:
				t.Fatalf("CheckBase(%q) accepted, want an error mentioning %q", tt.raw, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("CheckBase(%q) = %q, want it to mention %q", tt.raw, err, tt.want)
			}
		})
	}
}

func TestHomeAndJoin(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"https://example.org", "/", "https://example.org/"},
		{"https://example.org///", "/", "https://example.org/"},
		{"https://example.org/es/", "/articles/salt", "https://example.org/es/articles/salt"},
	}
	for _, tt := range tests {
		if got := weburl.Join(tt.base, tt.path); got != tt.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
		if tt.path == "/" && weburl.Home(tt.base) != tt.want {
			t.Errorf("Home(%q) = %q, want %q", tt.base, weburl.Home(tt.base), tt.want)
		}
	}
}
