package metrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Store times the commands a MongoDB client sends: beacon_store_command_duration_seconds and
// beacon_store_command_errors_total, by database, collection and command name ("find",
// "update", ...). Commands without a collection ("ping", "hello", "listCollections") have
// collection "".
type Store struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	// started holds each running command's labels from its start to its end, by request id
	// (the driver's finished events name no collection).
	started sync.Map // int64 → storeCommand
}

type storeCommand struct{ database, collection string }

// NewStore registers the store metrics on reg.
func NewStore(reg prometheus.Registerer) *Store {
	s := &Store{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "store", Name: "command_duration_seconds",
			Help:    "Time of store (MongoDB) commands, by database, collection and command name.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"database", "collection", "command"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "store", Name: "command_errors_total",
			Help: "Store (MongoDB) commands that failed, by database, collection and command name.",
		}, []string{"database", "collection", "command"}),
	}
	reg.MustRegister(s.duration, s.errors)
	return s
}

// Monitor returns the command monitor to pass to the client (options.Client().SetMonitor).
func (s *Store) Monitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			s.started.Store(e.RequestID, storeCommand{database: e.DatabaseName, collection: collectionOf(e.CommandName, e.Command)})
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			s.finished(&e.CommandFinishedEvent, false)
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			s.finished(&e.CommandFinishedEvent, true)
		},
	}
}

func (s *Store) finished(e *event.CommandFinishedEvent, failed bool) {
	cmd := storeCommand{database: e.DatabaseName}
	if v, ok := s.started.LoadAndDelete(e.RequestID); ok {
		cmd = v.(storeCommand)
	}
	s.duration.WithLabelValues(cmd.database, cmd.collection, e.CommandName).Observe(e.Duration.Seconds())
	if failed {
		s.errors.WithLabelValues(cmd.database, cmd.collection, e.CommandName).Inc()
	}
}

// collectionOf returns the collection a command addresses: the string value of its first
// element for the collection commands (find, insert, update, delete, aggregate,
// findAndModify, count, ...), the "collection" field for getMore, and "" otherwise.
func collectionOf(name string, cmd bson.Raw) string {
	if name == "getMore" {
		if v, err := cmd.LookupErr("collection"); err == nil {
			if s, ok := v.StringValueOK(); ok {
				return s
			}
		}
		return ""
	}
	first, err := cmd.IndexErr(0)
	if err != nil {
		return ""
	}
	if s, ok := first.Value().StringValueOK(); ok {
		return s
	}
	return ""
}
