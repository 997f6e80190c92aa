package auth

import "context"

// Principal is an authenticated caller.
type Principal struct {
	// KeyName is the resource name of the API key that authenticated the call, "apiKeys/{id}".
	KeyName string
	// Role is what the key may do.
	Role Role
	// Site limits the key to one site, by site id such as "kratom-help" (not "sites/kratom-help").
	// "" means all sites.
	Site string
}

// CoversSite reports whether p may act on the site with the given id: true when p is for all
// sites or for exactly that site.
func (p Principal) CoversSite(site string) bool {
	return p.Site == "" || p.Site == site
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal the [Interceptor] put in ctx. ok is false for public
// methods called without a key, and when no interceptor ran.
func FromContext(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}
