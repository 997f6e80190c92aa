package domain

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/loop"
)

// CounterStore persists the aggregate counters. Declared here, by its consumer.
type CounterStore interface {
	// AddCounts adds each cell's N to its stored counter (a missing counter counts as 0).
	// batchID names the batch: given the same batch again after an error (some of it may have
	// been written), it adds each cell at most once in all.
	AddCounts(ctx context.Context, batchID string, cells []Cell) error
	// Counts returns the stored non-zero counters of one questionnaire on the given days.
	Counts(ctx context.Context, questionnaireID string, days []string) ([]Cell, error)
}

// DefaultFlushInterval is how often a Tally writes its batch: the most a crash can lose.
const DefaultFlushInterval = 5 * time.Second

// maxStatsDays bounds one stats request.
const maxStatsDays = 366

// dayLayout is the UTC day of a counter.
const dayLayout = "2006-01-02"

// Tally counts completed screenings in memory and writes them to the store in batches, so the
// store sees one write per questionnaire and day per flush, never one per submission. It keeps
// only counter keys (questionnaire, version, site, band, day): no answer, score, time of day or
// reader ever reaches it.
//
// What a crash can lose: the counts of the last flush interval (at most DefaultFlushInterval),
// and a batch whose write was failing at the time. A graceful shutdown loses nothing: Run
// flushes once more after its context ends.
type Tally struct {
	store  CounterStore
	now    func() time.Time
	logger *slog.Logger

	flushMu sync.Mutex // one flush at a time, so a failed batch is retried before a newer one
	failed  *counterBatch

	mu      sync.Mutex
	pending map[CounterKey]int64
	failing bool // the last flush failed (logged once until one succeeds)

	counted chan struct{} // receives after Count (one pending value): Run's flush is due
}

// counterBatch is a set of counts written under one id.
type counterBatch struct {
	id    string
	cells []Cell
}

// NewTally returns a Tally writing to store. now may be nil for time.Now.
func NewTally(store CounterStore, now func() time.Time, logger *slog.Logger) *Tally {
	if now == nil {
		now = time.Now
	}
	return &Tally{store: store, now: now, logger: logger, pending: map[CounterKey]int64{}, counted: make(chan struct{}, 1)}
}

// Count records one completed screening of result on site, on today's UTC day.
func (t *Tally) Count(r Result, site string) {
	k := CounterKey{QuestionnaireID: r.QuestionnaireID, Version: r.Version, Site: site, Band: r.Band.Code, Day: t.now().UTC().Format(dayLayout)}
	t.mu.Lock()
	t.pending[k]++
	t.mu.Unlock()
	select {
	case t.counted <- struct{}{}:
	default: // a flush is due already
	}
}

// Flush writes the counts recorded so far. A batch whose write failed is written again, as the
// same batch, before anything newer, so a retry never counts a screening twice.
func (t *Tally) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	if t.failed != nil {
		if err := t.store.AddCounts(ctx, t.failed.id, t.failed.cells); err != nil {
			return fmt.Errorf("flush %d screening counters (retry): %w", len(t.failed.cells), err)
		}
		t.failed = nil
	}
	t.mu.Lock()
	pending := t.pending
	t.pending = map[CounterKey]int64{}
	t.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	b := &counterBatch{id: rand.Text(), cells: make([]Cell, 0, len(pending))}
	for k, n := range pending {
		b.cells = append(b.cells, Cell{CounterKey: k, N: n})
	}
	if err := t.store.AddCounts(ctx, b.id, b.cells); err != nil {
		t.failed = b
		return fmt.Errorf("flush %d screening counters: %w", len(b.cells), err)
	}
	return nil
}

// Run flushes until ctx ends: an interval after a count arrives while none is waiting for a
// flush (so no count waits longer than interval), and every interval while a flush fails; with
// nothing counted it does not wake at all. Then it flushes once more (with up to shutdownGrace
// to do it) and returns. If that last flush fails (the store is down), the counts it held are
// lost: Run logs that at error level and still returns nil, so the process shuts down as
// cleanly as its store allows. It returns an error at once for an interval that is not positive.
func (t *Tally) Run(ctx context.Context, interval, shutdownGrace time.Duration) error {
	if interval <= 0 {
		return errors.New("tally: flush interval must be positive")
	}
	flush := func(ctx context.Context) {
		err := t.Flush(ctx)
		t.mu.Lock()
		first := err != nil && !t.failing
		recovered := err == nil && t.failing
		t.failing = err != nil
		t.mu.Unlock()
		switch {
		case first:
			t.logger.WarnContext(ctx, "screening counters not written; kept in memory and retried", "err", err)
		case recovered:
			t.logger.InfoContext(ctx, "screening counters written again")
		}
	}
	// A flush is due an interval after counts arrive, or after a failed flush; a count arriving
	// while one is due does not put it off.
	due := func() (time.Duration, bool) { return interval, t.hasWork() }
	_ = loop.Timed(ctx, t.counted, due, flush)
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := t.Flush(final); err != nil {
		t.logger.ErrorContext(final, "screening counters lost at shutdown: the store did not take the last batch", "err", err)
	}
	return nil
}

// hasWork reports whether a flush has something to write: counts, or a batch that failed.
func (t *Tally) hasWork() bool {
	t.flushMu.Lock()
	failed := t.failed != nil
	t.flushMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return failed || len(t.pending) > 0
}

// Stats returns the disclosed counters of one questionnaire from day from to day to (UTC,
// "YYYY-MM-DD", inclusive), counts not yet flushed included, of every site, or of site only when
// site is not "" (a key for one site sees only that site's counters). While a batch that failed
// part way waits for its retry, the part already written shows twice.
func (t *Tally) Stats(ctx context.Context, questionnaireID, from, to, site string) (StatsReport, error) {
	days, err := DaysBetween(from, to)
	if err != nil {
		return StatsReport{}, err
	}
	// Holding flushMu keeps a flush from moving counts between the store and memory while
	// both are read, so each count is seen exactly once.
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	cells, err := t.store.Counts(ctx, questionnaireID, days)
	if err != nil {
		return StatsReport{}, err
	}
	first, last := days[0], days[len(days)-1]
	inRange := func(k CounterKey) bool {
		return k.QuestionnaireID == questionnaireID && k.Day >= first && k.Day <= last && (site == "" || k.Site == site)
	}
	cells = slices.DeleteFunc(cells, func(c Cell) bool { return !inRange(c.CounterKey) })
	if t.failed != nil {
		for _, c := range t.failed.cells {
			if inRange(c.CounterKey) {
				cells = append(cells, c)
			}
		}
	}
	t.mu.Lock()
	for k, n := range t.pending {
		if inRange(k) {
			cells = append(cells, Cell{CounterKey: k, N: n})
		}
	}
	t.mu.Unlock()
	return Disclose(cells), nil
}

// DaysBetween lists the UTC days from from to to, inclusive, or an Invalid error naming the
// field ("from" or "to") that is malformed or out of range.
func DaysBetween(from, to string) ([]string, error) {
	var v apperr.Violations
	f, errFrom := time.Parse(dayLayout, from)
	if errFrom != nil {
		v.Add("from", "must be a day like 2026-12-01")
	}
	l, errTo := time.Parse(dayLayout, to)
	if errTo != nil {
		v.Add("to", "must be a day like 2026-12-01")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	n := int(l.Sub(f).Hours()/24) + 1
	switch {
	case n < 1:
		return nil, apperr.InvalidField("to", "must not be before from")
	case n > maxStatsDays:
		return nil, apperr.InvalidField("to", "must be at most %d days after from", maxStatsDays-1)
	}
	days := make([]string, n)
	for i := range days {
		days[i] = f.AddDate(0, 0, i).Format(dayLayout)
	}
	return days, nil
}
