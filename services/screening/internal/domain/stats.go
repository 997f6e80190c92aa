package domain

import (
	"cmp"
	"slices"
	"strconv"
)

// MinDisclosed is the smallest count reported as a number. Counts from 1 to MinDisclosed-1 are
// reported as "<5", so a handful of readers on one site and day cannot be singled out.
const MinDisclosed = 5

// CounterKey identifies one aggregate counter: completed screenings of one questionnaire version
// on one site and UTC day that ended in one band. It is the only trace a screening leaves.
type CounterKey struct {
	QuestionnaireID string
	Version         int64
	Site            string
	Band            string // band code
	Day             string // "YYYY-MM-DD", UTC
}

// Cell is a counter with its true value.
type Cell struct {
	CounterKey
	N int64
}

// Count is a count as it may be disclosed: exact (Min == Max), "<5", or a range for a total
// that includes suppressed cells.
type Count struct {
	Display  string
	Min, Max int64
}

// Exact reports whether the count is disclosed exactly.
func (c Count) Exact() bool { return c.Min == c.Max }

// DisclosedCell is a cell as reported.
type DisclosedCell struct {
	CounterKey
	Count Count
}

// DisclosedTotal is the sum of every cell sharing one value of a dimension.
type DisclosedTotal struct {
	Key   string
	Count Count
}

// StatsReport is what editors see of the counters of one questionnaire over a range of days.
type StatsReport struct {
	Cells         []DisclosedCell // non-zero cells, by day, version, site, band
	VersionTotals []DisclosedTotal
	SiteTotals    []DisclosedTotal
	BandTotals    []DisclosedTotal
	DayTotals     []DisclosedTotal
	Total         Count
}

// Disclose applies the small-cell rule to counters.
//
// Every cell from 1 to 4 is shown as "<5" (bounds 1 and 4). Every total, the grand total
// included, is computed from the cells as shown, never from their true values: a total with no
// suppressed cell is exact, and one with k suppressed cells is the range [shown + k, shown + 4k].
// A report is therefore a function of the cell labels alone, so no total, and no difference of
// totals across reports for overlapping day ranges, can be used to work a suppressed cell back
// out (an exact total of a group holding one suppressed cell would reveal it by subtraction).
func Disclose(cells []Cell) StatsReport {
	merged := map[CounterKey]int64{}
	for _, c := range cells {
		merged[c.CounterKey] += c.N
	}
	var rep StatsReport
	for k, n := range merged {
		if n > 0 {
			rep.Cells = append(rep.Cells, DisclosedCell{CounterKey: k, Count: discloseCell(n)})
		}
	}
	slices.SortFunc(rep.Cells, func(a, b DisclosedCell) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Band, b.Band))
	})
	rep.VersionTotals = totalsBy(rep.Cells, func(k CounterKey) string { return strconv.FormatInt(k.Version, 10) })
	// Version keys are decimal numbers: shorter ones first puts "9" before "10".
	slices.SortStableFunc(rep.VersionTotals, func(a, b DisclosedTotal) int { return cmp.Compare(len(a.Key), len(b.Key)) })
	rep.SiteTotals = totalsBy(rep.Cells, func(k CounterKey) string { return k.Site })
	rep.BandTotals = totalsBy(rep.Cells, func(k CounterKey) string { return k.Band })
	rep.DayTotals = totalsBy(rep.Cells, func(k CounterKey) string { return k.Day })
	rep.Total = sumShown(rep.Cells)
	return rep
}

func discloseCell(n int64) Count {
	if n < MinDisclosed {
		return Count{Display: "<" + strconv.Itoa(MinDisclosed), Min: 1, Max: MinDisclosed - 1}
	}
	return exactCount(n)
}

func exactCount(n int64) Count { return Count{Display: strconv.FormatInt(n, 10), Min: n, Max: n} }

// sumShown adds cells as shown: bounds add up, so a sum is exact only when every cell is.
func sumShown(cells []DisclosedCell) Count {
	var lo, hi int64
	for _, c := range cells {
		lo, hi = lo+c.Count.Min, hi+c.Count.Max
	}
	if lo == hi {
		return exactCount(lo)
	}
	return Count{Display: strconv.FormatInt(lo, 10) + "-" + strconv.FormatInt(hi, 10), Min: lo, Max: hi}
}

func totalsBy(cells []DisclosedCell, key func(CounterKey) string) []DisclosedTotal {
	groups := map[string][]DisclosedCell{}
	for _, c := range cells {
		k := key(c.CounterKey)
		groups[k] = append(groups[k], c)
	}
	out := make([]DisclosedTotal, 0, len(groups))
	for k, g := range groups {
		out = append(out, DisclosedTotal{Key: k, Count: sumShown(g)})
	}
	slices.SortFunc(out, func(a, b DisclosedTotal) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
