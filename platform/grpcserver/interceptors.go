package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// errorUnary maps handler errors to statuses (see Status) and recovers panics as internal errors.
// It is the outermost interceptor, so errors from every inner interceptor are mapped too.
func errorUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
				resp = nil
			}
			if err != nil {
				err = Status(ctx, logger, info.FullMethod, err).Err()
			}
		}()
		return handler(ctx, req)
	}
}

func errorStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			}
			if err != nil {
				err = Status(ss.Context(), logger, info.FullMethod, err).Err()
			}
		}()
		return handler(srv, ss)
	}
}

// deadlineUnary gives every call without a deadline, or with a longer one, at most max to run.
func deadlineUnary(max time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > max {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, max)
			defer cancel()
		}
		return handler(ctx, req)
	}
}

// logUnary logs one line per call: method, code, duration in milliseconds and the caller's
// name (see WithCaller), at info (health checks at debug; internal errors at warn), with the
// request id of its context. It never logs requests or metadata, which may hold secrets or
// screening answers.
func logUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		slot := &callerSlot{}
		resp, err := handler(context.WithValue(ctx, callerKey{}, slot), req)
		took := time.Since(start)
		code := codeFor(err)
		level := slog.LevelInfo
		switch {
		case code == codes.Internal || code == codes.Unknown:
			level = slog.LevelWarn
		case strings.HasPrefix(info.FullMethod, "/grpc.health.v1.Health/"):
			level = slog.LevelDebug
		}
		logger.LogAttrs(ctx, level, "rpc", slog.String("method", info.FullMethod), slog.String("code", code.String()),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000), slog.String("caller", slot.name))
		return resp, err
	}
}

// callerSlot is where callerUnary, inside authorization, leaves the caller's name for logUnary,
// outside it.
type callerSlot struct{ name string }

type callerKey struct{}

// callerUnary is the innermost interceptor: it records the authenticated caller's name for the
// call's log line.
func callerUnary(caller func(context.Context) string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if caller != nil {
			if slot, ok := ctx.Value(callerKey{}).(*callerSlot); ok {
				slot.name = caller(ctx)
			}
		}
		return handler(ctx, req)
	}
}
