package weburl

import (
	"strings"
	"testing"
)

func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		origin  string
		wantErr string // a part of the message; "" for valid
	}{
		{"https://www.example.org", ""},
		{"http://localhost:5173", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://[::1]:3000", ""},
		{"https://xn--bcher-kva.example", ""},
		{"https://example.org:8443", ""},
		{"", "must be an origin"},
		{"https://www.example.org/", "without a path"},
		{"https://www.example.org/app", "without a path"},
		{"https://www.example.org?x=1", "without a path"},
		{"https://www.example.org#top", "without a path"},
		{"https://Example.org", "lowercase"},
		{"HTTPS://example.org", "lowercase"},
		{"https://*.example.org", "wildcards"},
		{"*", "wildcards"},
		{"ftp://example.org", `scheme http or https (it has "ftp")`},
		{"example.org", "scheme://host"},
		{"https://", "scheme://host"},
		{"https://user@example.org", "user info"},
		{"https://example.org:443", "default port 443"},
		{"http://example.org:80", "default port 80"},
		{"http://example.org:0", "port from 1 to 65535"},
		{"http://example.org:65536", "port from 1 to 65535"},
		{"http://example.org:08080", "leading zeros"},
		{"http://example.org:", "port from 1 to 65535"},
		{"https://bücher.example", "xn-- form"},
		{"https://exa mple.org", "white space"},
		{"https://ex%41mple.org", "percent-encode"},
		{"https://" + strings.Repeat("a", 260) + ".org", "at most"},
	}
	for _, tt := range tests {
		err := CheckOrigin(tt.origin)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckOrigin(%q) = %v, want nil", tt.origin, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("CheckOrigin(%q) = nil, want an error containing %q", tt.origin, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("CheckOrigin(%q) = %q, want it to contain %q", tt.origin, err, tt.wantErr)
		}
	}
}
