package mongodb

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The store rule.
//
// On the embedded FerretDB v1 (SQLite) only an exact {_id: X} filter is served without decoding
// every document of the collection, and only FindOne {_id}, InsertOne and ReplaceOne {_id} stay
// flat as a collection grows: an operator update or a delete by _id, a filter on any other field,
// {_id: {$in: ...}}, a range on _id, a count or an aggregate all cost time in proportion to the
// collection (measured in docs/architecture.md, "Store rules"). So:
//
//	Every store call on a request path or in a periodic loop is a point read (find {_id: X}), an
//	insert, or a whole-document replace by _id after its guard was checked in process (see
//	[Replacer]: on FerretDB the filter is exactly {_id: X}, since any second field makes FerretDB
//	decode the whole collection; on MongoDB the guard rides along).
//
// Two exceptions:
//   - collections that stay small by construction, named in [SmallCollections] with their bound;
//   - startup, migrations and rare admin tools, which mark their context with [WithScan].
//
// [CheckStoreRule] decides whether one command keeps the rule. mongodbtest runs it on every
// command tests send, and fails the test that sent a command breaking it.

// SmallCollection is a collection that may be scanned, because its size is bounded by construction.
type SmallCollection struct {
	// Bound says how large the collection can get, and why.
	Bound string
}

// SmallCollections returns the one allowlist of collections any command may scan, by collection
// name (in whichever service database). Add a collection to smallCollections only when its size
// is bounded by construction, and say how.
func SmallCollections() map[string]SmallCollection { return maps.Clone(smallCollections) }

var smallCollections = map[string]SmallCollection{
	MigrationsCollection: {Bound: "one document per migration step: tens"},
	"article_changes":    {Bound: "the change log, pruned after 5 minutes: the writes of the last 5 minutes"},
	"resource_changes":   {Bound: "the resources change log, pruned after 5 minutes: the writes of the last 5 minutes"},
	"pending_revisions":  {Bound: "one marker per article write in flight or whose revision record failed; removed once recorded"},
	"sites":              {Bound: "one document per branded site, created by operators: tens, at most a few thousand"},
	"api_keys":           {Bound: "one document per API key, created by operators: at most a few thousand"},
	"users":              {Bound: "one document per console user (editors, reviewers, admins), created by admins: at most a few thousand"},
	"create_requests":    {Bound: "platform/idempotency's records: one per create sent with a request_id in the last 24 hours (an editor's or a client's creates of one day), pruned hourly"},
}

type scanKey struct{}

// WithScan marks ctx as startup, migration or admin-tool work, which may scan any collection.
// reason says which (it shows in diagnostics). Never use it on a request path or in a periodic loop.
func WithScan(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, scanKey{}, reason)
}

// ScanReason returns the reason given to [WithScan], if ctx was marked.
func ScanReason(ctx context.Context) (string, bool) {
	r, ok := ctx.Value(scanKey{}).(string)
	return r, ok
}

// CheckStoreRule returns "" when the command keeps the store rule, else why it does not. command
// is the command document as sent (the driver's CommandStartedEvent.Command, document sequences
// folded in), name its command name. Commands other than reads and writes by filter (insert,
// getMore, createIndexes, ...) always keep it; so does any command on a [SmallCollections]
// collection. guardsSent says the server is MongoDB, where a replace may carry a guard after its
// _id (see [Replacer]); on FerretDB a replace must be exactly {_id: X}. It does not look at
// [WithScan]: the caller does.
func CheckStoreRule(name string, command bson.Raw, guardsSent bool) string {
	coll, _ := command.Lookup(name).StringValueOK()
	if _, small := smallCollections[coll]; small {
		return ""
	}
	switch name {
	case "find":
		return exactID(command, "filter", "find")
	case "count", "distinct":
		return exactID(command, "query", name)
	case "aggregate":
		return fmt.Sprintf("aggregate on %s: aggregates (and CountDocuments, EstimatedDocumentCount) decode the whole collection", coll)
	case "update":
		return checkEach(command, "updates", func(stmt bson.Raw) string {
			check := exactID
			if guardsSent {
				check = leadingID
			}
			if why := check(stmt, "q", "update"); why != "" {
				return why
			}
			u := stmt.Lookup("u")
			doc, ok := u.DocumentOK()
			if !ok {
				return "update with a pipeline: use a whole-document replace"
			}
			if isOperatorDoc(doc) {
				return "update with operators (" + firstKey(doc) + "): operator updates cost time in proportion to the collection; replace the whole document"
			}
			if multi, ok := stmt.Lookup("multi").BooleanOK(); ok && multi {
				return "updateMany: replace documents one by one, by _id"
			}
			return ""
		})
	case "delete":
		return fmt.Sprintf("delete on %s: deletes cost time in proportion to the collection; replace the document with a tombstone, or keep the data in a small collection", coll)
	case "findAndModify":
		return fmt.Sprintf("findAndModify on %s: read by _id, check in process, then replace by _id", coll)
	}
	return ""
}

// exactID returns "" when command[field] is exactly {_id: <value that is not an operator document>}.
func exactID(command bson.Raw, field, what string) string {
	v, err := command.LookupErr(field)
	if err != nil {
		return what + " without a filter: a full scan"
	}
	filter, ok := v.DocumentOK()
	if !ok {
		return what + " with a filter that is not a document"
	}
	elems, err := filter.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
		return fmt.Sprintf("%s with filter %s: only an exact {_id: X} is served without decoding every document", what, abbreviate(filter))
	}
	if doc, ok := elems[0].Value().DocumentOK(); ok && isOperatorDoc(doc) {
		return fmt.Sprintf("%s with filter %s: {_id: {%s ...}} is a full scan", what, abbreviate(filter), firstKey(doc))
	}
	return ""
}

// leadingID returns "" when command[field] starts with an exact {_id: X}. What follows is a guard
// (e.g. the version a replace expects), sent only to MongoDB, where it keeps writes atomic across
// replicas (see [Replacer]).
func leadingID(command bson.Raw, field, what string) string {
	filter, ok := command.Lookup(field).DocumentOK()
	if !ok {
		return what + " without a filter: a full scan"
	}
	elems, err := filter.Elements()
	if err != nil || len(elems) == 0 || elems[0].Key() != "_id" {
		return fmt.Sprintf("%s with filter %s: a write must start with an exact {_id: X}", what, abbreviate(filter))
	}
	if doc, ok := elems[0].Value().DocumentOK(); ok && isOperatorDoc(doc) {
		return fmt.Sprintf("%s with filter %s: {_id: {%s ...}} is a full scan", what, abbreviate(filter), firstKey(doc))
	}
	return ""
}

func checkEach(command bson.Raw, field string, check func(bson.Raw) string) string {
	arr, ok := command.Lookup(field).ArrayOK()
	if !ok {
		return ""
	}
	values, err := arr.Values()
	if err != nil {
		return "unreadable " + field
	}
	for _, v := range values {
		if doc, ok := v.DocumentOK(); ok {
			if why := check(doc); why != "" {
				return why
			}
		}
	}
	return ""
}

func isOperatorDoc(doc bson.Raw) bool {
	return strings.HasPrefix(firstKey(doc), "$")
}

func firstKey(doc bson.Raw) string {
	elems, err := doc.Elements()
	if err != nil || len(elems) == 0 {
		return ""
	}
	return elems[0].Key()
}

func abbreviate(doc bson.Raw) string {
	s := doc.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
