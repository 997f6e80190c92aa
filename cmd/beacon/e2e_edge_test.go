package main_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEdgeRefusesAttackerShapes probes the REST edge of a running beacon the way an attacker
// would (issue #12, section 6): each subtest is the regression test of one defect found so.
func TestEdgeRefusesAttackerShapes(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey

	t.Run("X-HTTP-Method-Override does not turn a POST into a DELETE", func(t *testing.T) {
		name := in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": "Override target", "targetSites": []string{"sites/kratom-help"},
		}).must(t, 200).str("name")
		for _, override := range []string{"DELETE", ""} {
			req, err := http.NewRequest("POST", in.restURL+"/v1/"+name, strings.NewReader("etag=x"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if override != "" {
				req.Header.Set("X-HTTP-Method-Override", override)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// No POST route has this path: the answer is the edge's for any method a path does
			// not have (405 with Allow naming the path's methods), neither the DELETE the header
			// asks for nor the GET a form POST used to fall back to.
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, PATCH, DELETE" {
				t.Errorf("form POST with override %q: status %d Allow %q, want 405 Allow \"GET, PATCH, DELETE\"; body %s", override, resp.StatusCode, resp.Header.Get("Allow"), body)
			}
		}
		got := in.call(t, admin, "GET", "/v1/"+name, nil).must(t, 200)
		if got.body["deleteTime"] != nil {
			t.Fatalf("the article was deleted by an overridden POST: %s", got.raw)
		}
	})

	t.Run("management responses, the one-time key secret first, are not stored", func(t *testing.T) {
		created := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "cache probe", "role": "ROLE_EDITOR", "site": "sites/kratom-help"}).must(t, 200)
		if created.str("secret") == "" {
			t.Fatalf("no secret in %s", created.raw)
		}
		if cc := created.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("key creation: Cache-Control %q, want no-store", cc)
		}
		if cc := in.call(t, admin, "GET", "/v1/apiKeys", nil).must(t, 200).header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("key list: Cache-Control %q, want no-store", cc)
		}
	})

	t.Run("an overlong slug is refused, not cut", func(t *testing.T) {
		long := strings.Repeat("word-", 20) + "end" // 103 characters
		r := in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": "Long slug", "slug": long, "targetSites": []string{"sites/kratom-help"},
		}).must(t, 400)
		if v := fieldViolations(t, r); !strings.Contains(v["article.slug"], "at most 96 characters") {
			t.Errorf("overlong article slug: %s; want a fieldViolation on article.slug saying at most 96 characters", r.raw)
		}
		r = in.call(t, admin, "POST", "/v1/directories", map[string]any{
			"title": "Long slug", "slug": long, "site": "sites/kratom-help",
		}).must(t, 400)
		if v := fieldViolations(t, r); v["directory.slug"] == "" {
			t.Errorf("overlong directory slug: %s; want a fieldViolation on directory.slug", r.raw)
		}
		// A title still gives a slug cut at a word boundary.
		r = in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": strings.Repeat("Word ", 30), "targetSites": []string{"sites/kratom-help"},
		}).must(t, 200)
		if got := r.str("slug"); got != strings.TrimSuffix(strings.Repeat("word-", 19), "-") {
			t.Errorf("slug from a long title = %q", got)
		}
	})

	t.Run("a body too costly to render is refused naming the field", func(t *testing.T) {
		r := in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": "Quadratic", "body": strings.Repeat("[a](", 40_000), "targetSites": []string{"sites/kratom-help"},
		}).must(t, 400)
		if v := fieldViolations(t, r); !strings.HasPrefix(v["article.body"], "is too complex to render: ") {
			t.Errorf("pathological body: %s", r.raw)
		}
	})

	t.Run("decoding errors name the field, without Go's error text", func(t *testing.T) {
		tests := []struct {
			method, path string
			body         any
			field, want  string
		}{
			{"POST", "/v1/articles", []byte("x"), "body", "is not valid JSON"},
			{"POST", "/v1/articles", []byte(`{"title": 5}`), "body", "is not valid JSON for this request"},
			{"POST", "/v1/articles", []byte(`{"title": "T", "nope": 1}`), "body", `unknown field "nope"`},
			{"GET", "/v1/articles?pageSize=abc", nil, "page_size", "must be a whole number"},
		}
		for _, tt := range tests {
			r := in.call(t, admin, tt.method, tt.path, tt.body).must(t, 400)
			if v := fieldViolations(t, r); !strings.Contains(v[tt.field], tt.want) {
				t.Errorf("%s %s: %s; want a fieldViolation on %s containing %q", tt.method, tt.path, r.raw, tt.field, tt.want)
			}
			if s := string(r.raw); strings.Contains(s, "proto:") || strings.Contains(s, "strconv") {
				t.Errorf("%s %s: Go internals in %s", tt.method, tt.path, s)
			}
		}
	})

	t.Run("delivery errors send details only when they have some", func(t *testing.T) {
		r := in.call(t, "", "GET", "/v1/sites/kratom-help/articles/no-such-article", nil).must(t, 404)
		if _, ok := r.body["details"]; ok {
			t.Errorf("404 with details: %s", r.raw)
		}
		r = in.call(t, "", "GET", "/v1/sites/kratom-help/search", nil).must(t, 400)
		if v := fieldViolations(t, r); v["q"] == "" {
			t.Errorf("search without q: %s; want a fieldViolation on q", r.raw)
		}
	})
}

// fieldViolations returns the google.rpc.BadRequest field violations of an error response,
// description by field.
func fieldViolations(tb testing.TB, r response) map[string]string {
	tb.Helper()
	out := map[string]string{}
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		d, _ := d.(map[string]any)
		if d["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
			continue
		}
		vs, _ := d["fieldViolations"].([]any)
		for _, v := range vs {
			v, _ := v.(map[string]any)
			field, _ := v["field"].(string)
			out[field], _ = v["description"].(string)
		}
	}
	return out
}

// TestShutdownDelayUnderLoad sends SIGTERM to a beacon under a load of new connections and
// checks that for --shutdown-delay it keeps accepting and answering them while /readyz says
// 503, so that a load balancer has that long to stop sending before the listener closes.
func TestShutdownDelayUnderLoad(t *testing.T) {
	const delay = 2 * time.Second
	in := startDev(t, t.TempDir(), "--shutdown-delay", delay.String())
	type result struct {
		start  time.Time
		path   string
		status int
		err    error
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A new connection for every request, as from many clients.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/v1/sites/kratom-help/articles"
				if (n+i)%4 == 0 {
					path = "/readyz"
				}
				r := result{start: time.Now(), path: path}
				resp, err := client.Get(in.restURL + path)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					r.status = resp.StatusCode
				}
				r.err = err
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	sigterm := time.Now()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- in.cmd.Wait() }()
	window := sigterm.Add(delay * 3 / 4) // well inside the delay
	time.Sleep(time.Until(window))
	close(stop)
	wg.Wait()

	var before, during, unready int
	for _, r := range results {
		if !r.start.Before(window) {
			continue
		}
		if r.start.After(sigterm) {
			during++
		} else {
			before++
		}
		switch {
		case r.err != nil:
			t.Errorf("%s at SIGTERM%+v: %v", r.path, r.start.Sub(sigterm).Round(time.Millisecond), r.err)
		case r.path == "/readyz" && r.start.After(sigterm.Add(100*time.Millisecond)):
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("/readyz at SIGTERM%+v: %d, want 503 once shutdown began", r.start.Sub(sigterm).Round(time.Millisecond), r.status)
			}
			unready++
		case r.path != "/readyz" && r.status != http.StatusOK:
			t.Errorf("%s at SIGTERM%+v: status %d", r.path, r.start.Sub(sigterm).Round(time.Millisecond), r.status)
		}
	}
	t.Logf("new connections: %d before SIGTERM, %d in the first %v of the %v delay (%d /readyz answered 503)", before, during, delay*3/4, delay, unready)
	if during < 20 || unready == 0 {
		t.Errorf("too little load in the delay to tell: %d requests, %d readiness checks", during, unready)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("beacon did not exit cleanly: %v\n%s", err, in.stderr)
		}
		if took := time.Since(sigterm); took < delay {
			t.Errorf("exited %v after SIGTERM, before the %v delay", took, delay)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("beacon did not exit within 30 s of SIGTERM")
	}
}
