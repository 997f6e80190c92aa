package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/beaconcms/beacon/gateway"
	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/httpcache"
)

// Screeners answers the ScreenerService calls of the read side: the ScreenerServer itself in the
// screening process, or a gRPC client of it (RemoteScreeners) in a gateway without it.
type Screeners interface {
	GetScreener(ctx context.Context, req *screeningv1.GetScreenerRequest) (*screeningv1.Screener, error)
	ScoreScreener(ctx context.Context, req *screeningv1.ScoreScreenerRequest) (*screeningv1.ScoreScreenerResponse, error)
}

// SiteCaching gives a site's caching settings for screener responses.
type SiteCaching interface {
	// Caching reports whether the site is public and its max-age in seconds.
	Caching(ctx context.Context, site string) (public bool, maxAgeSeconds int)
}

// ReadSide serves the REST routes of screening at the edge:
//
//	GET  /v1/sites/{site}/screeners/{slug}         the published questionnaire: cacheable like
//	                                              articles (strong ETag, 304, Surrogate-Key,
//	                                              public or private Cache-Control by site)
//	POST /v1/sites/{site}/screeners/{slug}:score   scores {version, answers, near?}: no-store
//
// In the screening process it calls the ScreenerServer in memory; in a gateway without the
// screening service it calls the service over gRPC, forwarding the caller's key.
//
// Privacy: a score's body is read into the request message and handed on; it is never logged,
// and a body that does not parse gets a fixed message that quotes none of it.
type ReadSide struct {
	screeners Screeners
	remote    bool // forward the caller's Authorization header instead of a principal
	sites     SiteCaching
	logger    *slog.Logger

	bodies sync.Map // "questionnaires/{id}/{version}" -> *httpcache.Body
}

// NewReadSide returns the read side over the in-process server.
func NewReadSide(s *ScreenerServer, sites SiteCaching, logger *slog.Logger) *ReadSide {
	return &ReadSide{screeners: s, sites: sites, logger: logger}
}

// NewRemoteReadSide returns the read side of a gateway that reaches the screening service over
// conn.
func NewRemoteReadSide(conn grpc.ClientConnInterface, sites SiteCaching, logger *slog.Logger) *ReadSide {
	return &ReadSide{screeners: remoteScreeners{screeningv1.NewScreenerServiceClient(conn)}, remote: true, sites: sites, logger: logger}
}

// remoteScreeners adapts the gRPC client; an unreachable service becomes UNAVAILABLE with a
// message that names no address.
type remoteScreeners struct {
	c screeningv1.ScreenerServiceClient
}

func hideTransport(err error) error {
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
		return apperr.New(apperr.Unavailable, "screening service unavailable; retry later")
	}
	return err
}

func (r remoteScreeners) GetScreener(ctx context.Context, req *screeningv1.GetScreenerRequest) (*screeningv1.Screener, error) {
	out, err := r.c.GetScreener(ctx, req)
	return out, hideTransport(err)
}

func (r remoteScreeners) ScoreScreener(ctx context.Context, req *screeningv1.ScoreScreenerRequest) (*screeningv1.ScoreScreenerResponse, error) {
	out, err := r.c.ScoreScreener(ctx, req)
	return out, hideTransport(err)
}

const (
	segment     = "screeners"
	scoreSuffix = ":score"
)

// Segments implements gateway.ReadSide.
func (rs *ReadSide) Segments() []string { return []string{segment} }

// AcceptsPost implements gateway.PostReadSide: only "{slug}:score".
func (rs *ReadSide) AcceptsPost(seg, item string) bool {
	return seg == segment && strings.HasSuffix(item, scoreSuffix) && len(item) > len(scoreSuffix)
}

var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// ServeRead implements gateway.ReadSide.
func (rs *ReadSide) ServeRead(w http.ResponseWriter, r *http.Request, req gateway.ReadRequest) {
	ctx := r.Context()
	switch {
	case rs.remote:
		if h := r.Header.Get("Authorization"); h != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", h)
		}
	case req.Authenticated:
		ctx = auth.WithPrincipal(ctx, req.Caller)
	}
	site := "sites/" + req.Site
	switch {
	case r.Method == http.MethodPost:
		rs.score(ctx, w, r, site, strings.TrimSuffix(req.Item, scoreSuffix))
	case req.Item == "" || strings.Contains(req.Item, ":"):
		rs.fail(w, r, apperr.New(apperr.NotFound, "no route %s", r.URL.Path))
	default:
		rs.screener(ctx, w, r, req.Site, site, req.Item)
	}
}

func (rs *ReadSide) fail(w http.ResponseWriter, r *http.Request, err error) {
	gateway.WriteError(w, r, rs.logger, err)
}

func (rs *ReadSide) screener(ctx context.Context, w http.ResponseWriter, r *http.Request, siteID, site, slug string) {
	msg, err := rs.screeners.GetScreener(ctx, &screeningv1.GetScreenerRequest{Site: site, Slug: slug})
	if err != nil {
		rs.fail(w, r, err)
		return
	}
	key := msg.GetName() + "/" + strconv.FormatInt(msg.GetVersion(), 10)
	var body *httpcache.Body
	if b, ok := rs.bodies.Load(key); ok {
		body = b.(*httpcache.Body)
	} else {
		raw, err := protojson.Marshal(msg)
		if err != nil {
			rs.fail(w, r, err)
			return
		}
		body = httpcache.New(raw)
		rs.bodies.Store(key, body) // a few per questionnaire: published versions never change
	}
	public, maxAge := rs.sites.Caching(ctx, siteID)
	hdr := w.Header()
	if public {
		hdr["Cache-Control"] = []string{"public, max-age=" + strconv.Itoa(maxAge) + ", stale-while-revalidate=300"}
		hdr["Vary"] = gateway.VaryPublic
	} else {
		hdr["Cache-Control"] = []string{"private, max-age=" + strconv.Itoa(maxAge)}
		hdr["Vary"] = gateway.VaryPrivate
	}
	id := strings.TrimPrefix(msg.GetName(), "questionnaires/")
	hdr["Surrogate-Key"] = []string{"site-" + siteID + " screener-" + id}
	hdr["Cache-Tag"] = []string{"site-" + siteID + ",screener-" + id}
	httpcache.Write(w, r, body, hdrJSON)
}

func (rs *ReadSide) score(ctx context.Context, w http.ResponseWriter, r *http.Request, site, slug string) {
	w.Header()["Cache-Control"] = hdrNoStore
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		rs.fail(w, r, apperr.New(apperr.Invalid, "could not read the request body"))
		return
	}
	var req screeningv1.ScoreScreenerRequest
	if err := decodeScoreBody(raw, &req); err != nil {
		// The parser's message can quote the body, which holds answers: say only what to send.
		rs.fail(w, r, apperr.InvalidField("body", "must be JSON like {\"version\": 1, \"answers\": [{\"linkId\": \"q1\", \"value\": true}], \"near\": {\"latitude\": 38.6, \"longitude\": -90.2}}"))
		return
	}
	req.Site, req.Slug = site, slug
	resp, err := rs.screeners.ScoreScreener(ctx, &req)
	if err != nil {
		rs.fail(w, r, err)
		return
	}
	out, err := encodeScore(resp)
	if err != nil {
		rs.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr["Content-Type"] = hdrJSON
	hdr["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
