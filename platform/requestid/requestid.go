// Package requestid carries a request's id from the edge to every log line and every service
// call of it: the X-Request-Id HTTP header, the x-request-id gRPC metadata key, the context,
// and a slog handler that adds it to each record as request_id.
//
// An id sent by a client is taken only when [Valid]: 1 to [MaxLen] characters among letters,
// digits and "-._:" (what UUIDs, ULIDs and the usual proxies' ids use), so that it can be logged
// and echoed without escaping. Anything else is replaced by a fresh id from a [Generator].
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"strconv"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

const (
	// Header is the HTTP header that carries the id, in requests and responses.
	Header = "X-Request-Id"
	// MetadataKey is the gRPC metadata key that carries the id to services.
	MetadataKey = "x-request-id"
	// MaxLen is the longest id taken from a client.
	MaxLen = 128
	// LogKey is the attribute the log handler adds.
	LogKey = "request_id"
)

// Valid reports whether id may be taken as a client sent it.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// Generator makes ids unique across processes: a random prefix drawn when it is made, and a
// counter. Safe for concurrent use.
type Generator struct {
	prefix string
	n      atomic.Uint64
}

// NewGenerator returns a generator with a fresh random prefix.
func NewGenerator() *Generator {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return &Generator{prefix: base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]) + "-"}
}

// New returns the next id: the prefix, then the counter in base 36 (e.g.
// "8D2V1Q0H6GQ3M5R4-1a"). It costs one allocation.
func (g *Generator) New() string {
	var buf [40]byte
	b := append(buf[:0], g.prefix...)
	return string(strconv.AppendUint(b, g.n.Add(1), 36))
}

// FromClient returns sent when it is Valid, else a new id.
func (g *Generator) FromClient(sent string) string {
	if Valid(sent) {
		return sent
	}
	return g.New()
}

type contextKey struct{}

// ContextKey is the context key under which the id is found. A context type of its own (the
// gateway's per-request state) may answer it from Value with the id as a string, or with a
// value that has a RequestID() string method (which spares boxing the string).
var ContextKey any = contextKey{}

// Carrier is a context value that holds a request id (see ContextKey).
type Carrier interface{ RequestID() string }

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ContextKey, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	switch v := ctx.Value(ContextKey).(type) {
	case string:
		return v
	case Carrier:
		return v.RequestID()
	}
	return ""
}

// LogHandler wraps h so that every record logged with a context carrying an id gets it as
// request_id.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// UnaryServerInterceptor takes the id from the call's metadata (when Valid) or makes one with
// g, and puts it in the handler's context.
func UnaryServerInterceptor(g *Generator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(With(ctx, fromIncoming(ctx, g)), req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func StreamServerInterceptor(g *Generator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &stream{ServerStream: ss, ctx: With(ss.Context(), fromIncoming(ss.Context(), g))})
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

func fromIncoming(ctx context.Context, g *Generator) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(MetadataKey); len(v) > 0 {
			return g.FromClient(v[0])
		}
	}
	return g.New()
}

// UnaryClientInterceptor sends the id of the call's context, if any, as x-request-id.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(outgoing(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(outgoing(ctx), desc, cc, method, opts...)
	}
}

func outgoing(ctx context.Context) context.Context {
	id := From(ctx)
	if id == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, id)
}
