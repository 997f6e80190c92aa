package domain

import (
	"context"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/markdown"
)

// Preview is what a write of a draft would compute from it: the rendering of its body and the
// lint findings about it.
type Preview struct {
	Rendering    markdown.Rendering
	LintFindings []LintFinding
}

// PreviewArticle renders draft c and lints it as a write would (the same renderer, rules, site
// tunings and acknowledgements), storing nothing. The caller's key must cover every target
// site. Only what bounds the work is validated: the body (size, encoding, complexity), the
// lengths of title and summary, and the number of labels, people, citations and sites; a draft
// being typed may lack a title or a site, or name a site that does not exist (the lint then
// uses the rules' defaults for it).
func (s *Service) PreviewArticle(ctx context.Context, p auth.Principal, c Content) (Preview, error) {
	c.Normalize()
	var v violations
	v.text("article.title", c.Title, 0, maxTitle)
	v.textLines("article.summary", c.Summary, 0, maxSummary, true)
	v.body("article.body", c.Body)
	for _, bound := range []struct {
		field  string
		n, max int
	}{
		{"article.tags", len(c.Tags), maxLabels}, {"article.topics", len(c.Topics), maxLabels},
		{"article.authors", len(c.Authors), maxPeople}, {"article.reviewers", len(c.Reviewers), maxPeople},
		{"article.citations", len(c.Citations), maxCitations}, {"article.target_sites", len(c.TargetSites), maxTargetSites},
	} {
		if bound.n > bound.max {
			v.add(bound.field, "must have at most %d entries", bound.max)
		}
	}
	if len(c.Acknowledgements) > maxAcknowledgements {
		v.add("article.acknowledgements", "at most %d", maxAcknowledgements)
	}
	if err := v.err(); err != nil {
		return Preview{}, err
	}
	for _, id := range c.TargetSites {
		if !p.CoversSite(id) {
			return Preview{}, apperr.New(apperr.PermissionDenied, "this key is limited to site %q and cannot target site %q", p.Site, id)
		}
	}
	return Preview{Rendering: s.renderer.Render(c.Body), LintFindings: s.lint(ctx, c)}, nil
}
