package calendar

import (
	"fmt"
	"time"

	ics "github.com/arran4/golang-ical"
)

// Timezone builds a VTIMEZONE for loc covering the years from first to
// last (inclusive) from Go's zone database, which works for any zone
// without a table of rules: it finds every change of UTC offset in the
// range and writes one STANDARD or DAYLIGHT block per period. The first
// block starts at the beginning of the range with the offset then in
// force, so a zone without changes (Asia/Bishkek) gets a single STANDARD.
func Timezone(id string, loc *time.Location, first, last int) *ics.VTimezone {
	tz := ics.NewTimezone(id)
	from := time.Date(first, 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(last+1, 1, 1, 0, 0, 0, 0, loc)
	_, off := from.Zone()
	addPeriod(tz, from, off)
	for t := from; ; {
		next, ok := nextTransition(t, to)
		if !ok {
			break
		}
		_, before := next.Add(-time.Second).Zone()
		addPeriod(tz, next, before)
		t = next
	}
	return tz
}

// addPeriod appends the block for the period that starts at the instant
// at, whose offset before was fromOffset. RFC 5545 wants DTSTART as the
// local time in the offset before the change.
func addPeriod(tz *ics.VTimezone, at time.Time, fromOffset int) {
	name, to := at.Zone()
	base := ics.ComponentBase{}
	local := at.UTC().Add(time.Duration(fromOffset) * time.Second)
	base.SetProperty(ics.ComponentPropertyDtStart, local.Format(localLayout))
	base.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), offset(fromOffset))
	base.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), offset(to))
	base.SetProperty(ics.ComponentProperty(ics.PropertyTzname), name)
	if at.IsDST() {
		tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: base})
	} else {
		tz.Components = append(tz.Components, &ics.Standard{ComponentBase: base})
	}
}

// nextTransition finds the first instant after t and before end at which
// the UTC offset changes. Zones change at most a few times a year, so a
// daily scan finds the day and a binary search the second.
func nextTransition(t, end time.Time) (time.Time, bool) {
	_, off := t.Zone()
	lo := t
	for hi := t.Add(24 * time.Hour); lo.Before(end); hi = hi.Add(24 * time.Hour) {
		if _, o := hi.Zone(); o != off {
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
				if mid.Equal(lo) {
					break
				}
				if _, o := mid.Zone(); o != off {
					hi = mid
				} else {
					lo = mid
				}
			}
			return hi, true
		}
		lo = hi
	}
	return time.Time{}, false
}

// offset formats seconds east of UTC as iCalendar's +HHMM.
func offset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
