// Package gateway is Beacon's REST edge: grpc-gateway routes in front of the gRPC services.
//
// Every route reaches its service through a gRPC client connection, never in-process, so the
// services' interceptors (authorization, error mapping, deadlines) treat REST and gRPC callers
// alike. Errors are JSON {code, message, details} with the HTTP status grpc-gateway derives from
// the gRPC code.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/content"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Config is the gateway's configuration.
type Config struct {
	// MaxBodyBytes caps request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// CallTimeout is the deadline of every call the gateway makes. Default 10s.
	CallTimeout time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, CallTimeout: 10 * time.Second}
}

// Upstreams are what the gateway serves from: the gRPC connections management routes are
// forwarded to, and the delivery read model that answers delivery routes from memory.
type Upstreams struct {
	Content *grpc.ClientConn
	// Access serves ApiKeyService; nil means Content.
	Access *grpc.ClientConn
	// Delivery registers the delivery routes (GET /v1/sites/{site}/articles...). They are
	// served from pre-rendered bytes without a gRPC hop, and authorize with Verifier using the
	// same rule as the gRPC DeliveryService.
	Delivery DeliveryRoutes
	Verifier auth.Verifier
}

// DeliveryRoutes builds the delivery router: Route serves a request and reports true when it is
// a delivery request.
type DeliveryRoutes interface {
	Router(verifier auth.Verifier) func(w http.ResponseWriter, r *http.Request) bool
}

// New returns the REST handler.
func New(ctx context.Context, cfg Config, up Upstreams) (http.Handler, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultConfig().MaxBodyBytes
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultConfig().CallTimeout
	}
	strictJSON := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, strictJSON),
		runtime.WithHealthzEndpoint(healthpb.NewHealthClient(up.Content)),
	)
	if err := content.RegisterGateway(ctx, mux, up.Content); err != nil {
		return nil, fmt.Errorf("register content routes: %w", err)
	}
	access := up.Access
	if access == nil {
		access = up.Content
	}
	if err := contentv1.RegisterApiKeyServiceHandler(ctx, mux, access); err != nil {
		return nil, fmt.Errorf("register api key routes: %w", err)
	}
	management := limitBody(cfg.MaxBodyBytes, withTimeout(cfg.CallTimeout, mux))
	if up.Delivery == nil {
		return management, nil
	}
	delivery := up.Delivery.Router(up.Verifier)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !delivery(w, r) {
			management.ServeHTTP(w, r)
		}
	}), nil
}

func withTimeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody answers 413 for bodies over max bytes before any route sees them.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, 8, fmt.Sprintf("request body is larger than %d bytes", max))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, 8, fmt.Sprintf("request body is larger than %d bytes", max))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, 3, "could not read request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// writeError writes an error in the same shape grpc-gateway uses: {code, message, details}.
// grpcCode is the gRPC code number (8 RESOURCE_EXHAUSTED, 3 INVALID_ARGUMENT).
func writeError(w http.ResponseWriter, status, grpcCode int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": grpcCode, "message": message, "details": []any{}})
}
