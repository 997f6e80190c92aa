// Package auth decides who is calling a Beacon gRPC service and whether they may.
//
// Every call carries an API key as gRPC metadata, "authorization: Bearer <secret>". The
// [Interceptor] hands the secret to a [Verifier] (implemented by services/access), checks the
// resulting [Principal] against a [Policy] that names a [Rule] for every method, and passes the
// Principal to the handler in the context ([FromContext]).
//
// The Policy denies by default: a method with no rule is refused for everyone and logged as a
// policy gap. [Policy.MissingRules] finds such gaps in tests.
//
// Site scoping is not checked here, because only the service knows which site a request is
// about. Services check it with [Principal.CoversSite] and answer NotFound for resources of sites
// the caller does not cover, so a key for one site cannot even learn that another site's
// resources exist.
//
// All errors are platform/apperr errors; the gRPC error interceptor (platform/grpcserver) turns
// them into statuses. It must therefore run outside (before) this interceptor in the chain.
package auth
