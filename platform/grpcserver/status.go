// Package grpcserver builds the gRPC servers every Beacon service runs on: interceptors for panic
// recovery, error mapping, deadlines and request logging, plus health and reflection.
package grpcserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"

	"github.com/beaconcms/beacon/platform/apperr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// codeOf is the one table from application error codes to gRPC codes. The gateway turns gRPC codes
// into HTTP statuses with grpc-gateway's HTTPStatusFromCode; nothing else maps errors.
var codeOf = map[apperr.Code]codes.Code{
	apperr.Invalid:            codes.InvalidArgument,
	apperr.NotFound:           codes.NotFound,
	apperr.AlreadyExists:      codes.AlreadyExists,
	apperr.Conflict:           codes.Aborted,
	apperr.FailedPrecondition: codes.FailedPrecondition,
	apperr.Unauthenticated:    codes.Unauthenticated,
	apperr.PermissionDenied:   codes.PermissionDenied,
	apperr.Unavailable:        codes.Unavailable,
	apperr.ResourceExhausted:  codes.ResourceExhausted,
}

// Status converts err into the status the caller sees.
//
// Application errors keep their message, and errors about fields carry an errdetails.BadRequest
// naming each (FailedPrecondition errors also an errdetails.PreconditionFailure: type the rule,
// subject the field). Context cancellation and deadlines keep their codes. Every other error is
// internal: it is logged with a random id and the caller sees only "internal error (id ...)".
func Status(ctx context.Context, logger *slog.Logger, method string, err error) *status.Status {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown && s.Code() != codes.Internal {
		// Already a status from a lower layer we trust (e.g. grpc itself); pass it on.
		return s
	}
	if e, ok := apperr.As(err); ok {
		code, known := codeOf[e.Code]
		if known {
			st := status.New(code, e.Error())
			if e.RetryAfter > 0 {
				if withRetry, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); derr == nil {
					st = withRetry
				}
			}
			if e.Limit != nil {
				info := &errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "beacon", Metadata: map[string]string{
					"policy": e.Limit.Policy, "requests": strconv.Itoa(e.Limit.Requests), "window": e.Limit.Window.String(),
				}}
				if withInfo, derr := st.WithDetails(info); derr == nil {
					st = withInfo
				}
			}
			if len(e.Fields) > 0 {
				br := &errdetails.BadRequest{}
				for _, f := range e.Fields {
					br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
				}
				details := []protoadapt.MessageV1{br}
				if e.Code == apperr.FailedPrecondition {
					pf := &errdetails.PreconditionFailure{}
					for _, f := range e.Fields {
						rule := f.Rule
						if rule == "" {
							rule = "FAILED_PRECONDITION"
						}
						pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: rule, Subject: f.Field, Description: f.Description})
					}
					details = append(details, pf)
				}
				if withDetails, derr := st.WithDetails(details...); derr == nil {
					st = withDetails
				}
			}
			return st
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	id := newErrorID()
	logger.ErrorContext(ctx, "internal error", "method", method, "error_id", id, "err", err)
	return status.Newf(codes.Internal, "internal error (id %s)", id)
}

// codeFor returns the gRPC code Status would give err, without logging anything.
func codeFor(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s.Code()
	}
	if e, ok := apperr.As(err); ok {
		if code, known := codeOf[e.Code]; known {
			return code
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

func newErrorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
