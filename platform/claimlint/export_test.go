package claimlint

import "slices"

// ShippedPatternsWithoutPrefilter lists the patterns of e's finding-producing rules that run on
// every block: no keyword of their own and no local "when" condition with keywords.
func ShippedPatternsWithoutPrefilter(e *Engine) []string {
	var out []string
	for _, r := range e.rules {
		for _, p := range r.patterns {
			if p.m.pf.clauses != nil {
				continue
			}
			gated := slices.ContainsFunc(slices.Concat(r.when, p.when), func(c condition) bool {
				return localScope(c.scope) && c.m.pf.clauses != nil
			})
			if !gated {
				out = append(out, r.id+": "+p.m.source)
			}
		}
	}
	return out
}
