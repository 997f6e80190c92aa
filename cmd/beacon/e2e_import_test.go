package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runImportCommand runs `beacon import resources` with args and the key in BEACON_API_KEY, and
// returns its stdout, stderr and exit code.
func runImportCommand(tb testing.TB, key string, args ...string) (string, string, int) {
	tb.Helper()
	cmd := exec.Command(beaconBinary, append([]string{"import", "resources"}, args...)...)
	cmd.Env = append(os.Environ(), "BEACON_API_KEY="+key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	case err != nil:
		tb.Fatalf("beacon import: %v", err)
	}
	return stdout.String(), stderr.String(), 0
}

// TestImportResourcesCommand runs the real binary against `beacon dev` over gRPC: a CSV larger
// than one part (sent in parts, rows numbered as in the file) with one bad row, its re-import
// (idempotent), an HSDS JSON export imported back, and the refusals of bad usage.
func TestImportResourcesCommand(t *testing.T) {
	in := startDev(t, t.TempDir())
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("external_id,name,kind,phones,city,country,latitude,longitude,description\n")
	for i := 1; i <= 400; i++ {
		if i == 250 {
			b.WriteString("bad-row,Bad row,DRAGON,,,,,,\n")
			continue
		}
		fmt.Fprintf(&b, "group-%d,Example group %d (example data),SUPPORT_GROUP,+1 512 555 %04d,Austin,US,30.%d,-97.74,\"Meets weekly.\nBring a friend.\"\n", i, i, i%10000, 1000+i)
	}
	csvPath := filepath.Join(dir, "groups.csv")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--site=kratom-help", "--resources-addr", in.grpcAddr, "--part-bytes", "8192", csvPath}

	stdout, stderr, code := runImportCommand(t, in.adminKey, args...)
	if code != 3 || !strings.Contains(stdout, "400 of 400 rows imported: 399 created, 0 updated, 1 skipped (1 refused)") {
		t.Fatalf("first import: exit %d\nstdout tail: %s\nstderr: %s", code, tail(stdout, 5), stderr)
	}
	if !regexp.MustCompile(`(?m)^250\s+skipped\s+csv/bad-row\s+-\s+invalid: kind: `).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^400\s+created\s+csv/group-400\s+resources/\S+`).MatchString(stdout) {
		t.Errorf("the report misses row 250 (refused) or row 400 (created):\n%s", tail(stdout, 160))
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet something was written to it: %q", stderr)
	}
	stdout, _, code = runImportCommand(t, in.adminKey, args...)
	if code != 3 || !strings.Contains(stdout, "400 of 400 rows imported: 0 created, 0 updated, 400 skipped (1 refused)") ||
		!regexp.MustCompile(`(?m)^399\s+skipped\s+csv/group-399\s+resources/\S+\s+unchanged$`).MatchString(stdout) {
		t.Errorf("second import: exit %d\n%s", code, tail(stdout, 5))
	}
	list := in.call(t, in.adminKey, "GET", `/v1/sites/kratom-help/resources?near=30.2,-97.74&radiusKm=500&kind=support_group&pageSize=100`, nil).must(t, 200)
	if n := len(list.body["resources"].([]any)); n != 100 {
		t.Errorf("delivery lists %d imported groups near Austin on the first page, want 100", n)
	}

	// The site's HSDS export imported back changes nothing.
	export := in.call(t, in.adminKey, "GET", "/v1/resources:export?site=sites/kratom-help", nil).must(t, 200)
	jsonPath := filepath.Join(dir, "export.json")
	if err := os.WriteFile(jsonPath, export.raw, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runImportCommand(t, in.adminKey, "--site=kratom-help", "--resources-addr", in.grpcAddr, jsonPath)
	if code != 0 || !regexp.MustCompile(`rows imported: 0 created, 0 updated, \d+ skipped \(0 refused\)`).MatchString(stdout) {
		t.Errorf("HSDS export imported back: exit %d\n%s\n%s", code, tail(stdout, 3), stderr)
	}

	for name, tc := range map[string]struct {
		key  string
		args []string
		want int
	}{
		"no key":            {"", args, 2},
		"secret in address": {in.adminKey, []string{"--site=kratom-help", "--resources-addr", "bk_x@" + in.grpcAddr, csvPath}, 2},
		"no site":           {in.adminKey, []string{"--resources-addr", in.grpcAddr, csvPath}, 2},
		"unknown key":       {"bk_made_up", args, 1},
		"missing file":      {in.adminKey, []string{"--site=kratom-help", "--resources-addr", in.grpcAddr, filepath.Join(dir, "nope.csv")}, 1},
	} {
		if _, stderr, code := runImportCommand(t, tc.key, tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, tc.want, stderr)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
