package schedule

import (
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Limits of a series, from docs/api.md.
const (
	maxSeriesSpan        = 366 * 24 * time.Hour
	maxOccurrences       = 400
	localMinuteLayout    = "2006-01-02T15:04"
	localSecondLayout    = "2006-01-02T15:04:05"
	localDateLayout      = "2006-01-02"
	maxRRuleBytes        = 500
	maxExdates           = maxOccurrences
	maxTopics            = maxOccurrences
	maxDescriptionRunes  = 5000
	maxSeriesLecturers   = 10
	maxSeriesGroupsSites = 50
)

// occurrence is one expanded date of a series.
type occurrence struct {
	Index int // 1-based, after exdates are removed
	Start time.Time
}

// parseLocal reads a wall-clock time such as 2026-12-01T10:00 in loc.
func parseLocal(v string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{localMinuteLayout, localSecondLayout} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalid("firstStart", "firstStart %q must be a local time like 2026-12-01T10:00", v)
}

// expand evaluates rule from first (a time in the series' zone) and drops
// the exdates (local dates). The rule is evaluated in first's location, so
// a weekly 10:00 Riga lecture stays at 10:00 in Riga across daylight
// saving changes.
func expand(rule string, first time.Time, exdates []string) ([]occurrence, error) {
	rule = strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:")
	if rule == "" || len(rule) > maxRRuleBytes || strings.ContainsAny(rule, "\r\n") {
		return nil, invalid("rrule", "rrule must be one RFC 5545 recurrence rule such as FREQ=WEEKLY;BYDAY=TU,TH;COUNT=20")
	}
	opt, err := rrule.StrToROptionInLocation(rule, first.Location())
	if err != nil {
		return nil, invalid("rrule", "rrule %q: %v", rule, err)
	}
	if !opt.Dtstart.IsZero() {
		return nil, invalid("rrule", "rrule must not contain DTSTART; the series' firstStart is its start")
	}
	// rrule.Frequency orders YEARLY < MONTHLY < WEEKLY < DAILY < HOURLY < ….
	if opt.Freq > rrule.DAILY {
		return nil, invalid("rrule", "rrule FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY")
	}
	if opt.Count == 0 && opt.Until.IsZero() {
		return nil, invalid("rrule", "rrule must end: give UNTIL or COUNT (within 366 days)")
	}
	limit := first.Add(maxSeriesSpan)
	if !opt.Until.IsZero() {
		if opt.Until.Before(first) {
			return nil, invalid("rrule", "rrule UNTIL %s is before firstStart", opt.Until.Format(time.RFC3339))
		}
		if opt.Until.After(limit) {
			return nil, invalid("rrule", "rrule UNTIL must be within 366 days of firstStart")
		}
	}
	if opt.Count < 0 {
		return nil, invalid("rrule", "rrule COUNT must be positive")
	}
	opt.Dtstart = first
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, invalid("rrule", "rrule %q: %v", rule, err)
	}
	skip := map[string]bool{}
	for _, d := range exdates {
		if _, err := time.Parse(localDateLayout, d); err != nil {
			return nil, invalid("exdates", "exdates: %q is not a date like 2026-12-24", d)
		}
		skip[d] = true
	}
	var out []occurrence
	used := map[string]bool{}
	next := r.Iterator()
	for n := 0; ; n++ {
		t, ok := next()
		if !ok {
			break
		}
		if n == 0 && !t.Equal(first) {
			return nil, invalid("firstStart", "firstStart %s does not match the rule (first date by the rule: %s)",
				first.Format(localMinuteLayout), t.Format(localMinuteLayout))
		}
		if t.After(limit) {
			return nil, invalid("rrule", "rrule must end within 366 days of firstStart")
		}
		day := t.Format(localDateLayout)
		if skip[day] {
			used[day] = true
			continue
		}
		if len(out) == maxOccurrences {
			return nil, invalid("rrule", "rrule gives more than %d occurrences", maxOccurrences)
		}
		out = append(out, occurrence{Index: len(out) + 1, Start: t})
	}
	if len(out) == 0 {
		return nil, invalid("rrule", "rrule and exdates leave no occurrence")
	}
	for _, d := range exdates {
		if !used[d] {
			return nil, invalid("exdates", "exdates: %s is not a date of an occurrence", d)
		}
	}
	return out, nil
}
