package main

import (
	"errors"
	"testing"
)

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name        string
		configured  int
		runtimeGOGC string
		want        int
		wantSource  string
	}{
		{"the flag (or its default)", 75, "", 75, "--gc-percent"},
		{"a GOGC environment variable wins", 75, "200", 0, "GOGC"},
		{"GOGC=off wins too", 50, "off", 0, "GOGC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, source := gcPercent(tt.configured, tt.runtimeGOGC); got != tt.want || source != tt.wantSource {
				t.Errorf("gcPercent(%d, %q) = %d, %q; want %d, %q", tt.configured, tt.runtimeGOGC, got, source, tt.want, tt.wantSource)
			}
		})
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	cgroup := func(limit uint64, err error) func() (uint64, error) {
		return func() (uint64, error) { return limit, err }
	}
	tests := []struct {
		name       string
		configured string
		fromCgroup func() (uint64, error)
		want       int64
		wantSource string
		wantErr    bool
	}{
		{"the flag wins over the container", "280MiB", cgroup(512<<20, nil), 280 << 20, "--memory-limit", false},
		{"90% of the container's limit", "", cgroup(512<<20, nil), 483183820, "90% of the container's memory limit of 536870912 bytes", false},
		{"no cgroup", "", cgroup(0, errors.New("no cgroup")), 0, "", false},
		{"cgroup without a limit (v1 reports a huge number)", "", cgroup(1<<63-4096, nil), 0, "", false},
		{"a bad flag", "lots", cgroup(512<<20, nil), 0, "--memory-limit", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := softMemoryLimit(tt.configured, tt.fromCgroup)
			if got != tt.want || source != tt.wantSource || (err != nil) != tt.wantErr {
				t.Errorf("softMemoryLimit = %d, %q, %v; want %d, %q, error %v", got, source, err, tt.want, tt.wantSource, tt.wantErr)
			}
		})
	}
}
