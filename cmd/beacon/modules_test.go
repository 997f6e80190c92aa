package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/services/access"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/resources"
	"github.com/beaconcms/beacon/services/screening"
	"github.com/beaconcms/beacon/services/sites"
)

// TestArchitectureDocShowsTheModuleGraph keeps docs/architecture.md's copy of `beacon targets`
// in step with the graph.
func TestArchitectureDocShowsTheModuleGraph(t *testing.T) {
	g, err := newGraph(&app{cfg: defaultConfig(false)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printTargets(&out, g)
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```\n"+out.String()+"```\n") {
		t.Fatalf("docs/architecture.md does not show the current module graph; paste the output of 'beacon targets':\n%s", &out)
	}
}

// TestEveryServiceIsATargetOfAll: a service entry is reachable as its own target and from all.
func TestEveryServiceIsATargetOfAll(t *testing.T) {
	g, err := newGraph(&app{cfg: defaultConfig(false)})
	if err != nil {
		t.Fatal(err)
	}
	closure, err := g.Closure(moduleAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range serviceNames() {
		if err := g.CheckTargets(name); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		found := false
		for _, m := range closure {
			found = found || m == name
		}
		if !found {
			t.Errorf("all does not run %s", name)
		}
	}
}

// TestEveryCreateIsIdempotent: each service's create methods (every Create* rpc of its gRPC
// services but CreateSession, a sign-in) are configured for platform/idempotency, and each
// takes a string request_id; the database of every service with creates is its own.
func TestEveryCreateIsIdempotent(t *testing.T) {
	cfg := defaultConfig(false)
	databases := map[string]bool{}
	for _, s := range serviceModules {
		var configured map[string]idempotency.Method
		if s.creates != nil {
			configured = s.creates()
			db := s.database(cfg)
			if db == "" || databases[db] {
				t.Errorf("%s: its records' database %q is empty or another service's", s.name, db)
			}
			databases[db] = true
		}
		var want []string
		for _, svc := range serviceNamesOf(t, s.name) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
			if err != nil {
				t.Fatalf("%s: %v", svc, err)
			}
			methods := d.(protoreflect.ServiceDescriptor).Methods()
			for i := range methods.Len() {
				m := methods.Get(i)
				if !strings.HasPrefix(string(m.Name()), "Create") || m.Name() == "CreateSession" {
					continue
				}
				full := "/" + svc + "/" + string(m.Name())
				want = append(want, full)
				if _, ok := configured[full]; !ok {
					t.Errorf("%s is not idempotent (add it to the service's IdempotentCreates)", full)
				}
				if f := m.Input().Fields().ByName(idempotency.Field); f == nil || f.Kind() != protoreflect.StringKind {
					t.Errorf("%s: %s has no string %s", full, m.Input().FullName(), idempotency.Field)
				}
			}
		}
		if len(configured) != len(want) {
			t.Errorf("%s: %d idempotent creates configured, %d Create methods (%v)", s.name, len(configured), len(want), want)
		}
	}
}

// serviceNamesOf are the gRPC service names the service module registers.
func serviceNamesOf(t *testing.T, module string) []string {
	t.Helper()
	switch module {
	case "sites":
		return sites.ServiceNames()
	case "access":
		return access.ServiceNames()
	case "content":
		return content.ServiceNames()
	case "resources":
		return resources.ServiceNames()
	case "screening":
		return screening.ServiceNames()
	}
	t.Fatalf("unknown service module %s", module)
	return nil
}
