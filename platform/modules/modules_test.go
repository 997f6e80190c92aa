package modules_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/modules"
)

// journal records lifecycle events in order.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// recorded is a module that records its init, start and stop.
func recorded(j *journal, name string, target bool, deps ...string) modules.Module {
	return modules.Module{Name: name, Deps: deps, Target: target, Init: func(context.Context) (modules.Service, error) {
		j.add("init " + name)
		return modules.RunFunc(func(ctx context.Context) error {
			j.add("run " + name)
			<-ctx.Done()
			j.add("stop " + name)
			return nil
		}), nil
	}}
}

func TestClosure(t *testing.T) {
	g, err := modules.New(
		modules.Module{Name: "store"},
		modules.Module{Name: "server", Deps: []string{"store"}},
		modules.Module{Name: "gateway", Deps: []string{"store"}, After: []string{"content", "access"}, Target: true},
		modules.Module{Name: "access", Deps: []string{"server"}, Target: true},
		modules.Module{Name: "content", Deps: []string{"server"}, Target: true},
		modules.Module{Name: "all", Deps: []string{"content", "access", "gateway"}, Target: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		targets []string
		want    []string
		wantErr string
	}{
		{targets: []string{"all"}, want: []string{"store", "server", "access", "content", "gateway", "all"}},
		{targets: []string{"content"}, want: []string{"store", "server", "content"}},
		{targets: []string{"gateway"}, want: []string{"store", "gateway"}},
		{targets: []string{"gateway", "content"}, want: []string{"store", "server", "content", "gateway"}},
		{targets: []string{"content", "content"}, want: []string{"store", "server", "content"}},
		{targets: []string{"server"}, want: []string{"store", "server"}},
		{targets: []string{"everything"}, wantErr: `unknown module "everything"`},
		{targets: nil, wantErr: "no module"},
	} {
		got, err := g.Closure(tc.targets...)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Closure(%v) = %v, %v; want error containing %q", tc.targets, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Closure(%v): %v", tc.targets, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Closure(%v) (-want +got):\n%s", tc.targets, diff)
		}
	}
	if diff := cmp.Diff([]string{"gateway", "access", "content", "all"}, g.Targets()); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		names   []string
		wantErr string
	}{
		{names: []string{"all", "gateway"}},
		{names: []string{"server"}, wantErr: `unknown target "server": want one of gateway, access, content, all`},
		{names: []string{"content", "nope"}, wantErr: `unknown target "nope"`},
		{names: nil, wantErr: "no target"},
	} {
		err := g.CheckTargets(tc.names...)
		if (tc.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("CheckTargets(%v) = %v, want error %q", tc.names, err, tc.wantErr)
		}
	}
}

func TestNewRefusesABadGraph(t *testing.T) {
	for _, tc := range []struct {
		name    string
		modules []modules.Module
		wantErr string
	}{
		{"unknown dependency", []modules.Module{{Name: "a", Deps: []string{"b"}}}, `"a" depends on "b", which is not a module`},
		{"unknown after", []modules.Module{{Name: "a", After: []string{"b"}}}, `"a" depends on "b"`},
		{"duplicate", []modules.Module{{Name: "a"}, {Name: "a"}}, `"a" is declared twice`},
		{"empty name", []modules.Module{{Name: ""}}, "must be non-empty"},
		{"comma in name", []modules.Module{{Name: "a,b"}}, "without commas"},
		{"cycle", []modules.Module{{Name: "a", Deps: []string{"b"}}, {Name: "b", Deps: []string{"a"}}}, "cycle among a, b"},
		{"cycle through after", []modules.Module{{Name: "a", Deps: []string{"b"}}, {Name: "b", After: []string{"a"}}}, "cycle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := modules.New(tc.modules...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestRunStopsInReverseOrderAndWaits is the shutdown contract: a service's background loop that
// is still finishing when shutdown begins runs to its end before the store it uses closes, and
// the store closes last.
func TestRunStopsInReverseOrderAndWaits(t *testing.T) {
	j := &journal{}
	var storeClosed, usedClosedStore atomic.Bool
	store := modules.Module{Name: "store", Init: func(context.Context) (modules.Service, error) {
		j.add("init store")
		return modules.RunFunc(func(ctx context.Context) error {
			<-ctx.Done()
			storeClosed.Store(true)
			j.add("close store")
			return nil
		}), nil
	}}
	service := modules.Module{Name: "service", Deps: []string{"store"}, Target: true, Init: func(context.Context) (modules.Service, error) {
		j.add("init service")
		return modules.RunFunc(func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // a loop finishing its last tick
			if storeClosed.Load() {
				usedClosedStore.Store(true)
			}
			j.add("service loops stopped")
			return nil
		}), nil
	}}
	g, err := modules.New(store, service, recorded(j, "edge", true, "service"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, []string{"edge"}, func() { j.add("started") }) }()
	waitFor(t, j, "run edge")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if usedClosedStore.Load() {
		t.Fatal("the store closed while the service's loop still used it")
	}
	// "run edge" and "started" race (started is called once every Run is launched).
	var got []string
	for _, e := range j.list() {
		if e != "run edge" {
			got = append(got, e)
		}
	}
	want := []string{"init store", "init service", "init edge", "started", "stop edge", "service loops stopped", "close store"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestRunReleasesInitializedModulesWhenAnInitFails(t *testing.T) {
	j := &journal{}
	broken := modules.Module{Name: "broken", Deps: []string{"b"}, Target: true, Init: func(context.Context) (modules.Service, error) {
		return nil, errors.New("no port")
	}}
	g, err := modules.New(recorded(j, "a", false), recorded(j, "b", false, "a"), broken, recorded(j, "c", true, "broken"))
	if err != nil {
		t.Fatal(err)
	}
	err = g.Run(context.Background(), []string{"c"}, func() { t.Error("started called although an init failed") })
	if err == nil || !strings.Contains(err.Error(), "broken: no port") {
		t.Fatalf("Run = %v, want the init error naming the module", err)
	}
	want := []string{"init a", "init b", "run b", "stop b", "run a", "stop a"}
	if diff := cmp.Diff(want, j.list()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestAModuleThatStopsStopsTheProcess(t *testing.T) {
	j := &journal{}
	failing := modules.Module{Name: "server", Deps: []string{"store"}, Target: true, Init: func(context.Context) (modules.Service, error) {
		return modules.RunFunc(func(context.Context) error { return errors.New("listener closed") }), nil
	}}
	quitting := modules.Module{Name: "quitter", Deps: []string{"store"}, Target: true, Init: func(context.Context) (modules.Service, error) {
		return modules.RunFunc(func(context.Context) error { return nil }), nil
	}}
	g, err := modules.New(recorded(j, "store", false), failing, quitting)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ target, wantErr string }{
		{"server", "server: listener closed"},
		{"quitter", "quitter: stopped before shutdown"},
	} {
		done := make(chan error, 1)
		go func() { done <- g.Run(context.Background(), []string{tc.target}, nil) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Run(%s) = %v, want error containing %q", tc.target, err, tc.wantErr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Run(%s) kept running after a module stopped", tc.target)
		}
	}
	if got := j.list(); got[len(got)-1] != "stop store" {
		t.Fatalf("store not stopped last: %v", got)
	}
}

func waitFor(tb testing.TB, j *journal, event string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range j.list() {
			if e == event {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("no %q within 5s; events: %v", event, j.list())
}
