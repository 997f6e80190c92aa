package gateway

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/beaconcms/beacon/platform/ratelimit"
)

// keyedLimit is one rate limit of the edge: a quota per key (a client address, a site).
type keyedLimit struct {
	policy string
	quota  ratelimit.Quota
	keys   *ratelimit.Keyed
	now    func() time.Time
}

// newKeyedLimit returns nil for a zero quota: no limit, and nothing installed.
func newKeyedLimit(policy string, q ratelimit.Quota) *keyedLimit {
	if q.IsZero() {
		return nil
	}
	return &keyedLimit{policy: policy, quota: q, keys: ratelimit.New(q.Config()), now: time.Now}
}

// allow takes one request of key; when none is left it answers 429 itself, naming key after
// what (built only then: the delivery path allocates nothing), and returns false.
func (l *keyedLimit) allow(w http.ResponseWriter, r *http.Request, e *edge, what, key string) bool {
	ok, retry := l.keys.Allow(key, l.now())
	if !ok {
		WriteError(w, r, e.logger, ratelimit.Refusal(l.policy, l.quota, retry, what+key))
	}
	return ok
}

// limitPerAddress limits next's requests per client address (the connection's peer: Beacon
// takes no X-Forwarded-For, so behind a proxy every client shares the proxy's address).
func (e *edge) limitPerAddress(l *keyedLimit, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddress(r)
		if l.allow(w, r, e, "from ", addr) {
			next.ServeHTTP(w, r)
		}
	})
}

// clientAddress is the IP of r's peer.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// setRetryHeaders sets, for a RESOURCE_EXHAUSTED error, Retry-After from its RetryInfo and the
// RateLimit-Policy and RateLimit fields from the limit its ErrorInfo names (see
// ratelimit.Refusal, and platform/grpcserver, which puts both there).
func setRetryHeaders(h http.Header, st *status.Status) {
	if st.Code() != codes.ResourceExhausted {
		return
	}
	var retry time.Duration
	var limit *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration()
			h.Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(retry)))
		case *errdetails.ErrorInfo:
			if d.GetReason() == "RATE_LIMITED" {
				limit = d
			}
		}
	}
	if limit == nil {
		return
	}
	requests, err1 := strconv.Atoi(limit.GetMetadata()["requests"])
	window, err2 := time.ParseDuration(limit.GetMetadata()["window"])
	if err1 != nil || err2 != nil {
		return
	}
	policy := limit.GetMetadata()["policy"]
	h.Set("RateLimit-Policy", ratelimit.PolicyField(policy, ratelimit.Quota{Requests: requests, Window: window}))
	h.Set("RateLimit", ratelimit.ExhaustedField(policy, retry))
}
