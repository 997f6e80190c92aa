package api_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// preconditions returns err's google.rpc.PreconditionFailure violations as "TYPE subject".
func preconditions(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				out = append(out, v.GetType()+" "+v.GetSubject())
			}
		}
	}
	return out
}

// finding is the part of a finding these tests compare: where it is and what it matched.
func finding(rule string, sev resourcesv1.LintFinding_Severity, field, text, match string) *resourcesv1.LintFinding {
	off := strings.Index(text, match)
	return &resourcesv1.LintFinding{RuleId: rule, Severity: sev, Field: field, Line: 1, Column: int32(off + 1), Offset: int32(off), Match: match}
}

var ignoreFindingText = protocmp.IgnoreFields(&resourcesv1.LintFinding{}, "message", "suggestion")

// TestLintOverTheWire: resources and directories carry their lint findings on every write and
// read (warnings and info pass), an error refuses the write with a PreconditionFailure naming the
// field, and a site's lint tuning (its lint_tuning setting, here in the catalog) applies to the
// texts on that site.
func TestLintOverTheWire(t *testing.T) {
	e := newEnv(t, nil, catalog{
		"site-a":   {ID: "site-a"},
		"site-b":   {ID: "site-b"},
		"strict":   {ID: "strict", LintTuning: claimlint.SiteTuning{Severity: map[string]string{"stigmatising-clean-dirty": "error"}}},
		"relaxed":  {ID: "relaxed", LintTuning: claimlint.SiteTuning{Disable: []string{"stigma-soft-term", "stigmatising-term"}}},
		"doubtful": {ID: "doubtful", LintTuning: claimlint.SiteTuning{Severity: map[string]string{"stigma-soft-term": "warning"}}},
	})
	ctx := as(keyAdmin)
	const text = "For people who want to stay clean, with support after detox."
	res := line("Peer line", "sites/site-a")
	res.Description = text
	r, err := e.resources.CreateResource(ctx, &resourcesv1.CreateResourceRequest{Resource: res})
	if err != nil {
		t.Fatalf("create with a warning and an info: %v", err)
	}
	want := []*resourcesv1.LintFinding{
		finding("stigmatising-clean-dirty", resourcesv1.LintFinding_SEVERITY_WARNING, "description", text, "clean"),
		finding("stigma-soft-term", resourcesv1.LintFinding_SEVERITY_INFO, "description", text, "detox"),
	}
	if diff := cmp.Diff(want, r.GetLintFindings(), protocmp.Transform(), ignoreFindingText); diff != "" {
		t.Fatalf("create: lint_findings (-want +got):\n%s", diff)
	}
	for _, f := range r.GetLintFindings() {
		if f.GetMessage() == "" {
			t.Errorf("finding without a message: %v", f)
		}
	}
	got, err := e.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: r.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.GetLintFindings(), got.GetLintFindings(), protocmp.Transform()); diff != "" {
		t.Errorf("get: lint_findings differ (-create +get):\n%s", diff)
	}
	list, err := e.resources.ListResources(ctx, &resourcesv1.ListResourcesRequest{})
	if err != nil || len(list.GetResources()) != 1 || len(list.GetResources()[0].GetLintFindings()) != 2 {
		t.Errorf("list: %v, %v; want the resource with its two findings", list, err)
	}

	// An error refuses the update, naming the field; nothing changes.
	_, err = e.resources.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{
		Resource:   &resourcesv1.Resource{Name: r.GetName(), Etag: r.GetEtag(), Eligibility: "Open to addicts and their families."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"eligibility"}},
	})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("update with an error: %v, want FAILED_PRECONDITION", err)
	}
	if diff := cmp.Diff([]string{"LINT_STIGMATISING_TERM resource.eligibility"}, preconditions(err)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	fixed, err := e.resources.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{
		Resource:   &resourcesv1.Resource{Name: r.GetName(), Etag: r.GetEtag(), Description: "For people who want to stop using."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil || len(fixed.GetLintFindings()) != 0 {
		t.Errorf("update to a clean text: findings %v, %v; want none", fixed.GetLintFindings(), err)
	}

	// The sites' tunings: an error on the strict site, off on the relaxed one; a text on several
	// sites gets the strictest treatment.
	for _, c := range []struct {
		sites      []string
		violations []string
		findings   []string // rule ids, when the write succeeds
	}{
		{[]string{"sites/strict"}, []string{"LINT_STIGMATISING_CLEAN_DIRTY resource.description"}, nil},
		{[]string{"sites/relaxed"}, nil, []string{"stigmatising-clean-dirty"}},
		{[]string{"sites/relaxed", "sites/strict"}, []string{"LINT_STIGMATISING_CLEAN_DIRTY resource.description"}, nil},
		{[]string{"sites/doubtful"}, nil, []string{"stigmatising-clean-dirty", "stigma-soft-term"}},
	} {
		res := line("Tuned line", c.sites...)
		res.Description = text
		r, err := e.resources.CreateResource(ctx, &resourcesv1.CreateResourceRequest{Resource: res})
		if c.violations != nil {
			if status.Code(err) != codes.FailedPrecondition || !cmp.Equal(c.violations, preconditions(err)) {
				t.Errorf("sites %v: %v (violations %v), want FAILED_PRECONDITION %v", c.sites, err, preconditions(err), c.violations)
			}
			continue
		}
		if err != nil {
			t.Errorf("sites %v: %v", c.sites, err)
			continue
		}
		var rules []string
		for _, f := range r.GetLintFindings() {
			rules = append(rules, f.GetRuleId())
			if f.GetRuleId() == "stigma-soft-term" && f.GetSeverity() != resourcesv1.LintFinding_SEVERITY_WARNING {
				t.Errorf("sites %v: stigma-soft-term severity %v, want the site's warning", c.sites, f.GetSeverity())
			}
		}
		if !cmp.Equal(c.findings, rules) {
			t.Errorf("sites %v: findings %v, want %v", c.sites, rules, c.findings)
		}
	}
	relaxed := line("Relaxed words", "sites/relaxed")
	relaxed.Description = "A meeting for addicts."
	if _, err := e.resources.CreateResource(ctx, &resourcesv1.CreateResourceRequest{Resource: relaxed}); err != nil {
		t.Errorf("a rule the site disabled still refused the write: %v", err)
	}

	// Directories: title and intro.
	dir := func(site, intro string) *resourcesv1.Directory {
		return &resourcesv1.Directory{Title: "Help lines", Intro: intro, Site: site,
			Rule: &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_CRISIS_LINE}}}
	}
	_, err = e.directories.CreateDirectory(ctx, &resourcesv1.CreateDirectoryRequest{Directory: dir("sites/site-a", "Lines for addicts.")})
	if status.Code(err) != codes.FailedPrecondition || !cmp.Equal([]string{"LINT_STIGMATISING_TERM directory.intro"}, preconditions(err)) {
		t.Errorf("directory with an error: %v (violations %v)", err, preconditions(err))
	}
	d, err := e.directories.CreateDirectory(ctx, &resourcesv1.CreateDirectoryRequest{Directory: dir("sites/site-a", text)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*resourcesv1.LintFinding{
		finding("stigmatising-clean-dirty", resourcesv1.LintFinding_SEVERITY_WARNING, "intro", text, "clean"),
		finding("stigma-soft-term", resourcesv1.LintFinding_SEVERITY_INFO, "intro", text, "detox"),
	}, d.GetLintFindings(), protocmp.Transform(), ignoreFindingText); diff != "" {
		t.Errorf("directory: lint_findings (-want +got):\n%s", diff)
	}
	gotDir, err := e.directories.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: d.GetName()})
	if err != nil || len(gotDir.GetLintFindings()) != 2 {
		t.Errorf("get directory: findings %v, %v", gotDir.GetLintFindings(), err)
	}
	_, err = e.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{
		Directory:  &resourcesv1.Directory{Name: d.GetName(), Etag: d.GetEtag(), Title: "Lines for junkies"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	if status.Code(err) != codes.FailedPrecondition || !cmp.Equal([]string{"LINT_STIGMATISING_TERM directory.title"}, preconditions(err)) {
		t.Errorf("directory title with an error: %v (violations %v)", err, preconditions(err))
	}
	if _, err := e.directories.CreateDirectory(ctx, &resourcesv1.CreateDirectoryRequest{Directory: dir("sites/strict", text)}); !cmp.Equal([]string{"LINT_STIGMATISING_CLEAN_DIRTY directory.intro"}, preconditions(err)) {
		t.Errorf("directory on the strict site: %v (violations %v)", err, preconditions(err))
	}
}
