package delivery

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

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
