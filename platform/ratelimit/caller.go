package ratelimit

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// Policy names, as RateLimit-Policy and the gRPC error carry them.
const (
	PolicyCaller  = "caller"  // per API key or console user, on every call but delivery's
	PolicyAddress = "address" // per client address, on the REST edge's management routes
	PolicySite    = "site"    // per site, on the delivery routes
)

// Refusal is the error of a call a limit refused: RESOURCE_EXHAUSTED (429) saying which limit,
// with the wait (google.rpc.RetryInfo; Retry-After) and the policy (RateLimit-Policy and
// RateLimit at the REST edge).
func Refusal(policy string, q Quota, retryAfter time.Duration, subject string) *apperr.Error {
	err := apperr.TooManyAttempts(retryAfter, "too many requests %s: at most %d per %s; retry in %ds",
		subject, q.Requests, q.Window, RetryAfterSeconds(retryAfter))
	err.Limit = &apperr.Limit{Policy: policy, Requests: q.Requests, Window: q.Window}
	return err
}

// PerCaller limits the unary calls of each authenticated caller (auth.Principal.KeyName: an
// API key, or a console user as users/{email}) to its Quota. It runs after the authorization
// interceptor, which puts the caller in the context, so every management call is counted once,
// whether it came over gRPC or through the REST edge. Calls without a caller (health,
// reflection) and delivery keys' calls are not counted: delivery is the sites' read path, limited
// per site at the edge if at all (and the screening service's own delivery key calls content and
// resources for every score).
type PerCaller struct {
	quota Quota
	keys  *Keyed
	now   func() time.Time
}

// NewPerCaller returns the limit q per caller; q must not be zero.
func NewPerCaller(q Quota) *PerCaller {
	return &PerCaller{quota: q, keys: New(q.Config()), now: time.Now}
}

// Unary returns the interceptor.
func (p *PerCaller) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		caller, ok := auth.FromContext(ctx)
		if !ok || caller.Role == auth.RoleDelivery {
			return handler(ctx, req)
		}
		if allowed, retry := p.keys.Allow(caller.KeyName, p.now()); !allowed {
			return nil, Refusal(PolicyCaller, p.quota, retry, fmt.Sprintf("from %s", caller.KeyName))
		}
		return handler(ctx, req)
	}
}
