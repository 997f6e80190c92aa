package store

import (
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/articleindex"
)

// QueryArticles exposes the store query ListArticles used before the index, the reference of the
// index's equivalence test.
var QueryArticles = (*Store).queryArticles

// LiveShardName is the name of the live shard holding article id's entry.
func LiveShardName(id string) string { return liveShardName(liveShardOf(id)) }

// LegacyLiveCollection and ShardLiveEntries expose migration 12, for its test.
const LegacyLiveCollection = legacyLiveCollection

var ShardLiveEntries = shardLiveEntries

// Unpacked returns the entries with their basic views decoded (Basic set, PackedBasic nil), so
// that entries loaded at start compare equal to entries of later writes.
func Unpacked(tb testing.TB, s *Store, entries []articleindex.Entry) []articleindex.Entry {
	tb.Helper()
	out := make([]articleindex.Entry, len(entries))
	for i, e := range entries {
		b, err := s.codec.basicOf(&e)
		if err != nil {
			tb.Fatalf("decoding the basic view of %s: %v", e.ID, err)
		}
		e.Basic, e.PackedBasic = b, nil
		out[i] = e
	}
	return out
}

// Index exposes the store's in-memory article index.
func (s *Store) Index() *articleindex.Index { return s.index }

// ArticleSchemaVersion is the version of the article documents this release writes.
const ArticleSchemaVersion = articleSchemaVersion

// RetryFlushNow drops the flusher's backoff, as if its delay had passed: the next
// FlushPendingRevisions looks at every marker again.
func RetryFlushNow(s *Store) {
	s.flushMu.Lock()
	s.flushRetries, s.nextRetry = map[string]flushRetry{}, time.Time{}
	s.flushMu.Unlock()
	s.pendingSuspected.Store(true)
}

// BoundStartupImage makes the start-up image's bound bytes, whatever it loaded.
func BoundStartupImage(s *Store, bytes int64) { s.image.bound = func(int64) int64 { return bytes } }

// SuspectPending makes s suspect a pending revision, as a failed revision write does.
var SuspectPending = (*Store).suspectPending
