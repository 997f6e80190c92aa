package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
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

// logUnary logs one line per call: method, code and duration. It never logs requests or metadata,
// which may hold secrets or screening answers.
func logUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := codeFor(err)
		level := slog.LevelDebug
		if code == codes.Internal || code == codes.Unknown {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
		return resp, err
	}
}
