package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
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
