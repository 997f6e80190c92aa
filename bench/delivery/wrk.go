package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests     int64 // completed requests
	ReqPerSec    float64
	P50, P99     time.Duration
	Non2xx3xx    int64 // responses with status >= 400
	SocketErrors socketErrors
}

type socketErrors struct{ Connect, Read, Write, Timeout int64 }

func (s socketErrors) total() int64 { return s.Connect + s.Read + s.Write + s.Timeout }

// Errors is every failed request: statuses >= 400 plus socket errors.
func (r wrkResult) Errors() int64 { return r.Non2xx3xx + r.SocketErrors.total() }

// wrkArgs is the command line of one run, as in `wrk -t2 -c64 -d15s --latency -H ... URL`.
func wrkArgs(threads, connections int, d time.Duration, headers []string, url string) []string {
	args := []string{
		fmt.Sprintf("-t%d", threads),
		fmt.Sprintf("-c%d", connections),
		fmt.Sprintf("-d%ds", max(1, int(d.Round(time.Second)/time.Second))),
		"--latency",
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	return append(args, url)
}

// runWrk runs wrk to completion (it stops by itself after d; ctx bounds it further), parses
// its output and returns the CPU time wrk used.
func runWrk(ctx context.Context, wrk string, args []string, d time.Duration) (wrkResult, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrk, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return wrkResult{}, 0, fmt.Errorf("%s %s: %w\n%s%s", wrk, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res, err := parseWrk(out.String())
	if err != nil {
		return res, cpu, fmt.Errorf("parse wrk output: %w\n%s", err, out.String())
	}
	return res, cpu, nil
}

var (
	reReqPerSec = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)\s*$`)
	rePercent   = regexp.MustCompile(`^\s*(50|75|90|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	reRequests  = regexp.MustCompile(`^\s*(\d+) requests in `)
	reSocket    = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
	reNon2xx    = regexp.MustCompile(`^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
)

// parseWrk reads wrk 4.1's report (run with --latency). The "Socket errors" and "Non-2xx or
// 3xx responses" lines appear only when non-zero; wrk counts a status as an error only from
// 400 up, so 304s are not errors.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveP50, haveP99, haveCount bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := reReqPerSec.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return r, fmt.Errorf("Requests/sec %q: %w", m[1], err)
			}
			r.ReqPerSec, haveRPS = v, true
		} else if m := rePercent.FindStringSubmatch(line); m != nil {
			d, err := wrkDuration(m[2], m[3])
			if err != nil {
				return r, err
			}
			switch m[1] {
			case "50":
				r.P50, haveP50 = d, true
			case "99":
				r.P99, haveP99 = d, true
			}
		} else if m := reRequests.FindStringSubmatch(line); m != nil {
			r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
			haveCount = true
		} else if m := reSocket.FindStringSubmatch(line); m != nil {
			r.SocketErrors.Connect, _ = strconv.ParseInt(m[1], 10, 64)
			r.SocketErrors.Read, _ = strconv.ParseInt(m[2], 10, 64)
			r.SocketErrors.Write, _ = strconv.ParseInt(m[3], 10, 64)
			r.SocketErrors.Timeout, _ = strconv.ParseInt(m[4], 10, 64)
		} else if m := reNon2xx.FindStringSubmatch(line); m != nil {
			r.Non2xx3xx, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	switch {
	case !haveRPS:
		return r, fmt.Errorf("no Requests/sec line")
	case !haveP50 || !haveP99:
		return r, fmt.Errorf("no Latency Distribution 50%%/99%% lines (run wrk with --latency)")
	case !haveCount:
		return r, fmt.Errorf("no 'N requests in' line")
	}
	return r, nil
}

// wrkDuration converts wrk's "812.00us", "1.20ms", "2.00s", "1.50m" into a duration.
func wrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("latency %q: %w", num+unit, err)
	}
	scale := map[string]float64{
		"us": float64(time.Microsecond),
		"ms": float64(time.Millisecond),
		"s":  float64(time.Second),
		"m":  float64(time.Minute),
		"h":  float64(time.Hour),
	}[unit]
	return time.Duration(v * scale), nil
}
