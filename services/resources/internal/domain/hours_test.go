package domain_test

import (
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

func hm(h, m int) domain.Minute { return domain.Minute(h*60 + m) }

func utc(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestOpenAt(t *testing.T) {
	nineToFiveWeekdays := domain.Hours{TimeZone: "America/New_York"}
	for d := time.Monday; d <= time.Friday; d++ {
		nineToFiveWeekdays.Periods = append(nineToFiveWeekdays.Periods, domain.WeeklyPeriod{Day: d, Opens: hm(9, 0), Closes: hm(17, 0)})
	}
	// A Friday-night line: Fri 22:00 to Sat 02:00, written as two periods.
	fridayNight := domain.Hours{TimeZone: "Europe/London", Periods: []domain.WeeklyPeriod{
		{Day: time.Friday, Opens: hm(22, 0), Closes: domain.MinutesPerDay},
		{Day: time.Saturday, Opens: hm(0, 0), Closes: hm(2, 0)},
	}}
	// An early-Sunday meeting in New York, inside the hour that DST skips or repeats.
	sundayEarly := domain.Hours{TimeZone: "America/New_York", Periods: []domain.WeeklyPeriod{
		{Day: time.Sunday, Opens: hm(1, 0), Closes: hm(2, 0)},
		{Day: time.Sunday, Opens: hm(3, 0), Closes: hm(4, 0)},
	}}
	allDayWithChristmas := domain.Hours{TimeZone: "America/Los_Angeles", AlwaysOpen: true,
		Closures: []domain.Closure{{Date: domain.Date{Year: 2026, Month: 12, Day: 25}}}}
	auckland := domain.Hours{TimeZone: "Pacific/Auckland", Periods: []domain.WeeklyPeriod{{Day: time.Sunday, Opens: hm(9, 0), Closes: hm(10, 0)}}}

	tests := []struct {
		name  string
		hours domain.Hours
		at    string
		want  bool
	}{
		// Winter (EST, UTC-5): 09:00 local is 14:00Z.
		{"winter opening minute", nineToFiveWeekdays, "2026-01-05T14:00:00Z", true},
		{"winter one minute before", nineToFiveWeekdays, "2026-01-05T13:59:00Z", false},
		{"winter closing is exclusive", nineToFiveWeekdays, "2026-01-05T22:00:00Z", false},
		{"winter last minute", nineToFiveWeekdays, "2026-01-05T21:59:59Z", true},
		// Summer (EDT, UTC-4): 09:00 local is 13:00Z; a fixed UTC-5 offset would say closed.
		{"summer opening minute", nineToFiveWeekdays, "2026-07-06T13:00:00Z", true},
		{"summer 17:00 local is closed", nineToFiveWeekdays, "2026-07-06T21:00:00Z", false},
		// The Monday after DST starts (2026-03-08) and after it ends (2026-11-01).
		{"Monday after spring forward 09:00 EDT", nineToFiveWeekdays, "2026-03-09T13:00:00Z", true},
		{"Monday after spring forward 08:00 EDT", nineToFiveWeekdays, "2026-03-09T12:00:00Z", false},
		{"Monday after fall back 09:00 EST", nineToFiveWeekdays, "2026-11-02T14:00:00Z", true},
		{"Monday after fall back 08:00 EST", nineToFiveWeekdays, "2026-11-02T13:00:00Z", false},
		{"weekend", nineToFiveWeekdays, "2026-01-03T15:00:00Z", false},
		// DST day itself, New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
		{"spring forward 01:30 EST", sundayEarly, "2026-03-08T06:30:00Z", true},
		{"spring forward 03:30 EDT", sundayEarly, "2026-03-08T07:30:00Z", true},
		{"spring forward 04:00 EDT", sundayEarly, "2026-03-08T08:00:00Z", false},
		// Fall back 2026-11-01: 01:00-02:00 happens twice (05:00Z EDT and 06:00Z EST); both are open.
		{"fall back first 01:30", sundayEarly, "2026-11-01T05:30:00Z", true},
		{"fall back second 01:30", sundayEarly, "2026-11-01T06:30:00Z", true},
		{"fall back 02:30 EST", sundayEarly, "2026-11-01T07:30:00Z", false},
		// Midnight in London (GMT in January, BST in June).
		{"Friday 23:59", fridayNight, "2026-01-09T23:59:59Z", true},
		{"Saturday 00:00", fridayNight, "2026-01-10T00:00:00Z", true},
		{"Saturday 01:59", fridayNight, "2026-01-10T01:59:00Z", true},
		{"Saturday 02:00", fridayNight, "2026-01-10T02:00:00Z", false},
		{"Friday 21:59", fridayNight, "2026-01-09T21:59:00Z", false},
		{"BST Saturday 00:30 is Friday 23:30Z", fridayNight, "2026-06-12T23:30:00Z", true},
		{"BST Saturday 02:00 is 01:00Z", fridayNight, "2026-06-13T01:00:00Z", false},
		// A closure covers the local day, not the UTC day.
		{"Christmas Eve evening in LA (Christmas in UTC)", allDayWithChristmas, "2026-12-25T03:00:00Z", true},
		{"Christmas morning in LA", allDayWithChristmas, "2026-12-25T17:00:00Z", false},
		{"Christmas night in LA (26th in UTC)", allDayWithChristmas, "2026-12-26T07:59:00Z", false},
		{"26th in LA", allDayWithChristmas, "2026-12-26T08:00:00Z", true},
		// Southern hemisphere: Auckland is UTC+13 in January (NZDT), so Sunday 09:00 is Saturday 20:00Z.
		{"Auckland Sunday morning", auckland, "2026-01-03T20:30:00Z", true},
		{"Auckland in July (NZST, UTC+12)", auckland, "2026-07-04T21:30:00Z", true},
		{"unknown hours are never open", domain.Hours{}, "2026-01-05T15:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := domain.CompileHours(tt.hours)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.OpenAt(utc(t, tt.at)); got != tt.want {
				t.Errorf("OpenAt(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestCompileHoursRefusesUnknownZone(t *testing.T) {
	if _, err := domain.CompileHours(domain.Hours{TimeZone: "America/Atlantis", AlwaysOpen: true}); err == nil {
		t.Fatal("CompileHours accepted an unknown zone")
	}
}

// TestNextChangeNeverPassesAChange sweeps two-day windows around daylight-saving changes (a
// 30-minute one included) and around midnight every 30 seconds: from each instant, OpenAt keeps
// its answer until NextChange, and NextChange is at or before the first instant it changes.
func TestNextChangeNeverPassesAChange(t *testing.T) {
	weekdays := func(zone string, opens, closes domain.Minute) domain.Hours {
		h := domain.Hours{TimeZone: zone}
		for d := time.Monday; d <= time.Friday; d++ {
			h.Periods = append(h.Periods, domain.WeeklyPeriod{Day: d, Opens: opens, Closes: closes})
		}
		return h
	}
	everyDay := func(zone string, periods ...[2]domain.Minute) domain.Hours {
		h := domain.Hours{TimeZone: zone}
		for d := time.Sunday; d <= time.Saturday; d++ {
			for _, p := range periods {
				h.Periods = append(h.Periods, domain.WeeklyPeriod{Day: d, Opens: p[0], Closes: p[1]})
			}
		}
		return h
	}
	schedules := map[string]domain.Hours{
		"New York 9-17 weekdays":                weekdays("America/New_York", hm(9, 0), hm(17, 0)),
		"New York nightly 01:00-02:30":          everyDay("America/New_York", [2]domain.Minute{hm(1, 0), hm(2, 30)}),
		"London 22:00-24:00 and 00:00-02:00":    everyDay("Europe/London", [2]domain.Minute{hm(22, 0), domain.MinutesPerDay}, [2]domain.Minute{0, hm(2, 0)}),
		"Lord Howe 01:45-02:15 (30-minute DST)": everyDay("Australia/Lord_Howe", [2]domain.Minute{hm(1, 45), hm(2, 15)}),
		"Kathmandu 00:00-00:01":                 everyDay("Asia/Kathmandu", [2]domain.Minute{0, 1}),
		"24/7 with closures": {TimeZone: "America/Los_Angeles", AlwaysOpen: true, Closures: []domain.Closure{
			{Date: domain.Date{Year: 2026, Month: 3, Day: 8}}, {Date: domain.Date{Year: 2026, Month: 12, Day: 25}}}},
		"24/7":    {AlwaysOpen: true},
		"unknown": {},
	}
	windows := []string{
		"2026-03-07T12:00:00Z", // New York springs forward 2026-03-08
		"2026-10-31T12:00:00Z", // New York falls back 2026-11-01
		"2026-03-28T12:00:00Z", // London springs forward 2026-03-29
		"2026-10-24T12:00:00Z", // London falls back 2026-10-25
		"2026-04-04T00:00:00Z", // Lord Howe ends DST 2026-04-05 (half an hour)
		"2026-10-03T00:00:00Z", // Lord Howe starts DST 2026-10-04
		"2026-12-24T00:00:00Z", // Christmas in Los Angeles
		"2026-01-08T18:00:00Z", // an ordinary Friday night
	}
	const step = 30 * time.Second
	for name, h := range schedules {
		s, err := domain.CompileHours(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range windows {
			start := utc(t, w)
			n := int(48 * time.Hour / step)
			open := make([]bool, n)
			for i := range open {
				open[i] = s.OpenAt(start.Add(time.Duration(i) * step))
			}
			firstDiff := make([]int, n) // index of the first sample after i that differs from i; n if none
			firstDiff[n-1] = n
			for i := n - 2; i >= 0; i-- {
				if open[i+1] != open[i] {
					firstDiff[i] = i + 1
				} else {
					firstDiff[i] = firstDiff[i+1]
				}
			}
			for i := range n {
				at := start.Add(time.Duration(i) * step)
				next, ok := s.NextChange(at)
				switch {
				case !ok && firstDiff[i] < n:
					t.Fatalf("%s: NextChange(%s) says never, but OpenAt changes at %s", name, at, start.Add(time.Duration(firstDiff[i])*step))
				case ok && !next.After(at):
					t.Fatalf("%s: NextChange(%s) = %s, not after it", name, at, next)
				case ok && firstDiff[i] < n && next.After(start.Add(time.Duration(firstDiff[i])*step)):
					t.Fatalf("%s: NextChange(%s) = %s, after the change at %s", name, at, next, start.Add(time.Duration(firstDiff[i])*step))
				}
			}
		}
	}
}

// TestNextChangeIsTheNextBoundary: the instants NextChange names for hours whose next change is
// known (not merely a bound).
func TestNextChangeIsTheNextBoundary(t *testing.T) {
	nineToFive := domain.Hours{TimeZone: "America/New_York", Periods: []domain.WeeklyPeriod{
		{Day: time.Monday, Opens: hm(9, 0), Closes: hm(17, 0)}, {Day: time.Sunday, Opens: hm(1, 0), Closes: hm(4, 0)}}}
	tests := []struct {
		name, at, want string
	}{
		{"Monday morning: the opening", "2026-01-05T13:59:30Z", "2026-01-05T14:00:00Z"},
		{"Monday noon: the closing", "2026-01-05T17:00:00Z", "2026-01-05T22:00:00Z"},
		{"Monday evening: midnight", "2026-01-05T23:00:00Z", "2026-01-06T05:00:00Z"},
		{"spring forward Sunday 01:30 EST: the jump to EDT", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"},
		{"spring forward Sunday 03:00 EDT: the closing at 04:00 EDT", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"},
	}
	s, err := domain.CompileHours(nineToFive)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := s.NextChange(utc(t, tt.at))
			if !ok || !next.Equal(utc(t, tt.want)) {
				t.Errorf("NextChange(%s) = %s, %v; want %s", tt.at, next.UTC().Format(time.RFC3339), ok, tt.want)
			}
		})
	}
}
