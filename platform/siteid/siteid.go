// Package siteid is the one rule for site ids, shared by every service: the sites service when
// a site is created, and every service that stores a reference to a site (articles' target
// sites, API keys' site).
//
// A site id is a slug (lowercase ASCII letters and digits in hyphen-separated runs, see
// platform/slug) of at most [MaxLen] bytes, so that it fits a DNS label.
package siteid

import "github.com/beaconcms/beacon/platform/slug"

// MaxLen is the longest site id, in bytes (ids are ASCII).
const MaxLen = 63

// Rule describes a valid id in words, for error messages ("must be ..." follows it naturally:
// "must be " + Rule).
const Rule = "1-63 lowercase letters, digits and hyphens, e.g. kratom-help"

// Valid reports whether id can name a site.
func Valid(id string) bool { return len(id) <= MaxLen && slug.Valid(id) }
