package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/ratelimit"
)

func TestParseQuota(t *testing.T) {
	tests := []struct {
		in      string
		want    ratelimit.Quota
		wantErr bool
	}{
		{"", ratelimit.Quota{}, false},
		{"600/1m", ratelimit.Quota{Requests: 600, Window: time.Minute}, false},
		{" 20 / 1s ", ratelimit.Quota{Requests: 20, Window: time.Second}, false},
		{"5000/1h", ratelimit.Quota{Requests: 5000, Window: time.Hour}, false},
		{"600", ratelimit.Quota{}, true},
		{"0/1m", ratelimit.Quota{}, true},
		{"-5/1m", ratelimit.Quota{}, true},
		{"ten/1m", ratelimit.Quota{}, true},
		{"10/minute", ratelimit.Quota{}, true},
		{"10/500ms", ratelimit.Quota{}, true}, // RateLimit-Policy counts whole seconds
		{"10/1.5s", ratelimit.Quota{}, true},
	}
	for _, tt := range tests {
		got, err := ratelimit.ParseQuota(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseQuota(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && !got.IsZero() {
			if back, _ := ratelimit.ParseQuota(got.String()); back != got {
				t.Errorf("ParseQuota(%q).String() = %q does not read back", tt.in, got.String())
			}
		}
	}
}

func TestQuotaBucket(t *testing.T) {
	q := ratelimit.Quota{Requests: 3, Window: 30 * time.Second}
	l := ratelimit.New(q.Config())
	for i := range 3 {
		if ok, _ := l.Allow("k", t0); !ok {
			t.Fatalf("request %d of the quota refused", i+1)
		}
	}
	if ok, retry := l.Allow("k", t0); ok || retry != 10*time.Second {
		t.Fatalf("request over the quota = %v, retry %v; want refused, 10s (one request back every 30s/3)", ok, retry)
	}
}

func TestHeaderFields(t *testing.T) {
	q := ratelimit.Quota{Requests: 600, Window: time.Minute}
	if got := ratelimit.PolicyField("caller", q); got != `"caller";q=600;w=60` {
		t.Errorf("PolicyField = %s", got)
	}
	for _, tt := range []struct {
		retry time.Duration
		want  string
	}{{100 * time.Millisecond, `"caller";r=0;t=1`}, {4200 * time.Millisecond, `"caller";r=0;t=5`}, {0, `"caller";r=0;t=1`}} {
		if got := ratelimit.ExhaustedField("caller", tt.retry); got != tt.want {
			t.Errorf("ExhaustedField(%v) = %s, want %s", tt.retry, got, tt.want)
		}
	}
}

func TestPerCaller(t *testing.T) {
	q := ratelimit.Quota{Requests: 2, Window: time.Minute}
	unary := ratelimit.NewPerCaller(q).Unary()
	ok := func(context.Context, any) (any, error) { return "done", nil }
	call := func(p *auth.Principal) error {
		ctx := context.Background()
		if p != nil {
			ctx = auth.WithPrincipal(ctx, *p)
		}
		_, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, ok)
		return err
	}
	editor := auth.Principal{KeyName: "apiKeys/editor", Role: auth.RoleEditor}
	user := auth.Principal{KeyName: "users/a@example.org", Role: auth.RoleAdmin}
	delivery := auth.Principal{KeyName: "apiKeys/site", Role: auth.RoleDelivery}
	tests := []struct {
		name    string
		caller  *auth.Principal
		refused bool
	}{
		{"editor 1", &editor, false},
		{"editor 2", &editor, false},
		{"editor 3: over the quota", &editor, true},
		{"another caller has its own quota", &user, false},
		{"no caller (health) is not counted", nil, false},
		{"no caller again", nil, false},
		{"no caller a third time", nil, false},
		{"delivery 1", &delivery, false},
		{"delivery 2", &delivery, false},
		{"delivery 3: delivery keys are not counted", &delivery, false},
	}
	for _, tt := range tests {
		err := call(tt.caller)
		if (err != nil) != tt.refused {
			t.Fatalf("%s: %v, want refused %v", tt.name, err, tt.refused)
		}
		if err == nil {
			continue
		}
		e, _ := apperr.As(err)
		if e == nil || e.Code != apperr.ResourceExhausted || e.RetryAfter < 29*time.Second || e.RetryAfter > 30*time.Second || e.Limit == nil ||
			*e.Limit != (apperr.Limit{Policy: ratelimit.PolicyCaller, Requests: 2, Window: time.Minute}) ||
			!strings.Contains(e.Message, "apiKeys/editor") {
			t.Errorf("%s: refusal %#v; want RESOURCE_EXHAUSTED naming the caller, retry 30s and the caller policy", tt.name, e)
		}
	}
}
