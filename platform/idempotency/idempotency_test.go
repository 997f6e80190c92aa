package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

const (
	createArticle  = "/beacon.content.v1.ArticleService/CreateArticle"
	createResource = "/beacon.resources.v1.ResourceService/CreateResource"
	createAPIKey   = "/beacon.access.v1.ApiKeyService/CreateApiKey"
)

// fakeCreates is a service's create handlers: each call makes a new resource, numbered, unless
// fail is set (then it fails once).
type fakeCreates struct {
	mu      sync.Mutex
	created int
	fail    bool
}

func (f *fakeCreates) handler(method string) grpc.UnaryHandler {
	return func(ctx context.Context, req any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail {
			f.fail = false
			return nil, apperr.New(apperr.Unavailable, "store down")
		}
		f.created++
		switch r := req.(type) {
		case *contentv1.CreateArticleRequest:
			return &contentv1.Article{Name: fmt.Sprintf("articles/%d", f.created), Title: r.GetArticle().GetTitle()}, nil
		case *resourcesv1.CreateResourceRequest:
			return &resourcesv1.Resource{Name: fmt.Sprintf("resources/%d", f.created)}, nil
		case *accessv1.CreateApiKeyRequest:
			return &accessv1.CreateApiKeyResponse{ApiKey: &accessv1.ApiKey{Name: fmt.Sprintf("apiKeys/%d", f.created)},
				Secret: fmt.Sprintf("bk_secret_%d", f.created)}, nil
		}
		return nil, fmt.Errorf("unexpected %s request %T", method, req)
	}
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(mongodbtest.NewDatabase(t), mongodb.NewDocLocks(), nil)
}

func newTestInterceptor(t *testing.T, s *Store) grpc.UnaryServerInterceptor {
	t.Helper()
	ic, err := Interceptor(Creates{Store: s, Methods: map[string]Method{
		createArticle:  {},
		createResource: {},
		createAPIKey: {Redact: func(m proto.Message) {
			m.(*accessv1.CreateApiKeyResponse).Secret = ""
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

func as(key string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{KeyName: key, Role: auth.RoleAdmin})
}

func article(title, requestID string) *contentv1.CreateArticleRequest {
	return &contentv1.CreateArticleRequest{Article: &contentv1.Article{Title: title}, RequestId: requestID}
}

// TestCreateSemantics runs one sequence of creates through the interceptor on the embedded
// store: each step depends on the records the steps before it left.
func TestCreateSemantics(t *testing.T) {
	s := newTestStore(t)
	ic := newTestInterceptor(t, s)
	f := &fakeCreates{}
	const rid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	const other = "import-2026-12-02:row-17"
	tests := []struct {
		name      string
		ctx       context.Context
		method    string
		req       proto.Message
		fail      bool
		want      proto.Message
		wantCode  apperr.Code
		wantField bool // the error names request_id
	}{
		{name: "no request_id: creates", ctx: as("apiKeys/a"), method: createArticle, req: article("T", ""),
			want: &contentv1.Article{Name: "articles/1", Title: "T"}},
		{name: "no request_id again: creates again", ctx: as("apiKeys/a"), method: createArticle, req: article("T", ""),
			want: &contentv1.Article{Name: "articles/2", Title: "T"}},
		{name: "a new request_id creates", ctx: as("apiKeys/a"), method: createArticle, req: article("T", rid),
			want: &contentv1.Article{Name: "articles/3", Title: "T"}},
		{name: "the same request again returns the first response", ctx: as("apiKeys/a"), method: createArticle, req: article("T", rid),
			want: &contentv1.Article{Name: "articles/3", Title: "T"}},
		{name: "and again", ctx: as("apiKeys/a"), method: createArticle, req: article("T", rid),
			want: &contentv1.Article{Name: "articles/3", Title: "T"}},
		{name: "the same request_id with another body is refused", ctx: as("apiKeys/a"), method: createArticle, req: article("U", rid),
			wantCode: apperr.FailedPrecondition, wantField: true},
		{name: "another caller's request_id is its own", ctx: as("users/b@example.org"), method: createArticle, req: article("T", rid),
			want: &contentv1.Article{Name: "articles/4", Title: "T"}},
		{name: "another method's request_id is its own", ctx: as("apiKeys/a"), method: createResource,
			req: &resourcesv1.CreateResourceRequest{Resource: &resourcesv1.Resource{}, RequestId: rid}, want: &resourcesv1.Resource{Name: "resources/5"}},
		{name: "any printable id", ctx: as("apiKeys/a"), method: createArticle, req: article("T", other),
			want: &contentv1.Article{Name: "articles/6", Title: "T"}},
		{name: "64 characters", ctx: as("apiKeys/a"), method: createArticle, req: article("T", strings.Repeat("x", 64)),
			want: &contentv1.Article{Name: "articles/7", Title: "T"}},
		{name: "65 characters", ctx: as("apiKeys/a"), method: createArticle, req: article("T", strings.Repeat("x", 65)),
			wantCode: apperr.Invalid, wantField: true},
		{name: "a space", ctx: as("apiKeys/a"), method: createArticle, req: article("T", "a b"),
			wantCode: apperr.Invalid, wantField: true},
		{name: "a control character", ctx: as("apiKeys/a"), method: createArticle, req: article("T", "a\nb"),
			wantCode: apperr.Invalid, wantField: true},
		{name: "non-ASCII", ctx: as("apiKeys/a"), method: createArticle, req: article("T", "réquest"),
			wantCode: apperr.Invalid, wantField: true},
		{name: "a failed create", ctx: as("apiKeys/a"), method: createArticle, req: article("F", "retry-1"), fail: true,
			wantCode: apperr.Unavailable},
		{name: "runs again on retry", ctx: as("apiKeys/a"), method: createArticle, req: article("F", "retry-1"),
			want: &contentv1.Article{Name: "articles/8", Title: "F"}},
		{name: "and is then remembered", ctx: as("apiKeys/a"), method: createArticle, req: article("F", "retry-1"),
			want: &contentv1.Article{Name: "articles/8", Title: "F"}},
		{name: "no authenticated caller", ctx: context.Background(), method: createArticle, req: article("T", "x"),
			wantCode: apperr.Unauthenticated},
	}
	for _, tt := range tests {
		f.fail = tt.fail
		got, err := ic(tt.ctx, tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method}, f.handler(tt.method))
		if tt.wantCode != "" {
			e, ok := apperr.As(err)
			if !ok || e.Code != tt.wantCode {
				t.Fatalf("%s: %v, want %s", tt.name, err, tt.wantCode)
			}
			if tt.wantField && (len(e.Fields) != 1 || e.Fields[0].Field != Field) {
				t.Errorf("%s: %v does not name %s", tt.name, e, Field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Fatalf("%s: response (-want +got):\n%s", tt.name, diff)
		}
	}
	if f.created != 8 {
		t.Errorf("%d resources created, want 8", f.created)
	}
}

// TestConcurrentRepeatIsAborted: a repeat sent while the first create runs is ABORTED, and
// gets the first response once it has finished.
func TestConcurrentRepeatIsAborted(t *testing.T) {
	ic := newTestInterceptor(t, newTestStore(t))
	started, release := make(chan struct{}), make(chan struct{})
	slow := func(context.Context, any) (any, error) {
		close(started)
		<-release
		return &contentv1.Article{Name: "articles/slow"}, nil
	}
	info := &grpc.UnaryServerInfo{FullMethod: createArticle}
	type result struct {
		resp any
		err  error
	}
	first := make(chan result, 1)
	go func() {
		resp, err := ic(as("apiKeys/a"), article("T", "r1"), info, slow)
		first <- result{resp, err}
	}()
	<-started
	never := func(context.Context, any) (any, error) { return nil, errors.New("the repeat ran the create") }
	if _, err := ic(as("apiKeys/a"), article("T", "r1"), info, never); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("repeat while the first runs: %v, want %s (ABORTED)", err, apperr.Conflict)
	}
	if _, err := ic(as("apiKeys/a"), article("U", "r1"), info, never); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("another body while the first runs: %v, want %s", err, apperr.FailedPrecondition)
	}
	close(release)
	if r := <-first; r.err != nil {
		t.Fatalf("first: %v", r.err)
	}
	got, err := ic(as("apiKeys/a"), article("T", "r1"), info, never)
	if err != nil || got.(*contentv1.Article).GetName() != "articles/slow" {
		t.Fatalf("repeat after the first: %v, %v; want articles/slow", got, err)
	}
}

// TestSecretsAreNotStored: a repeated CreateApiKey returns the key without its secret, and the
// stored record holds no secret.
func TestSecretsAreNotStored(t *testing.T) {
	s := newTestStore(t)
	ic := newTestInterceptor(t, s)
	f := &fakeCreates{}
	info := &grpc.UnaryServerInfo{FullMethod: createAPIKey}
	req := &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{DisplayName: "ci"}, RequestId: "k1"}
	first, err := ic(as("apiKeys/admin"), req, info, f.handler(createAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	if first.(*accessv1.CreateApiKeyResponse).GetSecret() != "bk_secret_1" {
		t.Fatalf("first response %v lacks its secret", first)
	}
	again, err := ic(as("apiKeys/admin"), req, info, f.handler(createAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	want := &accessv1.CreateApiKeyResponse{ApiKey: &accessv1.ApiKey{Name: "apiKeys/1"}}
	if diff := cmp.Diff(want, again, protocmp.Transform()); diff != "" {
		t.Errorf("repeat (-want +got):\n%s", diff)
	}
	rec, found, err := s.read(t.Context(), "apiKeys/admin|"+createAPIKey+"|k1")
	if err != nil || !found {
		t.Fatalf("record: %v, %v", found, err)
	}
	stored, err := decodeResponse(rec)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(stored)
	if strings.Contains(string(raw), "bk_secret") || strings.Contains(string(rec.Response), "bk_secret") {
		t.Errorf("the record holds the secret")
	}
}

func TestSecretInputFingerprint(t *testing.T) {
	req := &accessv1.CreateUserRequest{User: &accessv1.User{Email: "a@example.org"}, Password: "correct horse battery", RequestId: "u1"}
	fast, err := fingerprint(req, "apiKeys/a|m|u1", false)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := fingerprint(req, "apiKeys/a|m|u1", true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(slow, "argon2id:") || slow == fast {
		t.Errorf("secret input fingerprint %q, want an argon2id hash", slow)
	}
	other := proto.Clone(req).(*accessv1.CreateUserRequest)
	other.Password = "correct horse battery staple"
	if fp, _ := fingerprint(other, "apiKeys/a|m|u1", true); fp == slow {
		t.Error("two passwords gave one fingerprint")
	}
	other = proto.Clone(req).(*accessv1.CreateUserRequest)
	other.RequestId = "u2"
	if fp, _ := fingerprint(other, "apiKeys/a|m|u1", true); fp != slow {
		t.Error("the request_id changed the fingerprint")
	}
}

// TestPrune: the first prune deletes what expired; later ones ask the store only once a record
// this Store claimed has expired, and then delete it; a repeat after that creates again.
func TestPrune(t *testing.T) {
	s := newTestStore(t)
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ic := newTestInterceptor(t, s)
	f := &fakeCreates{}
	info := &grpc.UnaryServerInfo{FullMethod: createArticle}
	create := func() string {
		t.Helper()
		got, err := ic(as("apiKeys/a"), article("T", "p1"), info, f.handler(createArticle))
		if err != nil {
			t.Fatal(err)
		}
		return got.(*contentv1.Article).GetName()
	}
	if got := create(); got != "articles/1" {
		t.Fatalf("first create %s", got)
	}
	steps := []struct {
		name       string
		advance    time.Duration
		wantDelete bool
		wantRecord bool
	}{
		{"first prune: unconditional", 0, true, true},
		{"nothing expired", time.Hour, false, true},
		{"just before the TTL", TTL - time.Hour - time.Millisecond, false, true},
		{"at the TTL", time.Millisecond, true, false},
		{"nothing more", time.Hour, false, false},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		deleted, err := s.PruneOnce(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if deleted != st.wantDelete {
			t.Errorf("%s: deleted %v, want %v", st.name, deleted, st.wantDelete)
		}
		n, err := s.coll.CountDocuments(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if (n == 1) != st.wantRecord {
			t.Errorf("%s: %d records, want one: %v", st.name, n, st.wantRecord)
		}
	}
	if got := create(); got != "articles/2" {
		t.Errorf("a repeat after the record expired returned %s, want a new articles/2", got)
	}
}

func TestNoteExpiryCoalesces(t *testing.T) {
	s := &Store{}
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for i := range 3 * 60 { // one record a minute for three hours
		s.noteExpiry(start.Add(time.Duration(i) * time.Minute))
	}
	if len(s.marks) > 3 {
		t.Errorf("%d marks for three hours of records, want at most 3", len(s.marks))
	}
	if last := s.marks[len(s.marks)-1]; !last.Equal(start.Add(179 * time.Minute)) {
		t.Errorf("last mark %v, want the last record's expiry", last)
	}
}

func TestInterceptorRefusesAMethodTwice(t *testing.T) {
	s := &Store{}
	_, err := Interceptor(Creates{Store: s, Methods: map[string]Method{createArticle: {}}},
		Creates{Store: s, Methods: map[string]Method{createArticle: {}}})
	if err == nil {
		t.Error("a method configured twice was accepted")
	}
}
