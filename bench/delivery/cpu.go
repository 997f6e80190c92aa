package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/<pid>/stat on Linux.
const clockTicks = 100

// cpuSample is the machine's and one process's CPU time at one moment, in clock ticks.
type cpuSample struct {
	busy, steal, total int64 // every core, from /proc/stat
	proc               int64 // utime+stime of the process
}

// cpuShare is how the machine's CPU time was spent during a run, in % of all cores.
type cpuShare struct {
	Server, Wrk, Other, Steal float64
}

func sampleCPU(pid int) (cpuSample, error) {
	var s cpuSample
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return s, err
		}
	}
	s.busy = v[0] + v[1] + v[2] + v[5] + v[6]
	s.steal = v[7]
	for _, x := range v {
		s.total += x
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after "(comm)": state is the 3rd field, utime the 14th, stime the 15th.
	i := strings.LastIndexByte(string(b), ')')
	pf := strings.Fields(string(b[i+1:]))
	if len(pf) < 13 {
		return s, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(pf[11], 10, 64)
	st, err2 := strconv.ParseInt(pf[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	s.proc = ut + st
	return s, nil
}

// share splits the CPU time between two samples: the process, wrk (its own CPU time as its
// rusage reports it), steal, and everything else on the machine.
func share(before, after cpuSample, wrkCPU time.Duration) cpuShare {
	total := float64(after.total - before.total)
	if total <= 0 {
		return cpuShare{}
	}
	wrk := wrkCPU.Seconds() * clockTicks
	server := float64(after.proc - before.proc)
	other := float64(after.busy-before.busy) - server - wrk
	pct := func(x float64) float64 { return max(0, 100*x/total) }
	return cpuShare{Server: pct(server), Wrk: pct(wrk), Other: pct(other), Steal: pct(float64(after.steal - before.steal))}
}
