package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

func mustRaw(tb testing.TB, d bson.D) bson.Raw {
	tb.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestCollectionOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  bson.D
		want string
	}{
		{"find", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{}}}, "articles"},
		{"insert", bson.D{{Key: "insert", Value: "article_revisions"}}, "article_revisions"},
		{"findAndModify", bson.D{{Key: "findAndModify", Value: "article_changes"}}, "article_changes"},
		{"getMore", bson.D{{Key: "getMore", Value: int64(42)}, {Key: "collection", Value: "articles"}}, "articles"},
		{"ping", bson.D{{Key: "ping", Value: 1}}, ""},
		{"aggregate", bson.D{{Key: "aggregate", Value: 1}}, ""},
		{"empty (redacted)", bson.D{}, ""},
	} {
		if got := collectionOf(tc.name, mustRaw(t, tc.cmd)); got != tc.want {
			t.Errorf("collectionOf(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStoreMonitor(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewStore(reg)
	m := s.Monitor()
	ctx := context.Background()
	run := func(id int64, name string, cmd bson.D, took time.Duration, fail bool) {
		m.Started(ctx, &event.CommandStartedEvent{Command: mustRaw(t, cmd), DatabaseName: "beacon_content", CommandName: name, RequestID: id})
		fin := event.CommandFinishedEvent{Duration: took, CommandName: name, DatabaseName: "beacon_content", RequestID: id}
		if fail {
			m.Failed(ctx, &event.CommandFailedEvent{CommandFinishedEvent: fin, Failure: errors.New("boom")})
		} else {
			m.Succeeded(ctx, &event.CommandSucceededEvent{CommandFinishedEvent: fin})
		}
	}
	run(1, "find", bson.D{{Key: "find", Value: "articles"}}, 2*time.Millisecond, false)
	run(2, "find", bson.D{{Key: "find", Value: "articles"}}, 3*time.Millisecond, true)
	run(3, "update", bson.D{{Key: "update", Value: "article_live"}}, time.Millisecond, false)
	run(4, "ping", bson.D{{Key: "ping", Value: 1}}, time.Millisecond, false)

	want := `
# HELP beacon_store_command_errors_total Store (MongoDB) commands that failed, by database, collection and command name.
# TYPE beacon_store_command_errors_total counter
beacon_store_command_errors_total{collection="articles",command="find",database="beacon_content"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "beacon_store_command_errors_total"); err != nil {
		t.Error(err)
	}
	counts := map[string]uint64{}
	families, _ := reg.Gather()
	for _, f := range families {
		if f.GetName() != "beacon_store_command_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			var coll, cmd string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "collection":
					coll = l.GetValue()
				case "command":
					cmd = l.GetValue()
				}
			}
			counts[cmd+"/"+coll] = m.GetHistogram().GetSampleCount()
		}
	}
	if counts["find/articles"] != 2 || counts["update/article_live"] != 1 || counts["ping/"] != 1 || len(counts) != 3 {
		t.Errorf("command durations by command/collection = %v; want find/articles 2, update/article_live 1, ping/ 1", counts)
	}
	n := 0
	s.started.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d finished commands still held", n)
	}
}

func TestRouteObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewHTTP(reg)
	r := h.Route("/v1/sites/{site}/articles")
	if h.Route("/v1/sites/{site}/articles") != r {
		t.Fatal("the same pattern gave two handles")
	}
	// More (method, code) pairs than the route caches: the rest go through the vectors.
	for code := 200; code < 200+routeCacheSize+4; code++ {
		r.Observe("GET", code, time.Millisecond)
	}
	r.Observe("GET", 200, time.Millisecond)
	r.Observe("HEAD", 200, time.Millisecond)
	r.Observe("BREW", 418, time.Millisecond)
	r.Observe("GET", 200+routeCacheSize+1, time.Millisecond) // past the cache, again
	r.Observe("GET", 1000, time.Millisecond)
	for _, tc := range []struct {
		method, code string
		want         float64
	}{
		{"GET", "200", 2},
		{"GET", "201", 1},
		{"GET", fmt.Sprint(200 + routeCacheSize + 1), 2},
		{"HEAD", "200", 1},
		{"OTHER", "418", 1},
		{"GET", "other", 1},
	} {
		if got := testutil.ToFloat64(h.requests.WithLabelValues(r.Pattern(), tc.method, tc.code)); got != tc.want {
			t.Errorf("requests{%s %s} = %v, want %v", tc.method, tc.code, got, tc.want)
		}
	}
	if got := testutil.CollectAndCount(h.duration); got != 3 { // GET, HEAD, OTHER
		t.Errorf("%d duration series, want 3 (one per method)", got)
	}
	allocs := testing.AllocsPerRun(100, func() { r.Observe("GET", 200, time.Millisecond) })
	if allocs != 0 {
		t.Errorf("Observe of a cached pair allocates %v times", allocs)
	}
}

type fakeModel ReadModelStats

func (m fakeModel) ReadModelStats() ReadModelStats { return ReadModelStats(m) }

type fakeScheduler SchedulerStats

func (s fakeScheduler) SchedulerStats() SchedulerStats { return SchedulerStats(s) }

func TestReadModelAndSchedulerCollectors(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reg := prometheus.NewRegistry()
	if err := RegisterReadModel(reg, "content", fakeModel{Entries: 7, Bytes: 4096, LastChange: now.Add(-90 * time.Second), Synced: now.Add(-2 * time.Second),
		RenderCache: &RenderCacheStats{Bytes: 2048, Budget: 16 << 20, Items: 2, Renders: 5, Evictions: 3}}, clock); err != nil {
		t.Fatal(err)
	}
	if err := RegisterReadModel(reg, "resources", fakeModel{Entries: 3}, clock); err != nil { // nothing applied, never synced
		t.Fatal(err)
	}
	if err := RegisterReadModel(reg, "content", fakeModel{}, clock); err == nil {
		t.Error("a second read model of the same name registered")
	}
	if err := RegisterScheduler(reg, "content", fakeScheduler{Runs: 12, FailedRuns: 1, Published: 2, Lag: 3 * time.Second, LastRun: now.Add(-time.Second)}, clock); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP beacon_read_model_bytes Estimated bytes of the read model's item data.
# TYPE beacon_read_model_bytes gauge
beacon_read_model_bytes{read_model="content"} 4096
beacon_read_model_bytes{read_model="resources"} 0
# HELP beacon_read_model_entries Items the read model holds.
# TYPE beacon_read_model_entries gauge
beacon_read_model_entries{read_model="content"} 7
beacon_read_model_entries{read_model="resources"} 3
# HELP beacon_read_model_render_cache_budget_bytes The most bytes the read model's render cache may hold (0: no bound).
# TYPE beacon_read_model_render_cache_budget_bytes gauge
beacon_read_model_render_cache_budget_bytes{read_model="content"} 1.6777216e+07
# HELP beacon_read_model_render_cache_bytes Bytes of rendered items the read model's render cache holds.
# TYPE beacon_read_model_render_cache_bytes gauge
beacon_read_model_render_cache_bytes{read_model="content"} 2048
# HELP beacon_read_model_render_cache_evictions_total Rendered items the read model's render cache dropped to make room.
# TYPE beacon_read_model_render_cache_evictions_total counter
beacon_read_model_render_cache_evictions_total{read_model="content"} 3
# HELP beacon_read_model_render_cache_items Rendered items the read model's render cache holds.
# TYPE beacon_read_model_render_cache_items gauge
beacon_read_model_render_cache_items{read_model="content"} 2
# HELP beacon_read_model_render_cache_renders_total Items the read model rendered and cached (a render after an eviction is a miss).
# TYPE beacon_read_model_render_cache_renders_total counter
beacon_read_model_render_cache_renders_total{read_model="content"} 5
# HELP beacon_read_model_last_change_age_seconds Age of the newest change the read model has applied.
# TYPE beacon_read_model_last_change_age_seconds gauge
beacon_read_model_last_change_age_seconds{read_model="content"} 90
# HELP beacon_read_model_sync_age_seconds Time since the read model last read its change log to the end (replication lag bound).
# TYPE beacon_read_model_sync_age_seconds gauge
beacon_read_model_sync_age_seconds{read_model="content"} 2
# HELP beacon_scheduler_failed_runs_total Runs of the scheduler that failed.
# TYPE beacon_scheduler_failed_runs_total counter
beacon_scheduler_failed_runs_total{scheduler="content"} 1
# HELP beacon_scheduler_last_run_age_seconds Time since the scheduler's last run ended.
# TYPE beacon_scheduler_last_run_age_seconds gauge
beacon_scheduler_last_run_age_seconds{scheduler="content"} 1
# HELP beacon_scheduler_publish_lag_seconds How late scheduled items were published after their time.
# TYPE beacon_scheduler_publish_lag_seconds summary
beacon_scheduler_publish_lag_seconds_sum{scheduler="content"} 3
beacon_scheduler_publish_lag_seconds_count{scheduler="content"} 2
# HELP beacon_scheduler_runs_total Runs of the scheduler.
# TYPE beacon_scheduler_runs_total counter
beacon_scheduler_runs_total{scheduler="content"} 12
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// Serve answers GET /metrics on its own listener with the registry's metrics (the Go runtime's
// and the build's among them) and nothing else.
func TestServe(t *testing.T) {
	reg := NewRegistry("v0.0.1-test")
	addr, stop, err := Serve("127.0.0.1:0", reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/metrics")
	for _, want := range []string{`beacon_build_info{version="v0.0.1-test"} 1`, "go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes "} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics = %d without %q", status, want)
		}
	}
	if status, _ := get("/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ = %d, want 404", status)
	}
}
