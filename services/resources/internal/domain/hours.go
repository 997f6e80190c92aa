package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Date is a calendar date without a time zone. The zero Date means "not set".
type Date struct{ Year, Month, Day int }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar date from 1900 to 2200.
func (d Date) Valid() bool {
	if d.Year < 1900 || d.Year > 2200 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC).Day() == d.Day
}

// String returns the date as ISO 8601, "2026-10-01"; "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// ParseDate reads an ISO 8601 date, "2026-10-01".
func ParseDate(s string) (Date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, false
	}
	return DateOf(t), true
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, int(m), d}
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, time.Month(d.Month), d.Day+n, 0, 0, 0, 0, time.UTC))
}

// Minute is a time of day in minutes after midnight: 0 is 00:00 and MinutesPerDay is 24:00, the
// end of the day (allowed only as a closing time).
type Minute int

// MinutesPerDay is 24:00.
const MinutesPerDay Minute = 24 * 60

// String returns "HH:MM".
func (m Minute) String() string { return fmt.Sprintf("%02d:%02d", int(m)/60, int(m)%60) }

// WeeklyPeriod is one opening period of a week: on Day, from Opens (inclusive) to Closes
// (exclusive), wall-clock time in the hours' zone. Opens < Closes; a period past midnight is two
// periods.
type WeeklyPeriod struct {
	Day    time.Weekday
	Opens  Minute
	Closes Minute
}

// Closure is a whole day, in the hours' zone, on which the resource is closed.
type Closure struct {
	Date        Date
	Description string
}

// Hours say when a resource can be reached. With no periods and AlwaysOpen unset the hours are
// unknown.
type Hours struct {
	TimeZone   string // IANA name; required with periods or closures
	AlwaysOpen bool   // 24/7 except closures
	Periods    []WeeklyPeriod
	Closures   []Closure
}

// Known reports whether the hours say anything about when the resource is open.
func (h Hours) Known() bool { return h.AlwaysOpen || len(h.Periods) > 0 }

// IsZero reports whether no field is set.
func (h Hours) IsZero() bool {
	return h.TimeZone == "" && !h.AlwaysOpen && len(h.Periods) == 0 && len(h.Closures) == 0
}

// LoadZone returns the IANA time zone name as a *time.Location. It refuses "" and "Local" (which
// time.LoadLocation would take as UTC and the server's zone), so a zone is always explicit.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("must be an IANA time zone such as America/Chicago")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("must be an IANA time zone such as America/Chicago (unknown zone %q)", name)
	}
	return loc, nil
}

// Schedule is Hours compiled for fast open-now checks: the zone loaded once, periods by weekday.
// It is immutable and safe for concurrent use.
type Schedule struct {
	loc      *time.Location
	always   bool
	known    bool
	week     [7][]WeeklyPeriod
	closures map[Date]bool
}

// CompileHours compiles valid hours (see Fields.Validate); it fails only on an unknown zone.
func CompileHours(h Hours) (*Schedule, error) {
	s := &Schedule{always: h.AlwaysOpen, known: h.Known(), loc: time.UTC}
	if h.TimeZone != "" {
		loc, err := LoadZone(h.TimeZone)
		if err != nil {
			return nil, err
		}
		s.loc = loc
	}
	for _, p := range h.Periods {
		s.week[p.Day] = append(s.week[p.Day], p)
	}
	if len(h.Closures) > 0 {
		s.closures = make(map[Date]bool, len(h.Closures))
		for _, c := range h.Closures {
			s.closures[c.Date] = true
		}
	}
	return s, nil
}

// OpenAt reports whether the resource is open at the instant t. The instant is read as wall-clock
// time in the resource's own zone, so "09:00-17:00" means nine to five local time on both sides of
// a daylight-saving change; a closure covers the whole local day. Unknown hours are never open.
func (s *Schedule) OpenAt(t time.Time) bool {
	if !s.known {
		return false
	}
	local := t.In(s.loc)
	if s.closures[DateOf(local)] {
		return false
	}
	if s.always {
		return true
	}
	m := Minute(local.Hour()*60 + local.Minute())
	for _, p := range s.week[local.Weekday()] {
		if p.Opens <= m && m < p.Closes {
			return true
		}
	}
	return false
}

// NextChange returns the first instant after t at which OpenAt may answer differently than at t:
// OpenAt is the same at every instant from t up to (not including) the instant returned. It may
// return an instant at which nothing changes (midnight between two periods that meet there, a
// daylight-saving change); never one after a real change. ok is false when OpenAt never changes
// after t (unknown hours; 24/7 without closures).
//
// Within one UTC offset of the zone and one local day, the wall clock moves with t, so the next
// change is the next opening or closing minute of the day or the local midnight; a change of
// offset (daylight saving), when the wall clock jumps or repeats, is a change point of its own.
func (s *Schedule) NextChange(t time.Time) (next time.Time, ok bool) {
	if !s.known || (s.always && len(s.closures) == 0) {
		return time.Time{}, false
	}
	local := t.In(s.loc)
	m := Minute(local.Hour()*60 + local.Minute())
	boundary := MinutesPerDay // local midnight: the weekday and the closures change
	if !s.always {
		for _, p := range s.week[local.Weekday()] {
			for _, b := range [2]Minute{p.Opens, p.Closes} {
				if b > m && b < boundary {
					boundary = b
				}
			}
		}
	}
	minuteStart := t.Add(-time.Duration(local.Second())*time.Second - time.Duration(local.Nanosecond()))
	next = minuteStart.Add(time.Duration(boundary-m) * time.Minute)
	if _, zoneEnd := local.ZoneBounds(); !zoneEnd.IsZero() && zoneEnd.Before(next) {
		next = zoneEnd
	}
	return next, true
}

// hours checks hours and names bad fields under prefix ("resource.hours.").
func (v *violations) hours(prefix string, h Hours) {
	zoneNeeded := len(h.Periods) > 0 || len(h.Closures) > 0
	switch {
	case h.TimeZone != "":
		if _, err := LoadZone(h.TimeZone); err != nil {
			v.add(prefix+"time_zone", "%s", err)
		}
	case zoneNeeded:
		v.add(prefix+"time_zone", "is required with periods or closures (an IANA time zone such as America/Chicago)")
	}
	if h.AlwaysOpen && len(h.Periods) > 0 {
		v.add(prefix+"periods", "must be empty when always_open is set")
	}
	if len(h.Periods) > maxPeriods {
		v.add(prefix+"periods", "must have at most %d entries", maxPeriods)
	}
	for i, p := range h.Periods {
		f := fmt.Sprintf("%speriods[%d]", prefix, i)
		switch {
		case p.Day < time.Sunday || p.Day > time.Saturday:
			v.add(f+".day", "must be a day of the week")
		case p.Opens < 0 || p.Opens >= MinutesPerDay:
			v.add(f+".opens", "must be a time from 00:00 to 23:59")
		case p.Closes <= 0 || p.Closes > MinutesPerDay:
			v.add(f+".closes", "must be a time from 00:01 to 24:00")
		case p.Closes <= p.Opens:
			v.add(f+".closes", "must be after opens (%s); write a period past midnight as two periods", p.Opens)
		default:
			for j, q := range h.Periods[:i] {
				if q.Day == p.Day && p.Opens < q.Closes && q.Opens < p.Closes {
					v.add(f, "overlaps periods[%d] (%s %s-%s)", j, q.Day, q.Opens, q.Closes)
					break
				}
			}
		}
	}
	if len(h.Closures) > maxClosures {
		v.add(prefix+"closures", "must have at most %d entries", maxClosures)
	}
	seen := make(map[Date]bool, len(h.Closures))
	for i, c := range h.Closures {
		f := fmt.Sprintf("%sclosures[%d]", prefix, i)
		switch {
		case !c.Date.Valid():
			v.add(f+".date", "must be a real calendar date")
		case seen[c.Date]:
			v.add(f+".date", "repeats %s", c.Date)
		}
		seen[c.Date] = true
		v.text(f+".description", c.Description, 0, 200)
	}
}

// sortPeriods orders periods by day (Monday first) and opening time, so equal hours compare equal.
func sortPeriods(ps []WeeklyPeriod) {
	mondayFirst := func(d time.Weekday) int { return (int(d) + 6) % 7 }
	slices.SortStableFunc(ps, func(a, b WeeklyPeriod) int {
		if a.Day != b.Day {
			return mondayFirst(a.Day) - mondayFirst(b.Day)
		}
		return int(a.Opens - b.Opens)
	})
}

// DefaultStaleAfterDays is the stale threshold of a site that sets none.
const DefaultStaleAfterDays = 180

// StaleAt reports whether a listing verified on verified is stale on the date today, given a
// threshold in days (0 or less means DefaultStaleAfterDays): never verified, or verified more than
// threshold days before today.
func StaleAt(verified Date, today Date, thresholdDays int) bool {
	if thresholdDays <= 0 {
		thresholdDays = DefaultStaleAfterDays
	}
	if verified.IsZero() {
		return true
	}
	return verified.AddDays(thresholdDays).Before(today)
}
