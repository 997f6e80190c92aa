package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Quota is a rate limit as operators write it: Requests per Window ("600/1m"). It becomes a token
// bucket that holds Requests attempts and refills one every Window/Requests, so a client may
// spend its whole quota at once and then one attempt per Window/Requests.
type Quota struct {
	Requests int
	Window   time.Duration
}

// ParseQuota reads "N/DURATION" (e.g. "600/1m", "20/1s"); "" is the zero Quota, meaning no limit.
func ParseQuota(s string) (Quota, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Quota{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || requests <= 0 {
		return Quota{}, fmt.Errorf("want requests/window such as 600/1m, got %q", s)
	}
	window, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || window < time.Second || window%time.Second != 0 {
		return Quota{}, fmt.Errorf("want requests/window with a window of whole seconds such as 600/1m, got %q", s)
	}
	return Quota{Requests: requests, Window: window}, nil
}

// IsZero reports whether q sets no limit.
func (q Quota) IsZero() bool { return q.Requests == 0 }

// String is q as ParseQuota reads it ("" for no limit).
func (q Quota) String() string {
	if q.IsZero() {
		return ""
	}
	return strconv.Itoa(q.Requests) + "/" + q.Window.String()
}

// Config is the Keyed configuration of q.
func (q Quota) Config() Config {
	return Config{Every: q.Window / time.Duration(q.Requests), Burst: q.Requests}
}

// Header fields of draft-ietf-httpapi-ratelimit-headers (RateLimit-Policy and RateLimit), for a
// refused request: the policy it broke and that nothing remains until the retry.

// PolicyField is the RateLimit-Policy field of the policy name with quota q:
// `"name";q=600;w=60`.
func PolicyField(name string, q Quota) string {
	return strconv.Quote(name) + ";q=" + strconv.Itoa(q.Requests) + ";w=" + strconv.Itoa(int(q.Window/time.Second))
}

// ExhaustedField is the RateLimit field of the policy name when nothing remains for
// retryAfter: `"name";r=0;t=5`.
func ExhaustedField(name string, retryAfter time.Duration) string {
	return strconv.Quote(name) + ";r=0;t=" + strconv.Itoa(RetryAfterSeconds(retryAfter))
}

// RetryAfterSeconds is d as the whole seconds of a Retry-After header: rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// Set parses s into q, so that a Quota is a flag.Value.
func (q *Quota) Set(s string) error {
	v, err := ParseQuota(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}
