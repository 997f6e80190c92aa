package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// beaconBinary is built once by TestMain, with version e2eVersion.
var beaconBinary string

const e2eVersion = "v0.0.0-e2e"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "beacon-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	beaconBinary = filepath.Join(dir, "beacon")
	// The version is injected as make build does (TestVersionCommand reads it back).
	build := exec.Command("go", "build", "-tags", "ferretdb_no_postgresql", "-ldflags", "-X main.version="+e2eVersion, "-o", beaconBinary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build beacon:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running `beacon` process.
type instance struct {
	restURL  string
	grpcAddr string
	adminKey string
	// adminEmail and adminPassword sign the console's bootstrap admin user in (beacon dev).
	adminEmail    string
	adminPassword string
	dataDir       string
	storeURI      string
	socket        string // printed by beacon store
	metricsURL    string // printed with --metrics-addr
	cmd           *exec.Cmd
	stderr        *bytes.Buffer
}

// startDev runs `beacon dev` on random ports in dataDir and waits until it is ready.
func startDev(tb testing.TB, dataDir string, extraArgs ...string) *instance {
	tb.Helper()
	args := append([]string{"dev", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn"}, extraArgs...)
	inst := start(tb, args...)
	inst.dataDir = dataDir
	if inst.adminKey == "" {
		b, err := os.ReadFile(filepath.Join(dataDir, "admin.key"))
		if err != nil {
			tb.Fatalf("no admin key printed and none in data dir: %v", err)
		}
		inst.adminKey = strings.TrimSpace(string(b))
	}
	return inst
}

// start runs beacon with args and waits until its REST edge is ready.
func start(tb testing.TB, args ...string) *instance {
	tb.Helper()
	return startUntil(tb, "REST  ", args...)
}

// startUntil runs beacon with args and waits until it prints a line starting with ready.
func startUntil(tb testing.TB, ready string, args ...string) *instance {
	tb.Helper()
	cmd := exec.Command(beaconBinary, args...)
	// No load balancer watches these processes: stop at once (a --shutdown-delay flag wins).
	cmd.Env = append(os.Environ(), "BEACON_SHUTDOWN_DELAY=0s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	inst := &instance{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = inst.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { inst.stop(tb) })

	readyc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		keyNext, isReady := false, false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case keyNext:
				inst.adminKey = strings.TrimSpace(line)
				keyNext = false
			case strings.HasPrefix(line, "store "):
				inst.storeURI = strings.TrimPrefix(line, "store ")
			case strings.HasPrefix(line, "gRPC  "):
				inst.grpcAddr = strings.TrimPrefix(line, "gRPC  ")
			case strings.HasPrefix(line, "admin key (shown once"):
				keyNext = true
			case strings.HasPrefix(line, "  email    "):
				inst.adminEmail = strings.TrimPrefix(line, "  email    ")
			case strings.HasPrefix(line, "  password "):
				inst.adminPassword = strings.TrimPrefix(line, "  password ")
			case strings.HasPrefix(line, "REST  "):
				inst.restURL = strings.TrimPrefix(line, "REST  ")
			case strings.HasPrefix(line, "socket "):
				inst.socket = strings.TrimPrefix(line, "socket ")
			case strings.HasPrefix(line, "metrics "):
				inst.metricsURL = strings.TrimPrefix(line, "metrics ")
			}
			if strings.HasPrefix(line, ready) && !isReady {
				isReady = true
				readyc <- nil
			}
		}
		readyc <- fmt.Errorf("beacon exited before it was ready: %v", sc.Err())
	}()
	select {
	case err := <-readyc:
		if err != nil {
			tb.Fatalf("%v\nstderr:\n%s", err, inst.stderr)
		}
	case <-time.After(90 * time.Second):
		tb.Fatalf("beacon not ready after 90s\nstderr:\n%s", inst.stderr)
	}
	return inst
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop(tb testing.TB) {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("beacon did not exit cleanly on SIGTERM: %v\nstderr:\n%s", err, in.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		tb.Errorf("beacon did not stop within 30s of SIGTERM")
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// call sends a JSON request with key as bearer token ("" for none).
func (in *instance) call(tb testing.TB, key, method, path string, body any) response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, in.restURL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			tb.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

// must fails the test unless the response has the wanted status.
func (r response) must(tb testing.TB, want int) response {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func TestEndToEnd(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey
	if !regexp.MustCompile(`^bk_`).MatchString(admin) {
		t.Fatalf("admin key %q does not look like a Beacon key", admin)
	}

	t.Run("health over gRPC and REST", func(t *testing.T) {
		conn, err := grpc.NewClient(in.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "beacon.content.v1.ArticleService"})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health = %v, %v; want SERVING", resp, err)
		}
		in.call(t, "", "GET", "/healthz", nil).must(t, 200)
	})

	t.Run("demo content is there", func(t *testing.T) {
		r := in.call(t, admin, "GET", "/v1/articles?filter="+url.QueryEscape(`state = PUBLISHED`), nil).must(t, 200)
		// The demo's fictional reviews are dated the day it is seeded, so they pass the site's
		// gates whenever the test runs.
		want := 4
		if n := len(r.body["articles"].([]any)); n != want {
			t.Fatalf("demo site has %d published articles, want %d (under its publish gates and link checks)", n, want)
		}
	})

	t.Run("demo content is labelled example content and claims no real review", func(t *testing.T) {
		const selfCheck = "/v1/sites/kratom-help/screeners/kratom-self-check"
		in.call(t, "", "GET", selfCheck, nil).must(t, 200)
		list := in.call(t, "", "GET", "/v1/sites/kratom-help/articles", nil).must(t, 200)
		for _, card := range list.body["articles"].([]any) {
			slug := card.(map[string]any)["slug"].(string)
			a := in.call(t, "", "GET", "/v1/sites/kratom-help/articles/"+slug, nil).must(t, 200)
			if a.body["exampleContent"] != true {
				t.Errorf("%s: exampleContent %v, want true", slug, a.body["exampleContent"])
			}
			if ld := a.body["jsonLd"].(string); strings.Contains(ld, "reviewedBy") || strings.Contains(ld, "lastReviewed") {
				t.Errorf("%s: JSON-LD names a fictional reviewer: %s", slug, ld)
			}
			if a.body["medicalReviewer"] != nil {
				t.Errorf("%s: medicalReviewer %v for a fictional reviewer", slug, a.body["medicalReviewer"])
			}
			reviewers, _ := a.body["reviewers"].([]any)
			for _, rv := range reviewers {
				if rv.(map[string]any)["fictional"] != true {
					t.Errorf("%s: reviewer %v not marked fictional", slug, rv)
				}
			}
			if len(reviewers) == 0 || !strings.Contains(a.body["html"].(string), `href="`+selfCheck+`"`) {
				t.Errorf("%s: %d reviewers, self-check link %v", slug, len(reviewers), strings.Contains(a.body["html"].(string), selfCheck))
			}
		}
	})

	t.Run("a broken internal link is refused at publish, naming the link", func(t *testing.T) {
		created := in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": "Broken link", "targetSites": []string{"sites/kratom-help"},
			"body": "Try [the quiz](/v1/sites/kratom-help/screeners/no-such-quiz) or [the guide](/v1/sites/kratom-help/articles/kratom-withdrawal-what-to-expect).",
		}).must(t, 200)
		r := in.call(t, admin, "POST", "/v1/"+created.body["name"].(string)+":publish", map[string]any{}).must(t, 400)
		if r.body["code"] != float64(9) || strings.Count(string(r.raw), `"type":"INTERNAL_LINK"`) != 1 ||
			!strings.Contains(string(r.raw), "/v1/sites/kratom-help/screeners/no-such-quiz") {
			t.Errorf("publish with a broken link: %s; want FAILED_PRECONDITION with an INTERNAL_LINK violation naming only the missing screener", r.raw)
		}
	})

	t.Run("requests without a valid key are refused", func(t *testing.T) {
		in.call(t, "", "GET", "/v1/articles", nil).must(t, 401)
		in.call(t, "bk_0000000000000000_nope", "GET", "/v1/articles", nil).must(t, 401)
	})

	// A second site, and an editor key for each site.
	in.call(t, admin, "POST", "/v1/sites?siteId=other-site", map[string]any{
		"displayName": "Other Site", "baseUrl": "https://other.example.org",
	}).must(t, 200)
	editorA := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "editor A", "role": "ROLE_EDITOR", "site": "sites/kratom-help"}).must(t, 200).str("secret")
	editorB := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "editor B", "role": "ROLE_EDITOR", "site": "sites/other-site"}).must(t, 200)
	editorBKey, editorBName := editorB.str("secret"), editorB.body["apiKey"].(map[string]any)["name"].(string)

	var article response
	t.Run("create and read an article", func(t *testing.T) {
		article = in.call(t, editorA, "POST", "/v1/articles", map[string]any{
			"title":       "Kratom and sleep: what to know",
			"summary":     "How kratom use and withdrawal can affect sleep.",
			"body":        "## Sleep\n\nMany people notice changes in sleep.\n\n<script>alert(1)</script>",
			"tags":        []string{"Kratom", "sleep"},
			"targetSites": []string{"sites/kratom-help"},
			"editorNotes": "draft-only-marker",
		}).must(t, 200)
		if got := article.str("slug"); got != "kratom-and-sleep-what-to-know" {
			t.Errorf("slug = %q", got)
		}
		if html := article.body["rendering"].(map[string]any)["html"].(string); strings.Contains(html, "<script") {
			t.Errorf("rendered HTML kept a script: %s", html)
		}
		in.call(t, editorA, "GET", "/v1/"+article.str("name"), nil).must(t, 200)
	})
	name := article.str("name")

	t.Run("bad input gets 400 naming the field", func(t *testing.T) {
		r := in.call(t, editorA, "POST", "/v1/articles", map[string]any{"title": "", "targetSites": []string{"sites/kratom-help"}}).must(t, 400)
		if !strings.Contains(r.str("message"), "article.title") {
			t.Errorf("message %q does not name article.title", r.str("message"))
		}
		r = in.call(t, editorA, "POST", "/v1/articles", []byte(`{"title":"x","targetSites":["sites/kratom-help"],"sneaky":1}`)).must(t, 400)
		if !strings.Contains(r.str("message"), "sneaky") {
			t.Errorf("unknown-field message %q does not name the field", r.str("message"))
		}
		r = in.call(t, editorA, "GET", "/v1/articles?filter="+url.QueryEscape(`$where = 1`), nil).must(t, 400)
		if !strings.Contains(r.str("message"), "filter") {
			t.Errorf("filter error %q does not name the filter", r.str("message"))
		}
		big := bytes.Repeat([]byte("a"), 1<<20+10)
		in.call(t, editorA, "POST", "/v1/articles", big).must(t, 413)
		in.call(t, editorA, "POST", "/v1/articles", map[string]any{"title": "Kratom and sleep: what to know", "targetSites": []string{"sites/kratom-help"}}).must(t, 409)
	})

	t.Run("stale etag gets 409 and changes nothing", func(t *testing.T) {
		etag := article.str("etag")
		updated := in.call(t, editorA, "PATCH", "/v1/"+name+"?updateMask=summary", map[string]any{"summary": "First edit.", "etag": etag}).must(t, 200)
		in.call(t, editorA, "PATCH", "/v1/"+name+"?updateMask=summary", map[string]any{"summary": "Lost update.", "etag": etag}).must(t, 409)
		got := in.call(t, editorA, "GET", "/v1/"+name, nil).must(t, 200)
		if got.str("summary") != "First edit." || got.str("etag") != updated.str("etag") {
			t.Fatalf("after a stale write: summary %q etag %q; want the first edit unchanged", got.str("summary"), got.str("etag"))
		}
		article = got
	})

	t.Run("publish freezes a snapshot", func(t *testing.T) {
		pub := in.call(t, editorA, "POST", "/v1/"+name+":publish", map[string]any{"etag": article.str("etag")}).must(t, 200)
		if pub.str("state") != "STATE_PUBLISHED" || pub.str("publishTime") == "" {
			t.Fatalf("after publish: state %q publishTime %q", pub.str("state"), pub.str("publishTime"))
		}
		article = pub
	})

	t.Run("scheduled publishing fires", func(t *testing.T) {
		draft := in.call(t, editorA, "POST", "/v1/articles", map[string]any{"title": "Scheduled piece", "targetSites": []string{"sites/kratom-help"}}).must(t, 200)
		at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
		s := in.call(t, editorA, "POST", "/v1/"+draft.str("name")+":schedule", map[string]any{"publishTime": at}).must(t, 200)
		if s.str("state") != "STATE_SCHEDULED" {
			t.Fatalf("state after schedule = %q", s.str("state"))
		}
		in.call(t, editorA, "POST", "/v1/"+draft.str("name")+":schedule", map[string]any{"publishTime": "2001-01-01T00:00:00Z"}).must(t, 400)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := in.call(t, editorA, "GET", "/v1/"+draft.str("name"), nil).must(t, 200)
			if got.str("state") == "STATE_PUBLISHED" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("scheduled article still %q 8s after its publish time", got.str("state"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("revisions and rollback", func(t *testing.T) {
		revs := in.call(t, editorA, "GET", "/v1/"+name+"/revisions", nil).must(t, 200)
		list := revs.body["revisions"].([]any)
		if len(list) != 3 { // create, update, publish
			t.Fatalf("got %d revisions, want 3: %s", len(list), revs.raw)
		}
		newest := list[0].(map[string]any)
		if newest["action"] != "publish" {
			t.Errorf("newest revision action = %v, want publish", newest["action"])
		}
		rb := in.call(t, editorA, "POST", "/v1/"+name+":rollback", map[string]any{"revisionId": "1", "etag": article.str("etag")}).must(t, 200)
		if rb.str("summary") != "How kratom use and withdrawal can affect sleep." {
			t.Errorf("after rollback summary = %q, want the revision-1 summary", rb.str("summary"))
		}
		if rb.str("revisionId") != "4" {
			t.Errorf("rollback made revision %q, want 4", rb.str("revisionId"))
		}
	})

	t.Run("a key for site B cannot see site A", func(t *testing.T) {
		in.call(t, editorBKey, "GET", "/v1/"+name, nil).must(t, 404)
		in.call(t, editorBKey, "POST", "/v1/"+name+":publish", map[string]any{}).must(t, 404)
		list := in.call(t, editorBKey, "GET", "/v1/articles", nil).must(t, 200)
		if arts, _ := list.body["articles"].([]any); len(arts) != 0 {
			t.Fatalf("site B key lists %d articles of other sites", len(arts))
		}
		in.call(t, editorBKey, "GET", "/v1/sites/kratom-help", nil).must(t, 404)
		in.call(t, editorBKey, "GET", "/v1/sites/no-such-site", nil).must(t, 404)
		in.call(t, editorBKey, "POST", "/v1/apiKeys", map[string]any{"displayName": "x", "role": "ROLE_ADMIN"}).must(t, 403)
	})

	t.Run("a revoked key is refused", func(t *testing.T) {
		in.call(t, editorBKey, "GET", "/v1/articles", nil).must(t, 200)
		in.call(t, admin, "POST", "/v1/"+editorBName+":revoke", map[string]any{}).must(t, 200)
		in.call(t, editorBKey, "GET", "/v1/articles", nil).must(t, 401)
	})
}

func TestAdminKeyCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(beaconBinary, "admin-key", "--data-dir", dir, "--key-name", "ops", "--log-level", "warn").Output()
	if err != nil {
		t.Fatalf("beacon admin-key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "bk_") {
		t.Fatalf("admin-key printed %q; want a key on its last line", out)
	}
	in := start(t, "dev", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn")
	if in.adminKey != "" {
		t.Errorf("dev created a bootstrap key although an admin key exists")
	}
	r := in.call(t, key, "GET", "/v1/apiKeys", nil).must(t, 200)
	var admins, others []string
	for _, k := range r.body["apiKeys"].([]any) {
		k := k.(map[string]any)
		if k["role"] == "ROLE_ADMIN" {
			admins = append(admins, k["displayName"].(string))
		} else {
			others = append(others, fmt.Sprint(k["displayName"], " ", k["role"]))
		}
	}
	// Besides the ops key, dev makes only the screening service's own delivery key.
	if len(admins) != 1 || len(others) != 1 || !strings.Contains(others[0], "screening") || !strings.Contains(others[0], "ROLE_DELIVERY") {
		t.Errorf("keys: admins %v, others %v; want only the ops admin key and the screening service's delivery key (dev must not bootstrap a second admin)", admins, others)
	}
	in.call(t, key, "POST", "/v1/sites?siteId=ops-site", map[string]any{"displayName": "Ops", "baseUrl": "https://ops.example.org"}).must(t, 200)
	in.stop(t)

	// A viewer key for all sites, as --service-key takes, and a key for one existing site.
	viewer := adminKeyCommand(t, dir, "--role", "viewer", "--key-name", "gateway service key")
	opsEditor := adminKeyCommand(t, dir, "--role", "editor", "--site", "ops-site", "--key-name", "ops editor")
	if out, err := exec.Command(beaconBinary, "admin-key", "--data-dir", dir, "--site", "no-such-site", "--log-level", "error").CombinedOutput(); err == nil {
		t.Errorf("admin-key for a site that does not exist succeeded: %s", out)
	}
	in = start(t, "dev", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn")
	in.call(t, viewer, "GET", "/v1/sites", nil).must(t, 200)
	in.call(t, viewer, "POST", "/v1/sites?siteId=viewer-site", map[string]any{"displayName": "V", "baseUrl": "https://v.example.org"}).must(t, 403)
	in.call(t, opsEditor, "GET", "/v1/sites/ops-site", nil).must(t, 200)
	in.call(t, opsEditor, "GET", "/v1/sites/kratom-help", nil).must(t, 404)
}

// adminKeyCommand runs `beacon admin-key` on dataDir with args and returns the key it prints.
func adminKeyCommand(tb testing.TB, dataDir string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(beaconBinary, append([]string{"admin-key", "--data-dir", dataDir, "--log-level", "warn"}, args...)...).Output()
	if err != nil {
		tb.Fatalf("beacon admin-key %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "bk_") {
		tb.Fatalf("admin-key printed %q; want a key on its last line", out)
	}
	return key
}

// TestDevOnASeededStore is the path `make bench` takes: `beacon seed` fills a fresh store (its own
// site, no demo site), then `beacon dev` must start on it and serve the seeded site. Demo content
// (articles and the resource directory) needs the demo site, which the sites service makes only
// in a store without sites, so dev seeds none of it here.
func TestDevOnASeededStore(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(beaconBinary, "seed", "--data-dir", dir, "--site", "bench", "--articles", "3", "--log-level", "warn").CombinedOutput(); err != nil {
		t.Fatalf("beacon seed: %v\n%s", err, out)
	}
	// The seed leaves the content service's start-up image sealed; a running process unseals it;
	// its clean stop seals it again, with its own writes in it.
	seal := filepath.Join(dir, "images", "beacon_content", "clean.json")
	sealed := func() bool { _, err := os.Stat(seal); return err == nil }
	if !sealed() {
		t.Fatal("beacon seed left no sealed start-up image")
	}
	in := startDev(t, dir)
	if sealed() {
		t.Error("the start-up image is still sealed while beacon runs")
	}
	r := in.call(t, "", "GET", "/v1/sites/bench/articles?pageSize=20", nil).must(t, 200)
	if n := len(r.body["articles"].([]any)); n != 3 {
		t.Errorf("%d seeded articles delivered; want 3", n)
	}
	in.call(t, in.adminKey, "GET", "/v1/sites/kratom-help", nil).must(t, 404)
	fresh := in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "Written before a restart", "targetSites": []string{"sites/bench"}}).must(t, 200)
	in.call(t, in.adminKey, "POST", "/v1/"+fresh.str("name")+":publish", map[string]any{}).must(t, 200)
	in.stop(t)
	if !sealed() {
		t.Fatal("a clean stop left no sealed start-up image")
	}
	again := startDev(t, dir)
	r = again.call(t, "", "GET", "/v1/sites/bench/articles?pageSize=20", nil).must(t, 200)
	if n := len(r.body["articles"].([]any)); n != 4 {
		t.Errorf("%d articles delivered after a restart from the image; want 4", n)
	}
	again.call(t, "", "GET", "/v1/sites/bench/articles/written-before-a-restart", nil).must(t, 200)
	list := again.call(t, again.adminKey, "GET", "/v1/articles?pageSize=20", nil).must(t, 200)
	if n := len(list.body["articles"].([]any)); n != 4 {
		t.Errorf("%d articles in the management list after a restart from the image; want 4", n)
	}
}
