package main

import (
	"fmt"
)

// containerMemoryShare is the part of the container's memory limit Beacon takes as Go's soft
// memory limit when --memory-limit is unset: the rest is headroom for what the Go runtime does
// not count (stacks of threads in cgo-free code are counted; the binary's text, the kernel's
// page cache of the embedded store's files and fragmentation are not).
const containerMemoryShare = 0.9

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
