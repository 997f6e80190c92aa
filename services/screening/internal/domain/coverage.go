package domain

import (
	"context"
	"slices"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// ScoreRange is the totals from Min to Max, both included.
type ScoreRange struct{ Min, Max int }

// Ranges groups sorted integers into runs: [0 1 2 5] is 0-2 and 5-5.
func Ranges(ns []int) []ScoreRange {
	var out []ScoreRange
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		out = append(out, ScoreRange{Min: ns[i], Max: ns[j]})
		i = j + 1
	}
	return out
}

// Coverage is what a questionnaire's bands cover of the totals its answers can reach: the
// facts the coverage rule of Validate judges ("every reachable total in exactly one band, every
// band covering one").
type Coverage struct {
	Min, Max  int   // lowest and highest reachable totals
	Reachable []int // every reachable total, ascending
	Gaps      []int // reachable totals no band covers
	Bands     []BandCoverage
}

// BandCoverage is what one band covers.
type BandCoverage struct {
	Code   string
	Covers []int // reachable totals in the band, ascending; empty: the band is never a result
	// Overlaps are the earlier bands that cover some of the same totals, in band order.
	Overlaps []BandOverlap
}

// BandOverlap is the totals a band shares with an earlier one.
type BandOverlap struct {
	Band   int // index of the earlier band
	Totals []int
}

// OverlapTotals are every total the band shares with an earlier band, ascending.
func (b BandCoverage) OverlapTotals() []int {
	var out []int
	for _, o := range b.Overlaps {
		out = append(out, o.Totals...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// coverageOf computes the coverage of bands over the reachable totals r.
func coverageOf(r Reach, bands []Band) Coverage {
	totals := r.Totals()
	cov := Coverage{Min: r.Min, Max: r.Max, Reachable: totals, Bands: make([]BandCoverage, len(bands))}
	for _, t := range totals {
		if !slices.ContainsFunc(bands, func(b Band) bool { return b.Covers(t) }) {
			cov.Gaps = append(cov.Gaps, t)
		}
	}
	for j, b := range bands {
		bc := BandCoverage{Code: b.Code}
		for _, t := range totals {
			if b.Covers(t) {
				bc.Covers = append(bc.Covers, t)
			}
		}
		for i := range j {
			var both []int
			for _, t := range bc.Covers {
				if bands[i].Covers(t) {
					both = append(both, t)
				}
			}
			if len(both) > 0 {
				bc.Overlaps = append(bc.Overlaps, BandOverlap{Band: i, Totals: both})
			}
		}
		cov.Bands[j] = bc
	}
	return cov
}

// Coverage computes the coverage of normalized content's bands. ok is false when the items are
// not sound enough to compute the reachable totals (Validate names the problems) or their
// enable_when conditions depend on too many answers.
func (c Content) Coverage() (cov Coverage, ok bool) {
	f := newForm(c.Items)
	var v violations
	if !v.items(c.Items, f) {
		return Coverage{}, false
	}
	r, err := f.reach()
	if err != nil {
		return Coverage{}, false
	}
	return coverageOf(r, c.Bands), true
}

// Check is what a save of some content would say, without the save.
type Check struct {
	// Violations are every problem the save would report (validation, acknowledgements and the
	// clinical-claim lint's errors), named as the save names them.
	Violations    []apperr.FieldViolation
	Coverage      Coverage
	CoverageKnown bool
}

// Check normalizes and validates c as Create and Update would (everything but the slug's
// uniqueness, which depends on the questionnaire written) and computes its band coverage. It
// stores nothing. p's key must cover every target site (PermissionDenied), as for a save.
func (s *Service) Check(ctx context.Context, p auth.Principal, c Content) (Check, error) {
	c.Normalize()
	if err := canWrite(p, c.TargetSites); err != nil {
		return Check{}, err
	}
	var out Check
	out.Coverage, out.CoverageKnown = c.Coverage()
	for _, check := range []func() error{
		func() error { return c.Validate(ctx, s.sites, "questionnaire.") },
		func() error { return s.checkAcknowledgements(c, "questionnaire.") },
		func() error { return s.checkLint(ctx, c, "questionnaire.") },
	} {
		err := check()
		if err == nil {
			continue
		}
		e, isApp := apperr.As(err)
		if !isApp || (e.Code != apperr.Invalid && e.Code != apperr.FailedPrecondition) {
			return Check{}, err
		}
		if len(e.Fields) == 0 {
			out.Violations = append(out.Violations, apperr.FieldViolation{Field: "questionnaire", Description: e.Message})
		}
		out.Violations = append(out.Violations, e.Fields...)
		break // a save stops at the first failing check too
	}
	return out, nil
}

// TrialVersion returns what an editor's try scores against: published version number of a
// questionnaire p may see, or with number 0 its draft as p sees it, as an unpublished version
// (Number is the draft's version number; PublishTime is zero).
func (s *Service) TrialVersion(ctx context.Context, p auth.Principal, id string, number int64) (*Version, error) {
	if number != 0 {
		return s.GetVersion(ctx, p, id, number)
	}
	q, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &Version{QuestionnaireID: q.ID, Number: q.Version, Content: q.Draft.Clone()}, nil
}
