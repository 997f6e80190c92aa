package domain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// set replaces a site's settings.
func (f *fakeSites) set(s domain.Site) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sites[s.ID] = s
}

// gated adds a site with the publish gates on.
func (f *fixture) gated(id string, example bool, months int) {
	f.sites.set(domain.Site{ID: id, DisplayName: id, BaseURL: "https://" + id + ".example.org", PublishGates: true,
		ExampleContent: example, ReviewValidityMonths: months})
}

func day(t time.Time) domain.Date {
	return domain.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}
}

// healthContent passes every publish gate on a site with the default validity at t0.
func healthContent(sites ...string) domain.Content {
	c := draft("Kratom withdrawal", sites...)
	// The crisis block the clinical-claim lint asks of a withdrawal article.
	c.Body = "## Kratom withdrawal\n\nCall 911 if someone has a seizure or trouble breathing. Call or text 988 in a crisis."
	c.Topics = []string{"withdrawal"}
	c.Authors = []domain.Person{{DisplayName: "Ann Author", Credentials: "LCSW"}}
	c.Reviewers = []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Rev", Credentials: "MD, addiction medicine"},
		Role: domain.RoleClinical, ReviewDate: day(t0.AddDate(0, -2, 0))}}
	c.Citations = []domain.Citation{{Title: "NIDA", URL: "https://nida.nih.gov/research-topics/kratom"}}
	return c
}

// unmet returns the rule and field of every unmet precondition of err, "RULE field" each.
func unmet(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Rule+" "+f.Field)
	}
	return out
}

func TestPublishGates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.gated("gated", false, 0)
	f.gated("gated-6", false, 6)
	f.gated("example", true, 0)
	clinical := func(c *domain.Content) *domain.Reviewer { return &c.Reviewers[0] }
	tests := []struct {
		name   string
		sites  []string
		change func(c *domain.Content)
		want   []string // unmet "RULE field", in order; nil: publishes
	}{
		{"all gates met", []string{"gated"}, func(*domain.Content) {}, nil},
		{"gates off on the site", []string{"site-a"}, func(c *domain.Content) { c.Reviewers, c.Citations = nil, nil }, nil},
		{"no health topic", []string{"gated"}, func(c *domain.Content) { c.Topics, c.Reviewers = []string{"family"}, nil }, nil},
		{"health topic as a tag", []string{"gated"}, func(c *domain.Content) { c.Topics, c.Tags, c.Reviewers = nil, []string{"Overdose"}, nil },
			[]string{"CLINICAL_REVIEWER article.reviewers"}},
		{"no reviewer", []string{"gated"}, func(c *domain.Content) { c.Reviewers = nil }, []string{"CLINICAL_REVIEWER article.reviewers"}},
		{"psychologist only", []string{"gated"}, func(c *domain.Content) { clinical(c).Credentials = "PhD, clinical psychologist" },
			[]string{"CLINICAL_REVIEWER article.reviewers"}},
		{"MD in an editorial role", []string{"gated"}, func(c *domain.Content) { clinical(c).Role = domain.RoleEditorial },
			[]string{"CLINICAL_REVIEWER article.reviewers"}},
		{"PharmD with dots", []string{"gated"}, func(c *domain.Content) { clinical(c).Credentials = "Pharm.D." }, nil},
		{"reviewer is the only author", []string{"gated"}, func(c *domain.Content) { c.Authors = []domain.Person{{DisplayName: " dr. rev "}} },
			[]string{"CLINICAL_REVIEWER article.reviewers"}},
		{"reviewer is one of two authors", []string{"gated"}, func(c *domain.Content) {
			c.Authors = []domain.Person{{DisplayName: "Dr. Rev"}, {DisplayName: "Ann Author"}}
		}, nil},
		{"fictional reviewer on a real site", []string{"gated"}, func(c *domain.Content) { clinical(c).Fictional = true },
			[]string{"CLINICAL_REVIEWER article.reviewers"}},
		{"fictional reviewer on an example site", []string{"example"}, func(c *domain.Content) { clinical(c).Fictional = true }, nil},
		{"review 13 months old", []string{"gated"}, func(c *domain.Content) { clinical(c).ReviewDate = day(t0.AddDate(0, -13, 0)) },
			[]string{"REVIEW_CURRENT article.reviewers"}},
		{"review 4 months old, validity 6", []string{"gated-6"}, func(c *domain.Content) { clinical(c).ReviewDate = day(t0.AddDate(0, -4, 0)) }, nil},
		{"review 7 months old, validity 6", []string{"gated-6"}, func(c *domain.Content) { clinical(c).ReviewDate = day(t0.AddDate(0, -7, 0)) },
			[]string{"REVIEW_CURRENT article.reviewers"}},
		{"review dated ahead", []string{"gated"}, func(c *domain.Content) { clinical(c).ReviewDate = day(t0.AddDate(0, 0, 2)) },
			[]string{"REVIEW_CURRENT article.reviewers"}},
		{"review undated", []string{"gated"}, func(c *domain.Content) { clinical(c).ReviewDate = domain.Date{} },
			[]string{"REVIEW_CURRENT article.reviewers"}},
		{"undated review takes the article's date", []string{"gated"}, func(c *domain.Content) {
			clinical(c).ReviewDate, c.LastReviewedDate = domain.Date{}, day(t0.AddDate(0, -1, 0))
		}, nil},
		{"no citation", []string{"gated"}, func(c *domain.Content) { c.Citations = nil }, []string{"QUALITY_CITATION article.citations"}},
		{"only a .com citation", []string{"gated"}, func(c *domain.Content) {
			c.Citations = []domain.Citation{{Title: "Blog", URL: "https://kratom-facts.com/x"}, {Title: "Gov look-alike", URL: "https://nih.gov.example.com/"}}
		}, []string{"QUALITY_CITATION article.citations"}},
		{"a PMID", []string{"gated"}, func(c *domain.Content) { c.Citations = []domain.Citation{{Title: "Paper", PMID: "38788532"}} }, nil},
		{"a DOI", []string{"gated"}, func(c *domain.Content) {
			c.Citations = []domain.Citation{{Title: "Paper", DOI: "10.1016/j.drugalcdep.2024.111329"}}
		}, nil},
		{"an .edu URL", []string{"gated"}, func(c *domain.Content) {
			c.Citations = []domain.Citation{{Title: "UIC", URL: "https://dig.pharmacy.uic.edu/faqs/"}}
		}, nil},
		{"every rule unmet", []string{"gated"}, func(c *domain.Content) { clinical(c).Credentials, c.Citations = "", nil },
			[]string{"CLINICAL_REVIEWER article.reviewers", "QUALITY_CITATION article.citations"}},
		{"stale review and no citation", []string{"gated"}, func(c *domain.Content) {
			clinical(c).ReviewDate, c.Citations = day(t0.AddDate(-2, 0, 0)), nil
		}, []string{"REVIEW_CURRENT article.reviewers", "QUALITY_CITATION article.citations"}},
		{"each gated site checked", []string{"gated", "gated-6"}, func(c *domain.Content) { clinical(c).ReviewDate = day(t0.AddDate(0, -8, 0)) },
			[]string{"REVIEW_CURRENT article.reviewers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := healthContent(tt.sites...)
			tt.change(&c)
			for _, op := range []string{"publish", "schedule"} {
				c.Title = tt.name + " " + op
				a := f.create(t, admin, c)
				var err error
				if op == "publish" {
					_, err = f.svc.PublishArticle(context.Background(), admin, a.ID, a.Etag())
				} else {
					_, err = f.svc.ScheduleArticle(context.Background(), admin, a.ID, t0.Add(time.Hour), a.Etag())
				}
				if tt.want == nil {
					wantCode(t, err, "")
					continue
				}
				wantCode(t, err, apperr.FailedPrecondition)
				if diff := cmp.Diff(tt.want, unmet(err)); diff != "" {
					t.Errorf("%s: unmet rules (-want +got):\n%s\n%v", op, diff, err)
				}
				if got := f.get(t, a.ID); got.State != domain.StateDraft || got.Published != nil {
					t.Errorf("%s: a refused article is %v, published %v", op, got.State, got.Published != nil)
				}
			}
		})
	}
}

// TestReviewDueFilterMatchesBruteForce checks review_due = true/false against a brute-force
// reading of the rule on random reviews, sites of different validity, and times.
func TestReviewDueFilterMatchesBruteForce(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	f := newFixture(t)
	validity := map[string]int{"site-a": 0, "site-b": 0, "v3": 3, "v24": 24}
	f.sites.set(domain.Site{ID: "v3", ReviewValidityMonths: 3})
	f.sites.set(domain.Site{ID: "v24", ReviewValidityMonths: 24})
	sites := []string{"site-a", "site-b", "v3", "v24"}
	randomDate := func() domain.Date {
		if r.IntN(4) == 0 {
			return domain.Date{}
		}
		return day(t0.AddDate(0, 0, -r.IntN(900)+30))
	}
	var articles []*domain.Article
	for i := range 60 {
		c := draft("Article "+strconv.Itoa(i), sites[r.IntN(len(sites))])
		if r.IntN(3) == 0 {
			c.TargetSites = append(c.TargetSites, sites[r.IntN(len(sites))])
		}
		c.LastReviewedDate = randomDate()
		for range r.IntN(3) {
			c.Reviewers = append(c.Reviewers, domain.Reviewer{Person: domain.Person{DisplayName: "R"}, Role: domain.RoleEditorial, ReviewDate: randomDate()})
		}
		articles = append(articles, f.create(t, admin, c))
	}
	// bruteForce says whether a is due at now, straight from the rule's wording.
	bruteForce := func(a *domain.Article, now time.Time) bool {
		var last time.Time
		consider := func(d domain.Date) {
			if d.IsZero() {
				return
			}
			if t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC); t.After(last) {
				last = t
			}
		}
		consider(a.Draft.LastReviewedDate)
		for _, rv := range a.Draft.Reviewers {
			if rv.ReviewDate.IsZero() {
				consider(a.Draft.LastReviewedDate)
			} else {
				consider(rv.ReviewDate)
			}
		}
		if last.IsZero() {
			return false
		}
		months := 1 << 30
		for _, s := range slices.Compact(slices.Sorted(slices.Values(a.Draft.TargetSites))) {
			m := validity[s]
			if m == 0 {
				m = 12
			}
			months = min(months, m)
		}
		return !now.Before(last.AddDate(0, months, 0))
	}
	for step := range 4 {
		now := f.clock.Now()
		for _, value := range []string{"true", "false"} {
			for _, op := range []listfilter.Op{listfilter.Eq, listfilter.Ne} {
				t.Run(fmt.Sprintf("step%d/%s%s", step, op, value), func(t *testing.T) {
					got, err := f.svc.ListArticles(context.Background(), admin, domain.ArticleQuery{
						Conditions: []listfilter.Condition{{Field: "review_due", Op: op, Value: value}},
						OrderBy:    domain.OrderCreateTime, Limit: 101})
					if err != nil {
						t.Fatal(err)
					}
					var gotIDs, wantIDs []string
					for _, a := range got {
						gotIDs = append(gotIDs, a.ID)
						if due := !a.ReviewDueTime.IsZero() && !now.Before(a.ReviewDueTime); due != bruteForce(a, now) {
							t.Errorf("%s: review_due_time %v at %v disagrees with the brute force", a.ID, a.ReviewDueTime, now)
						}
					}
					for _, a := range articles {
						if bruteForce(a, now) == ((value == "true") == (op == listfilter.Eq)) {
							wantIDs = append(wantIDs, a.ID)
						}
					}
					slices.Sort(gotIDs)
					slices.Sort(wantIDs)
					if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
						t.Errorf("review_due %s %s at %v (-brute force +list):\n%s", op, value, now, diff)
					}
				})
			}
		}
		f.clock.Advance(time.Duration(r.IntN(200)+1) * 24 * time.Hour) // reviews fall due with time alone
	}
}

// TestReviewDueForAKeyThatSeesOnlyTheLiveSnapshot checks review_due on a site key's list that
// holds a live-snapshot-only view: it is matched by the snapshot the key sees, as the index
// matches whole articles.
func TestReviewDueForAKeyThatSeesOnlyTheLiveSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	stale := draft("Stale review", "site-a")
	stale.LastReviewedDate = day(t0.AddDate(-2, 0, 0))
	a := f.publish(t, f.create(t, admin, stale))
	// The draft moves to site-b and gets a fresh review; site-a keeps the stale snapshot.
	moved := a.Draft
	moved.TargetSites, moved.LastReviewedDate = []string{"site-b"}, day(t0.AddDate(0, -1, 0))
	if _, err := f.svc.UpdateArticle(ctx, admin, a.ID, moved, []string{"target_sites", "last_reviewed_date"}, a.Etag()); err != nil {
		t.Fatal(err)
	}
	current := f.create(t, admin, draft("Current review", "site-a"))
	_ = current
	for _, tt := range []struct {
		p     auth.Principal
		value string
		want  []string // titles
	}{
		{editorA, "true", []string{"Stale review"}},
		{editorA, "false", []string{"Current review"}},
		{editorB, "true", nil},
		{editorB, "false", []string{"Stale review"}},
	} {
		got, err := f.svc.ListArticles(ctx, tt.p, domain.ArticleQuery{
			Conditions: []listfilter.Condition{{Field: "review_due", Op: listfilter.Eq, Value: tt.value}},
			OrderBy:    domain.OrderTitle, Limit: 10})
		if err != nil {
			t.Fatalf("%s review_due = %s: %v", tt.p.KeyName, tt.value, err)
		}
		var titles []string
		for _, a := range got {
			titles = append(titles, a.Draft.Title)
		}
		if diff := cmp.Diff(tt.want, titles); diff != "" {
			t.Errorf("%s review_due = %s (-want +got):\n%s", tt.p.KeyName, tt.value, diff)
		}
	}
}

// fakeLinks is a LinkTargets over fixed sets of "site/slug".
type fakeLinks struct{ articles, screeners map[string]bool }

func (l fakeLinks) ArticlePublished(site, slug string) bool { return l.articles[site+"/"+slug] }
func (l fakeLinks) ScreenerPublished(_ context.Context, site, slug string) (bool, error) {
	return l.screeners[site+"/"+slug], nil
}

func TestInternalLinksResolveAtPublish(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.ResolveLinksWith(fakeLinks{
		articles:  map[string]bool{"site-a/withdrawal": true, "site-b/withdrawal": true, "site-a/only-on-a": true},
		screeners: map[string]bool{"site-a/kratom-self-check": true},
	})
	tests := []struct {
		name  string
		body  string
		sites []string
		want  string // the link named as unresolved, "" when it publishes
	}{
		{"no links", "Plain.", []string{"site-a"}, ""},
		{"external link", "[NIDA](https://nida.nih.gov/)", []string{"site-a"}, ""},
		{"fragment", "[below](#below)", []string{"site-a"}, ""},
		{"screener delivery path", "Take [our self-check](/v1/sites/site-a/screeners/kratom-self-check). It is not a diagnosis.", []string{"site-a"}, ""},
		{"missing screener", "[check](/v1/sites/site-a/screeners/gone)", []string{"site-a"}, "/v1/sites/site-a/screeners/gone"},
		{"screener of another site", "[check](/v1/sites/site-b/screeners/kratom-self-check)", []string{"site-a"}, "/v1/sites/site-b/screeners/kratom-self-check"},
		{"article delivery path", "[more](/v1/sites/site-a/articles/withdrawal)", []string{"site-a"}, ""},
		{"unpublished article", "[more](/v1/sites/site-a/articles/draft-only)", []string{"site-a"}, "/v1/sites/site-a/articles/draft-only"},
		{"site-relative article page on both sites", "[more](/articles/withdrawal)", []string{"site-a", "site-b"}, ""},
		{"site-relative page missing on one site", "[more](/articles/only-on-a)", []string{"site-a", "site-b"}, "/articles/only-on-a"},
		{"absolute article page", "[more](https://site-a.example.org/articles/withdrawal)", []string{"site-a"}, ""},
		{"absolute missing page", "[more](https://site-a.example.org/articles/nope?x=1#y)", []string{"site-a"}, "https://site-a.example.org/articles/nope?x=1#y"},
		{"unknown delivery path", "[x](/v1/sites/site-a/quizzes/x)", []string{"site-a"}, "/v1/sites/site-a/quizzes/x"},
		{"the article itself", "[top](/articles/self-link)", []string{"site-a"}, ""},
		{"reference link", "See [the check][c].\n\n[c]: /v1/sites/site-a/screeners/missing", []string{"site-a"}, "/v1/sites/site-a/screeners/missing"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A neutral title: the case names mention screeners, which the lint would ask to
			// call "not a diagnosis".
			c := draft(fmt.Sprintf("Link case %d", i), tt.sites...)
			c.Body = tt.body
			if tt.name == "the article itself" {
				c.Slug = "self-link"
			}
			a := f.create(t, admin, c)
			_, err := f.svc.PublishArticle(context.Background(), admin, a.ID, a.Etag())
			if tt.want == "" {
				wantCode(t, err, "")
				return
			}
			wantCode(t, err, apperr.FailedPrecondition)
			e, _ := apperr.As(err)
			if len(e.Fields) != 1 || e.Fields[0].Rule != domain.RuleInternalLink || e.Fields[0].Field != "article.body" ||
				!strings.Contains(e.Fields[0].Description, `"`+tt.want+`"`) {
				t.Errorf("error %v: want one INTERNAL_LINK violation of article.body naming %q", err, tt.want)
			}
		})
	}
}

func TestWithMedicalReviewer(t *testing.T) {
	t.Parallel()
	rev := func(name string, role domain.ReviewerRole, d int) domain.Reviewer {
		r := domain.Reviewer{Person: domain.Person{DisplayName: name}, Role: role}
		if d > 0 {
			r.ReviewDate = domain.Date{Year: 2026, Month: 1, Day: d}
		}
		return r
	}
	tests := []struct {
		name string
		in   []domain.Reviewer
		p    domain.Person
		want []domain.Reviewer
	}{
		{"added first", []domain.Reviewer{rev("Ed", domain.RoleEditorial, 1)}, domain.Person{DisplayName: "Doc"},
			[]domain.Reviewer{rev("Doc", domain.RoleClinical, 0), rev("Ed", domain.RoleEditorial, 1)}},
		{"same person keeps the date", []domain.Reviewer{rev("Ed", domain.RoleEditorial, 1), rev("Doc", domain.RoleClinical, 2)},
			domain.Person{DisplayName: "Doc", Credentials: "MD"},
			[]domain.Reviewer{rev("Ed", domain.RoleEditorial, 1), {Person: domain.Person{DisplayName: "Doc", Credentials: "MD"}, Role: domain.RoleClinical, ReviewDate: domain.Date{Year: 2026, Month: 1, Day: 2}}}},
		{"another person, no date", []domain.Reviewer{rev("Doc", domain.RoleClinical, 2)}, domain.Person{DisplayName: "New"},
			[]domain.Reviewer{rev("New", domain.RoleClinical, 0)}},
		{"removed", []domain.Reviewer{rev("Doc", domain.RoleClinical, 2), rev("Ed", domain.RoleEditorial, 1)}, domain.Person{},
			[]domain.Reviewer{rev("Ed", domain.RoleEditorial, 1)}},
		{"nothing to remove", nil, domain.Person{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, domain.WithMedicalReviewer(tt.in, tt.p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkCheckPublishable checks a 6,000-word health article with 40 internal links on a
// gated site: what publish and schedule add to a write (a parse for the links, the gates).
func BenchmarkCheckPublishable(b *testing.B) {
	sites := &fakeSites{sites: map[string]domain.Site{}}
	sites.set(domain.Site{ID: "gated", BaseURL: "https://gated.example.org", PublishGates: true})
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		b.Fatal(err)
	}
	svc := domain.NewService(nil, sites, markdown.NewRenderer(), linter, func() time.Time { return t0 }, nil)
	links := fakeLinks{articles: map[string]bool{}, screeners: map[string]bool{"gated/check": true}}
	var body strings.Builder
	for i := range 40 {
		links.articles[fmt.Sprintf("gated/a%d", i)] = true
		fmt.Fprintf(&body, "## Part %d\n\n%s See [part %d](/v1/sites/gated/articles/a%d) and [the check](/v1/sites/gated/screeners/check).\n\n",
			i, strings.Repeat("Withdrawal words go here for a while. ", 20), i, i)
	}
	svc.ResolveLinksWith(links)
	c := healthContent("gated")
	// The crisis block the clinical-claim lint asks of a withdrawal article.
	c.Body = body.String() + "Call 911 if someone has a seizure or trouble breathing. Call or text 988 in a crisis.\n"
	a := &domain.Article{ID: "x", Draft: c}
	b.ReportAllocs()
	for b.Loop() {
		if err := svc.CheckPublishable(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
}

// recordingObserver keeps the articles a service hands its observers.
type recordingObserver struct{ written []*domain.Article }

func (o *recordingObserver) ArticleWritten(a *domain.Article) { o.written = append(o.written, a) }

// The review due time is the caller's view: the article handed to observers (the read model and
// the index keep it) is never written after, and the caller's copy carries the due time.
func TestReviewDueIsSetOnTheCallersCopy(t *testing.T) {
	f := newFixture(t)
	obs := &recordingObserver{}
	f.svc.Observe(obs)
	created, err := f.svc.CreateArticle(context.Background(), admin, healthContent("site-a"))
	if err != nil {
		t.Fatal(err)
	}
	if created.ReviewDueTime.IsZero() {
		t.Fatal("the created article has no review due time; want the clinical review's")
	}
	if len(obs.written) != 1 {
		t.Fatalf("observers were handed %d articles, want 1", len(obs.written))
	}
	if handed := obs.written[0]; handed == created || !handed.ReviewDueTime.IsZero() {
		t.Errorf("the article handed to observers was written after (same: %t, due %v)", handed == created, handed.ReviewDueTime)
	}
}
