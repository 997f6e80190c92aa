// Package deploy_test checks the deployment files parse and set what deploy/README.md promises.
// There is no Docker engine or cluster in the test environment: these are YAML checks of the key
// fields, not a run.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// pinnedImage matches an image with a version tag of at least major.minor (or a digest), not a
// floating tag such as "mongo:7" or "latest".
var pinnedImage = regexp.MustCompile(`^[a-z0-9./-]+(:[0-9]+\.[0-9]+(\.[0-9]+)?[a-z0-9.-]*|@sha256:[0-9a-f]{64})$`)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck *struct {
			Test    []string `yaml:"test"`
			Disable bool     `yaml:"disable"`
		} `yaml:"healthcheck"`
		Profiles  []string `yaml:"profiles"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		MemLimit string `yaml:"mem_limit"`
	} `yaml:"services"`
}

func TestCompose(t *testing.T) {
	raw, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// `docker compose down` interpolates the whole file: a required variable (${VAR:?...} or
	// ${VAR?...}) would make it fail without the secret set.
	if m := regexp.MustCompile(`\$\{[A-Z_]+:?\?`).Find(raw); m != nil {
		t.Errorf("compose.yaml requires a variable (%s): docker compose down fails without it; use ${VAR:-}", m)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Services) < 3 {
		t.Fatalf("services %v", f.Services)
	}
	for name, s := range f.Services {
		if s.Healthcheck == nil || (len(s.Healthcheck.Test) == 0 && !s.Healthcheck.Disable) {
			t.Errorf("service %s has no health check", name)
		}
		if s.Healthcheck != nil && s.Healthcheck.Disable && !slices.Contains(s.Profiles, "bootstrap") {
			t.Errorf("service %s disables its health check but is no one-off job", name)
		}
		if s.Image != "beacon:dev" && !pinnedImage.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
	}
	beacon := func(name string) {
		s := f.Services[name]
		var hc []string
		if s.Healthcheck != nil {
			hc = s.Healthcheck.Test
		}
		if len(hc) < 4 || hc[0] != "CMD" || hc[1] != "/beacon" || hc[2] != "probe" {
			t.Errorf("%s: health check %v; want [CMD /beacon probe URL] (the image has no shell)", name, hc)
		}
		if d, err := time.ParseDuration(s.Environment["BEACON_SHUTDOWN_DELAY"]); err != nil || d <= 0 {
			t.Errorf("%s: BEACON_SHUTDOWN_DELAY %q", name, s.Environment["BEACON_SHUTDOWN_DELAY"])
		}
		if s.MemLimit == "" {
			t.Errorf("%s: no mem_limit, so no memory limit to follow", name)
		}
	}
	beacon("content")
	beacon("gateway")
	if got := f.Services["gateway"].DependsOn["content"].Condition; got != "service_healthy" {
		t.Errorf("gateway waits for content %q, want service_healthy", got)
	}
	checkGatewayAddrs(t, "compose gateway", targetOf(f.Services["content"].Command), f.Services["gateway"].Environment)
}

// targetOf returns the services of a --target=... argument.
func targetOf(args []string) []string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--target="); ok {
			return strings.Split(v, ",")
		}
	}
	return nil
}

// checkGatewayAddrs: a gateway running without the services needs every one's address.
func checkGatewayAddrs(t *testing.T, what string, services []string, env map[string]string) {
	t.Helper()
	want := []string{"sites", "access", "content", "resources", "screening"}
	slices.Sort(services)
	slices.Sort(want)
	if !slices.Equal(services, want) {
		t.Errorf("%s: the services target runs %v, want every service %v", what, services, want)
	}
	for _, s := range want {
		if env["BEACON_"+strings.ToUpper(s)+"_ADDR"] == "" {
			t.Errorf("%s: no BEACON_%s_ADDR", what, strings.ToUpper(s))
		}
	}
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	Containers                    []struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		ReadinessProbe map[string]any `yaml:"readinessProbe"`
		LivenessProbe  map[string]any `yaml:"livenessProbe"`
		StartupProbe   map[string]any `yaml:"startupProbe"`
		Lifecycle      map[string]any `yaml:"lifecycle"`
		Resources      struct {
			Limits map[string]string `yaml:"limits"`
		} `yaml:"resources"`
	} `yaml:"containers"`
}

func readObjects(t *testing.T, pattern string) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files %s: %v", pattern, err)
	}
	var out []k8sObject
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if o.Kind != "" {
				out = append(out, o)
			}
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	objects := readObjects(t, "k8s/base/*.yaml")
	pods := map[string]podSpec{}
	var policies []k8sObject
	for _, o := range objects {
		switch o.Kind {
		case "Deployment":
			var spec struct {
				Template struct {
					Spec podSpec `yaml:"spec"`
				} `yaml:"template"`
			}
			if err := o.Spec.Decode(&spec); err != nil {
				t.Fatal(err)
			}
			pods[o.Metadata.Name] = spec.Template.Spec
		case "NetworkPolicy":
			policies = append(policies, o)
		}
	}
	if len(pods) != 2 {
		t.Fatalf("deployments %v, want beacon-content and beacon-gateway", pods)
	}
	envOf := func(name string) map[string]string {
		env := map[string]string{}
		for _, e := range pods[name].Containers[0].Env {
			env[e.Name] = e.Value
		}
		return env
	}
	for name, pod := range pods {
		c := pod.Containers[0]
		env := envOf(name)
		delay, err := time.ParseDuration(env["BEACON_SHUTDOWN_DELAY"])
		if err != nil || delay <= 0 {
			t.Errorf("%s: BEACON_SHUTDOWN_DELAY %q", name, env["BEACON_SHUTDOWN_DELAY"])
		}
		// The delay must cover readiness turning unready, and delay plus the drain (10 s) must
		// fit the grace period.
		period, _ := c.ReadinessProbe["periodSeconds"].(int)
		failures, _ := c.ReadinessProbe["failureThreshold"].(int)
		if delay < time.Duration(period*failures)*time.Second {
			t.Errorf("%s: shutdown delay %v shorter than readiness takes to fail (%d x %d s)", name, delay, period, failures)
		}
		if delay+10*time.Second > time.Duration(pod.TerminationGracePeriodSeconds)*time.Second {
			t.Errorf("%s: shutdown delay %v + 10 s drain over terminationGracePeriodSeconds %d", name, delay, pod.TerminationGracePeriodSeconds)
		}
		if c.Lifecycle != nil {
			t.Errorf("%s: a preStop hook beside BEACON_SHUTDOWN_DELAY delays shutdown twice", name)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
			t.Errorf("%s: probes missing", name)
		}
		if c.Resources.Limits["memory"] == "" {
			t.Errorf("%s: no memory limit for Beacon to follow", name)
		}
	}
	// Liveness never follows the store; readiness of the services does (deploy/README.md).
	content := pods["beacon-content"].Containers[0]
	if grpc, _ := content.LivenessProbe["grpc"].(map[string]any); grpc == nil || grpc["service"] != "" {
		t.Errorf("content liveness %v, want grpc service \"\" (the server as a whole)", content.LivenessProbe)
	}
	if grpc, _ := content.ReadinessProbe["grpc"].(map[string]any); grpc == nil || grpc["service"] != "beacon.content.v1.ArticleService" {
		t.Errorf("content readiness %v, want a service name", content.ReadinessProbe)
	}
	checkGatewayAddrs(t, "kubernetes gateway", targetOf(content.Args), envOf("beacon-gateway"))

	// The gRPC port is reachable from this namespace's pods only.
	var grpcPolicy bool
	for _, p := range policies {
		var spec struct {
			PodSelector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"podSelector"`
			PolicyTypes []string `yaml:"policyTypes"`
			Ingress     []struct {
				From  []map[string]any `yaml:"from"`
				Ports []struct {
					Port int `yaml:"port"`
				} `yaml:"ports"`
			} `yaml:"ingress"`
		}
		if err := p.Spec.Decode(&spec); err != nil {
			t.Fatal(err)
		}
		if spec.PodSelector.MatchLabels["app.kubernetes.io/component"] != "content" {
			continue
		}
		grpcPolicy = slices.Contains(spec.PolicyTypes, "Ingress")
		for _, rule := range spec.Ingress {
			if len(rule.From) == 0 {
				t.Errorf("%s: an ingress rule from anywhere", p.Metadata.Name)
			}
			for _, from := range rule.From {
				if _, ok := from["podSelector"]; !ok || len(from) != 1 {
					t.Errorf("%s: ingress from %v, want pods of the namespace only", p.Metadata.Name, from)
				}
			}
			for _, port := range rule.Ports {
				if port.Port != 9090 {
					t.Errorf("%s: opens port %d", p.Metadata.Name, port.Port)
				}
			}
		}
	}
	if !grpcPolicy {
		t.Error("no NetworkPolicy on the content pods' ingress")
	}

	kustomization, err := os.ReadFile("k8s/base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(kustomization, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("k8s/base/*.yaml")
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("k8s/base/%s is not in the kustomization's resources", base)
		}
	}
	for _, o := range readObjects(t, "k8s/overlays/dev/*.yaml") {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		var spec struct {
			Template struct {
				Spec podSpec `yaml:"spec"`
			} `yaml:"template"`
		}
		if err := o.Spec.Decode(&spec); err != nil {
			t.Fatal(err)
		}
		for _, c := range spec.Template.Spec.Containers {
			if !pinnedImage.MatchString(c.Image) {
				t.Errorf("%s: image %q is not pinned to a version", o.Metadata.Name, c.Image)
			}
		}
	}
}
