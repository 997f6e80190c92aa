// Package demo holds the demo articles `beacon dev` loads on first start.
package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
)

//go:embed articles/*.md
var articleFiles embed.FS

// SiteID is the id of the demo site, which the sites service creates (sites.DemoSiteID).
const SiteID = "kratom-help"

// Articles parses the embedded demo articles, in file-name order, targeting the demo site.
// seeded is when `beacon dev` seeds them: the articles' (fictional) reviews are dated that day
// (the files say "seeded"), so the demo never falls due at a fixed calendar date and the site's
// publish gates, which want a review within its validity, pass for a demo seeded at any time.
func Articles(seeded time.Time) ([]domain.Content, error) {
	names, err := fs.Glob(articleFiles, "articles/*.md")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]domain.Content, 0, len(names))
	for _, name := range names {
		raw, err := articleFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		c, err := Parse(string(raw), seeded)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.TargetSites = []string{SiteID}
		out = append(out, c)
	}
	return out, nil
}

// Parse reads one article: "key: value" header lines, a "---" line, then the Markdown body.
// Keys: title, slug, summary, tags, topics (comma-separated), author (repeatable:
// "Name | Credentials [| fictional]"), reviewer (repeatable: "role | Name | Credentials |
// DATE [| fictional]", role one of clinical, editorial, lived-experience), reviewed (DATE, the
// last review as a whole), citation (repeatable: "title | url | doi | pmid | accessed
// YYYY-MM-DD"). A review DATE is YYYY-MM-DD, or "seeded" for the day of seeded (in UTC).
func Parse(raw string, seeded time.Time) (domain.Content, error) {
	header, body, ok := strings.Cut(raw, "\n---\n")
	if !ok {
		return domain.Content{}, fmt.Errorf("no --- line between header and body")
	}
	c := domain.Content{Body: strings.TrimSpace(body) + "\n"}
	for i, line := range strings.Split(header, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return domain.Content{}, fmt.Errorf("header line %d: want key: value", i+1)
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "title":
			c.Title = value
		case "slug":
			c.Slug = value
		case "summary":
			c.Summary = value
		case "tags":
			c.Tags = splitList(value, ",")
		case "topics":
			c.Topics = splitList(value, ",")
		case "author":
			p, err := person(strings.Split(value, "|"))
			if err != nil {
				return domain.Content{}, fmt.Errorf("author %q: %w", value, err)
			}
			c.Authors = append(c.Authors, p)
		case "reviewer":
			r, err := reviewer(value, seeded)
			if err != nil {
				return domain.Content{}, fmt.Errorf("reviewer %q: %w", value, err)
			}
			c.Reviewers = append(c.Reviewers, r)
		case "reviewed":
			d, err := reviewDate(value, seeded)
			if err != nil {
				return domain.Content{}, fmt.Errorf("reviewed: %w", err)
			}
			c.LastReviewedDate = d
		case "citation":
			parts := strings.Split(value, "|")
			for len(parts) < 5 {
				parts = append(parts, "")
			}
			ct := domain.Citation{Title: strings.TrimSpace(parts[0]), URL: strings.TrimSpace(parts[1]), DOI: strings.TrimSpace(parts[2]), PMID: strings.TrimSpace(parts[3])}
			if accessed := strings.TrimSpace(parts[4]); accessed != "" {
				d, err := date(accessed)
				if err != nil {
					return domain.Content{}, fmt.Errorf("citation %q: %w", ct.Title, err)
				}
				ct.AccessedDate = d
			}
			c.Citations = append(c.Citations, ct)
		default:
			return domain.Content{}, fmt.Errorf("header line %d: unknown key %q", i+1, key)
		}
	}
	return c, nil
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// person reads "Name | Credentials [| fictional]".
func person(parts []string) (domain.Person, error) {
	for len(parts) < 2 {
		parts = append(parts, "")
	}
	p := domain.Person{DisplayName: strings.TrimSpace(parts[0]), Credentials: strings.TrimSpace(parts[1])}
	for _, flag := range parts[2:] {
		switch strings.TrimSpace(flag) {
		case "fictional":
			p.Fictional = true
		default:
			return domain.Person{}, fmt.Errorf("unknown flag %q (want fictional)", strings.TrimSpace(flag))
		}
	}
	return p, nil
}

var roles = map[string]domain.ReviewerRole{
	"clinical": domain.RoleClinical, "editorial": domain.RoleEditorial, "lived-experience": domain.RoleLivedExperience,
}

// reviewer reads "role | Name | Credentials | DATE [| fictional]" (see reviewDate).
func reviewer(s string, seeded time.Time) (domain.Reviewer, error) {
	parts := strings.Split(s, "|")
	if len(parts) < 4 {
		return domain.Reviewer{}, fmt.Errorf("want role | name | credentials | review date [| fictional]")
	}
	role, ok := roles[strings.TrimSpace(parts[0])]
	if !ok {
		return domain.Reviewer{}, fmt.Errorf("unknown role %q (want clinical, editorial or lived-experience)", strings.TrimSpace(parts[0]))
	}
	d, err := reviewDate(strings.TrimSpace(parts[3]), seeded)
	if err != nil {
		return domain.Reviewer{}, err
	}
	p, err := person(append(parts[1:3:3], parts[4:]...))
	if err != nil {
		return domain.Reviewer{}, err
	}
	return domain.Reviewer{Person: p, Role: role, ReviewDate: d}, nil
}

// reviewDate reads a review date: YYYY-MM-DD, or "seeded" for the UTC day of seeded.
func reviewDate(s string, seeded time.Time) (domain.Date, error) {
	if s == "seeded" {
		if seeded.IsZero() {
			return domain.Date{}, fmt.Errorf(`a "seeded" review date needs the seeding time`)
		}
		t := seeded.UTC()
		return domain.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, nil
	}
	return date(s)
}

func date(s string) (domain.Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return domain.Date{}, fmt.Errorf("want YYYY-MM-DD, got %q", s)
	}
	return domain.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, nil
}
