package gateway

import (
	"net/http"
	"strings"

	"github.com/beaconcms/beacon/platform/auth"
)

// Realm is the realm of the edge's bearer challenges.
const Realm = "beacon"

// bearerChallenge is the WWW-Authenticate value of a 401 (RFC 6750 section 3) for a request
// whose Authorization header was authorization:
//   - none at all: `Bearer realm="beacon"`, without an error code (the request simply lacked
//     credentials, section 3.1);
//   - not a bearer credential: error="invalid_request";
//   - a bearer token that did not verify (unknown, revoked, of a deleted site): error="invalid_token".
//
// description is the 401's message (also in the body), as error_description.
func bearerChallenge(authorization, description string) string {
	if strings.TrimSpace(authorization) == "" {
		return `Bearer realm="` + Realm + `"`
	}
	code := "invalid_token"
	if _, ok := auth.BearerToken(authorization); !ok {
		code = "invalid_request"
	}
	return `Bearer realm="` + Realm + `", error="` + code + `", error_description="` + challengeText(description) + `"`
}

// challengeText keeps the characters RFC 6750 allows in error_description (%x20-21 / %x23-5B /
// %x5D-7E: printable ASCII but '"' and '\'), replacing the others with a space.
func challengeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}

// challengeWriter sets WWW-Authenticate to its value when the status is written, over whatever
// was set before (grpc-gateway's default error handler puts the bare status message there).
type challengeWriter struct {
	http.ResponseWriter
	value string
}

func (c challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		c.ResponseWriter.Header().Set("WWW-Authenticate", c.value)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
