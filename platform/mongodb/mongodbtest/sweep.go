package mongodbtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sweepStale removes the data directories that earlier test processes left in tmp, i.e. those whose
// owning process (by the pid in the name) no longer runs. It is best effort: errors are ignored, and
// where liveness cannot be checked nothing is removed.
func sweepStale(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), tempPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}
