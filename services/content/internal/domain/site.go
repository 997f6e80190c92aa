package domain

import (
	"time"

	"github.com/beaconcms/beacon/platform/weburl"
)

// Site is one branded site.
type Site struct {
	ID                 string // slug, e.g. "kratom-help"
	DisplayName        string
	BaseURL            string
	DefaultLocale      string
	CrisisLineText     string
	Public             bool
	CacheMaxAgeSeconds int
	CreateTime         time.Time
	UpdateTime         time.Time
	Revision           int64
}

// Name returns the resource name "sites/{id}".
func (s *Site) Name() string { return "sites/" + s.ID }

// Etag is the opaque version of the site.
func (s *Site) Etag() string { return etag("site", s.ID, s.Revision) }

// DefaultCacheMaxAge is the delivery cache lifetime when a site sets none.
const DefaultCacheMaxAge = 60

// validate checks the writable fields, naming each bad one with prefix (e.g. "site.").
func (s *Site) validate(prefix string) error {
	var v violations
	v.text(prefix+"display_name", s.DisplayName, 1, 100)
	if err := weburl.CheckBase(s.BaseURL); err != nil {
		v.add(prefix+"base_url", "%s", err)
	}
	v.text(prefix+"default_locale", s.DefaultLocale, 0, 35)
	if s.DefaultLocale != "" && !localePattern.MatchString(s.DefaultLocale) {
		v.add(prefix+"default_locale", "must be a BCP 47 language tag such as en or en-US")
	}
	v.text(prefix+"crisis_line_text", s.CrisisLineText, 0, 500)
	if s.CacheMaxAgeSeconds < 0 || s.CacheMaxAgeSeconds > 86400 {
		v.add(prefix+"cache_max_age_seconds", "must be between 0 and 86400")
	}
	return v.err()
}
