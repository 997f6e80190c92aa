package main_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestIdempotentCreatesOverREST: through the real binary's REST edge, a create sent twice with
// one requestId makes one article and answers both with it; the same requestId with another
// body is refused naming request_id; a bad requestId is refused; a repeated API key create
// returns the key without its secret.
func TestIdempotentCreatesOverREST(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey
	const title = "Idempotent create probe"
	body := map[string]any{"title": title, "targetSites": []string{"sites/kratom-help"}}
	const rid = "6f1c7d0e-3b5a-4c4e-9a2f-1d8e5b7c9a01"

	first := in.call(t, admin, "POST", "/v1/articles?requestId="+rid, body).must(t, 200)
	again := in.call(t, admin, "POST", "/v1/articles?requestId="+rid, body).must(t, 200)
	if first.str("name") == "" || again.str("name") != first.str("name") || again.str("etag") != first.str("etag") {
		t.Fatalf("repeat answered %s (etag %s), want the first response %s (etag %s)",
			again.str("name"), again.str("etag"), first.str("name"), first.str("etag"))
	}
	list := in.call(t, admin, "GET", "/v1/articles?filter="+url.QueryEscape(`title:"`+title+`"`), nil).must(t, 200)
	if n := len(list.body["articles"].([]any)); n != 1 {
		t.Fatalf("%d articles titled %q after two creates with one requestId, want 1", n, title)
	}

	other := map[string]any{"title": title + " (edited)", "targetSites": []string{"sites/kratom-help"}}
	refused := in.call(t, admin, "POST", "/v1/articles?requestId="+rid, other).must(t, 400)
	if !strings.Contains(refused.str("message"), "request_id") ||
		!strings.Contains(string(refused.raw), `"field":"request_id"`) {
		t.Errorf("another body with the same requestId: %s; want FAILED_PRECONDITION naming request_id", refused.raw)
	}
	if code, _ := refused.body["code"].(float64); code != 9 { // FAILED_PRECONDITION
		t.Errorf("code %v, want 9 (FAILED_PRECONDITION)", refused.body["code"])
	}

	bad := in.call(t, admin, "POST", "/v1/articles?requestId="+url.QueryEscape("not valid"), body).must(t, 400)
	if code, _ := bad.body["code"].(float64); code != 3 || !strings.Contains(string(bad.raw), `"field":"request_id"`) {
		t.Errorf("a requestId with a space: %s; want INVALID_ARGUMENT naming request_id", bad.raw)
	}

	key := map[string]any{"displayName": "idempotent key", "role": "ROLE_DELIVERY", "site": "sites/kratom-help"}
	k1 := in.call(t, admin, "POST", "/v1/apiKeys?requestId=key-1", key).must(t, 200)
	k2 := in.call(t, admin, "POST", "/v1/apiKeys?requestId=key-1", key).must(t, 200)
	name1, _ := k1.body["apiKey"].(map[string]any)["name"].(string)
	name2, _ := k2.body["apiKey"].(map[string]any)["name"].(string)
	if k1.str("secret") == "" || k2.str("secret") != "" || name1 == "" || name2 != name1 {
		t.Errorf("API key create and repeat: %s then %s; want one key, its secret only the first time", k1.raw, k2.raw)
	}

	// CreateUser takes its requestId in the body (body "*").
	user := map[string]any{"requestId": "user-1", "user": map[string]any{"email": "ida@beacon.test", "displayName": "Ida",
		"roles": []any{map[string]any{"role": "ROLE_VIEWER", "site": "sites/kratom-help"}}}}
	u1 := in.call(t, admin, "POST", "/v1/users", user).must(t, 200)
	u2 := in.call(t, admin, "POST", "/v1/users", user).must(t, 200)
	user1, _ := u1.body["user"].(map[string]any)["name"].(string)
	user2, _ := u2.body["user"].(map[string]any)["name"].(string)
	if u1.str("generatedPassword") == "" || u2.str("generatedPassword") != "" || user1 == "" || user2 != user1 {
		t.Errorf("user create and repeat: %s then %s; want one user, its generated password only the first time", u1.raw, u2.raw)
	}
}
