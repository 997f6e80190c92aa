// Package mongodb connects Beacon to its document store and holds the helpers every store uses.
//
// Production runs against a real MongoDB replica set; development, tests and small deployments run an
// in-process FerretDB v1 with its SQLite handler ([StartEmbedded]). Store code must use only what behaves
// the same on both: see "Store rules (FerretDB v1 compatibility)" in docs/architecture.md (notably: no
// transactions, no change streams, no TTL indexes, and FerretDB never uses an index to read).
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Defaults applied by [Connect] unless the URI sets them itself.
const (
	appName                = "beacon"
	serverSelectionTimeout = 5 * time.Second
	connectTimeout         = 5 * time.Second
)

// Connect dials uri, pings the primary (bounded by ctx), and returns the connected client.
//
// The app name defaults to "beacon", the server selection timeout to 5s and the connect timeout to 5s;
// options written in uri ("appName", "serverSelectionTimeoutMS",
// "connectTimeoutMS", ...) take precedence. On error no client is left open. The caller owns the
// returned client and must Disconnect it.
//
// extra options (e.g. a command monitor in tests) are applied after the defaults and the URI.
func Connect(ctx context.Context, uri string, extra ...*options.ClientOptions) (*mongo.Client, error) {
	opts := options.Client().
		SetAppName(appName).
		SetServerSelectionTimeout(serverSelectionTimeout).
		SetConnectTimeout(connectTimeout).
		ApplyURI(uri) // last, so that options written in the URI win
	client, err := mongo.Connect(append([]*options.ClientOptions{opts}, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to MongoDB: %w", err)
	}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		// The ping's error is the one worth returning; a failed Disconnect adds nothing.
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("pinging MongoDB: %w", err)
	}
	return client, nil
}

// ferretInternalError is the code of FerretDB's InternalError.
const ferretInternalError = 1

// IsDuplicateKey reports whether err (or an error it wraps) is a unique-index violation, in either form:
//   - MongoDB's (and FerretDB's, for inserts and the insert path of upserts) E11000, as recognised by
//     [mongo.IsDuplicateKeyError];
//   - FerretDB v1's InternalError (code 1) whose message contains "UNIQUE constraint failed", which it
//     raises instead when an update, replace or findAndModify would violate a unique index (the document
//     is left unchanged).
//
// It is false for nil.
func IsDuplicateKey(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCodeWithMessage(ferretInternalError, "UNIQUE constraint failed")
}

// unavailableCodes are server error codes meaning the deployment cannot serve the request right now
// (node shutting down, no primary during an election, unreachable host). The driver already retries
// these once for retryable reads and writes, so seeing one means the condition persisted.
var unavailableCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	133,   // FailedToSatisfyReadPreference
	189,   // PrimarySteppedDown
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// IsUnavailable reports whether err (or an error it wraps) means the store cannot be reached or cannot
// serve right now, so that callers can map it to UNAVAILABLE ("retry later"): a server selection failure
// or timeout, a network error, a connection-pool checkout timeout, a client that was disconnected, or a
// server error of the "shutting down / no primary / host unreachable" kind.
//
// It is false for nil and for any error caused by the caller canceling its context (context.Canceled),
// because then the caller, not the store, gave up. Server errors such as duplicate keys are not
// unavailability either.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, mongo.ErrClientDisconnected) || mongo.IsNetworkError(err) {
		return true
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		return true
	}
	var ce topology.ConnectionError
	if errors.As(err, &ce) {
		return true
	}
	var wqe topology.WaitQueueTimeoutError
	if errors.As(err, &wqe) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, code := range unavailableCodes {
			if se.HasErrorCode(code) {
				return true
			}
		}
	}
	return false
}
