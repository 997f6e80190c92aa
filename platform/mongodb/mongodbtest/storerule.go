package mongodbtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// The store rule in tests: every command a test database receives through the shared client is
// checked with [mongodb.CheckStoreRule], unless its context was marked with [mongodb.WithScan]
// (startup, migrations, admin tools, and test code inspecting the store). A command that breaks
// the rule fails the test that owns the database, naming the command and the code that sent it.

// maxReported bounds how many violations one test reports (the total is always given).
const maxReported = 5

// Option configures [NewDatabase].
type Option func(*databaseOptions)

type databaseOptions struct {
	scansAllowed string
}

// AllowScans exempts the database from the store rule. reason says why (it must name the work
// that is still to be done, or why the code under test is an exception); it is for code that
// predates the rule and for tests of the checker itself.
func AllowScans(reason string) Option {
	return func(o *databaseOptions) { o.scansAllowed = reason }
}

// ruleMonitor collects store-rule violations per test database.
type ruleMonitor struct {
	guardsSent bool // the server is MongoDB (see mongodb.Replacer)

	mu  sync.Mutex
	dbs map[string]*watchedDatabase // by database name
}

type watchedDatabase struct {
	violations []string
}

func newRuleMonitor(guardsSent bool) *ruleMonitor {
	return &ruleMonitor{guardsSent: guardsSent, dbs: map[string]*watchedDatabase{}}
}

// commandMonitor returns the driver hook; it runs in the goroutine that sends the command.
func (m *ruleMonitor) commandMonitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: m.started}
}

func (m *ruleMonitor) started(ctx context.Context, e *event.CommandStartedEvent) {
	m.mu.Lock()
	db := m.dbs[e.DatabaseName]
	m.mu.Unlock()
	if db == nil {
		return // not a database under watch
	}
	if _, ok := mongodb.ScanReason(ctx); ok {
		return
	}
	why := mongodb.CheckStoreRule(e.CommandName, e.Command, m.guardsSent)
	if why == "" {
		return
	}
	v := fmt.Sprintf("%s (sent from %s)", why, caller())
	m.mu.Lock()
	db.violations = append(db.violations, v)
	m.mu.Unlock()
}

// watch starts collecting violations of database name; the returned function stops and returns them.
func (m *ruleMonitor) watch(name string) (stop func() []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	db := &watchedDatabase{}
	m.dbs[name] = db
	return func() []string {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.dbs, name)
		return db.violations
	}
}

// enforce fails tb, when it ends, for every store-rule violation on database name.
func (m *ruleMonitor) enforce(tb testing.TB, name string) {
	stop := m.watch(name)
	tb.Cleanup(func() {
		violations := stop()
		if len(violations) == 0 {
			return
		}
		shown := violations[:min(len(violations), maxReported)]
		tb.Errorf("store rule broken %d times on %s (hot paths touch the store only by _id; see docs/architecture.md, \"Store rules\"):\n  %s",
			len(violations), name, strings.Join(shown, "\n  "))
	})
}

// caller returns file:line of the first Beacon frame outside platform/mongodb (and this package):
// the code that sent the command.
func caller() string {
	const module = "github.com/beaconcms/beacon/"
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, module) &&
			!strings.HasPrefix(f.Function, module+"platform/mongodb.") &&
			!strings.HasPrefix(f.Function, module+"platform/mongodb/mongodbtest.") {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}
