// Package idempotency makes create methods idempotent by a client-chosen request_id (AIP-155),
// the same way in every service, with one gRPC interceptor ([Interceptor]):
//
//   - a create sent again by the same caller, to the same method, with the same request_id and
//     the same request otherwise returns the response of the first one (stored, see below)
//     instead of creating another resource;
//   - the same request_id with a different request is refused: FAILED_PRECONDITION naming
//     request_id;
//   - a repeat that arrives while the first one still runs is refused with ABORTED: retry in a
//     moment (it then gets the first one's response);
//   - a create that failed is not remembered: its retry runs again.
//
// A request_id is 1 to 64 printable ASCII characters without spaces, such as a UUID; anything
// else is INVALID_ARGUMENT naming request_id. Without one, a create runs as always.
//
// Each service keeps the records of its creates in its own database, in the collection
// [Collection], one document per caller, method and request_id: its _id is
// "{caller}|{method}|{request_id}" and every call touches it by that _id only (a point read, an
// insert, a whole-document replace under the process's document lock). A record lives [TTL]
// (24 hours). [Store.Run] deletes the expired ones: the one delete by another field, which the
// store rule allows because the collection is on its allowlist of small collections (the
// creates of one day), and which runs only when a record this process wrote has expired.
//
// A record holds the SHA-256 of the request with request_id cleared (deterministic protobuf;
// for a method whose request carries a secret, such as a password, an argon2id hash instead)
// and the response, zstd-compressed, after the method's [Method.Redact]: a one-time secret
// (an API key's, a generated password) is never stored, so a repeat returns the response
// without it.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/crypto/argon2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/mongodb"
)

// Collection holds the records, in each service's database.
const Collection = "create_requests"

// TTL is how long a request_id is remembered.
const TTL = 24 * time.Hour

// Field is the request field every idempotent create request carries.
const Field = "request_id"

// MaxLen is the longest request_id accepted.
const MaxLen = 64

// stalePending is how long a record may stay pending before another attempt may take it over:
// far longer than any call runs (--max-call-duration caps them, 30 s by default), so only a
// process that stopped mid-create leaves one that old.
const stalePending = 5 * time.Minute

// pruneInterval is how often Run looks for expired records.
const pruneInterval = time.Hour

// Method configures one idempotent create method.
type Method struct {
	// Redact clears from a response what must never be stored (a one-time secret); a repeat
	// returns the response so redacted. nil stores the response whole.
	Redact func(proto.Message)
	// SecretInput says the request carries a secret (a password): its fingerprint is then an
	// argon2id hash, as slow to guess from as a stored password, not a SHA-256.
	SecretInput bool
}

// Creates binds one service's create methods, by gRPC full method name, to its Store.
type Creates struct {
	Store   *Store
	Methods map[string]Method
}

// Interceptor returns the unary interceptor that makes the methods of creates idempotent. It
// must run after authorization: a request_id belongs to the authenticated caller. It fails when
// two Creates name one method.
func Interceptor(creates ...Creates) (grpc.UnaryServerInterceptor, error) {
	type entry struct {
		store  *Store
		method Method
	}
	byMethod := map[string]entry{}
	for _, c := range creates {
		for name, m := range c.Methods {
			if _, dup := byMethod[name]; dup {
				return nil, fmt.Errorf("idempotency: method %s configured twice", name)
			}
			byMethod[name] = entry{store: c.Store, method: m}
		}
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		e, ok := byMethod[info.FullMethod]
		if !ok {
			return handler(ctx, req)
		}
		msg, ok := req.(proto.Message)
		if !ok {
			return nil, fmt.Errorf("idempotency: %s: request %T is not a protobuf message", info.FullMethod, req)
		}
		return e.store.create(ctx, info.FullMethod, e.method, msg, func(ctx context.Context) (proto.Message, error) {
			resp, err := handler(ctx, req)
			if err != nil {
				return nil, err
			}
			out, ok := resp.(proto.Message)
			if !ok {
				return nil, fmt.Errorf("idempotency: %s: response %T is not a protobuf message", info.FullMethod, resp)
			}
			return out, nil
		})
	}, nil
}

// Store keeps one service's create records. Safe for concurrent use.
type Store struct {
	coll     *mongo.Collection
	locks    *mongodb.DocLocks
	replacer *mongodb.Replacer
	logger   *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	started bool        // the first prune (of whatever expired before this process) succeeded
	marks   []time.Time // expiry times of records this process wrote and no prune removed yet, ascending
}

// NewStore returns the Store of db, a service's own database. locks are the process's document
// locks; a nil logger discards.
func NewStore(db *mongo.Database, locks *mongodb.DocLocks, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{coll: db.Collection(Collection), locks: locks, replacer: mongodb.NewReplacer(db), logger: logger,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

const schemaVersion = 1

// Record states.
const (
	statePending = "pending" // the create is running (or its process stopped: see stalePending)
	stateDone    = "done"    // the create succeeded: response holds what it returned
	stateFailed  = "failed"  // the create failed: the next attempt runs it again
)

// recordDoc is one create's record.
type recordDoc struct {
	ID            string    `bson:"_id"` // {caller}|{method}|{request_id}
	SchemaVersion int       `bson:"schemaVersion"`
	Fingerprint   string    `bson:"fingerprint"` // hex hash of the request without request_id
	State         string    `bson:"state"`
	Attempt       int       `bson:"attempt"` // bumped by each claim: the guard of every replace
	ResponseType  string    `bson:"responseType,omitempty"`
	Response      []byte    `bson:"responseZstd,omitempty"` // zstd of the redacted response's protobuf
	UpdateTime    time.Time `bson:"updateTime"`
	ExpireTime    time.Time `bson:"expireTime"`
}

// create runs create once per caller, method and request_id within TTL (see the package comment).
func (s *Store) create(ctx context.Context, method string, m Method, req proto.Message,
	create func(context.Context) (proto.Message, error)) (proto.Message, error) {
	requestID, err := RequestID(req)
	if err != nil || requestID == "" {
		if err != nil {
			return nil, err
		}
		return create(ctx)
	}
	caller, ok := auth.FromContext(ctx)
	if !ok || caller.KeyName == "" {
		return nil, apperr.New(apperr.Unauthenticated, "a request with a request_id needs an authenticated caller")
	}
	id := caller.KeyName + "|" + method + "|" + requestID
	fp, err := fingerprint(req, id, m.SecretInput)
	if err != nil {
		return nil, err
	}
	claimed, replay, err := s.claim(ctx, id, requestID, fp)
	if err != nil || replay != nil {
		return replay, err
	}

	out, createErr := create(ctx)
	// The outcome is recorded even when the caller has gone: its retry must find it.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	final := claimed
	final.UpdateTime = s.now()
	if createErr != nil {
		final.State = stateFailed
	} else {
		final.State = stateDone
		if final.ResponseType, final.Response, err = encodeResponse(out, m.Redact); err != nil {
			final.State = stateFailed
			s.logger.ErrorContext(ctx, "storing a create's response failed", "method", method, "err", err)
		}
	}
	if err := s.finish(recordCtx, claimed, final); err != nil {
		// The create stands; a repeat within stalePending is answered ABORTED, a later one
		// creates again.
		s.logger.WarnContext(ctx, "recording a create's outcome failed", "method", method, "err", err)
	}
	return out, createErr
}

// claim reads the record id and either returns the response to replay (or the error a repeat
// gets), or claims the record for a new attempt: inserts it, or takes over a failed, expired or
// abandoned one.
func (s *Store) claim(ctx context.Context, id, requestID, fp string) (claimed recordDoc, replay proto.Message, err error) {
	unlock, err := s.locks.Lock(ctx, s.coll.Database().Name(), Collection, id)
	if err != nil {
		return recordDoc{}, nil, err
	}
	defer unlock()
	rec, found, err := s.read(ctx, id)
	if err != nil {
		return recordDoc{}, nil, err
	}
	now := s.now()
	live := found && now.Before(rec.ExpireTime) && rec.State != stateFailed &&
		!(rec.State == statePending && now.Sub(rec.UpdateTime) > stalePending)
	if live {
		if rec.Fingerprint != fp {
			why := fmt.Sprintf("request_id %q was already used by this caller for a different request; send a new request_id for a new request", requestID)
			return recordDoc{}, nil, &apperr.Error{Code: apperr.FailedPrecondition, Message: why,
				Fields: []apperr.FieldViolation{{Field: Field, Description: why, Rule: "REQUEST_ID_REUSED"}}}
		}
		if rec.State == statePending {
			return recordDoc{}, nil, apperr.New(apperr.Conflict,
				"the first request with request_id %q is still running; retry in a moment", requestID)
		}
		resp, err := decodeResponse(rec)
		if err != nil {
			return recordDoc{}, nil, fmt.Errorf("create record %q: %w", id, err)
		}
		return recordDoc{}, resp, nil
	}
	next := recordDoc{ID: id, SchemaVersion: schemaVersion, Fingerprint: fp, State: statePending, Attempt: 1,
		UpdateTime: now, ExpireTime: now.Add(TTL)}
	if found {
		next.Attempt = rec.Attempt + 1
		replaced, err := s.replacer.Replace(ctx, s.coll, id, bson.D{{Key: "attempt", Value: rec.Attempt}}, next)
		if err != nil {
			return recordDoc{}, nil, s.storeError(ctx, err)
		}
		if !replaced { // another replica took it over first (MongoDB)
			return recordDoc{}, nil, errConcurrent(requestID)
		}
	} else if _, err := s.coll.InsertOne(ctx, next); err != nil {
		if mongodb.IsDuplicateKey(err) { // another replica claimed it first
			return recordDoc{}, nil, errConcurrent(requestID)
		}
		return recordDoc{}, nil, s.storeError(ctx, err)
	}
	s.noteExpiry(next.ExpireTime)
	return next, nil, nil
}

func errConcurrent(requestID string) error {
	return apperr.New(apperr.Conflict, "another request with request_id %q started at the same time; retry in a moment", requestID)
}

// finish replaces the record claimed by final, unless another attempt has taken it over since.
func (s *Store) finish(ctx context.Context, claimed, final recordDoc) error {
	unlock, err := s.locks.Lock(ctx, s.coll.Database().Name(), Collection, claimed.ID)
	if err != nil {
		return err
	}
	defer unlock()
	rec, found, err := s.read(ctx, claimed.ID)
	if err != nil {
		return err
	}
	if !found || rec.Attempt != claimed.Attempt {
		return fmt.Errorf("create record %q was taken over by a later attempt", claimed.ID)
	}
	if _, err := s.replacer.Replace(ctx, s.coll, claimed.ID, bson.D{{Key: "attempt", Value: claimed.Attempt}}, final); err != nil {
		return s.storeError(ctx, err)
	}
	return nil
}

// read returns the record id, if there is one.
func (s *Store) read(ctx context.Context, id string) (recordDoc, bool, error) {
	var rec recordDoc
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&rec)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return recordDoc{}, false, nil
	}
	if err != nil {
		return recordDoc{}, false, s.storeError(ctx, err)
	}
	if rec.SchemaVersion != schemaVersion {
		return recordDoc{}, false, fmt.Errorf("create record %q: unknown schemaVersion %d", id, rec.SchemaVersion)
	}
	return rec, true, nil
}

func (s *Store) storeError(ctx context.Context, err error) error {
	if mongodb.IsUnavailable(err) {
		s.logger.WarnContext(ctx, "store unavailable", "err", err)
		return apperr.New(apperr.Unavailable, "store unavailable; retry later")
	}
	return err
}

// RequestID returns req's request_id, or "" when it has none; an error when it is not a valid
// one (INVALID_ARGUMENT naming request_id) or req has no such field.
func RequestID(req proto.Message) (string, error) {
	m := req.ProtoReflect()
	field := m.Descriptor().Fields().ByName(Field)
	if field == nil || field.Kind() != protoreflect.StringKind || field.IsList() {
		return "", fmt.Errorf("idempotency: %s has no string field %s", m.Descriptor().FullName(), Field)
	}
	id := m.Get(field).String()
	if len(id) > MaxLen {
		return "", apperr.InvalidField(Field, "must be at most %d characters (a UUID, for one), not %d", MaxLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return "", apperr.InvalidField(Field, "must be printable ASCII characters without spaces (a UUID, for one); character %d is not", i+1)
		}
	}
	return id, nil
}

// fingerprint hashes req without its request_id: SHA-256 of its deterministic protobuf, or for
// a request carrying a secret argon2id salted with the record's id.
func fingerprint(req proto.Message, recordID string, secret bool) (string, error) {
	clone := proto.Clone(req)
	clone.ProtoReflect().Clear(clone.ProtoReflect().Descriptor().Fields().ByName(Field))
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(clone)
	if err != nil {
		return "", fmt.Errorf("idempotency: hash the request: %w", err)
	}
	if secret {
		return "argon2id:" + hex.EncodeToString(argon2.IDKey(body, []byte(recordID), 2, 19*1024, 1, 32)), nil
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

func codec() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		// With nil writers and readers, neither fails; both are safe for concurrent EncodeAll
		// and DecodeAll.
		zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	})
	return zstdEnc, zstdDec
}

// encodeResponse returns the type name and the compressed protobuf of resp after redact (on a
// copy: the caller gets resp as it is).
func encodeResponse(resp proto.Message, redact func(proto.Message)) (string, []byte, error) {
	if redact != nil {
		resp = proto.Clone(resp)
		redact(resp)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		return "", nil, err
	}
	enc, _ := codec()
	return string(resp.ProtoReflect().Descriptor().FullName()), enc.EncodeAll(b, nil), nil
}

func decodeResponse(rec recordDoc) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(rec.ResponseType))
	if err != nil {
		return nil, fmt.Errorf("response type %q: %w", rec.ResponseType, err)
	}
	_, dec := codec()
	b, err := dec.DecodeAll(rec.Response, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress the response: %w", err)
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("decode the response: %w", err)
	}
	return msg, nil
}

// Pruning. A delete by expireTime reads every record (on the embedded store it decodes them
// all), so after its first run the Store deletes only when it knows a record has expired: it
// keeps the expiry times of the records it claimed (its marks), coalesced to one per
// pruneInterval, so at most TTL/pruneInterval+1 of them. A record another process claimed is
// deleted by that process's Store, or by any later delete.

// noteExpiry remembers that a record expires at t.
func (s *Store) noteExpiry(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.marks); n > 0 && t.Sub(s.marks[n-1]) < pruneInterval {
		if t.After(s.marks[n-1]) {
			s.marks[n-1] = t // the delete that takes the earlier record waits for this one: at most pruneInterval longer
		}
		return
	}
	s.marks = append(s.marks, t)
}

// PruneOnce deletes the expired records: always on its first successful run (what expired
// before this process started is unknown), then only when a record this process claimed has
// expired. It reports whether it asked the store to delete.
func (s *Store) PruneOnce(ctx context.Context) (bool, error) {
	now := s.now()
	s.mu.Lock()
	due := !s.started || (len(s.marks) > 0 && !s.marks[0].After(now))
	s.mu.Unlock()
	if !due {
		return false, nil
	}
	if _, err := s.coll.DeleteMany(ctx, bson.D{{Key: "expireTime", Value: bson.D{{Key: "$lte", Value: now}}}}); err != nil {
		return true, s.storeError(ctx, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
	n := 0
	for n < len(s.marks) && !s.marks[n].After(now) {
		n++
	}
	s.marks = append(s.marks[:0], s.marks[n:]...)
	return true, nil
}

// Run prunes at once and then every hour until ctx ends, logging failures; it returns nil once
// no prune is running.
func (s *Store) Run(ctx context.Context) error {
	prune := func(ctx context.Context) {
		if _, err := s.PruneOnce(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "pruning create records failed", "err", err)
		}
	}
	prune(ctx)
	return loop.Every(ctx, pruneInterval, prune)
}
