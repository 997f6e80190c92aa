//go:build unix

package mongodbtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

func TestSweepStale(t *testing.T) {
	t.Parallel()
	// A process that has exited: its pid names a stale directory.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run a child process: %v", err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	live := strconv.Itoa(os.Getpid())

	tmp := t.TempDir()
	tests := []struct {
		name     string
		dir      bool
		wantKept bool
	}{
		{mongodbtest.TempPrefix + dead + "-123", true, false},
		{mongodbtest.TempPrefix + live + "-456", true, true},
		{mongodbtest.TempPrefix + "1-789", true, true}, // init always runs
		{mongodbtest.TempPrefix + "notapid-1", true, true},
		{mongodbtest.TempPrefix + dead, true, true}, // not our naming scheme
		{"other-" + dead + "-1", true, true},
		{mongodbtest.TempPrefix + dead + "-file", false, true},
	}
	for _, tt := range tests {
		p := filepath.Join(tmp, tt.name)
		var err error
		if tt.dir {
			err = os.MkdirAll(filepath.Join(p, "inner"), 0o700)
		} else {
			err = os.WriteFile(p, nil, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	mongodbtest.SweepStale(tmp)

	for _, tt := range tests {
		_, err := os.Stat(filepath.Join(tmp, tt.name))
		if kept := err == nil; kept != tt.wantKept {
			t.Errorf("%s kept = %t, want %t", tt.name, kept, tt.wantKept)
		}
	}
}
