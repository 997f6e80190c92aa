package main_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleDevSendsNoStoreCommands: a beacon dev with no callers sends no store command. Its
// change-log followers and its site catalog are told of writes by the embedded store running in
// the process instead of polling (mongodb.Embedded.Changes), the scheduler and the flusher sleep
// until they have work, and nothing pings the store. (The driver's own heartbeat is not a command.)
func TestIdleDevSendsNoStoreCommands(t *testing.T) {
	in := startDev(t, t.TempDir(), "--metrics-addr", "127.0.0.1:0")
	if in.metricsURL == "" {
		t.Fatal("no metrics address printed")
	}
	time.Sleep(3 * time.Second) // the reads right after the start
	before := storeCommands(t, in.metricsURL)
	time.Sleep(8 * time.Second) // polling followers read their heads every 2 s, the catalog every 3 s
	after := storeCommands(t, in.metricsURL)
	for cmd, n := range after {
		if d := n - before[cmd]; d > 0 {
			t.Errorf("%d store commands %s in 8 s with no callers, want none", d, cmd)
		}
	}
}

// storeCommands returns the store commands the process has sent, by their metric labels.
func storeCommands(tb testing.TB, metricsURL string) map[string]int64 {
	tb.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	const metric = "beacon_store_command_duration_seconds_count"
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tb.Fatalf("metrics line %q: %v", line, err)
		}
		out[strings.TrimPrefix(line[:i], metric)] = int64(n)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
