package claimlint_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/claimlint"
)

var lintNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// baseFacts are the facts of a well-reviewed article: each case changes what it tests.
func baseFacts() claimlint.Facts {
	return claimlint.Facts{
		Locale:     "en-US",
		Authors:    []claimlint.Person{{Name: "Jordan Writer", Credentials: "MPH"}},
		Reviewers:  []claimlint.Person{{Name: "Dr. Rev Iewer", Credentials: "MD, addiction psychiatry"}},
		ReviewedOn: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Citations:  []claimlint.Citation{{URL: "https://doi.org/10.1/x", DOI: "10.1/x"}},
		Now:        lintNow,
	}
}

func builtin(tb testing.TB) *claimlint.Engine {
	tb.Helper()
	e, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func lintBody(e *claimlint.Engine, body string, facts claimlint.Facts) []claimlint.Finding {
	return e.Lint(claimlint.Input{Context: claimlint.ContextArticle, Fields: []claimlint.Field{{Name: "body", Markdown: body}}, Facts: facts})
}

func ofRule(fs []claimlint.Finding, id string) []claimlint.Finding {
	var out []claimlint.Finding
	for _, f := range fs {
		if f.RuleID == id {
			out = append(out, f)
		}
	}
	return out
}

type corpusCase struct {
	rule  string
	text  string
	facts func(*claimlint.Facts) // nil: baseFacts
	// match is the matched text a true positive must report (metadata findings: their Match);
	// empty for a near miss, which must produce no finding of the rule.
	match    string
	positive bool
	severity claimlint.Severity // 0: the rule's own
}

func tp(rule, text, match string) corpusCase {
	return corpusCase{rule: rule, text: text, match: match, positive: true}
}
func nm(rule, text string) corpusCase { return corpusCase{rule: rule, text: text} }

func (c corpusCase) with(f func(*claimlint.Facts)) corpusCase { c.facts = f; return c }
func (c corpusCase) sev(s claimlint.Severity) corpusCase      { c.severity = s; return c }
func withReviewers(ps ...claimlint.Person) func(*claimlint.Facts) {
	return func(f *claimlint.Facts) { f.Reviewers = ps }
}

const healthText = "Withdrawal treatment needs a plan."

// corpus has at least one true positive and one near miss per rule (TestCorpusCoversEveryRule).
var corpus = []corpusCase{
	tp("diagnosis-by-self-check", "If you would like to stop using kratom but don't because you don't want withdrawals, then you have a Kratom addiction.", "then you have a Kratom addiction"),
	tp("diagnosis-by-self-check", "Your score shows that you have a kratom use disorder.", "Your score shows that you have a kratom use disorder"),
	nm("diagnosis-by-self-check", "Your score does not show whether you have a use disorder. Only a clinician can tell."),
	nm("diagnosis-by-self-check", "Dependence alone does not mean you have an addiction."),
	nm("diagnosis-by-self-check", "Neither one alone means you have an addiction."),

	tp("self-check-not-a-diagnosis", "Take our self-check to learn more about your use.", "self-check"),
	nm("self-check-not-a-diagnosis", "Take our self-check.\n\n**A self-check is not a diagnosis.**"),

	tp("dependence-equals-addiction", "Kratom Addiction = Kratom Tolerance + Compulsive Behavior", "Addiction = Kratom Tolerance"),
	tp("dependence-equals-addiction", "If someone can't quit because they can't suffer the withdrawal symptoms, they are an addict.", "because they can't suffer the withdrawal symptoms, they are an addict"),
	nm("dependence-equals-addiction", "Addiction is different from tolerance and withdrawal."),
	nm("dependence-equals-addiction", "Tolerance and withdrawal are on the list, but addiction is about control."),

	tp("stigmatising-term", "Nobody wants to admit they are an addict.", "addict"),
	tp("stigmatising-term", "Years of drug abuse took a toll.", "drug abuse"),
	nm("stigmatising-term", "Call the Substance Abuse and Mental Health Services Administration, or read the National Institute on Drug Abuse pages."),
	nm("stigmatising-term", `Words like "addict" or “junkie” can hurt.`),
	nm("stigmatising-term", "> They called me an addict.\n\nThat hurt."),
	nm("stigmatising-term", "| Instead of saying... | Try saying... |\n|---|---|\n| \"You're an addict.\" | \"I'm worried about you.\" |\n| You junkie | I care about you |"),

	tp("stigmatising-clean-dirty", "She has been clean for a year.", "clean"),
	tp("stigmatising-clean-dirty", "It's a dirty word, they say.", "dirty"),
	nm("stigmatising-clean-dirty", "Keep clean water and simple foods close by."),

	tp("stigma-soft-term", "After a relapse, reach out to your clinician.", "relapse"),
	nm("stigma-soft-term", "Withdrawal management programs, sometimes called detox, give care during the hardest days."),

	tp("crisis-block-required", "Withdrawal can be hard. Talk to a clinician.", "Withdrawal"),
	nm("crisis-block-required", "Read [more](/v1/sites/site-a/articles/withdrawal \"on withdrawal\").\n\nSee [the page][w].\n\n[w]: https://example.org/withdrawal"),
	nm("crisis-block-required", "Withdrawal can be hard.\n\nCall or text 988 if you are in crisis.\n\nCall 911 if someone has a seizure or trouble breathing."),
	nm("crisis-block-required", "Withdrawal can be hard.\n\nCall or text 988 if you are in crisis. Call 911 if:\n\n- someone has a seizure\n- someone cannot wake up"),

	tp("phone-number-allowlist", "Call the Lifeline at 1-800-273-8255.", "1-800-273-8255"),
	tp("phone-number-allowlist", "Call our helpline at (866) 555-0199 for licensed counselors.", "(866) 555-0199"),
	tp("phone-number-allowlist", "Text HOPE to 55555 any time.", "55555"),
	nm("phone-number-allowlist", "Call SAMHSA's National Helpline at 1-800-662-HELP, or call or text 988. In 2024 the line took many calls. Text HOME to 741741."),

	tp("medication-prescriber-review", "Buprenorphine treats kratom use disorder off-label.", "Buprenorphine").
		with(withReviewers(claimlint.Person{Name: "Dr. P", Credentials: "PhD, clinical psychologist"})),
	tp("medication-prescriber-review", "Some people take 50 mg a day.", "50 mg").
		with(withReviewers(claimlint.Person{Name: "Sam", Credentials: "LCSW"})),
	nm("medication-prescriber-review", "Buprenorphine treats kratom use disorder off-label."),

	tp("medication-off-label", "Clinicians may prescribe buprenorphine for kratom use disorder.", "buprenorphine"),
	nm("medication-off-label", "Clinicians sometimes use buprenorphine off-label for kratom use disorder."),
	nm("medication-off-label", "Buprenorphine is a medicine for opioid use disorder.\n\nKratom is a plant."),
	nm("medication-off-label", "Some clinicians use buprenorphine off-label for kratom withdrawal[^1].\n\n[^1]: A case series on buprenorphine and kratom."),

	tp("naltrexone-precipitated-withdrawal", "Naltrexone is used off-label after kratom.", "Naltrexone"),
	nm("naltrexone-precipitated-withdrawal", "Naltrexone, used off-label, can cause sudden, severe withdrawal if kratom is still in your body."),

	tp("loperamide-cardiac", "Some people take loperamide for loose stools.", "loperamide"),
	nm("loperamide-cardiac", "Large doses of loperamide can cause dangerous heart rhythms."),

	tp("absolute-safety-claim", "Kratom is a safe, natural alternative to opioids.", "safe"),
	tp("absolute-safety-claim", "This taper is guaranteed to work.", "guaranteed"),
	nm("absolute-safety-claim", "Kratom is not safe for everyone."),
	nm("absolute-safety-claim", "Keep your home safe and calm."),
	nm("absolute-safety-claim", "Naloxone is safe to give if you are unsure, even during kratom withdrawal."),

	tp("dated-legal-status", "Kratom is legal in most states.", "legal"),
	tp("dated-legal-status", "As of 2024, kratom is legal in most states[^1].", "legal").sev(claimlint.SeverityError),
	nm("dated-legal-status", "As of March 2026, kratom is legal in most states[^1]."),
	nm("dated-legal-status", "Talk to a clinician about a plan."),
	tp("dated-legal-status", "The DEA placed 7-OH in Schedule I.", "Schedule I"),
	nm("dated-legal-status", "Scheduled 1 week ago: a talk on sleep."),

	tp("number-needs-citation", "The worst symptoms ease over about a week.", "over about a week"),
	tp("number-needs-citation", "In one survey, 41% used it to cut down on opioids.", "41%"),
	tp("number-needs-citation", "Symptoms peak 2-3 days after the last dose.", "2-3 days"),
	nm("number-needs-citation", "The worst symptoms ease over about a week[^3]."),
	nm("number-needs-citation", "It is free and open 24/7, 24 hours a day."),

	tp("pregnancy-clinician", "If you are pregnant and want to stop using kratom, go slowly.", "pregnant"),
	nm("pregnancy-clinician", "If you are pregnant, do not stop suddenly on your own. Talk to a clinician first."),
	nm("pregnancy-clinician", "Pregnancy brings many changes."),
	nm("pregnancy-clinician", "Get help if you have:\n\n- a seizure after you stop\n- pregnancy with bleeding"),

	tp("pregnancy-abrupt-stop", "If you're pregnant, quit kratom immediately.", "quit kratom immediately"),
	nm("pregnancy-abrupt-stop", "If you are pregnant, do not stop suddenly. Talk to a clinician first."),
	nm("pregnancy-abrupt-stop", "- **Alcohol.** If you drink heavily, stopping that suddenly can cause seizures.\n- **Pregnancy.** Talk to a clinician before you stop."),

	tp("naloxone-action", "Ask a pharmacist about naloxone.", "naloxone"),
	nm("naloxone-action", "Naloxone is sold without a prescription. If someone cannot be woken, give naloxone and call 911."),
	nm("naloxone-action", "## Overdose\n\nIf someone cannot be woken, give naloxone and call 911. It is sold without a prescription.\n\n- Cannot be woken: give naloxone, then call 911[^n]\n\n[^n]: Narcan has been sold over the counter since 2023."),
	tp("naloxone-action", "## Overdose\n\n- Cannot be woken: give naloxone, then call 911\n\n## Where to get it\n\nPharmacies sell naloxone.", "naloxone"),

	tp("review-clinical-reviewer", healthText, "").with(withReviewers()),
	tp("review-clinical-reviewer", healthText, "").with(withReviewers(claimlint.Person{Name: "Pat", Credentials: "editor"})),
	nm("review-clinical-reviewer", healthText),
	nm("review-clinical-reviewer", "Find a support group near you.").with(withReviewers()),

	tp("review-independent-reviewer", healthText, "Dr.  amara okafor").with(func(f *claimlint.Facts) {
		f.Authors = []claimlint.Person{{Name: "Dr. Amara Okafor", Credentials: "MD"}}
		f.Reviewers = []claimlint.Person{{Name: "Dr.  amara okafor", Credentials: "MD"}}
	}),
	nm("review-independent-reviewer", healthText).with(func(f *claimlint.Facts) {
		f.Authors = []claimlint.Person{{Name: "Dr. Amara Okafor", Credentials: "MD"}, {Name: "Jordan", Credentials: "MPH"}}
		f.Reviewers = []claimlint.Person{{Name: "Dr. Amara Okafor", Credentials: "MD"}}
	}),

	tp("review-current", healthText, "2025-06-01").with(func(f *claimlint.Facts) { f.ReviewedOn = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }),
	tp("review-current", healthText, "2027-01-01").with(func(f *claimlint.Facts) { f.ReviewedOn = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }),
	tp("review-current", healthText, "").with(func(f *claimlint.Facts) { f.ReviewedOn = time.Time{} }),
	nm("review-current", healthText),

	tp("review-authoritative-citation", healthText, "").with(func(f *claimlint.Facts) {
		f.Citations = []claimlint.Citation{{URL: "https://example.com/kratom"}, {URL: "https://gov.example.com"}}
	}),
	nm("review-authoritative-citation", healthText).with(func(f *claimlint.Facts) {
		f.Citations = []claimlint.Citation{{URL: "https://nida.nih.gov/research-topics/kratom"}}
	}),
	nm("review-authoritative-citation", healthText).with(func(f *claimlint.Facts) {
		f.Citations = []claimlint.Citation{{URL: "https://example.com", PMID: "24698080"}}
	}),

	tp("review-medical-reviewer", "Treatment options for kratom use.", "").with(withReviewers(claimlint.Person{Name: "Dr. P", Credentials: "PhD, clinical psychologist"})),
	nm("review-medical-reviewer", "Treatment options for kratom use.").with(withReviewers(
		claimlint.Person{Name: "Dr. P", Credentials: "PhD, clinical psychologist"}, claimlint.Person{Name: "Dr. Q", Credentials: "PharmD"})),
	nm("review-medical-reviewer", "How to talk with family.").with(withReviewers(claimlint.Person{Name: "Dr. P", Credentials: "PhD"})),

	tp("review-fictional-reviewer", healthText, "Dr. Example").with(func(f *claimlint.Facts) {
		f.PublicSite = true
		f.Reviewers = append(f.Reviewers, claimlint.Person{Name: "Dr. Example", Credentials: "MD", Fictional: true})
	}),
	nm("review-fictional-reviewer", healthText).with(func(f *claimlint.Facts) {
		f.Reviewers = []claimlint.Person{{Name: "Dr. Example", Credentials: "MD", Fictional: true}}
	}),

	tp("lint-marker", "<!-- lint-ignore stigmatising-term -->\nThey are addicts.", "<!-- lint-ignore stigmatising-term -->"),
	tp("lint-marker", "<!-- lint-ignore no-such-rule: testing -->\nHello.", "<!-- lint-ignore no-such-rule: testing -->"),
	nm("lint-marker", "<!-- lint-ignore stigmatising-term: quoting the seed to correct it -->\nThey are addicts."),
}

func TestCorpus(t *testing.T) {
	e := builtin(t)
	for _, c := range corpus {
		name := "near-miss"
		if c.positive {
			name = "positive"
		}
		t.Run(c.rule+"/"+name, func(t *testing.T) {
			facts := baseFacts()
			if c.facts != nil {
				c.facts(&facts)
			}
			fs := lintBody(e, c.text, facts)
			got := ofRule(fs, c.rule)
			if !c.positive {
				if len(got) > 0 {
					t.Fatalf("near miss %q: got %+v", c.text, got)
				}
				return
			}
			i := slices.IndexFunc(got, func(f claimlint.Finding) bool { return f.Match == c.match })
			if i < 0 {
				t.Fatalf("%q: no %s finding matching %q; got %+v", c.text, c.rule, c.match, fs)
			}
			f := got[i]
			if c.severity != 0 && f.Severity != c.severity {
				t.Errorf("severity %s, want %s", f.Severity, c.severity)
			}
			if f.Message == "" {
				t.Error("finding without a message")
			}
			if f.Line > 0 && c.text[f.Offset:f.Offset+len(f.Match)] != f.Match {
				t.Errorf("offset %d does not point at %q", f.Offset, f.Match)
			}
		})
	}
}

func TestCorpusCoversEveryRule(t *testing.T) {
	positives, misses := map[string]bool{}, map[string]bool{}
	for _, c := range corpus {
		if c.positive {
			positives[c.rule] = true
		} else {
			misses[c.rule] = true
		}
	}
	for _, id := range builtin(t).RuleIDs() {
		if !positives[id] || !misses[id] {
			t.Errorf("rule %s: corpus needs a true positive (%v) and a near miss (%v)", id, positives[id], misses[id])
		}
	}
}

// TestSeedArticle: the seed article that the demo content replaced is flagged for its known
// errors.
func TestSeedArticle(t *testing.T) {
	seed, err := os.ReadFile("testdata/seed-kratom-addiction.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := lintBody(builtin(t), string(seed), baseFacts())
	for _, want := range []struct{ rule, match string }{
		{"dependence-equals-addiction", "Addiction = Kratom Tolerance"},
		{"diagnosis-by-self-check", "then you have a Kratom addiction"},
		{"stigmatising-term", "addict"},
		{"stigmatising-clean-dirty", "dirty"},
		{"crisis-block-required", "withdrawal"},
	} {
		if !slices.ContainsFunc(fs, func(f claimlint.Finding) bool { return f.RuleID == want.rule && f.Match == want.match }) {
			t.Errorf("seed: no %s finding for %q", want.rule, want.match)
		}
	}
	if n := len(claimlint.Blocking(fs)); n < 5 {
		t.Errorf("seed: %d blocking findings, want the stigmatising terms, the diagnosis and the crisis block", n)
	}
	// The ASAM quotation in curly quotes is not the author's claim.
	for _, f := range fs {
		if strings.Contains(f.Match, "inability to consistently abstain") {
			t.Errorf("finding inside the quotation: %+v", f)
		}
	}
}
