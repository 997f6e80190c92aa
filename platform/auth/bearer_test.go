package auth

import "testing"

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   string
		wantOK bool
	}{
		{"canonical", "Bearer bk_abc", "bk_abc", true},
		{"lower-case scheme", "bearer bk_abc", "bk_abc", true},
		{"upper-case scheme", "BEARER bk_abc", "bk_abc", true},
		{"mixed-case scheme", "bEaReR bk_abc", "bk_abc", true},
		{"extra spaces between", "Bearer    bk_abc", "bk_abc", true},
		{"surrounding spaces", "  Bearer bk_abc  ", "bk_abc", true},
		{"trailing tab", "Bearer bk_abc\t", "bk_abc", true},
		{"empty header", "", "", false},
		{"only spaces", "   ", "", false},
		{"scheme alone", "Bearer", "", false},
		{"scheme and space, empty token", "Bearer ", "", false},
		{"scheme and spaces, empty token", "Bearer     ", "", false},
		{"token with a space inside", "Bearer bk_abc def", "", false},
		{"token with a tab inside", "Bearer bk\tabc", "", false},
		{"tab as the separator", "Bearer\tbk_abc", "", false},
		{"other scheme", "Basic dXNlcjpwYXNz", "", false},
		{"scheme prefix only", "Bear bk_abc", "", false},
		{"scheme with suffix", "Bearerx bk_abc", "", false},
		{"no scheme", "bk_abc", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BearerToken(tt.header)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer x", "bearer  y ", "Bearer", "", "Basic a", "Bearer a b", "\tBearer z\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := BearerToken(header)
		if !ok {
			if token != "" {
				t.Fatalf("BearerToken(%q) = %q with ok false", header, token)
			}
			return
		}
		if token == "" {
			t.Fatalf("BearerToken(%q): empty token with ok", header)
		}
		// The canonical form of what was accepted parses to the same token.
		if again, ok := BearerToken("Bearer " + token); !ok || again != token {
			t.Fatalf("BearerToken(Bearer %q) = %q, %v", token, again, ok)
		}
	})
}
