package main_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// preflight sends a real CORS preflight to in and returns the response's headers and status.
func (in *instance) preflight(tb testing.TB, path, origin, method, headers string) (int, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodOptions, in.restURL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("OPTIONS %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// noCORS fails when h carries any Access-Control-Allow-* or -Expose-* header.
func noCORS(tb testing.TB, what string, h http.Header) {
	tb.Helper()
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			tb.Errorf("%s: %s: %q, want no CORS header", what, name, h.Get(name))
		}
	}
}

// TestCORS sets the demo site's allowed_origins over REST on the real binary and checks real
// preflights and reads: an allowed origin gets 204 with the Access-Control-* headers and its
// reads carry Access-Control-Allow-Origin and expose ETag; any other origin gets no CORS header;
// management routes answer only the operator's --cors-management-origins. Then Chromium, on a
// page of an allowed origin, reads an article cross-origin with a key (a preflighted fetch), and
// on a page of another origin is refused.
func TestCORS(t *testing.T) {
	allowedPage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>front end</title><p>front end"))
	}))
	defer allowedPage.Close()
	otherPage := httptest.NewServer(allowedPage.Config.Handler)
	defer otherPage.Close()
	const adminOrigin = "https://admin.example.org"

	in := startDev(t, t.TempDir(), "--cors-management-origins", adminOrigin)
	admin := in.adminKey
	site := "/v1/sites/kratom-help"

	r := in.call(t, admin, "PATCH", site+"?updateMask=allowedOrigins", map[string]any{
		"allowedOrigins": []string{allowedPage.URL, "https://www.kratom-help.example.org"},
	}).must(t, 200)
	if got := r.body["allowedOrigins"]; len(got.([]any)) != 2 {
		t.Fatalf("allowedOrigins after PATCH = %v", got)
	}
	bad := in.call(t, admin, "PATCH", site+"?updateMask=allowedOrigins", map[string]any{"allowedOrigins": []string{"https://*.example.org"}}).must(t, 400)
	if !strings.Contains(string(bad.raw), "site.allowed_origins[0]") {
		t.Errorf("a wildcard origin: %s, want a violation naming site.allowed_origins[0]", bad.raw)
	}
	slug := in.call(t, "", "GET", site+"/articles?pageSize=1", nil).must(t, 200).body["articles"].([]any)[0].(map[string]any)["slug"].(string)
	article := site + "/articles/" + slug

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		status, h := in.preflight(t, article, allowedPage.URL, "GET", "authorization,if-none-match")
		if status != 204 || h.Get("Access-Control-Allow-Origin") != allowedPage.URL || h.Get("Access-Control-Allow-Methods") != "GET" ||
			h.Get("Access-Control-Allow-Headers") != "authorization,if-none-match" || h.Get("Access-Control-Max-Age") != "7200" ||
			!strings.Contains(strings.Join(h.Values("Vary"), ", "), "Origin") {
			t.Errorf("preflight = %d %v", status, h)
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		for _, origin := range []string{otherPage.URL, "https://evil.example.net", "https://kratom-help.example.org"} {
			status, h := in.preflight(t, article, origin, "GET", "authorization")
			if status != 204 {
				t.Errorf("preflight from %s = %d, want 204 without CORS headers", origin, status)
			}
			noCORS(t, "preflight from "+origin, h)
		}
	})
	t.Run("reads", func(t *testing.T) {
		for _, tt := range []struct {
			origin string
			allow  bool
		}{{allowedPage.URL, true}, {otherPage.URL, false}, {"", false}} {
			req, _ := http.NewRequest("GET", in.restURL+article, nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != 200 || h.Get("Vary") != "Accept-Encoding, Origin" {
				t.Errorf("GET from %q = %d, Vary %q; want 200 varying on Origin", tt.origin, resp.StatusCode, h.Get("Vary"))
			}
			if !tt.allow {
				noCORS(t, "GET from "+tt.origin, h)
				continue
			}
			if h.Get("Access-Control-Allow-Origin") != tt.origin || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "Etag") {
				t.Errorf("GET from %s: Access-Control-Allow-Origin %q, -Expose-Headers %q", tt.origin, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Expose-Headers"))
			}
		}
	})
	t.Run("management routes answer the operator's origin only", func(t *testing.T) {
		status, h := in.preflight(t, "/v1/articles", adminOrigin, "POST", "authorization,content-type")
		if status != 204 || h.Get("Access-Control-Allow-Origin") != adminOrigin || h.Get("Access-Control-Allow-Methods") != "POST" {
			t.Errorf("management preflight from %s = %d %v", adminOrigin, status, h)
		}
		_, h = in.preflight(t, "/v1/articles", allowedPage.URL, "POST", "authorization")
		noCORS(t, "management preflight from a site's origin", h)
	})
	t.Run("a deleted site allows no origin", func(t *testing.T) {
		in.call(t, admin, "POST", "/v1/sites?siteId=short-lived", map[string]any{
			"displayName": "Short", "baseUrl": "https://short.example.org", "public": true, "allowedOrigins": []string{allowedPage.URL},
		}).must(t, 200)
		if status, h := in.preflight(t, "/v1/sites/short-lived/articles", allowedPage.URL, "GET", ""); status != 204 || h.Get("Access-Control-Allow-Origin") != allowedPage.URL {
			t.Fatalf("preflight to a new site = %d %v", status, h)
		}
		in.call(t, admin, "DELETE", "/v1/sites/short-lived", nil).must(t, 200)
		_, h := in.preflight(t, "/v1/sites/short-lived/articles", allowedPage.URL, "GET", "")
		noCORS(t, "preflight to a deleted site", h)
	})

	t.Run("in Chromium", func(t *testing.T) {
		ctx := newBrowser(t)
		// Authorization makes the fetch preflighted; the page reads the ETag the edge exposes.
		script := `fetch(` + jsString(in.restURL+article) + `, {headers: {Authorization: "Bearer ` + admin + `"}})
			.then(async r => ({status: r.status, etag: r.headers.get("ETag") || "", slug: (await r.json()).slug || ""}))
			.catch(e => ({error: String(e)}))`
		type result struct {
			Status int    `json:"status"`
			Etag   string `json:"etag"`
			Slug   string `json:"slug"`
			Error  string `json:"error"`
		}
		for _, tt := range []struct {
			page  string
			allow bool
		}{{allowedPage.URL, true}, {otherPage.URL, false}} {
			if _, err := chromedp.Run(ctx, chromedp.Navigate(tt.page)); err != nil {
				t.Fatalf("open %s: %v", tt.page, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[result](script, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("fetch from %s: %v", tt.page, err)
			}
			switch {
			case tt.allow && (got.Status != 200 || got.Etag == "" || got.Slug != slug || got.Error != ""):
				t.Errorf("fetch from the allowed origin %s = %+v, want 200 with the ETag and the article", tt.page, got)
			case !tt.allow && (got.Error == "" || got.Status != 0):
				t.Errorf("fetch from %s = %+v, want the browser to refuse it (TypeError)", tt.page, got)
			}
		}
	})
}
