package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Slug uniqueness.
//
// At most one live article may hold a "site/slug" key (domain.Article.SlugKeys). Without
// transactions, and without a unique multikey index (MongoDB treats two empty arrays as the same
// key), each key is a document in slug_claims whose _id is the key. A write first claims the keys
// its article gains (inserting the claim; a duplicate _id means someone holds it), then writes the
// article conditionally; if that fails it releases what it claimed, and if it succeeds it releases
// the keys the article lost.
//
// A crash can leave a claim behind whose holder never got (or no longer has) the key: an orphan.
// A claim whose holder does not exist, is deleted or does not hold the key is taken over, but only
// once it is older than the lease (Store.claimLease): before that, the holder's write may still be
// in flight. Every writer stamps the claims it relies on with its own token and the revision it is
// writing, which makes each release safe against concurrent writers:
//   - a failed write deletes only claims still bearing its token and not held by the article as
//     stored now;
//   - a successful write of revision R deletes the keys its article lost only where the claim's
//     revision is below R (a later write of the same article that re-claimed the key stamped R+1
//     or more);
//   - a takeover is conditional on the holder and token it examined.

// maxClaimAttempts bounds the retries of one key claim under contention.
const maxClaimAttempts = 5

// claimOp is one article write's claims.
type claimOp struct {
	articleID string
	revision  int64  // the revision being written
	token     string // unique to this write
	taken     []string
}

func newClaimOp(articleID string, revision int64) *claimOp {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &claimOp{articleID: articleID, revision: revision, token: hex.EncodeToString(b[:])}
}

// claimKeys claims every key for op, in order. It returns AlreadyExists when a live article holds
// one; the keys claimed so far stay in op.taken for the caller to release.
func (s *Store) claimKeys(ctx context.Context, op *claimOp, keys []string) error {
	for _, key := range keys {
		if err := s.claimKey(ctx, op, key); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) claimKey(ctx context.Context, op *claimOp, key string) error {
	for range maxClaimAttempts {
		now := s.now()
		claim := claimDoc{
			Key:           key,
			SchemaVersion: claimSchemaVersion,
			ArticleID:     op.articleID,
			Revision:      op.revision,
			Token:         op.token,
			ClaimedAt:     now,
		}
		_, err := s.claims.InsertOne(ctx, claim)
		if err == nil {
			op.taken = append(op.taken, key)
			return nil
		}
		if !mongodb.IsDuplicateKey(err) {
			return s.dbErr(ctx, "claiming slug "+key, err)
		}

		var cur claimDoc
		err = s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&cur)
		if isNoDocuments(err) {
			continue // released meanwhile: insert again
		}
		if err != nil {
			return s.dbErr(ctx, "reading slug claim "+key, err)
		}
		if cur.SchemaVersion != claimSchemaVersion {
			return fmt.Errorf("slug claim %s: unknown schemaVersion %d (this release reads %d)", key, cur.SchemaVersion, claimSchemaVersion)
		}

		if cur.released() {
			ok, err := s.restamp(ctx, op, &cur, now)
			if err != nil {
				return err
			}
			if ok {
				op.taken = append(op.taken, key)
				return nil
			}
			continue
		}

		if cur.ArticleID == op.articleID {
			if cur.Revision > op.revision {
				// A later write of this article relies on it; ours is stale and its conditional
				// write will fail. Leave the claim alone.
				return nil
			}
			// Stamp it with our token so that the write that made it cannot release it under us.
			ok, err := s.restamp(ctx, op, &cur, now)
			if err != nil {
				return err
			}
			if ok {
				op.taken = append(op.taken, key)
				return nil
			}
			continue
		}

		orphan, err := s.orphaned(ctx, &cur, now)
		if err != nil {
			return err
		}
		if !orphan {
			site, slug := splitKey(key)
			return &apperr.Error{Code: apperr.AlreadyExists, Message: fmt.Sprintf("slug %q is already used on site %q by articles/%s", slug, site, cur.ArticleID)}
		}
		ok, err := s.restamp(ctx, op, &cur, now)
		if err != nil {
			return err
		}
		if ok {
			s.logger.InfoContext(ctx, "took over orphan slug claim", slog.String("key", key),
				slog.String("from", "articles/"+cur.ArticleID), slog.String("to", "articles/"+op.articleID))
			op.taken = append(op.taken, key)
			return nil
		}
	}
	return apperr.New(apperr.Conflict, "the slug key %q is being claimed concurrently; retry", key)
}

// restamp makes op the claim's holder, provided it is still exactly cur (same holder, same token).
// The check is made in process under the claim's lock; the replace keeps it as a guard for
// replicas on MongoDB.
func (s *Store) restamp(ctx context.Context, op *claimOp, cur *claimDoc, now time.Time) (bool, error) {
	unlock, err := s.lockDoc(ctx, claimsCollection, cur.Key)
	if err != nil {
		return false, fmt.Errorf("updating slug claim %s: %w", cur.Key, err)
	}
	defer unlock()
	stored, found, err := s.readClaim(ctx, cur.Key)
	if err != nil || !found || stored.ArticleID != cur.ArticleID || stored.Token != cur.Token {
		return false, err
	}
	replaced, err := s.replacer.Replace(ctx, s.claims, cur.Key,
		bson.D{{Key: "articleId", Value: cur.ArticleID}, {Key: "token", Value: cur.Token}},
		claimDoc{Key: cur.Key, SchemaVersion: claimSchemaVersion, ArticleID: op.articleID, Revision: op.revision, Token: op.token, ClaimedAt: now})
	if err != nil {
		return false, s.dbErr(ctx, "updating slug claim "+cur.Key, err)
	}
	return replaced, nil
}

// readClaim reads one claim by _id.
func (s *Store) readClaim(ctx context.Context, key string) (claimDoc, bool, error) {
	var c claimDoc
	err := s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if isNoDocuments(err) {
		return claimDoc{}, false, nil
	}
	if err != nil {
		return claimDoc{}, false, s.dbErr(ctx, "reading slug claim "+key, err)
	}
	return c, true, nil
}

// orphaned reports whether the claim may be taken over: it is older than the lease and its holder
// does not exist, is deleted or does not hold the key.
func (s *Store) orphaned(ctx context.Context, claim *claimDoc, now time.Time) (bool, error) {
	if now.Sub(claim.ClaimedAt) < s.claimLease {
		return false, nil
	}
	held, found, err := s.heldKeys(ctx, claim.ArticleID)
	if err != nil {
		return false, err
	}
	return !found || !slices.Contains(held, claim.Key), nil
}

// heldKeys returns the slug keys the stored article holds, and whether it exists.
func (s *Store) heldKeys(ctx context.Context, articleID string) ([]string, bool, error) {
	var d articleDoc
	err := s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: articleID}}, options.FindOne().SetProjection(bson.D{
		{Key: "draft.slug", Value: 1}, {Key: pathTargetSites, Value: 1}, {Key: pathDeleteTime, Value: 1},
	})).Decode(&d)
	if isNoDocuments(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.dbErr(ctx, "reading articles/"+articleID, err)
	}
	return slugKeysOf(&d), true, nil
}

// slugKeysOf returns the keys the stored article holds, by the domain's rule.
func slugKeysOf(d *articleDoc) []string {
	a := domain.Article{
		Draft:      domain.Content{Slug: d.Draft.Slug, TargetSites: d.Draft.TargetSites},
		DeleteTime: fromOptionalTime(d.DeleteTime),
	}
	return a.SlugKeys()
}

// releaseAfterFailure releases the claims a failed write took, except those the article as stored
// now holds (another write of the same article may have committed them). Best effort: a claim left
// behind is an orphan, taken over once its lease has passed.
func (s *Store) releaseAfterFailure(ctx context.Context, op *claimOp) {
	if len(op.taken) == 0 {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	held, _, err := s.heldKeys(ctx, op.articleID)
	if err != nil {
		s.logger.WarnContext(ctx, "cannot release slug claims after a failed write; they become orphans",
			slog.String("article", "articles/"+op.articleID), slog.Any("keys", op.taken), slog.Any("err", err))
		return
	}
	for _, key := range op.taken {
		if slices.Contains(held, key) {
			continue
		}
		err := s.releaseClaim(ctx, key, func(c *claimDoc) bool { return c.ArticleID == op.articleID && c.Token == op.token })
		if err != nil {
			s.logger.WarnContext(ctx, "cannot release slug claim after a failed write; it becomes an orphan",
				slog.String("article", "articles/"+op.articleID), slog.String("key", key), slog.Any("err", err))
		}
	}
}

// releaseLost releases the keys an article lost in the write of revision: claims it made for an
// earlier revision. Best effort, like releaseAfterFailure.
func (s *Store) releaseLost(ctx context.Context, articleID string, revision int64, keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	for _, key := range keys {
		err := s.releaseClaim(ctx, key, func(c *claimDoc) bool { return c.ArticleID == articleID && c.Revision < revision })
		if err != nil {
			s.logger.WarnContext(ctx, "cannot release a slug key the article no longer holds; it becomes an orphan",
				slog.String("article", "articles/"+articleID), slog.String("key", key), slog.Any("err", err))
		}
	}
}

// releaseClaim frees the claim of key if it matches, holding the claim's lock: it replaces the
// claim by a released one (no holder), which the next claim of the key takes over. (A delete costs
// time in proportion to the collection on FerretDB v1; a replace by _id does not.)
func (s *Store) releaseClaim(ctx context.Context, key string, match func(*claimDoc) bool) error {
	unlock, err := s.lockDoc(ctx, claimsCollection, key)
	if err != nil {
		return err
	}
	defer unlock()
	cur, found, err := s.readClaim(ctx, key)
	if err != nil || !found || cur.released() || !match(&cur) {
		return err
	}
	_, err = s.replacer.Replace(ctx, s.claims, key,
		bson.D{{Key: "articleId", Value: cur.ArticleID}, {Key: "token", Value: cur.Token}},
		claimDoc{Key: key, SchemaVersion: claimSchemaVersion, ClaimedAt: s.now()})
	return err
}

// released reports whether the claim was released: it has no holder.
func (c *claimDoc) released() bool { return c.ArticleID == "" }

// cleanupContext returns a context for clean-up writes that must run even when the caller's
// context has just been canceled, bounded in time.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// splitKey splits "site/slug".
func splitKey(key string) (site, slug string) {
	site, slug, _ = strings.Cut(key, "/")
	return site, slug
}

// minus returns the elements of a not in b, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
