package domain

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/beaconcms/beacon/platform/apperr"
)

// LinkTargets answers, from memory, whether something a link points to is published on a site.
// The facade provides it: articles from the delivery read model, screeners from the screening
// service when it runs in the same process.
type LinkTargets interface {
	// ArticlePublished reports whether a live article has slug on site (its current slug).
	ArticlePublished(site, slug string) bool
	// ScreenerPublished reports whether site serves a published screener at slug. An error
	// means it could not be told (e.g. no screening service in this process).
	ScreenerPublished(ctx context.Context, site, slug string) (bool, error)
}

// ResolveLinksWith makes the publish check resolve internal links with t. Call it before the
// service is used; without it, an article with an internal link cannot be published.
func (s *Service) ResolveLinksWith(t LinkTargets) { s.links = t }

// RuleInternalLink is the publish rule that every internal link resolves.
const RuleInternalLink = "INTERNAL_LINK"

// RuleInternalLinkUnchecked is the publish rule that every internal link can be checked now: it
// names a link to a screener the screening service could not answer for (unreachable, timed
// out). Unlike INTERNAL_LINK it may pass on a later try, so the scheduler tries again later
// rather than dropping a schedule for it alone.
const RuleInternalLinkUnchecked = "INTERNAL_LINK_UNCHECKED"

// internalLink is a link into content Beacon delivers: an article or a screener of a site.
type internalLink struct {
	site string // "" for a site-relative path: it must resolve on every target site
	kind string // "articles" or "screeners"
	slug string
}

// parseInternalLink classifies a link destination of an article targeting sites (with their
// base URLs). Internal are: delivery paths /v1/sites/{site}/articles/{slug} and
// /v1/sites/{site}/screeners/{slug}, and article pages /articles/{slug}, site-relative or under
// a target site's base URL. Any other path under /v1/ is an internal link that cannot resolve
// (ok is true, link.kind ""). Everything else (other sites, fragments, other pages of the site)
// is not checked.
func parseInternalLink(dest string, bases map[string]string) (link internalLink, ok bool) {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil || (u.Path == "" && u.Host == "") {
		return internalLink{}, false
	}
	path := u.Path
	site := ""
	if u.IsAbs() || u.Host != "" {
		matched := false
		for id, base := range bases {
			b, err := url.Parse(base)
			if err != nil || !strings.EqualFold(b.Host, u.Host) {
				continue
			}
			if rest, found := strings.CutPrefix(u.Path, strings.TrimRight(b.Path, "/")); found && strings.HasPrefix(rest, "/") {
				path, site, matched = rest, id, true
				break
			}
		}
		if !matched {
			return internalLink{}, false
		}
	} else if !strings.HasPrefix(path, "/") {
		return internalLink{}, false
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "articles" && parts[1] != "":
		return internalLink{site: site, kind: "articles", slug: parts[1]}, true
	case len(parts) >= 1 && parts[0] == "v1":
		if len(parts) == 5 && parts[1] == "sites" && (parts[3] == "articles" || parts[3] == "screeners") && parts[4] != "" {
			return internalLink{site: parts[2], kind: parts[3], slug: parts[4]}, true
		}
		return internalLink{site: site}, true
	}
	return internalLink{}, false
}

// checkInternalLinks adds to unmet every internal link of a's draft body that does not resolve
// to something published on the same site: the link's site must be one a targets, and the
// article or screener must be published there (a site-relative link: on every target site).
// A link to the article itself resolves.
func (s *Service) checkInternalLinks(ctx context.Context, unmet *apperr.Preconditions, a *Article) error {
	dests := s.renderer.Links(a.Draft.Body)
	if len(dests) == 0 {
		return nil
	}
	bases := map[string]string{}
	for _, id := range a.Draft.TargetSites {
		site, found, err := s.sites.Site(ctx, id)
		if err != nil {
			return fmt.Errorf("looking up sites/%s: %w", id, err)
		}
		if found {
			bases[id] = site.BaseURL
		}
	}
	seen := map[string]bool{}
	for _, dest := range dests {
		link, ok := parseInternalLink(dest, bases)
		if !ok || seen[dest] {
			continue
		}
		seen[dest] = true
		rule, problem, err := s.resolveLink(ctx, a, link)
		if err != nil {
			return err
		}
		switch {
		case problem == "":
		case rule == RuleInternalLinkUnchecked:
			unmet.Add(rule, "article.body", "internal link %q cannot be checked now: %s", dest, problem)
		default:
			unmet.Add(rule, "article.body", "internal link %q does not resolve: %s", dest, problem)
		}
	}
	return nil
}

// resolveLink returns why link does not resolve for a, or "", and the rule that says so:
// RuleInternalLink, or RuleInternalLinkUnchecked when the screening service could not answer.
func (s *Service) resolveLink(ctx context.Context, a *Article, link internalLink) (rule, problem string, err error) {
	if link.kind == "" {
		return RuleInternalLink, "Beacon serves only /v1/sites/{site}/articles/{slug} and /v1/sites/{site}/screeners/{slug} to sites", nil
	}
	sites := a.Draft.TargetSites
	if link.site != "" {
		if !slices.Contains(sites, link.site) {
			return RuleInternalLink, fmt.Sprintf("it points to sites/%s, which this article does not target", link.site), nil
		}
		sites = []string{link.site}
	}
	for _, site := range sites {
		if link.kind == "articles" && link.slug == a.Draft.Slug {
			continue // the article itself, published by this very write
		}
		if s.links == nil {
			return RuleInternalLink, "internal links cannot be checked in this process", nil
		}
		var found bool
		switch link.kind {
		case "articles":
			found = s.links.ArticlePublished(site, link.slug)
		default:
			var err error
			if found, err = s.links.ScreenerPublished(ctx, site, link.slug); err != nil {
				return RuleInternalLinkUnchecked, fmt.Sprintf("the screeners of sites/%s cannot be checked: %v", site, err), nil
			}
		}
		if !found {
			return RuleInternalLink, fmt.Sprintf("nothing is published at %s/%s on sites/%s", link.kind, link.slug, site), nil
		}
	}
	return "", "", nil
}
