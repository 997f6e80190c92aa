package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a child process that serves HTTP on a loopback address it printed on stdout.
type server struct {
	name    string
	cmd     *exec.Cmd
	started time.Time // just before the process was started
	ready   time.Time // when the address line was read
	baseURL string    // "http://127.0.0.1:port"
	logPath string    // its stderr
	exited  chan struct{}
	waitErr error
}

// childEnv is the environment without BEACON_* variables, so that nothing in the caller's
// environment (an external MongoDB URI, a log level) changes what is measured.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BEACON_") {
			env = append(env, kv)
		}
	}
	return env
}

// startServer starts path args..., and waits until a stdout line starts with prefix followed by
// an http:// URL (for beacon dev, the "REST  http://..." line, printed last). stderr goes to
// logPath. The URL must be a loopback address. After timeout it returns the still running
// server with the error; the caller stops it.
func startServer(ctx context.Context, name, path string, args []string, prefix, logPath string, timeout time.Duration) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = childEnv()
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // never outlive the harness
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	s := &server{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			// Lines are read, not echoed: beacon dev prints the bootstrap admin key.
			if f := strings.Fields(sc.Text()); !sent && len(f) == 2 && f[0] == prefix && strings.HasPrefix(f[1], "http://") {
				found <- f[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
	for {
		select {
		case u := <-found:
			s.ready = time.Now()
			if err := checkLoopback(u); err != nil {
				s.stop()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			s.baseURL = strings.TrimRight(u, "/")
			return s, nil
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before printing %q (%v)%s", name, prefix, s.waitErr, logTail(logPath))
		case <-progress.C:
			rss, _ := s.rss()
			step("%s: still starting after %s, RSS %s", name, time.Since(s.started).Round(time.Second), fmtBytes(rss))
		case <-timer.C:
			// Still running: the caller may look at it (RSS) before it stops it.
			return s, fmt.Errorf("%s printed no %q line within %s%s", name, prefix, timeout, logTail(logPath))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		}
	}
}

func checkLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback address", u.Host)
	}
	return nil
}

// stop sends SIGTERM and waits for a graceful exit, then SIGKILL after 30 s.
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports an error if the process has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited (%v)%s", s.name, s.waitErr, logTail(s.logPath))
	default:
		return nil
	}
}

// rss is the resident set size of the process (VmRSS in /proc/<pid>/status), in bytes.
func (s *server) rss() (int64, error) {
	return readStatusKB(s.cmd.Process.Pid, "VmRSS")
}

// runSeed runs `beacon seed` on dir and returns how long it took.
func runSeed(ctx context.Context, beacon, dir, site string, articles, bodyBytes int, logPath string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, beacon, "seed", "--data-dir", dir, "--site", site,
		"--articles", strconv.Itoa(articles), "--body-bytes", strconv.Itoa(bodyBytes), "--seed", "1",
		"--log-level", "warn")
	cmd.Env = childEnv()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("beacon seed --articles %d: %w%s", articles, err, logTail(logPath))
	}
	return time.Since(start), nil
}

// logTail is the last lines of a log file, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "\n--- " + path + " ---\n" + strings.Join(lines, "\n")
}
