package main_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// With a body cache too small for even one article (--delivery-body-cache), every read of a
// demo article renders its JSON again: the bytes, the ETag and 304 on the first ETag stay the
// same on every read.
func TestDeliveryWithATinyBodyCache(t *testing.T) {
	in := startDev(t, t.TempDir(), "--delivery-body-cache=1KiB")
	status, _, body := in.get(t, "", "/v1/sites/kratom-help/articles?pageSize=100")
	if status != 200 {
		t.Fatalf("list: %d %s", status, body)
	}
	var list struct {
		Articles []struct{ Slug string } `json:"articles"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Articles) < 2 {
		t.Fatalf("list: %v, %d articles; want at least 2 demo articles: %s", err, len(list.Articles), body)
	}
	type served struct {
		etag string
		body []byte
	}
	first := map[string]served{}
	if s, hdr, _ := in.get(t, "", "/v1/sites/kratom-help/articles/"+list.Articles[0].Slug); s != 200 || !strings.HasSuffix(hdr.Get("ETag"), `-gz"`) {
		t.Fatalf("the test client does not ask for gzip (ETag %s): this test's ETags assume it", hdr.Get("ETag"))
	}
	for round := range 3 {
		for _, a := range list.Articles {
			path := "/v1/sites/kratom-help/articles/" + a.Slug
			status, hdr, body := in.get(t, "", path)
			if status != 200 || len(body) < 1024 {
				t.Fatalf("round %d, %s: status %d, %d bytes; want 200 and more than the 1 KiB budget", round, a.Slug, status, len(body))
			}
			was, seen := first[a.Slug]
			if !seen {
				first[a.Slug] = served{hdr.Get("ETag"), body}
				continue
			}
			if hdr.Get("ETag") != was.etag || !bytes.Equal(body, was.body) {
				t.Errorf("round %d, %s: ETag %s and %d bytes; first read gave %s and %d bytes", round, a.Slug, hdr.Get("ETag"), len(body), was.etag, len(was.body))
			}
			if status, _, _ := in.get(t, "", path, "If-None-Match", was.etag); status != 304 {
				t.Errorf("round %d, %s: If-None-Match the first ETag: %d, want 304", round, a.Slug, status)
			}
			// The client asks for gzip (and unpacks it); the identity form has its own ETag.
			status, hdr, plain := in.get(t, "", path, "Accept-Encoding", "identity")
			if status != 200 || hdr.Get("ETag") != strings.TrimSuffix(was.etag, `-gz"`)+`"` || !bytes.Equal(plain, was.body) {
				t.Errorf("round %d, %s: identity ETag %s, %d bytes; want the gzip one's %s without -gz, the same bytes", round, a.Slug, hdr.Get("ETag"), len(plain), was.etag)
			}
		}
	}
}
