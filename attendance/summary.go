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

// Summary computes each person's presence without a reconnect grace;
// intervals still open are counted up to now. It is Presence with grace 0.
func (s *Store) Summary(ctx context.Context, lectureID string) ([]Presence, error) {
	return s.Presence(ctx, lectureID, 0)
}

// Presence computes each person's presence; intervals still open are
// counted up to now.
//
// Each connection contributes the interval from its join to its leave; a
// person's present time is the union of their intervals, so two tabs open
// at once count once and a reconnect does not double-count the overlap. A
// gap shorter than grace between one interval's end and the next one's
// start (a reconnect) counts as present. A connection lost without a
// goodbye was closed at its last sign of life by whoever recorded its
// leave, so nothing here guesses. The result is ordered by first join.
func (s *Store) Presence(ctx context.Context, lectureID string, grace time.Duration) ([]Presence, error) {
	events, err := s.Events(ctx, lectureID)
	if err != nil {
		return nil, err
	}
	people := tracks(events, s.opts.Now().UTC())
	out := make([]Presence, 0, len(people))
	for _, t := range people {
		out = append(out, t.presence(grace))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstJoin.Equal(out[j].FirstJoin) {
			return out[i].FirstJoin.Before(out[j].FirstJoin)
		}
		return out[i].UserID < out[j].UserID
	})
	return out, nil
}
