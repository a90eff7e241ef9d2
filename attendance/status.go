package attendance

import (
	"slices"
	"time"
)

// Person is a student as reports show them. attendance does not import
// account: callers (signaling) supply people with the names to display.
type Person struct {
	UserID      string `json:"userId"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	SiteID      string `json:"siteId"`
	SiteName    string `json:"siteName"`
	GroupID     string `json:"groupId"`
	GroupName   string `json:"groupName"`
	// Inactive people (deactivated accounts) are never expected, but
	// still appear where they attended.
	Inactive bool `json:"-"`
}

// LectureInfo is what status computation needs of a lecture. attendance
// does not import schedule: callers copy these fields from the lecture.
type LectureInfo struct {
	ID       string
	SeriesID string
	// StartedAt and EndedAt are when the lecturer actually started and
	// ended it; nil until then. Statuses are computed against these, not
	// the scheduled times.
	StartedAt *time.Time
	EndedAt   *time.Time
	Cancelled bool
	// SiteIDs are the origin and participating sites, GroupIDs the student
	// groups the lecture is for; together they say who is expected.
	SiteIDs  []string
	GroupIDs []string
}

// Expects reports whether p is expected at the lecture: a student of one
// of its groups; or, for a lecture without groups, a student of one of its
// sites. (A lecture with neither expects nobody; who comes still appears.)
// Deactivated people are never expected.
func (l LectureInfo) Expects(p Person) bool {
	if p.Inactive {
		return false
	}
	if len(l.GroupIDs) > 0 {
		return p.GroupID != "" && slices.Contains(l.GroupIDs, p.GroupID)
	}
	return slices.Contains(l.SiteIDs, p.SiteID)
}

// window is the span statuses are computed over: the actual start to the
// actual end, or to now while the lecture is live. ok is false for a
// lecture that has not started (or was cancelled): it has no statuses yet.
func (l LectureInfo) window(now time.Time) (from, to time.Time, ok bool) {
	if l.StartedAt == nil || l.Cancelled {
		return time.Time{}, time.Time{}, false
	}
	from, to = *l.StartedAt, now
	if l.EndedAt != nil {
		to = *l.EndedAt
	}
	if to.Before(from) {
		to = from
	}
	return from, to, true
}

// Ended reports whether the lecture was held and is over.
func (l LectureInfo) Ended() bool { return l.StartedAt != nil && l.EndedAt != nil && !l.Cancelled }

// Sources of a status.
const (
	SourceAutomatic = "automatic"
	SourceRollCall  = "rollcall"
	SourceManual    = "manual"
)

// Row is one expected or present person in one lecture.
type Row struct {
	Person
	Expected       bool       `json:"expected"`
	FirstJoin      *time.Time `json:"firstJoin"` // first connection, nil if never connected
	LastLeave      *time.Time `json:"lastLeave"` // nil while connected or never connected
	PresentSeconds int64      `json:"presentSeconds"`
	Share          float64    `json:"share"` // of the actual lecture, 0-1
	Connected      bool       `json:"connected"`
	Connections    int        `json:"connections"`
	// Status is the effective status: the override if there is one, else
	// the automatic one. It is "" while the lecture has not started.
	Status string `json:"status"`
	Source string `json:"source"` // automatic, rollcall or manual; "" with Status ""
	// AutomaticStatus is what the rules give without the override.
	AutomaticStatus string    `json:"automaticStatus"`
	RollCall        *RollCall `json:"rollCall"`
	Override        *Override `json:"override"`
}

// computeRow builds one person's row. t, mark and ov may be nil.
func computeRow(l LectureInfo, rules Rules, p Person, expected bool, t *track, mark *RollCall, ov *Override, now time.Time) Row {
	row := Row{Person: p, Expected: expected, RollCall: mark, Override: ov}
	from, to, held := l.window(now)
	var spans []interval
	var firstPresence time.Time
	if t != nil {
		fj := t.firstJoin
		row.FirstJoin, row.Connections = &fj, t.joins
		row.Connected = t.open > 0 && l.EndedAt == nil
		if t.open == 0 {
			ll := t.lastLeave
			if ll.Before(fj) {
				ll = fj
			}
			row.LastLeave = &ll
		}
		spans = append(spans, t.intervals...)
		firstPresence = fj
	}
	if mark != nil && held {
		// A roll-call mark is presence in the room for its interval; by
		// default the whole actual lecture.
		mf, mt := from, to
		if mark.From != nil && mark.From.After(mf) {
			mf = *mark.From
		}
		if mark.To != nil && mark.To.Before(mt) {
			mt = *mark.To
		}
		if !mt.Before(mf) {
			spans = append(spans, interval{mf, mt})
			if firstPresence.IsZero() || mf.Before(firstPresence) {
				firstPresence = mf
			}
		}
	}
	if held {
		present := total(clip(merge(spans, rules.Grace()), from, to))
		row.PresentSeconds = int64(present / time.Second)
		switch d := to.Sub(from); {
		case d > 0:
			row.Share = min(1, float64(present)/float64(d))
		case len(spans) > 0: // a lecture ended the instant it began
			row.Share = 1
		}
		row.AutomaticStatus = automaticStatus(rules, row.Share, len(spans) > 0, firstPresence, from)
		row.Status, row.Source = row.AutomaticStatus, SourceAutomatic
		if mark != nil {
			row.Source = SourceRollCall
		}
	}
	if ov != nil {
		row.Status, row.Source = ov.Status, SourceManual
	}
	return row
}

// automaticStatus applies the rules (docs/api-attendance.md): P for at
// least presentShare of the actual lecture with a first presence no later
// than lateAfterMinutes after the actual start; L for that share but later,
// or for at least half the share; A otherwise.
func automaticStatus(rules Rules, share float64, any bool, firstPresence, start time.Time) string {
	// A tolerance of a nanosecond's worth keeps exact shares (3/4 of a
	// lecture) from failing on float rounding.
	const eps = 1e-9
	switch {
	case !any:
		return StatusAbsent
	case share+eps >= rules.PresentShare:
		if !firstPresence.After(start.Add(time.Duration(rules.LateAfterMinutes) * time.Minute)) {
			return StatusPresent
		}
		return StatusLate
	case share+eps >= rules.PresentShare/2:
		return StatusLate
	default:
		return StatusAbsent
	}
}
