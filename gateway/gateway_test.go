package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
