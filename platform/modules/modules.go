// Package modules runs a process as a graph of modules, as Loki does: each module has a name,
// the modules it needs, and an init that builds it. A process runs the closure of the targets it
// is asked for; shared building blocks (a store connection, a gRPC server) are modules that
// several targets depend on and that run once.
//
// Lifecycle: [Graph.Run] initializes the modules in dependency order, then runs them all, and on
// shutdown stops them in reverse order, each only after every module that depends on it has
// stopped. A module's resources (say, a store connection) therefore outlive every module using
// them.
package modules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Module is one node of the graph.
type Module struct {
	// Name identifies the module in targets and in other modules' Deps.
	Name string
	// Deps are modules this one needs in the same process: they are pulled into every process
	// that runs this one, initialized before it and stopped after it.
	Deps []string
	// After orders this module after the named ones when they run in the same process anyway,
	// without pulling them in: initialized after them, stopped before them.
	After []string
	// Target marks a module users may ask for (listed by [Graph.Targets]); the others are
	// internal building blocks pulled in through Deps.
	Target bool
	// Init builds the module once its Deps (and After modules that run) are initialized. ctx is
	// the process's context: it ends when shutdown begins. nil means the module only groups its
	// Deps (such as "all").
	Init func(ctx context.Context) (Service, error)
}

// Service is an initialized module.
type Service interface {
	// Run does the module's work until ctx ends, then releases everything Init acquired and
	// returns. It must return only when all of its goroutines have stopped. ctx ends when the
	// module's turn to stop comes, which may be already on entry (when a later module failed to
	// initialize): Run must then still release its resources. A nil error means a normal stop. A
	// Run that returns before ctx ends makes the whole process stop, with an error.
	Run(ctx context.Context) error
}

// RunFunc adapts a function to [Service].
type RunFunc func(ctx context.Context) error

// Run calls f.
func (f RunFunc) Run(ctx context.Context) error { return f(ctx) }

// Graph is a validated set of modules.
type Graph struct {
	modules []Module
	byName  map[string]int
}

// New checks that names are unique and non-empty, that every dependency names a module, and that
// the graph has no cycle (through Deps and After together).
func New(modules ...Module) (*Graph, error) {
	g := &Graph{modules: modules, byName: make(map[string]int, len(modules))}
	for i, m := range modules {
		if m.Name == "" || strings.ContainsAny(m.Name, ", ") {
			return nil, fmt.Errorf("modules: module %d: name %q must be non-empty, without commas or spaces", i, m.Name)
		}
		if _, dup := g.byName[m.Name]; dup {
			return nil, fmt.Errorf("modules: module %q is declared twice", m.Name)
		}
		g.byName[m.Name] = i
	}
	for _, m := range modules {
		for _, d := range slices.Concat(m.Deps, m.After) {
			if _, ok := g.byName[d]; !ok {
				return nil, fmt.Errorf("modules: module %q depends on %q, which is not a module", m.Name, d)
			}
		}
	}
	all := make([]string, len(modules))
	for i, m := range modules {
		all[i] = m.Name
	}
	if _, err := g.order(all); err != nil {
		return nil, err
	}
	return g, nil
}

// Modules returns the modules in declaration order.
func (g *Graph) Modules() []Module { return slices.Clone(g.modules) }

// Targets returns the names of the modules marked Target, in declaration order.
func (g *Graph) Targets() []string {
	var out []string
	for _, m := range g.modules {
		if m.Target {
			out = append(out, m.Name)
		}
	}
	return out
}

// CheckTargets reports an error naming the first of names that is not a Target module.
func (g *Graph) CheckTargets(names ...string) error {
	if len(names) == 0 {
		return errors.New("no target")
	}
	for _, t := range names {
		if i, ok := g.byName[t]; !ok || !g.modules[i].Target {
			return fmt.Errorf("unknown target %q: want one of %s", t, strings.Join(g.Targets(), ", "))
		}
	}
	return nil
}

// Closure returns the modules a process running names runs, in initialization order: every named
// module, everything reachable through Deps, with each module after its Deps and after those of
// its After modules that are in the set. Ties keep declaration order. Any module may be named
// (check user input with [Graph.CheckTargets]); unknown names are an error.
func (g *Graph) Closure(names ...string) ([]string, error) {
	if len(names) == 0 {
		return nil, errors.New("modules: no module to run")
	}
	in := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if in[name] {
			return
		}
		in[name] = true
		for _, d := range g.modules[g.byName[name]].Deps {
			visit(d)
		}
	}
	for _, n := range names {
		if _, ok := g.byName[n]; !ok {
			return nil, fmt.Errorf("modules: unknown module %q", n)
		}
		visit(n)
	}
	var set []string
	for _, m := range g.modules {
		if in[m.Name] {
			set = append(set, m.Name)
		}
	}
	return g.order(set)
}

// order sorts names topologically (Deps and After edges within names), ties in declaration order.
func (g *Graph) order(names []string) ([]string, error) {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	done := map[string]bool{}
	out := make([]string, 0, len(names))
	for len(out) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] {
				continue
			}
			m := g.modules[g.byName[n]]
			ready := true
			for _, d := range slices.Concat(m.Deps, m.After) {
				if in[d] && !done[d] {
					ready = false
					break
				}
			}
			if ready {
				done[n] = true
				out = append(out, n)
				progressed = true
				break // restart, so ties keep declaration order
			}
		}
		if !progressed {
			var stuck []string
			for _, n := range names {
				if !done[n] {
					stuck = append(stuck, n)
				}
			}
			return nil, fmt.Errorf("modules: dependency cycle among %s", strings.Join(stuck, ", "))
		}
	}
	return out, nil
}

// Run runs the closure of names until ctx ends or a module's Run returns, whichever comes first,
// then stops every module in reverse initialization order, each after all modules that depend on
// it have stopped. started, if not nil, is called once every module is initialized and running.
//
// If an Init fails, the modules already initialized are stopped (their Run called with an ended
// context, in reverse order) and Run returns that error. Otherwise Run returns the errors of the
// modules whose Run failed, joined, or nil after a normal stop.
func (g *Graph) Run(ctx context.Context, names []string, started func()) error {
	order, err := g.Closure(names...)
	if err != nil {
		return err
	}
	services := make([]Service, 0, len(order))
	for _, name := range order {
		m := g.modules[g.byName[name]]
		var svc Service = RunFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
		if m.Init != nil {
			s, err := m.Init(ctx)
			if err == nil && s == nil {
				err = errors.New("Init returned no service")
			}
			if err != nil {
				ended, cancel := context.WithCancel(context.WithoutCancel(ctx))
				cancel()
				errs := []error{fmt.Errorf("%s: %w", name, err)}
				for i := len(services) - 1; i >= 0; i-- {
					if err := services[i].Run(ended); err != nil {
						errs = append(errs, fmt.Errorf("stopping %s: %w", order[i], err))
					}
				}
				return errors.Join(errs...)
			}
			svc = s
		}
		services = append(services, svc)
	}

	type running struct {
		ctx  context.Context
		stop context.CancelFunc
		done chan struct{}
		err  error
	}
	runs := make([]*running, len(services))
	returned := make(chan struct{}, len(services)) // a Run returned (maybe before shutdown)
	for i, svc := range services {
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		r := &running{ctx: runCtx, stop: stop, done: make(chan struct{})}
		runs[i] = r
		go func() {
			defer close(r.done)
			r.err = svc.Run(runCtx)
			if r.err == nil && r.ctx.Err() == nil {
				r.err = errors.New("stopped before shutdown")
			}
			returned <- struct{}{}
		}()
	}
	if started != nil {
		started()
	}
	select {
	case <-ctx.Done():
	case <-returned:
	}
	var errs []error
	for i := len(runs) - 1; i >= 0; i-- {
		runs[i].stop()
		<-runs[i].done
		if runs[i].err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", order[i], runs[i].err))
		}
	}
	return errors.Join(errs...)
}
