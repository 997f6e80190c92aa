package domain_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes (a log sink).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSchedulerRechecksAtPublishTime: the scheduler runs the publish checks again when an
// article's time comes. A draft that no longer passes them (its review fell due, or its site
// tuned the lint since it was scheduled) is not published: the schedule is dropped, the failure
// is recorded on the article with the unmet rules, what was live stays live, the log names the
// rules but never the text, and nothing retries it. Scheduling again clears the failure.
func TestSchedulerRechecksAtPublishTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// setUp creates the article on a fresh fixture and returns it scheduled at the returned time.
		setUp func(t *testing.T, f *fixture) (*domain.Article, time.Time)
		// change happens between the schedule and its time.
		change func(f *fixture)
		live   bool // whether a snapshot was live before the schedule
		want   []string
	}{
		{
			name: "the review falls due",
			setUp: func(t *testing.T, f *fixture) (*domain.Article, time.Time) {
				f.gated("gated", false, 0)
				a := f.create(t, admin, healthContent("gated")) // reviewed two months before t0: due at t0 + 10 months
				return a, t0.AddDate(0, 11, 0)
			},
			want: []string{"REVIEW_CURRENT article.reviewers"},
		},
		{
			name: "the site makes an info finding an error",
			setUp: func(t *testing.T, f *fixture) (*domain.Article, time.Time) {
				c := draft("After a relapse", "site-a")
				c.Body = "## After a relapse\n\nSleep comes back slowly."
				return f.create(t, admin, c), t0.Add(time.Hour)
			},
			change: func(f *fixture) {
				s, _, _ := f.sites.Site(t.Context(), "site-a")
				s.LintTuning = claimlint.SiteTuning{Severity: map[string]string{"stigma-soft-term": "error"}}
				f.sites.set(s)
			},
			want: []string{"LINT_STIGMA_SOFT_TERM article.title", "LINT_STIGMA_SOFT_TERM article.summary", "LINT_STIGMA_SOFT_TERM article.body"},
		},
		{
			name: "a live article keeps its snapshot",
			setUp: func(t *testing.T, f *fixture) (*domain.Article, time.Time) {
				a := f.publish(t, f.create(t, admin, draft("Live piece", "site-a")))
				a, err := f.svc.UpdateArticle(t.Context(), admin, a.ID, domain.Content{Body: "## Live piece\n\nAfter a relapse, sleep comes back."}, []string{"body"}, a.Etag())
				wantCode(t, err, "")
				return a, t0.Add(time.Hour)
			},
			change: func(f *fixture) {
				s, _, _ := f.sites.Site(t.Context(), "site-a")
				s.LintTuning = claimlint.SiteTuning{Severity: map[string]string{"stigma-soft-term": "error"}}
				f.sites.set(s)
			},
			live: true,
			want: []string{"LINT_STIGMA_SOFT_TERM article.body"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := t.Context()
			var logs syncBuffer
			svc := domain.NewService(f.store, f.sites, markdown.NewRenderer(), f.linter, f.clock.Now, slog.New(slog.NewTextHandler(&logs, nil)))
			a, at := tt.setUp(t, f)
			before := f.get(t, a.ID).Published
			s, err := svc.ScheduleArticle(ctx, admin, a.ID, at, a.Etag())
			wantCode(t, err, "")
			if tt.change != nil {
				tt.change(f)
			}
			f.clock.Advance(at.Sub(f.clock.Now()) + time.Second)
			if n, err := svc.PublishDue(ctx); err != nil || n != 0 {
				t.Fatalf("PublishDue = %d, %v; want 0 published", n, err)
			}
			got := f.get(t, a.ID)
			wantState := domain.StateDraft
			if tt.live {
				wantState = domain.StatePublished
			}
			if got.State != wantState || !got.ScheduledPublishTime.IsZero() {
				t.Errorf("after the refusal: state %v, scheduled %v; want %v, no schedule", got.State, got.ScheduledPublishTime, wantState)
			}
			if diff := cmp.Diff(before, got.Published, articleCmp...); diff != "" {
				t.Errorf("the live snapshot changed (-before +after):\n%s", diff)
			}
			fail := got.ScheduleFailure
			if fail == nil {
				t.Fatal("no schedule failure recorded")
			}
			var rules []string
			for _, u := range fail.Unmet {
				rules = append(rules, u.Rule+" "+u.Field)
				if u.Description == "" {
					t.Errorf("unmet rule %s without a description", u.Rule)
				}
			}
			if diff := cmp.Diff(tt.want, rules); diff != "" {
				t.Errorf("unmet rules (-want +got):\n%s", diff)
			}
			if !fail.ScheduledPublishTime.Equal(s.ScheduledPublishTime) || !fail.FailTime.Equal(f.clock.Now()) {
				t.Errorf("failure times: scheduled %v fail %v; want %v, %v", fail.ScheduledPublishTime, fail.FailTime, s.ScheduledPublishTime, f.clock.Now())
			}
			if acts := f.actions(t, a.ID); acts[0] != "schedule_failed" || got.LastChange.Actor != domain.SchedulerActor {
				t.Errorf("last revision %q by %q, want schedule_failed by the scheduler", acts[0], got.LastChange.Actor)
			}
			log := logs.String()
			if !strings.Contains(log, a.Name()) || !strings.Contains(log, strings.Fields(tt.want[0])[0]) {
				t.Errorf("log %q does not name the article and its unmet rule", log)
			}
			for _, text := range []string{"relapse", "Sleep", got.Draft.Title} {
				if strings.Contains(log, text) {
					t.Errorf("log quotes the article (%q): %s", text, log)
				}
			}
			// Never retried: later rounds find nothing due and write nothing.
			for range 3 {
				f.clock.Advance(time.Second)
				if n, err := svc.PublishDue(ctx); err != nil || n != 0 {
					t.Fatalf("a later PublishDue = %d, %v", n, err)
				}
			}
			if again := f.get(t, a.ID); again.RevisionID != got.RevisionID {
				t.Errorf("revision %d after later rounds, want %d: it was retried", again.RevisionID, got.RevisionID)
			}
			// Restored the way it was meant: the failure goes with the next successful schedule.
			if tt.change != nil {
				s, _, _ := f.sites.Site(ctx, "site-a")
				s.LintTuning = claimlint.SiteTuning{}
				f.sites.set(s)
				re, err := svc.ScheduleArticle(ctx, admin, a.ID, f.clock.Now().Add(time.Minute), got.Etag())
				wantCode(t, err, "")
				if re.ScheduleFailure != nil || re.State != domain.StateScheduled {
					t.Errorf("scheduled again: state %v, failure %+v; want SCHEDULED and no failure", re.State, re.ScheduleFailure)
				}
				f.clock.Advance(2 * time.Minute)
				if n, err := svc.PublishDue(ctx); err != nil || n != 1 {
					t.Errorf("PublishDue after the fix = %d, %v; want 1", n, err)
				}
			}
		})
	}
}

// TestUndeleteRechecksAnOverdueSchedule: an undelete that would publish an overdue schedule runs
// the publish checks first; a draft that fails them is restored unpublished, with the failure.
func TestUndeleteRechecksAnOverdueSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	c := draft("Relapse is common", "site-a")
	a := f.create(t, admin, c)
	a, err := f.svc.ScheduleArticle(ctx, admin, a.ID, f.clock.Now().Add(time.Minute), a.Etag())
	wantCode(t, err, "")
	_, err = f.svc.DeleteArticle(ctx, admin, a.ID, "")
	wantCode(t, err, "")
	s, _, _ := f.sites.Site(ctx, "site-a")
	s.LintTuning = claimlint.SiteTuning{Severity: map[string]string{"stigma-soft-term": "error"}}
	f.sites.set(s)
	f.clock.Advance(time.Hour)
	u, err := f.svc.UndeleteArticle(ctx, admin, a.ID)
	wantCode(t, err, "")
	if u.Deleted() || u.State != domain.StateDraft || u.Published != nil || u.ScheduleFailure == nil ||
		len(u.ScheduleFailure.Unmet) == 0 || u.ScheduleFailure.Unmet[0].Rule != "LINT_STIGMA_SOFT_TERM" {
		t.Errorf("after undelete: deleted %v, state %v, published %v, failure %+v; want a restored draft with the failure",
			u.Deleted(), u.State, u.Published != nil, u.ScheduleFailure)
	}
	if got := f.get(t, a.ID); got.ScheduleFailure == nil || got.State != domain.StateDraft {
		t.Errorf("as stored: state %v, failure %+v", got.State, got.ScheduleFailure)
	}
}

// flakyLinks is a LinkTargets whose screening service is down until up is set; it counts the
// screener checks asked of it.
type flakyLinks struct {
	mu     sync.Mutex
	up     bool
	checks int
}

func (l *flakyLinks) ArticlePublished(string, string) bool { return false }
func (l *flakyLinks) ScreenerPublished(context.Context, string, string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checks++
	if !l.up {
		return false, errors.New("screening unavailable")
	}
	return true, nil
}

func (l *flakyLinks) state() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up, l.checks
}

// TestSchedulerWaitsOutAnUncheckableLink: a due article whose screener link cannot be checked now
// (the screening service is down) is neither published nor failed: it stays scheduled and
// untouched, the scheduler leaves it alone for a while instead of asking every round, and it
// publishes once the link can be checked.
func TestSchedulerWaitsOutAnUncheckableLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	links := &flakyLinks{}
	f.svc.ResolveLinksWith(links)
	c := draft("Take the check", "site-a")
	c.Body = "## Take the check\n\nTry [the questions](/v1/sites/site-a/screeners/kratom-self-check)."
	a := f.create(t, admin, c)
	links.mu.Lock()
	links.up = true
	links.mu.Unlock()
	a, err := f.svc.ScheduleArticle(ctx, admin, a.ID, f.clock.Now().Add(time.Minute), a.Etag())
	wantCode(t, err, "")
	links.mu.Lock()
	links.up, links.checks = false, 0
	links.mu.Unlock()

	f.clock.Advance(2 * time.Minute)
	for range 5 { // rounds a second apart, all within the wait
		if n, err := f.svc.PublishDue(ctx); err != nil || n != 0 {
			t.Fatalf("PublishDue with screening down = %d, %v; want 0", n, err)
		}
		f.clock.Advance(time.Second)
	}
	if _, checks := links.state(); checks != 1 {
		t.Errorf("screening asked %d times in five rounds, want once (then the scheduler waits)", checks)
	}
	if got := f.get(t, a.ID); got.State != domain.StateScheduled || got.ScheduleFailure != nil || got.RevisionID != a.RevisionID {
		t.Fatalf("while the link cannot be checked: state %v, failure %+v, revision %d; want it scheduled and untouched", got.State, got.ScheduleFailure, got.RevisionID)
	}
	links.mu.Lock()
	links.up = true
	links.mu.Unlock()
	f.clock.Advance(time.Minute)
	if n, err := f.svc.PublishDue(ctx); err != nil || n != 1 {
		t.Fatalf("PublishDue once screening is back = %d, %v; want 1", n, err)
	}
	if got := f.get(t, a.ID); got.State != domain.StatePublished || got.ScheduleFailure != nil {
		t.Errorf("after: state %v, failure %+v; want PUBLISHED", got.State, got.ScheduleFailure)
	}
	// Scheduled a minute ahead, published 3m5s later: 2m5s late. Deferred rounds publish nothing.
	if st := f.svc.SchedulerStats(); st.Published != 1 || st.Lag != 2*time.Minute+5*time.Second {
		t.Errorf("SchedulerStats = %+v; want 1 published, 2m5s late", st)
	}
}

// TestSchedulerSleepsUntilAnArticleFallsDue: a scheduler on the store's queue does not run while
// nothing is scheduled, however short its interval, and a schedule made meanwhile wakes it: the
// article is published once its time comes, not a minute (the longest sleep) later.
func TestSchedulerSleepsUntilAnArticleFallsDue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.svc.RunScheduler(ctx, 10*time.Millisecond, f.store) }()

	a := f.create(t, admin, draft("Scheduled while the scheduler sleeps", "site-a"))
	time.Sleep(300 * time.Millisecond) // thirty intervals
	if n := f.svc.SchedulerStats().Runs; n != 0 {
		t.Fatalf("%d scheduler runs with nothing scheduled, want none", n)
	}

	at := f.clock.Now().Add(200 * time.Millisecond)
	if _, err := f.svc.ScheduleArticle(ctx, admin, a.ID, at, a.Etag()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second) // the service's clock: the article is due from now on
	for deadline := time.Now().Add(10 * time.Second); f.get(t, a.ID).State != domain.StatePublished; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a scheduled article was not published within 10 s (runs: %d)", f.svc.SchedulerStats().Runs)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
