package changelog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// HeadID is the _id of a change log's head document: a counter every writer bumps after adding
// entries (see Follower.Head). It has no time field, so reads and prunes of entries by time
// never match it.
const HeadID = "head"

// ownHeadsKept is how long a Head remembers the values its own writes produced: far longer than
// a follower's interval.
const ownHeadsKept = 10 * time.Minute

// Head is a change log's head as one writer (a store) sees it: it moves the head after the
// writer's entries, reads it for followers, and remembers which values were its own, so that
// followers in the same process skip what they were handed in process (Follower.Own). It is safe
// for concurrent use.
type Head struct {
	log *mongo.Collection
	// moving is held shared by each Move, exclusively by ReadSettled; moves counts the Moves
	// that succeeded.
	moving sync.RWMutex
	moves  atomic.Int64

	mu  sync.Mutex
	own map[int64]time.Time // head values this writer's own moves produced; guarded by mu
}

// NewHead returns the head of the change log kept in collection log.
func NewHead(log *mongo.Collection) *Head { return &Head{log: log, own: map[int64]time.Time{}} }

// Move bumps the head, after entries were added. With own, the writer's process hands those
// writes to its own followers' readers in process, and the value is remembered as its own;
// without (a write completed later, that nobody was handed), followers read it back.
func (h *Head) Move(ctx context.Context, own bool) error {
	h.moving.RLock()
	defer h.moving.RUnlock()
	var head struct {
		Seq int64 `bson:"seq"`
	}
	bump := bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}}
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	err := h.log.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: HeadID}}, bump, after.SetUpsert(true)).Decode(&head)
	if mongodb.IsDuplicateKey(err) { // two first moves raced: move the one that won
		err = h.log.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: HeadID}}, bump,
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&head)
	}
	if err != nil {
		return fmt.Errorf("moving the change log's head: %w", err)
	}
	h.moves.Add(1)
	if own {
		h.note(head.Seq, time.Now())
	}
	return nil
}

// ReadSettled returns the head, read while none of this Head's Moves is under way, and how many
// Moves had succeeded then. A writer whose two ReadSettled calls find the head moved by exactly
// the number of its own Moves between them knows that no other writer moved it. (A Move that
// failed after the store applied it is not counted: the head then seems moved by another.)
func (h *Head) ReadSettled(ctx context.Context) (head, moves int64, err error) {
	h.moving.Lock()
	defer h.moving.Unlock()
	head, err = h.Read(ctx)
	return head, h.moves.Load(), err
}

// Read returns the head: 0 before the first move.
func (h *Head) Read(ctx context.Context) (int64, error) {
	var head struct {
		Seq int64 `bson:"seq"`
	}
	err := h.log.FindOne(ctx, bson.D{{Key: "_id", Value: HeadID}}).Decode(&head)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the change log's head: %w", err)
	}
	return head.Seq, nil
}

// Own reports whether every head value after from, up to to, came from this writer's own moves
// (Move with own).
func (h *Head) Own(from, to int64) bool {
	if to <= from || to-from > 4096 {
		return to == from
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for seq := from + 1; seq <= to; seq++ {
		if _, ok := h.own[seq]; !ok {
			return false
		}
	}
	return true
}

func (h *Head) note(seq int64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.own[seq] = now
	if len(h.own)%1024 == 0 {
		for k, at := range h.own {
			if now.Sub(at) > ownHeadsKept {
				delete(h.own, k)
			}
		}
	}
}
