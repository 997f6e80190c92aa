package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needNodeTools skips the test, or fails it in CI (CI=true), where .ci/install-test-deps installs
// Node.js and the npm packages of clients/typescript.
func needNodeTools(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s: .ci/install-test-deps installs it", why)
	}
	tb.Skipf("skipping the TypeScript client test: %s", why)
}

// TestTypeScriptClient checks the TypeScript client of clients/typescript against the OpenAPI
// document and a live Beacon: its types are what openapi-typescript generates from
// gen/openapi/beacon.openapi.json today, it compiles (tsc, strict), and its example, run by node
// against `beacon dev` on random ports, lists the demo site's articles, reads the first by its
// slug and reads the feed, seeing what Go's own HTTP calls see.
func TestTypeScriptClient(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "clients", "typescript"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		needNodeTools(t, "Node.js is not installed (apt-get install nodejs npm)")
	}
	bin := func(name string) string { return filepath.Join(dir, "node_modules", ".bin", name) }
	for _, tool := range []string{"tsc", "openapi-typescript"} {
		if _, err := os.Stat(bin(tool)); err != nil {
			needNodeTools(t, tool+" is not installed: run `npm ci` in clients/typescript")
		}
	}
	run := func(t *testing.T, env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, &out, &stderr)
		}
		return out.String()
	}
	tmp := t.TempDir()

	t.Run("types are generated from the current document", func(t *testing.T) {
		fresh := filepath.Join(tmp, "beacon.d.ts")
		run(t, nil, bin("openapi-typescript"), filepath.Join("..", "..", "gen", "openapi", "beacon.openapi.json"), "--output", fresh)
		want, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "src", "beacon.d.ts"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("clients/typescript/src/beacon.d.ts is stale: run `make generate` (with `npm ci` done in clients/typescript) and commit it")
		}
	})

	dist := filepath.Join(tmp, "dist")
	run(t, nil, bin("tsc"), "-p", ".", "--outDir", dist)

	in := startDev(t, t.TempDir())
	const site = "kratom-help"
	list := in.call(t, "", "GET", "/v1/sites/"+site+"/articles?pageSize=5", nil).must(t, 200)
	cards := list.body["articles"].([]any)
	slug := cards[0].(map[string]any)["slug"].(string)
	article := in.call(t, "", "GET", "/v1/sites/"+site+"/articles/"+slug, nil).must(t, 200)
	resp, err := http.Get(in.restURL + "/v1/sites/" + site + "/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var title bytes.Buffer // as JSON.stringify writes it
	enc := json.NewEncoder(&title)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(article.str("title")); err != nil {
		t.Fatal(err)
	}
	// The ETag names the representation: a gzip-encoded body's ends in -gz" (both clients may
	// ask for gzip).
	etag := article.header.Get("ETag")
	wantLines := []string{
		fmt.Sprintf("articles: %d", len(cards)),
		fmt.Sprintf("article: %s %s etag=", slug, strings.TrimSpace(title.String())),
		fmt.Sprintf("feed: %d entries, %s", strings.Count(string(feed), "<entry>"), resp.Header.Get("Content-Type")),
	}
	if strings.Count(string(feed), "<entry>") == 0 || etag == "" {
		t.Fatalf("the demo site's feed has no entry or its article no ETag: %q", etag)
	}

	got := run(t, []string{"BEACON_URL=" + in.restURL, "BEACON_SITE=" + site}, node, filepath.Join(dist, "example.js"))
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 || lines[0] != wantLines[0] || lines[2] != wantLines[2] || !strings.HasPrefix(lines[1], wantLines[1]) {
		t.Fatalf("the example printed\n%s\nwant\n%s", got, strings.Join(wantLines, "\n"))
	}
	identity := func(tag string) string { return strings.Replace(tag, `-gz"`, `"`, 1) }
	if gotEtag := strings.TrimPrefix(lines[1], wantLines[1]); identity(gotEtag) != identity(etag) {
		t.Errorf("the example read ETag %s, want %s (or its other encoding's form)", gotEtag, etag)
	}
}
