package delivery

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzEtagMatches(f *testing.F) {
	for _, s := range []struct{ inm, h string }{
		{`"abc"`, "abc"}, {`W/"abc-gz"`, "abc"}, {`*`, "abc"}, {`"a", "b"`, "b"}, {``, ""}, {`W/`, "W/"},
		{`"0123456789abcdef01234567"`, "0123456789abcdef01234567"}, {" \t", " "}, {`""`, ""}, {"\x00,\xff", "\xff"},
	} {
		f.Add(s.inm, s.h)
	}
	f.Fuzz(func(t *testing.T, inm, h string) {
		_ = etagMatches(inm, h) // never panics
		if strings.ContainsAny(h, `",`) {
			return
		}
		// Any tag names itself, strong or weak, in a list or alone. (A real hash is hex: it never
		// ends in -gz, which names the gzip representation of the same hash.)
		if !strings.HasSuffix(h, "-gz") {
			for _, inm := range []string{`"` + h + `"`, `W/"` + h + `"`, `"x", "` + h + `"`, ` "` + h + `" ,W/"y"`} {
				if !etagMatches(inm, h) {
					t.Errorf("etagMatches(%q, %q) = false", inm, h)
				}
			}
		}
		if !etagMatches(`"`+h+`-gz"`, h) {
			t.Errorf("etagMatches(%q-gz, %q) = false", h, h)
		}
	})
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"", "gzip", "GZIP;Q=0", "gzip;q=0", "*", "*;q=0, gzip", "br, gzip;q=0.5", ";;,,", "gzip ; q = 0.000", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		got := acceptsGzip(ae) // never panics
		// Codings and parameter names are case-insensitive; surrounding whitespace is not significant.
		if isASCII(ae) {
			if up := acceptsGzip(strings.ToUpper(ae)); up != got {
				t.Errorf("acceptsGzip(%q) = %v but acceptsGzip(%q) = %v", ae, got, strings.ToUpper(ae), up)
			}
		}
		if padded := acceptsGzip(" " + ae + " "); padded != got {
			t.Errorf("acceptsGzip(%q) = %v but padded %v", ae, got, padded)
		}
		// An explicit gzip entry before anything else decides.
		if !strings.Contains(ae, ";") && !strings.Contains(ae, ",") {
			if !acceptsGzip("gzip, " + ae) {
				t.Errorf("acceptsGzip(%q) = false", "gzip, "+ae)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// FuzzListPageToken feeds arbitrary page tokens, page sizes and filters to the list handler:
// every answer is a 200 list or a 4xx error, never a 5xx.
func FuzzListPageToken(f *testing.F) {
	e := newFixtureEnv(f)
	page := getList(f, e, "pageSize=1")
	tok := page.NextPageToken
	if tok == "" {
		f.Fatal("no nextPageToken")
	}
	f.Add(tok, "1", "")
	f.Add(tok, "2", "kratom")
	f.Add(tok[:len(tok)-2], "", "")
	f.Add(tok+tok, "3", "")
	f.Add("AQ", "0", "")
	f.Add("", "-1", "")
	f.Add("%%%", "1e9", "x")
	f.Add(strings.Repeat("A", 3000), "100", "sleep")
	f.Fuzz(func(t *testing.T, token, size, tag string) {
		q := url.Values{}
		q.Set("pageToken", token)
		q.Set("pageSize", size)
		if tag != "" {
			q.Set("tag", tag)
		}
		w := e.get("/v1/sites/public/articles?" + q.Encode())
		switch {
		case w.Code == 200:
			var body listJSON
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("200 with a bad body: %v: %s", err, w.Body)
			}
		case w.Code >= 400 && w.Code < 500:
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code == nil {
				t.Fatalf("%d with a bad body: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("token %q, size %q, tag %q: status %d: %s", token, size, tag, w.Code, w.Body)
		}
	})
}
