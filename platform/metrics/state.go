package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReadModelStats is what a read model reports of itself when scraped.
type ReadModelStats struct {
	// Entries is how many items it holds (live articles, resources and directories).
	Entries int
	// Bytes is an estimate of the memory its items' data take (rendered bodies, JSON).
	Bytes int64
	// LastChange is the time of the newest change-log entry it has applied (zero: none yet).
	LastChange time.Time
	// Synced is when it last knew it had read the change log to its end (zero: never).
	Synced time.Time
	// RenderCache, for a read model that renders its items on request and caches what it
	// rendered within a budget, is that cache's state; nil for none.
	RenderCache *RenderCacheStats
}

// RenderCacheStats is the state of a read model's cache of rendered items.
type RenderCacheStats struct {
	Bytes, Budget int64 // held, and the most it may hold (0: no bound)
	Items         int   // rendered items held
	// Renders counts the items rendered and cached since the start; Evictions those dropped to
	// make room (each read of one of them renders it again).
	Renders, Evictions int64
}

// ReadModel is a read model that reports its state.
type ReadModel interface {
	ReadModelStats() ReadModelStats
}

// RegisterReadModel registers gauges read from model at each scrape, labelled read_model=name:
// beacon_read_model_entries, beacon_read_model_bytes, beacon_read_model_last_change_age_seconds
// (how long ago the newest change it applied was written) and
// beacon_read_model_sync_age_seconds (how long since it last read its change log to the end: the
// replication lag bound). The ages are absent until there is a time to measure from. A model
// with a render cache also reports beacon_read_model_render_cache_bytes, _budget_bytes and
// _items, and the counters beacon_read_model_render_cache_renders_total and _evictions_total.
func RegisterReadModel(reg prometheus.Registerer, name string, model ReadModel, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	return reg.Register(&readModelCollector{model: model, now: now,
		entries:        readModelDesc("entries", "Items the read model holds.", name),
		bytes:          readModelDesc("bytes", "Estimated bytes of the read model's item data.", name),
		changeAge:      readModelDesc("last_change_age_seconds", "Age of the newest change the read model has applied.", name),
		syncAge:        readModelDesc("sync_age_seconds", "Time since the read model last read its change log to the end (replication lag bound).", name),
		cacheBytes:     readModelDesc("render_cache_bytes", "Bytes of rendered items the read model's render cache holds.", name),
		cacheBudget:    readModelDesc("render_cache_budget_bytes", "The most bytes the read model's render cache may hold (0: no bound).", name),
		cacheItems:     readModelDesc("render_cache_items", "Rendered items the read model's render cache holds.", name),
		cacheRenders:   readModelDesc("render_cache_renders_total", "Items the read model rendered and cached (a render after an eviction is a miss).", name),
		cacheEvictions: readModelDesc("render_cache_evictions_total", "Rendered items the read model's render cache dropped to make room.", name),
	})
}

func readModelDesc(metric, help, name string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "read_model", metric), help, nil, prometheus.Labels{"read_model": name})
}

type readModelCollector struct {
	model                                                             ReadModel
	now                                                               func() time.Time
	entries, bytes, changeAge, syncAge                                *prometheus.Desc
	cacheBytes, cacheBudget, cacheItems, cacheRenders, cacheEvictions *prometheus.Desc
}

func (c *readModelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.bytes, c.changeAge, c.syncAge, c.cacheBytes, c.cacheBudget, c.cacheItems, c.cacheRenders, c.cacheEvictions} {
		ch <- d
	}
}

func (c *readModelCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.model.ReadModelStats()
	now := c.now()
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes))
	if !s.LastChange.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.changeAge, prometheus.GaugeValue, now.Sub(s.LastChange).Seconds())
	}
	if !s.Synced.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.syncAge, prometheus.GaugeValue, now.Sub(s.Synced).Seconds())
	}
	if rc := s.RenderCache; rc != nil {
		ch <- prometheus.MustNewConstMetric(c.cacheBytes, prometheus.GaugeValue, float64(rc.Bytes))
		ch <- prometheus.MustNewConstMetric(c.cacheBudget, prometheus.GaugeValue, float64(rc.Budget))
		ch <- prometheus.MustNewConstMetric(c.cacheItems, prometheus.GaugeValue, float64(rc.Items))
		ch <- prometheus.MustNewConstMetric(c.cacheRenders, prometheus.CounterValue, float64(rc.Renders))
		ch <- prometheus.MustNewConstMetric(c.cacheEvictions, prometheus.CounterValue, float64(rc.Evictions))
	}
}

// SchedulerStats is what a scheduler reports of itself when scraped. Counts are totals since
// the process started.
type SchedulerStats struct {
	Runs, FailedRuns int64
	// Published counts the items it published; Lag is the sum of how late each was (its
	// publish time minus its scheduled time).
	Published int64
	Lag       time.Duration
	// LastRun is when its last run ended (zero: none yet).
	LastRun time.Time
}

// Scheduler is a scheduler that reports its state.
type Scheduler interface {
	SchedulerStats() SchedulerStats
}

// RegisterScheduler registers metrics read from s at each scrape, labelled scheduler=name:
// beacon_scheduler_runs_total, beacon_scheduler_failed_runs_total,
// beacon_scheduler_publish_lag_seconds (a summary: count is the items published, sum how late
// they were in total) and beacon_scheduler_last_run_age_seconds.
func RegisterScheduler(reg prometheus.Registerer, name string, s Scheduler, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	labels := prometheus.Labels{"scheduler": name}
	desc := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "scheduler", metric), help, nil, labels)
	}
	return reg.Register(&schedulerCollector{s: s, now: now,
		runs:    desc("runs_total", "Runs of the scheduler."),
		failed:  desc("failed_runs_total", "Runs of the scheduler that failed."),
		lag:     desc("publish_lag_seconds", "How late scheduled items were published after their time."),
		lastRun: desc("last_run_age_seconds", "Time since the scheduler's last run ended."),
	})
}

type schedulerCollector struct {
	s                          Scheduler
	now                        func() time.Time
	runs, failed, lag, lastRun *prometheus.Desc
}

func (c *schedulerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.runs
	ch <- c.failed
	ch <- c.lag
	ch <- c.lastRun
}

func (c *schedulerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s.SchedulerStats()
	ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(s.Runs))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.FailedRuns))
	ch <- prometheus.MustNewConstSummary(c.lag, uint64(s.Published), s.Lag.Seconds(), nil)
	if !s.LastRun.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, c.now().Sub(s.LastRun).Seconds())
	}
}
