// Package console is Beacon's editor console: server-rendered HTML pages at /console/ where
// people sign in and work on content. It is an HTTP edge like the gateway, and like the
// gateway's management routes it holds no data and decides no access of its own:
//
//   - Sign-in, the current session and sign-out are calls to the access service's
//     SessionService. The session token lives only in an HttpOnly, SameSite=Lax cookie (Secure
//     over TLS or with Config.SecureCookie) and in the access store as a hash.
//   - Every page and form calls the services over gRPC as the signed-in user: the session token
//     is the call's bearer credential, which the services' auth interceptor resolves to the
//     user's Principal and checks against the same policy as an API key with the user's role.
//     The console hides buttons a role cannot use, but a forged request gets exactly what the
//     service answers (a viewer's write: 403).
//   - Every state-changing request passes http.CrossOriginProtection; sign-in attempts are
//     limited per client address here and per account by the access service (429 with
//     Retry-After either way).
//   - Pages are html/template (escaped), embedded in the binary, sent with a strict
//     Content-Security-Policy (only the console's own static scripts, no inline script or eval;
//     frame-ancestors 'none') and never cached. Every page works without script.
//
// The console never logs cookies, tokens or request bodies.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/ratelimit"
)

// Prefix is the path every console route starts with.
const Prefix = "/console/"

// CookieName is the name of the session cookie.
const CookieName = "beacon_session"

// ContentSecurityPolicy is sent with every console response: nothing but the console's own
// stylesheet, images and scripts (static files; no inline script, no eval), requests (the
// editor's lint as you type) and forms only to the console, never in a frame.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// DefaultAddressLimit limits sign-in attempts per client address: 20 at once, then one every 3
// seconds.
var DefaultAddressLimit = ratelimit.Config{Every: 3 * time.Second, Burst: 20, MaxKeys: 10_000}

// Config is the console's configuration.
type Config struct {
	// SecureCookie marks the session cookie Secure on every response, for a console served over
	// HTTPS by a proxy in front of Beacon. Without it the cookie is Secure when the request
	// itself came over TLS.
	SecureCookie bool
	// CallTimeout bounds every gRPC call of a request. 0 means 10 s.
	CallTimeout time.Duration
	// AddressLimit limits sign-in attempts per client address; zero means DefaultAddressLimit.
	AddressLimit ratelimit.Config
}

// Upstreams are the gRPC connections the console calls the services over.
type Upstreams struct {
	Access  *grpc.ClientConn
	Content *grpc.ClientConn
	Sites   *grpc.ClientConn

	// Resources serves ResourceService and DirectoryService (Resources, Directories, Home).
	Resources *grpc.ClientConn
	// Screening serves the questionnaires screen; without it the screen is not offered.
	Screening *grpc.ClientConn
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Console serves the console's routes. Create it with [New].
type Console struct {
	cfg       Config
	sessions  accessv1.SessionServiceClient
	keys      accessv1.ApiKeyServiceClient
	users     accessv1.UserServiceClient
	articles  contentv1.ArticleServiceClient
	sites     sitesv1.SiteServiceClient
	quest     questionnaireClients
	logger    *slog.Logger
	pages     map[string]*template.Template
	addresses *ratelimit.Keyed
	now       func() time.Time
	handler   http.Handler

	resources   resourcesv1.ResourceServiceClient
	directories resourcesv1.DirectoryServiceClient
}

// New returns the console. A nil logger discards.
func New(cfg Config, up Upstreams, logger *slog.Logger) (*Console, error) {
	if up.Access == nil || up.Content == nil || up.Sites == nil || up.Resources == nil {
		return nil, errors.New("console: needs connections to the access, content, sites and resources services")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.AddressLimit.Every <= 0 || cfg.AddressLimit.Burst <= 0 {
		cfg.AddressLimit = DefaultAddressLimit
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg:       cfg,
		sessions:  accessv1.NewSessionServiceClient(up.Access),
		keys:      accessv1.NewApiKeyServiceClient(up.Access),
		users:     accessv1.NewUserServiceClient(up.Access),
		articles:  contentv1.NewArticleServiceClient(up.Content),
		sites:     sitesv1.NewSiteServiceClient(up.Sites),
		logger:    logger.With("component", "console"),
		pages:     pages,
		addresses: ratelimit.New(cfg.AddressLimit),
		now:       time.Now,
	}
	c.resources, c.directories = resourcesv1.NewResourceServiceClient(up.Resources), resourcesv1.NewDirectoryServiceClient(up.Resources)
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/{$}", c.home)
	mux.HandleFunc("GET /console/articles", c.articleList)
	mux.HandleFunc("GET /console/sign-in", c.signInForm)
	mux.HandleFunc("POST /console/sign-in", c.signIn)
	mux.HandleFunc("POST /console/sign-out", c.signOut)
	mux.HandleFunc("POST /console/sign-out-everywhere", c.signOutEverywhere)
	mux.HandleFunc("POST /console/drafts", c.createDraft)
	// Admin screens (console/sites.go, keys.go, users.go) and the user's own account.
	mux.HandleFunc("GET /console/sites", c.siteList)
	mux.HandleFunc("GET /console/sites/{site}", c.siteEdit)
	mux.HandleFunc("POST /console/sites/{site}", c.updateSite)
	mux.HandleFunc("GET /console/keys", c.keyList)
	mux.HandleFunc("POST /console/keys", c.createKey)
	mux.HandleFunc("GET /console/keys/{key}/revoke", c.revokeKeyConfirm)
	mux.HandleFunc("POST /console/keys/{key}/revoke", c.revokeKey)
	mux.HandleFunc("GET /console/users", c.userList)
	mux.HandleFunc("POST /console/users", c.createUser)
	mux.HandleFunc("GET /console/users/{email}", c.userDetail)
	mux.HandleFunc("POST /console/users/{email}/roles", c.updateUserRoles)
	mux.HandleFunc("GET /console/users/{email}/disable", c.disableUserConfirm)
	mux.HandleFunc("POST /console/users/{email}/disable", c.disableUser)
	mux.HandleFunc("GET /console/users/{email}/password", c.resetPasswordConfirm)
	mux.HandleFunc("POST /console/users/{email}/password", c.resetPassword)
	mux.HandleFunc("GET /console/account", c.account)
	mux.HandleFunc("POST /console/account/password", c.changePassword)
	c.resourceRoutes(mux)
	mux.HandleFunc("GET /console/articles/new", c.newArticleEditor)
	mux.HandleFunc("POST /console/articles/new", c.createArticle)
	mux.HandleFunc("GET /console/articles/{id}", c.articleEditor)
	mux.HandleFunc("POST /console/articles/{id}", c.updateArticle)
	mux.HandleFunc("POST /console/articles/{id}/{action}", c.articleAction)
	mux.HandleFunc("POST /console/lint", c.lintDraft)
	mux.HandleFunc("GET /console/articles/{id}/revisions", c.revisions)
	mux.HandleFunc("GET /console/articles/{id}/revisions/{rev}/rollback", c.rollbackConfirm)
	mux.HandleFunc("POST /console/articles/{id}/rollback", c.rollback)
	if up.Screening != nil {
		c.quest = newQuestionnaireClients(up.Screening)
		c.routeQuestionnaires(mux)
	}
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", staticHandler(static)))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, http.StatusNotFound, "There is no such page in the console.")
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.logger.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		c.renderError(w, r, http.StatusForbidden, "This request came from another site and was refused. Use the console's own forms.")
	}))
	c.handler = securityHeaders(limitForms(csrf.Handler(mux)))
	return c, nil
}

// ServeHTTP serves "/console" (a redirect to "/console/") and everything under Prefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	c.handler.ServeHTTP(w, r)
}

// Owns reports whether path is one of the console's (the gateway hands those to it).
func Owns(path string) bool {
	return strings.HasPrefix(path, Prefix) || path == strings.TrimSuffix(Prefix, "/")
}

// securityHeaders sets the headers every console response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// maxFormBytes caps the body of a console form; the forms are a few short fields.
const maxFormBytes = 64 << 10

// maxArticleFormBytes caps the article editor's forms (and the lint requests of its script):
// a body of up to 512 KiB, encoded, with the other fields.
const maxArticleFormBytes = 2 << 20

// formLimit is the largest request body the console reads at path: maxFormBytes, but the
// resource import's upload at maxImportFormBytes, the article editor's forms at
// maxArticleFormBytes and the questionnaire editor's forms at maxQuestionnaireFormBytes.
func formLimit(path string) int64 {
	switch {
	case path == resourceImportPath:
		return maxImportFormBytes
	case strings.HasPrefix(path, Prefix+"articles/") || path == Prefix+"lint":
		return maxArticleFormBytes
	case strings.HasPrefix(path, Prefix+"questionnaires/"):
		return maxQuestionnaireFormBytes
	}
	return maxFormBytes
}

// limitForms caps request bodies at formLimit (a larger form fails to parse: 400).
func limitForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, formLimit(r.URL.Path))
		}
		next.ServeHTTP(w, r)
	})
}

func staticHandler(files fs.FS) http.Handler {
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		server.ServeHTTP(w, r)
	})
}

// callContext returns the context of a gRPC call made as the holder of credential (a session
// token), bounded by the call timeout.
func (c *Console) callContext(r *http.Request, credential string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.CallTimeout)
	if credential != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+credential)
	}
	return ctx, cancel
}

// clientAddress is the address sign-in attempts are counted against: the connection's peer IP.
// (A proxy in front of Beacon makes every client one address; its own limits apply there.)
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusOf maps a gRPC error to the HTTP status the console answers with, and a message for
// people. The messages of services are written to be shown.
func statusOf(err error) (int, string) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest, st.Message()
	case codes.Unauthenticated:
		return http.StatusUnauthorized, "Your session has ended. Sign in again."
	case codes.PermissionDenied:
		return http.StatusForbidden, "Your role does not allow this: " + st.Message()
	case codes.NotFound:
		return http.StatusNotFound, st.Message()
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict, st.Message()
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests, st.Message()
	case codes.Unavailable, codes.DeadlineExceeded:
		return http.StatusServiceUnavailable, "A Beacon service is unavailable; try again in a moment."
	}
	return http.StatusInternalServerError, "Something went wrong on the server: " + st.Message()
}

// setRetryAfter sets Retry-After in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

func siteID(name string) string { return strings.TrimPrefix(name, "sites/") }

func roleName(r accessv1.ApiKey_Role) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
}

func describeBinding(b *accessv1.RoleBinding) string {
	if b.GetSite() == "" {
		return fmt.Sprintf("%s on all sites", roleName(b.GetRole()))
	}
	return fmt.Sprintf("%s on %s", roleName(b.GetRole()), siteID(b.GetSite()))
}
