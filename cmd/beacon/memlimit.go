package main

import (
	"fmt"
)

// containerMemoryShare is the part of the container's memory limit Beacon takes as Go's soft
// memory limit when --memory-limit is unset: the rest is headroom for what the Go runtime does
// not count (stacks of threads in cgo-free code are counted; the binary's text, the kernel's
// page cache of the embedded store's files and fragmentation are not).
const containerMemoryShare = 0.9

// defaultGCPercent is Beacon's GOGC unless configured. Most of a serving process's heap is
// long-lived: the delivery read models (compressed article bodies, search postings, cards) and
// the management indexes, about 100 MB at 10,000 articles. Go's default of 100 lets the heap
// grow by that much again in short-lived garbage before each collection, so the resident size
// runs near three times the live data; 75 runs collections a third more often, each costing
// the same marking of a heap whose bulk is pointer-free bytes, for about 25 MiB less RSS at
// 10,000 articles (docs/benchmarks.md). Prometheus changed its default from 100 to 75 in 2.53
// for the same reason.
const defaultGCPercent = 75

// gcPercent returns the GOGC percentage to set and where it comes from, or 0 to leave the
// runtime's own: a GOGC environment variable (runtimeGOGC), when set, was applied by the
// runtime and wins.
func gcPercent(configured int, runtimeGOGC string) (int, string) {
	if runtimeGOGC != "" {
		return 0, "GOGC"
	}
	return configured, "--gc-percent"
}

// softMemoryLimit returns the soft memory limit to set once the process is ready, and where it
// comes from: --memory-limit when set; else containerMemoryShare of the container's memory
// limit (cgroup v2 memory.max or v1 memory.limit_in_bytes, read by fromCgroup); else none (0).
func softMemoryLimit(configured string, fromCgroup func() (uint64, error)) (int64, string, error) {
	if configured != "" {
		limit, err := parseBytes(configured)
		return limit, "--memory-limit", err
	}
	cgroup, err := fromCgroup()
	if err != nil || cgroup == 0 || cgroup >= 1<<62 { // no cgroup, or no limit ("max")
		return 0, "", nil
	}
	return int64(float64(cgroup) * containerMemoryShare), fmt.Sprintf("%.0f%% of the container's memory limit of %d bytes", containerMemoryShare*100, cgroup), nil
}
