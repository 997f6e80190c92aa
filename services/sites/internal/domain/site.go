// Package domain is the sites service's rules: what a site is, who may see and change it, and
// its AIP-164 soft delete. It imports neither protobuf nor the database driver.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/weburl"
)

// Site is one branded site and its settings, which every service reads through a site catalog.
type Site struct {
	ID                 string // see platform/siteid, e.g. "kratom-help"
	DisplayName        string
	BaseURL            string
	DefaultLocale      string
	CrisisLineText     string
	Public             bool
	CacheMaxAgeSeconds int
	// ResourceStaleAfterDays is when the resources service flags a listing stale: days after
	// its last verification. 0 means DefaultResourceStaleAfterDays.
	ResourceStaleAfterDays int
	// HideStaleResources leaves stale listings out of resource delivery.
	HideStaleResources bool
	// Commercial marks a site run commercially: the screening service keeps questionnaires
	// whose license forbids commercial use off it.
	Commercial bool
	// ReviewValidityMonths is how long an article's review stays valid on this site (its next
	// review is then due). 0 means DefaultReviewValidityMonths.
	ReviewValidityMonths int
	// PublishGates turns on the content service's clinical publish gates for the site.
	PublishGates bool
	// ExampleContent marks the site's content as example content (the demo site).
	ExampleContent bool
	// LintTuning tunes the clinical-claim lint for the site's texts: rule ids turned off, and
	// severities ("error", "warning", "info") by rule id. The services layer it over the
	// operator's --lint-tuning file (claimlint.Input.SiteTunings).
	LintTuning claimlint.SiteTuning
	// AllowedOrigins are the browser origins whose pages may call the site's delivery routes
	// (CORS), each as weburl.CheckOrigin accepts it, or the single AnyOrigin. Empty: none.
	AllowedOrigins []string
	CreateTime     time.Time
	UpdateTime     time.Time
	// DeleteTime is set while the site is soft-deleted; zero otherwise.
	DeleteTime time.Time
	Revision   int64
}

// Name returns the resource name "sites/{id}".
func (s *Site) Name() string { return "sites/" + s.ID }

// Deleted reports whether the site is soft-deleted.
func (s *Site) Deleted() bool { return !s.DeleteTime.IsZero() }

// Etag is the opaque version of the site.
func (s *Site) Etag() string {
	sum := sha256.Sum256([]byte("site\x00" + s.ID + "\x00" + strconv.FormatInt(s.Revision, 10)))
	return hex.EncodeToString(sum[:10])
}

// Limits of the writable fields.
const (
	maxDisplayName    = 100
	maxLocale         = 35
	maxCrisisLineText = 500
	maxCacheMaxAge    = 86400
	// maxResourceStaleAfterDays is ten years.
	maxResourceStaleAfterDays = 3650
)

// AnyOrigin, as a site's only allowed origin, lets every origin read the site's delivery routes.
const AnyOrigin = "*"

// maxAllowedOrigins bounds a site's allowed origins: the edge compares a request's Origin with
// each of them.
const maxAllowedOrigins = 20

// DefaultReviewValidityMonths is the review validity of a site whose ReviewValidityMonths is 0.
const DefaultReviewValidityMonths = 12

// maxReviewValidityMonths is five years.
const maxReviewValidityMonths = 60

// DefaultResourceStaleAfterDays is the stale threshold of a site whose ResourceStaleAfterDays
// is 0.
const DefaultResourceStaleAfterDays = 180

var localePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// normalize puts the writable fields into canonical form before validation.
func (s *Site) normalize() {
	s.DisplayName = strings.TrimSpace(s.DisplayName)
	s.BaseURL = strings.TrimRight(strings.TrimSpace(s.BaseURL), "/")
	if s.DefaultLocale == "" {
		s.DefaultLocale = "en"
	}
	// Origins compare case-insensitively and a browser sends them lowercase without a trailing
	// slash; anything else wrong is left for validate to name.
	for i, o := range s.AllowedOrigins {
		s.AllowedOrigins[i] = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	}
	if len(s.AllowedOrigins) == 0 {
		s.AllowedOrigins = nil
	}
}

// validate checks the writable fields, naming each bad one with prefix (e.g. "site."). lintRules
// are the rule ids a lint tuning may name.
func (s *Site) validate(prefix string, lintRules []string) error {
	var v apperr.Violations
	text(&v, prefix+"display_name", s.DisplayName, 1, maxDisplayName)
	// The one URL rule (platform/weburl), which the sitemap and feed renderers also apply.
	if err := weburl.CheckBase(s.BaseURL); err != nil {
		v.Add(prefix+"base_url", "%s", err)
	}
	text(&v, prefix+"default_locale", s.DefaultLocale, 0, maxLocale)
	if s.DefaultLocale != "" && !localePattern.MatchString(s.DefaultLocale) {
		v.Add(prefix+"default_locale", "must be a BCP 47 language tag such as en or en-US")
	}
	text(&v, prefix+"crisis_line_text", s.CrisisLineText, 0, maxCrisisLineText)
	if s.CacheMaxAgeSeconds < 0 || s.CacheMaxAgeSeconds > maxCacheMaxAge {
		v.Add(prefix+"cache_max_age_seconds", "must be between 0 and %d", maxCacheMaxAge)
	}
	if s.ResourceStaleAfterDays < 0 || s.ResourceStaleAfterDays > maxResourceStaleAfterDays {
		v.Add(prefix+"resource_stale_after_days", "must be between 1 and %d days (0 means the default, %d)",
			maxResourceStaleAfterDays, DefaultResourceStaleAfterDays)
	}
	if s.ReviewValidityMonths < 0 || s.ReviewValidityMonths > maxReviewValidityMonths {
		v.Add(prefix+"review_validity_months", "must be between 1 and %d months (0 means the default, %d)",
			maxReviewValidityMonths, DefaultReviewValidityMonths)
	}
	validateLintTuning(&v, prefix+"lint_tuning.", s.LintTuning, lintRules)
	validateAllowedOrigins(&v, prefix+"allowed_origins", s.AllowedOrigins)
	return v.Err()
}

// validateAllowedOrigins checks a site's allowed origins: at most maxAllowedOrigins, each an
// origin as browsers send it (weburl.CheckOrigin) named once, or AnyOrigin alone.
func validateAllowedOrigins(v *apperr.Violations, field string, origins []string) {
	if len(origins) > maxAllowedOrigins {
		v.Add(field, "must name at most %d origins (it names %d)", maxAllowedOrigins, len(origins))
		return
	}
	for i, o := range origins {
		entry := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case o == AnyOrigin && len(origins) > 1:
			v.Add(entry, "%q allows every origin: it must be the only entry", AnyOrigin)
		case o == AnyOrigin:
		case slices.Index(origins, o) < i:
			v.Add(entry, "origin %q is named twice", o)
		default:
			if err := weburl.CheckOrigin(o); err != nil {
				v.Add(entry, "%s", err)
			}
		}
	}
}

// validateLintTuning checks a site's lint tuning against the rule ids of the rules file: each
// disabled rule and each rule given a severity must exist, be named once, and not be both
// disabled and given a severity; a severity is "error", "warning" or "info".
func validateLintTuning(v *apperr.Violations, prefix string, t claimlint.SiteTuning, rules []string) {
	known := func(field, id string) bool {
		if !slices.Contains(rules, id) {
			v.Add(field, "unknown lint rule %q (the rules are those of platform/claimlint/rules/clinical.yaml)", id)
			return false
		}
		return true
	}
	for i, id := range t.Disable {
		field := fmt.Sprintf("%sdisabled_rules[%d]", prefix, i)
		if known(field, id) && slices.Index(t.Disable, id) < i {
			v.Add(field, "rule %q is named twice", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.Severity)) {
		field := fmt.Sprintf("%srule_severities[%q]", prefix, id)
		if !known(field, id) {
			continue
		}
		if _, err := claimlint.ParseSeverity(t.Severity[id]); err != nil {
			v.Add(field, "must be SEVERITY_ERROR, SEVERITY_WARNING or SEVERITY_INFO")
		}
		if slices.Contains(t.Disable, id) {
			v.Add(field, "rule %q is also disabled: give it a severity or disable it", id)
		}
	}
}

// text checks that s is valid UTF-8 without control characters and between min and max
// characters long.
func text(v *apperr.Violations, field, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case min > 0 && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case n < min:
		v.Add(field, "must be at least %d characters", min)
	case n > max:
		v.Add(field, "must be at most %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add(field, "must not contain control characters")
	}
}
