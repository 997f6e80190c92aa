package weburl

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxOriginLength is the longest origin CheckOrigin accepts, in characters.
const MaxOriginLength = 253 + len("https://") + len(":65535")

// CheckOrigin reports why raw is not a web origin as a browser sends it in the Origin header
// (RFC 6454 serialization), or nil. Such an origin:
//   - is "scheme://host" or "scheme://host:port", with scheme http or https;
//   - is written in lowercase ASCII (an internationalized host in its "xn--" form), as browsers
//     send it, so that an exact comparison with the Origin header is the right test;
//   - has no user info, path (not even "/"), query or fragment;
//   - has no default port (":80" for http, ":443" for https: browsers leave it out), and any
//     other port from 1 to 65535.
//
// The error's message reads after a field name, like CheckAbsolute's.
func CheckOrigin(raw string) error {
	if raw == "" {
		return errors.New("must be an origin such as https://www.example.org")
	}
	if len(raw) > MaxOriginLength {
		return fmt.Errorf("must be at most %d characters (it has %d)", MaxOriginLength, len(raw))
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= 0x80:
			return errors.New("must be ASCII: write an internationalized host in its xn-- form, as browsers send it")
		case c <= 0x20 || c == 0x7f:
			return errors.New("must not contain white space or control characters")
		case c >= 'A' && c <= 'Z':
			return errors.New("must be lowercase, as browsers send it")
		case c == '*':
			return errors.New(`must not contain wildcards: name each origin (only the single entry "*" allows any origin)`)
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return errors.New("must be an origin such as https://www.example.org (scheme://host[:port])")
	}
	if scheme != "http" && scheme != "https" {
		return fmt.Errorf("must have the scheme http or https (it has %q)", scheme)
	}
	if strings.ContainsAny(rest, "/?#") {
		return errors.New("must be scheme://host[:port] alone, without a path (not even /), query or fragment")
	}
	if strings.Contains(rest, "@") {
		return errors.New("must not contain user info (user@)")
	}
	if strings.Contains(rest, "%") {
		return errors.New("must not percent-encode its host")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("must be an origin such as https://www.example.org (scheme://host[:port])")
	}
	if hostHasPort(u.Host) {
		p := u.Port()
		n, err := strconv.Atoi(p)
		switch {
		case err != nil || len(p) > 5 || n < 1 || n > 65535:
			return fmt.Errorf("must have a port from 1 to 65535 (it has %q)", p)
		case (scheme == "http" && n == 80) || (scheme == "https" && n == 443):
			return fmt.Errorf("must leave out the default port %d: browsers send the origin without it", n)
		case p[0] == '0':
			return fmt.Errorf("must write its port without leading zeros (it has %q)", p)
		}
	}
	return nil
}
