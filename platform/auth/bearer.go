package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/beaconcms/beacon/platform/apperr"
)

// BearerToken returns the token of an "Authorization: Bearer <token>" value (RFC 6750 2.1).
// It is the one bearer parser: the gRPC interceptor and the REST edge both use it, so a header
// one accepts the other accepts too.
//
// The rules: surrounding whitespace is ignored; the scheme "Bearer" is case-insensitive; one or
// more spaces separate it from the token; the token is not empty and contains no whitespace.
// Anything else (another scheme, "Bearer" alone, a token with a space inside) reports false.
func BearerToken(header string) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", false
	}
	return token, true
}

// Authenticate parses an Authorization header value with [BearerToken] and has v verify the
// token: the one authentication step of the gRPC interceptor and the REST edge. A malformed
// value is Unauthenticated ("missing API key"); an unknown or revoked key is Unauthenticated
// with one message for both; any other error of v (it could not tell) is returned wrapped.
func Authenticate(ctx context.Context, v Verifier, header string) (Principal, error) {
	token, ok := BearerToken(header)
	if !ok {
		return Principal{}, errMissingKey()
	}
	p, err := v.Verify(ctx, token)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) {
			return Principal{}, errInvalidKey()
		}
		return Principal{}, fmt.Errorf("verify API key: %w", err)
	}
	return p, nil
}
