package auth

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"google.golang.org/grpc"
)

// Rule says who may call one RPC.
type Rule struct {
	// Public methods need no key (health checks; later public delivery). A caller that sends a
	// key anyway has it verified: a bad key is refused, a good one puts its Principal in the
	// context. Roles and AllSitesOnly must be empty on a public rule.
	Public bool
	// Roles that may call the method. A non-public rule must list at least one.
	Roles []Role
	// AllSitesOnly refuses keys limited to one site, e.g. for CreateSite.
	AllSitesOnly bool
}

// allows reports whether p passes the role and site checks of the (non-public) rule.
func (r Rule) allows(p Principal) bool {
	if !slices.Contains(r.Roles, p.Role) {
		return false
	}
	return !r.AllSitesOnly || p.Site == ""
}

// Policy maps full gRPC method names, e.g. "/beacon.content.v1.ArticleService/GetArticle", to
// their rules. A method with no rule is refused for everyone.
type Policy map[string]Rule

// Validate reports rules that cannot be meant: public rules with roles or AllSitesOnly,
// non-public rules without roles or with invalid roles, and method names that are not of the
// form "/package.Service/Method".
func (p Policy) Validate() error {
	var errs []error
	for _, method := range p.sortedMethods() {
		r := p[method]
		if !validMethodName(method) {
			errs = append(errs, fmt.Errorf("auth policy: %q is not a full method name like /pkg.Service/Method", method))
		}
		switch {
		case r.Public && (len(r.Roles) > 0 || r.AllSitesOnly):
			errs = append(errs, fmt.Errorf("auth policy: %s: a public rule cannot have Roles or AllSitesOnly", method))
		case !r.Public && len(r.Roles) == 0:
			errs = append(errs, fmt.Errorf("auth policy: %s: a non-public rule needs at least one role", method))
		}
		for _, role := range r.Roles {
			if !role.Valid() {
				errs = append(errs, fmt.Errorf("auth policy: %s: invalid role %d", method, int(role)))
			}
		}
	}
	return errors.Join(errs...)
}

func validMethodName(m string) bool {
	if len(m) < 4 || m[0] != '/' {
		return false
	}
	i := -1
	for j := 1; j < len(m); j++ {
		if m[j] == '/' {
			if i != -1 {
				return false
			}
			i = j
		}
	}
	return i > 1 && i < len(m)-1
}

func (p Policy) sortedMethods() []string {
	methods := make([]string, 0, len(p))
	for m := range p {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	return methods
}

// ServiceInfoProvider lists the services registered on a server; *grpc.Server implements it.
// (grpc-go has no such interface of its own; reflection.ServiceInfoProvider is the same.)
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// MissingRules returns, sorted, the full names of the methods registered on srv (usually a
// *grpc.Server) that have no rule in p. Each service has a test asserting it is empty for the
// policy the binary uses.
func (p Policy) MissingRules(srv ServiceInfoProvider) []string {
	var missing []string
	for service, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + service + "/" + m.Name
			if _, ok := p[full]; !ok {
				missing = append(missing, full)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// Merge returns one policy holding the rules of all the given policies. Naming the same method
// twice is an error, even with equal rules, so that two packages cannot silently disagree.
func Merge(policies ...Policy) (Policy, error) {
	merged := Policy{}
	var errs []error
	for _, p := range policies {
		for _, method := range p.sortedMethods() {
			if _, dup := merged[method]; dup {
				errs = append(errs, fmt.Errorf("auth policy: %s has more than one rule", method))
				continue
			}
			merged[method] = p[method]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return merged, nil
}

// Full method names of the standard gRPC services the binary registers.
const (
	HealthCheckMethod       = "/grpc.health.v1.Health/Check"
	HealthWatchMethod       = "/grpc.health.v1.Health/Watch"
	HealthListMethod        = "/grpc.health.v1.Health/List"
	ReflectionV1Method      = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	ReflectionV1AlphaMethod = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
)

// HealthAndReflectionRules returns the rules for the standard gRPC health service
// (grpc.health.v1: Check, Watch and List are public, so load balancers and orchestrators can
// probe without a key; they reveal only serving status) and server reflection (v1 and v1alpha).
//
// Reflection is public too, so that `grpcurl -plaintext host:port grpc.health.v1.Health/Check`
// works without a key, but it shows every service and message of the API only to the callers
// [ReflectionRule] allows (see [Interceptor.FullReflection]); anyone else sees the health
// service alone. The full map would help an attacker and is of no use to a branded site. Admins
// use it with grpcurl: grpcurl -H "authorization: Bearer $KEY" host:port list.
func HealthAndReflectionRules() Policy {
	return Policy{
		HealthCheckMethod:       {Public: true},
		HealthWatchMethod:       {Public: true},
		HealthListMethod:        {Public: true},
		ReflectionV1Method:      {Public: true},
		ReflectionV1AlphaMethod: {Public: true},
	}
}

// ReflectionRule is who sees every service through reflection: all-sites admins.
var ReflectionRule = Rule{Roles: []Role{RoleAdmin}, AllSitesOnly: true}
