package auth

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/beaconcms/beacon/platform/apperr"
)

// Verifier checks a bearer secret and says whose it is.
//
// Verify returns an apperr Unauthenticated error when the secret is malformed, unknown or
// revoked; any other error means it could not tell (e.g. the store is down) and is passed on
// to the caller as is. Errors must never contain the secret.
type Verifier interface {
	Verify(ctx context.Context, secret string) (Principal, error)
}

// errMissingKey is the answer to a call without usable credentials.
func errMissingKey() error {
	return apperr.New(apperr.Unauthenticated, "missing API key: send 'authorization: Bearer <key>'")
}

// errInvalidKey is the answer to an unknown or revoked key: the same for both, so that a caller
// cannot tell whether a key ever existed.
func errInvalidKey() error {
	return apperr.New(apperr.Unauthenticated, "invalid or revoked API key")
}

// Interceptor authenticates every call and applies a [Policy]: it reads the metadata
// "authorization: Bearer <secret>", has the [Verifier] check the secret, checks the method's
// [Rule], and calls the handler with the [Principal] in the context ([FromContext]).
//
// Install it with grpc.ChainUnaryInterceptor / grpc.ChainStreamInterceptor AFTER the interceptor
// that maps apperr errors to gRPC statuses, so that its errors are mapped too.
type Interceptor struct {
	policy   Policy
	verifier Verifier
	logger   *slog.Logger
}

// NewInterceptor returns an Interceptor applying a copy of policy (later changes to the map are
// not seen). Check the policy with [Policy.Validate] and [Policy.MissingRules] in tests; a nil
// logger discards.
func NewInterceptor(policy Policy, verifier Verifier, logger *slog.Logger) *Interceptor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Interceptor{policy: maps.Clone(policy), verifier: verifier, logger: logger}
}

// Unary returns the interceptor for unary RPCs.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := i.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the interceptor for streaming RPCs. The handler's stream returns the
// context holding the Principal.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := i.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// FullReflection reports whether the caller of ctx (a stream's context, as Stream passed it
// on) may see every service through reflection: an authenticated principal that
// [ReflectionRule] allows. Reflection's methods are public, so a caller without a key reaches
// the reflection service too, and sees only health.
func (i *Interceptor) FullReflection(ctx context.Context) bool {
	p, ok := FromContext(ctx)
	return ok && ReflectionRule.allows(p)
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// authorize returns ctx with the caller's Principal, or the error to answer with.
func (i *Interceptor) authorize(ctx context.Context, method string) (context.Context, error) {
	rule, ok := i.policy[method]
	if !ok {
		i.logger.ErrorContext(ctx, "auth policy gap: method has no rule, refusing the call", "method", method)
		return nil, apperr.New(apperr.PermissionDenied, "%s has no access rule and is refused for everyone", method)
	}

	header, present, err := authorizationHeader(ctx)
	if rule.Public && !present {
		return ctx, nil
	}
	if err != nil {
		i.logger.DebugContext(ctx, "call refused: no or malformed authorization", "method", method)
		return nil, err
	}

	p, err := Authenticate(ctx, i.verifier, header)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) {
			i.logger.InfoContext(ctx, "call refused: missing, malformed, invalid or revoked API key", "method", method)
		}
		return nil, err
	}

	if !rule.Public && !rule.allows(p) {
		i.logger.InfoContext(ctx, "call refused: not allowed by policy",
			"method", method, "key", p.KeyName, "role", p.Role.String(), "site", p.Site)
		if slices.Contains(rule.Roles, p.Role) { // so the site check failed
			return nil, apperr.New(apperr.PermissionDenied,
				"API key %s is limited to site %q; %s needs an all-sites key", p.KeyName, p.Site, method)
		}
		return nil, apperr.New(apperr.PermissionDenied,
			"API key %s has role %s, which may not call %s", p.KeyName, p.Role, method)
	}
	return WithPrincipal(ctx, p), nil
}

// authorizationHeader returns the one "authorization" metadata value. present is false when
// there is none at all; err is set when it is absent or repeated.
func authorizationHeader(ctx context.Context) (header string, present bool, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return "", false, errMissingKey()
	}
	if len(values) > 1 {
		return "", true, errMissingKey()
	}
	return values[0], true, nil
}
