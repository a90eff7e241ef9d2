package attendance

import (
	"sort"
	"time"
)

// interval is a span of presence, [from, to).
type interval struct{ from, to time.Time }

// track is one person's connections in one lecture, replayed from events.
type track struct {
	userID, role, siteID string
	firstJoin            time.Time
	lastLeave            time.Time
	joins                int
	open                 int
	intervals            []interval
}

// tracks replays events into one track per person. Connections still open
// at the end of the events are closed at openEnd (now for a live lecture,
// its end for an ended one).
func tracks(events []Event, openEnd time.Time) map[string]*track {
	people := map[string]*track{}
	open := map[string]Event{} // connId -> its join, while open
	closeConn := func(j Event, end time.Time) {
		if end.Before(j.At) { // clocks disagree: never a negative interval
			end = j.At
		}
		t := people[j.UserID]
		t.intervals = append(t.intervals, interval{j.At, end})
	}
	for _, e := range events {
		switch e.Kind {
		case KindJoin:
			t := people[e.UserID]
			if t == nil {
				t = &track{userID: e.UserID, firstJoin: e.At}
				people[e.UserID] = t
			}
			if e.At.Before(t.firstJoin) {
				t.firstJoin = e.At
			}
			// The latest join says where and as what the person is now.
			t.role, t.siteID = e.Role, e.SiteID
			t.joins++
			t.open++
			open[e.ConnID] = e
		case KindLeave:
			j, ok := open[e.ConnID]
			if !ok {
				continue
			}
			delete(open, e.ConnID)
			closeConn(j, e.At)
			t := people[j.UserID]
			t.open--
			if e.At.After(t.lastLeave) {
				t.lastLeave = e.At
			}
		}
	}
	for _, j := range open {
		closeConn(j, openEnd)
	}
	return people
}

// presence summarises a track with the given reconnect grace.
func (t *track) presence(grace time.Duration) Presence {
	p := Presence{UserID: t.userID, Role: t.role, SiteID: t.siteID, FirstJoin: t.firstJoin,
		Connections: t.joins, Connected: t.open > 0}
	p.PresentSeconds = int64(total(merge(t.intervals, grace)) / time.Second)
	if !p.Connected {
		ll := t.lastLeave
		if ll.Before(t.firstJoin) {
			ll = t.firstJoin
		}
		p.LastLeave = &ll
	}
	return p
}

// merge returns the union of iv in order, with gaps shorter than grace
// bridged: a reconnect within the grace window counts as continuous
// presence, the gap included. Touching intervals always merge. iv is
// sorted in place.
func merge(iv []interval, grace time.Duration) []interval {
	if len(iv) == 0 {
		return nil
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].from.Before(iv[j].from) })
	out := []interval{iv[0]}
	for _, x := range iv[1:] {
		cur := &out[len(out)-1]
		if gap := x.from.Sub(cur.to); gap <= 0 || gap < grace {
			if x.to.After(cur.to) {
				cur.to = x.to
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// clip cuts merged intervals to [from, to), dropping those outside.
func clip(iv []interval, from, to time.Time) []interval {
	out := make([]interval, 0, len(iv))
	for _, x := range iv {
		if x.from.Before(from) {
			x.from = from
		}
		if x.to.After(to) {
			x.to = to
		}
		if x.to.After(x.from) {
			out = append(out, x)
		}
	}
	return out
}

// total is the summed length of disjoint intervals.
func total(iv []interval) time.Duration {
	var d time.Duration
	for _, x := range iv {
		d += x.to.Sub(x.from)
	}
	return d
}
