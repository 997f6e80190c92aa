package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestLimitBody(t *testing.T) {
	const max = 16
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	h := limitBody(max, echo)
	tests := []struct {
		name       string
		body       io.Reader
		length     int64 // -1: unknown (chunked)
		wantStatus int
		wantBody   string
	}{
		{"small body passes whole", strings.NewReader("hello"), 5, 200, "hello"},
		{"exactly the limit passes", strings.NewReader(strings.Repeat("a", max)), max, 200, strings.Repeat("a", max)},
		{"declared too large", strings.NewReader(strings.Repeat("a", max+1)), max + 1, 413, ""},
		{"chunked too large", strings.NewReader(strings.Repeat("a", max+1)), -1, 413, ""},
		{"no body", nil, 0, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/articles", tt.body)
			r.ContentLength = tt.length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus == 413 {
				var e struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != 8 || !strings.Contains(e.Message, "larger than 16 bytes") {
					t.Fatalf("413 body %q: want {code: 8, message naming the limit}", w.Body.Bytes())
				}
				return
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Fatalf("handler saw body %q, want %q", got, tt.wantBody)
			}
		})
	}
}

func TestWithTimeoutSetsADeadline(t *testing.T) {
	var had bool
	h := withTimeout(1e9, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, had = r.Context().Deadline()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", bytes.NewReader(nil)))
	if !had {
		t.Fatal("request context has no deadline")
	}
}

func TestDecodeErrorHidesGoErrorText(t *testing.T) {
	tests := []struct {
		msg, field, description string
	}{
		{"proto: syntax error (line 1:1): invalid value x", "body", "is not valid JSON for this request: (line 1:1): invalid value x"},
		{"invalid character 'x' looking for beginning of value", "body", "is not valid JSON: invalid character 'x' looking for beginning of value"},
		{`proto: (line 1:2): unknown field "nope"`, "body", `is not valid JSON for this request: (line 1:2): unknown field "nope"`},
		{`parsing field "page_size": strconv.ParseInt: parsing "abc": invalid syntax`, "page_size", "must be a whole number"},
		{`parsing field "page_size": strconv.ParseInt: parsing "99999999999": value out of range`, "page_size", "is out of range"},
		{`parsing field "show_deleted": strconv.ParseBool: parsing "maybe": invalid syntax`, "show_deleted", "must be true or false"},
		{`parsing list "kinds": "FOO" is not a valid value`, "kinds", `"FOO" is not a valid value`},
		{"type mismatch, parameter: name, error: bad", "name", "has an invalid value"},
	}
	for _, tt := range tests {
		st := decodeError(tt.msg)
		if st == nil {
			t.Errorf("decodeError(%q) = nil", tt.msg)
			continue
		}
		if st.Code() != codes.InvalidArgument || st.Message() != "invalid request: "+tt.field+": "+tt.description {
			t.Errorf("decodeError(%q) = %v %q", tt.msg, st.Code(), st.Message())
		}
		if len(st.Details()) != 1 {
			t.Fatalf("decodeError(%q) details = %v", tt.msg, st.Details())
		}
		br := st.Details()[0].(*errdetails.BadRequest)
		if v := br.GetFieldViolations(); len(v) != 1 || v[0].GetField() != tt.field || v[0].GetDescription() != tt.description {
			t.Errorf("decodeError(%q) violations = %v; want %s: %s", tt.msg, v, tt.field, tt.description)
		}
		if strings.Contains(st.String(), "strconv") || strings.Contains(st.Message(), "proto:") {
			t.Errorf("decodeError(%q) still shows Go internals: %v", tt.msg, st)
		}
	}
	// A service's own message without details is not the gateway's: left alone.
	if st := decodeError("site must be given"); st != nil {
		t.Errorf("decodeError rewrote a message that is not a decoding error: %v", st)
	}
}

func TestErrorHandlerHidesTransportText(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		want       string
	}{
		{status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5000000 vs. 4194304)"), 429, "message too large"},
		{status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: dial tcp 10.0.0.7:9090\""), 503, "service unavailable; retry later"},
		{status.Error(codes.InvalidArgument, `parsing field "page_size": strconv.ParseInt: parsing "x": invalid syntax`), 400, "invalid request"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		hideTransportErrors(t.Context(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest("GET", "/v1/articles", nil), tt.err)
		var body struct{ Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != tt.wantStatus || !strings.HasPrefix(body.Message, tt.want) {
			t.Errorf("%v: %d %s; want %d %q", tt.err, w.Code, w.Body, tt.wantStatus, tt.want)
		}
		if s := w.Body.String(); strings.Contains(s, "grpc:") || strings.Contains(s, "strconv") || strings.Contains(s, "10.0.0.7") {
			t.Errorf("%v: internals in %s", tt.err, s)
		}
	}
}
