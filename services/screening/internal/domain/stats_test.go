package domain_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

func key(site, band, day string) domain.CounterKey {
	return domain.CounterKey{QuestionnaireID: "q", Version: 1, Site: site, Band: band, Day: day}
}

func TestDiscloseLabels(t *testing.T) {
	rep := domain.Disclose([]domain.Cell{
		{CounterKey: key("a", "low", "2026-12-01"), N: 12},
		{CounterKey: key("a", "high", "2026-12-01"), N: 3},
		{CounterKey: key("a", "low", "2026-12-02"), N: 4},
		{CounterKey: key("a", "low", "2026-12-02"), N: 1}, // merged with the cell above: 5
		{CounterKey: key("b", "low", "2026-12-02"), N: 0},
		{CounterKey: key("b", "high", "2026-12-02"), N: 7},
	})
	var cells []string
	for _, c := range rep.Cells {
		cells = append(cells, c.Day+"/"+c.Site+"/"+c.Band+"="+c.Count.Display)
	}
	wantCells := []string{"2026-12-01/a/high=<5", "2026-12-01/a/low=12", "2026-12-02/a/low=5", "2026-12-02/b/high=7"}
	if !reflect.DeepEqual(cells, wantCells) {
		t.Errorf("cells = %q, want %q", cells, wantCells)
	}
	totals := func(ts []domain.DisclosedTotal) map[string]string {
		m := map[string]string{}
		for _, t := range ts {
			m[t.Key] = t.Count.Display
		}
		return m
	}
	for name, tc := range map[string]struct{ got, want map[string]string }{
		"band": {totals(rep.BandTotals), map[string]string{"high": "8-11", "low": "17"}},
		"day":  {totals(rep.DayTotals), map[string]string{"2026-12-01": "13-16", "2026-12-02": "12"}},
		"site": {totals(rep.SiteTotals), map[string]string{"a": "18-21", "b": "7"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s totals = %v, want %v", name, tc.got, tc.want)
		}
	}
	if rep.Total.Display != "25-28" || rep.Total.Exact() {
		t.Errorf("total = %+v, want the range 25-28", rep.Total)
	}
	if full := domain.Disclose([]domain.Cell{{CounterKey: key("a", "low", "d"), N: 5}, {CounterKey: key("a", "high", "d"), N: 9}}); full.Total.Display != "14" || !full.Total.Exact() {
		t.Errorf("total without suppressed cells = %+v, want exactly 14", full.Total)
	}
}

// TestDisclosureRevealsNoSuppressedCell: changing the true value of any suppressed cell within
// 1..4 changes nothing in the report, so no total (or difference of totals) can reveal it.
func TestDisclosureRevealsNoSuppressedCell(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sites, bands, days := []string{"a", "b"}, []string{"none", "low", "high"}, []string{"2026-12-01", "2026-12-02", "2026-12-03"}
	for round := range 300 {
		var cells []domain.Cell
		for _, s := range sites {
			for _, b := range bands {
				for _, d := range days {
					n := int64(rng.IntN(9)) // 0..8: plenty of suppressed cells
					cells = append(cells, domain.Cell{CounterKey: key(s, b, d), N: n})
				}
			}
		}
		want := domain.Disclose(cells)
		for i := range cells {
			if cells[i].N < 1 || cells[i].N > 4 {
				continue
			}
			orig := cells[i].N
			for alt := int64(1); alt <= 4; alt++ {
				cells[i].N = alt
				if got := domain.Disclose(cells); !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d: report changes when suppressed cell %v goes from %d to %d", round, cells[i].CounterKey, orig, alt)
				}
			}
			cells[i].N = orig
		}
	}
}
