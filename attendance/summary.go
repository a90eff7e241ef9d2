package attendance

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// eventsPage bounds one XRANGE reply, so a long lecture is read in pages.
const eventsPage = 1000

// Events returns a lecture's events in order.
func (s *Store) Events(ctx context.Context, lectureID string) ([]Event, error) {
	if err := checkID("lectureId", lectureID); err != nil {
		return nil, err
	}
	out := []Event{}
	start := "-"
	for {
		msgs, err := s.rdb.XRangeN(ctx, eventsKey(lectureID), start, "+", eventsPage).Result()
		if err != nil {
			return nil, fmt.Errorf("attendance: read events: %w", err)
		}
		for _, m := range msgs {
			e, err := decodeEvent(lectureID, m)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if len(msgs) < eventsPage {
			return out, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

type interval struct{ from, to time.Time }

// Summary computes each person's presence; intervals still open are counted up to now.
//
// Each connection contributes the interval from its join to its leave; a
// person's present time is the union of their intervals, so two tabs open
// at once count once and a reconnect does not double-count the overlap.
// The result is ordered by first join.
func (s *Store) Summary(ctx context.Context, lectureID string) ([]Presence, error) {
	events, err := s.Events(ctx, lectureID)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()

	type person struct {
		p         Presence
		intervals []interval
		open      int
		lastLeave time.Time
	}
	people := map[string]*person{}
	open := map[string]Event{} // connId -> its join, while open
	closeConn := func(j Event, end time.Time) {
		if end.Before(j.At) { // clocks disagree: never a negative interval
			end = j.At
		}
		pp := people[j.UserID]
		pp.intervals = append(pp.intervals, interval{j.At, end})
	}
	for _, e := range events {
		switch e.Kind {
		case KindJoin:
			pp := people[e.UserID]
			if pp == nil {
				pp = &person{p: Presence{UserID: e.UserID, FirstJoin: e.At}}
				people[e.UserID] = pp
			}
			if e.At.Before(pp.p.FirstJoin) {
				pp.p.FirstJoin = e.At
			}
			// The latest join says where and as what the person is now.
			pp.p.Role, pp.p.SiteID = e.Role, e.SiteID
			pp.p.Connections++
			pp.open++
			open[e.ConnID] = e
		case KindLeave:
			j, ok := open[e.ConnID]
			if !ok {
				continue
			}
			delete(open, e.ConnID)
			closeConn(j, e.At)
			pp := people[j.UserID]
			pp.open--
			if e.At.After(pp.lastLeave) {
				pp.lastLeave = e.At
			}
		}
	}
	for _, j := range open {
		closeConn(j, now)
	}

	out := make([]Presence, 0, len(people))
	for _, pp := range people {
		pp.p.PresentSeconds = int64(unionLength(pp.intervals) / time.Second)
		pp.p.Connected = pp.open > 0
		if !pp.p.Connected {
			ll := pp.lastLeave
			if ll.Before(pp.p.FirstJoin) {
				ll = pp.p.FirstJoin
			}
			pp.p.LastLeave = &ll
		}
		out = append(out, pp.p)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstJoin.Equal(out[j].FirstJoin) {
			return out[i].FirstJoin.Before(out[j].FirstJoin)
		}
		return out[i].UserID < out[j].UserID
	})
	return out, nil
}

// unionLength is the total length covered by the intervals, overlaps once.
func unionLength(iv []interval) time.Duration {
	sort.Slice(iv, func(i, j int) bool { return iv[i].from.Before(iv[j].from) })
	var total time.Duration
	var cur interval
	for i, x := range iv {
		switch {
		case i == 0:
			cur = x
		case !x.from.After(cur.to): // touches or overlaps: extend
			if x.to.After(cur.to) {
				cur.to = x.to
			}
		default:
			total += cur.to.Sub(cur.from)
			cur = x
		}
	}
	if len(iv) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}
