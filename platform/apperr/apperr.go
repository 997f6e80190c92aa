// Package apperr defines the application errors every Beacon service returns.
//
// Domain and store code return these (or wrap them with fmt.Errorf("...: %w", err)).
// Exactly one place, platform/grpcserver, turns them into gRPC status codes; any error that is
// not an *Error is internal: its text is logged with an id and never shown to the caller.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an application error. Each code maps to exactly one gRPC code.
type Code string

// The codes. Their gRPC equivalents are in platform/grpcserver.
const (
	Invalid            Code = "invalid"             // bad input; see Fields
	NotFound           Code = "not_found"           // missing, or outside the caller's sites
	AlreadyExists      Code = "already_exists"      // a unique value is taken
	Conflict           Code = "conflict"            // stale etag / concurrent change; retry after re-reading
	FailedPrecondition Code = "failed_precondition" // the resource is not in a state that allows this
	Unauthenticated    Code = "unauthenticated"     // no or unknown credentials
	PermissionDenied   Code = "permission_denied"   // credentials valid, action not allowed
	Unavailable        Code = "unavailable"         // a dependency is down; retry later
	ResourceExhausted  Code = "resource_exhausted"  // too many attempts; retry after Error.RetryAfter
)

// FieldViolation names one bad field of a request and what is wrong with it.
type FieldViolation struct {
	Field       string // proto field path, e.g. "article.slug"
	Description string
	// Rule names the precondition a FailedPrecondition error found unmet, e.g.
	// "CLINICAL_REVIEWER" (google.rpc.PreconditionFailure's type); empty for other errors.
	Rule string
}

// Error is an error whose message is safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldViolation
	// RetryAfter, when positive, is how long the caller should wait before trying again
	// (ResourceExhausted); it reaches gRPC callers as a google.rpc.RetryInfo detail.
	RetryAfter time.Duration
	// Limit, when set, is the rate limit that refused the call (ResourceExhausted); it reaches
	// gRPC callers as a google.rpc.ErrorInfo (reason RATE_LIMITED) and REST callers as the
	// RateLimit-Policy and RateLimit headers.
	Limit *Limit
}

// Limit is a rate limit: at most Requests per Window, under the policy's name.
type Limit struct {
	Policy   string
	Requests int
	Window   time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Description)
	}
	if e.Message == "" {
		return strings.Join(parts, "; ")
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// TooManyAttempts returns a ResourceExhausted error telling the caller to wait retryAfter.
func TooManyAttempts(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: ResourceExhausted, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// InvalidField returns an Invalid error about one field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: "invalid request", Fields: []FieldViolation{{Field: field, Description: fmt.Sprintf(format, args...)}}}
}

// FailedPreconditionField returns a FailedPrecondition error about one field: the request is
// well formed, but the current state of what the field refers to (e.g. a deleted site) forbids
// it. Like Invalid errors it carries the field as a violation.
func FailedPreconditionField(field, format string, args ...any) *Error {
	return &Error{Code: FailedPrecondition, Message: "failed precondition", Fields: []FieldViolation{{Field: field, Description: fmt.Sprintf(format, args...)}}}
}

// Preconditions collects unmet preconditions, each a rule about a field; Err returns nil when
// there are none.
type Preconditions []FieldViolation

// Add records that rule is unmet for field.
func (p *Preconditions) Add(rule, field, format string, args ...any) {
	*p = append(*p, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...), Rule: rule})
}

// Err returns a FailedPrecondition *Error holding the unmet preconditions, or nil. message says
// what they stopped, e.g. "articles/x cannot be published".
func (p Preconditions) Err(message string) error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: FailedPrecondition, Message: message, Fields: p}
}

// Violations collects field violations; Err returns nil when there are none.
type Violations []FieldViolation

// Add records that field is bad.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid *Error holding the violations, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "invalid request", Fields: v}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns err's code, or "" when err is not an application error (an internal error).
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return ""
}

// Is reports whether err is an application error with the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
