package main

import (
	"slices"
	"testing"
	"time"
)

// Output of wrk debian/4.1.0-3+b2, with the error lines that appear only when non-zero.
const wrkOutput = `Running 2s test @ http://127.0.0.1:45877/nope
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.74ms    2.65ms  28.80ms   88.54%
    Req/Sec    37.05k    10.89k   61.34k    65.00%
  Latency Distribution
     50%  701.00us
     75%    2.37ms
     90%    4.76ms
     99%    1.20s
  147967 requests in 2.01s, 24.84MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 147967
Requests/sec:  73621.25
Transfer/sec:     12.36MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{
		Requests: 147967, ReqPerSec: 73621.25, P50: 701 * time.Microsecond, P99: 1200 * time.Millisecond,
		Non2xx3xx: 147967, SocketErrors: socketErrors{1, 2, 3, 4},
	}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if r.Errors() != 147977 {
		t.Errorf("Errors() = %d", r.Errors())
	}
}

func TestParseWrkIncomplete(t *testing.T) {
	for _, out := range []string{"", "unable to connect to 127.0.0.1:1 Connection refused\n", "Requests/sec: 10.00\n"} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("parseWrk(%q) succeeded", out)
		}
	}
}

func TestWrkArgs(t *testing.T) {
	got := wrkArgs(2, 64, 15*time.Second, []string{`If-None-Match: "abc"`}, "http://127.0.0.1:1/x")
	want := []string{"-t2", "-c64", "-d15s", "--latency", "-H", `If-None-Match: "abc"`, "http://127.0.0.1:1/x"}
	if !slices.Equal(got, want) {
		t.Errorf("wrkArgs = %q, want %q", got, want)
	}
}

func TestCheckLoopback(t *testing.T) {
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://[::1]:80/": true, "http://10.0.0.1:80": false, "http://example.org": false,
	} {
		if err := checkLoopback(u); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", u, err)
		}
	}
}

func TestFmtInt(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestManagementSectionSurvivesADeliveryRewrite(t *testing.T) {
	doc := withManagementSection("# old delivery\n", "## Management\nfigures\n")
	section, ok := managementSection(doc)
	if !ok || section != "## Management\nfigures\n" {
		t.Fatalf("managementSection = %q, %v", section, ok)
	}
	rewritten := withManagementSection("# new delivery\n", section)
	if rewritten != "# new delivery\n\n"+mgmtBegin+"\n## Management\nfigures\n"+mgmtEnd+"\n" {
		t.Errorf("rewritten report:\n%s", rewritten)
	}
	if _, ok := managementSection("# no markers\n"); ok {
		t.Error("found a management section in a report without markers")
	}
	if again := withManagementSection(rewritten, section); again != rewritten {
		t.Errorf("replacing the section with itself changed the report:\n%s", again)
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 ms down to 1 ms
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"p99 of 100 is the second slowest", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p50 of 100 is the 50th", ms(hundred...), 0.5, 50 * time.Millisecond},
		{"p99 of 30 is the slowest", ms(hundred[70:]...), 0.99, 30 * time.Millisecond},
		{"p0 is the fastest", ms(3, 1, 2), 0, time.Millisecond},
		{"one sample", ms(7), 0.99, 7 * time.Millisecond},
	} {
		s := &opStats{Samples: tc.samples}
		if got := s.quantile(tc.q); got != tc.want {
			t.Errorf("%s: quantile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
}
