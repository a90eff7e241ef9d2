package attendance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// lectureData is everything stored about one lecture's attendance.
type lectureData struct {
	events    []Event
	rollCalls map[string]*RollCall
	overrides map[string]*Override
	audit     []AuditEntry
}

// load reads the events, roll-call marks and overrides (and, if withAudit,
// the audit trail) of many lectures in one pipelined round trip.
func (s *Store) load(ctx context.Context, ids []string, withAudit bool) ([]*lectureData, error) {
	for _, id := range ids {
		if err := checkID("lectureId", id); err != nil {
			return nil, err
		}
	}
	out := make([]*lectureData, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	evs := make([]*redis.XMessageSliceCmd, len(ids))
	rcs := make([]*redis.MapStringStringCmd, len(ids))
	ovs := make([]*redis.MapStringStringCmd, len(ids))
	aus := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		// Whole streams in one reply each: a lecture has hundreds to a few
		// thousand events, far below what one reply carries comfortably.
		evs[i] = pipe.XRange(ctx, eventsKey(id), "-", "+")
		rcs[i] = pipe.HGetAll(ctx, rollCallKey(id))
		ovs[i] = pipe.HGetAll(ctx, overridesKey(id))
		if withAudit {
			aus[i] = pipe.XRange(ctx, auditKey(id), "-", "+")
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("attendance: read lectures: %w", err)
	}
	for i, id := range ids {
		d := &lectureData{rollCalls: map[string]*RollCall{}, overrides: map[string]*Override{}}
		msgs := evs[i].Val()
		d.events = make([]Event, 0, len(msgs))
		for _, m := range msgs {
			e, err := decodeEvent(id, m)
			if err != nil {
				return nil, err
			}
			d.events = append(d.events, e)
		}
		for uid, js := range rcs[i].Val() {
			var m RollCall
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				return nil, fmt.Errorf("attendance: decode roll-call mark %s/%s: %w", id, uid, err)
			}
			d.rollCalls[uid] = &m
		}
		for uid, js := range ovs[i].Val() {
			var o Override
			if err := json.Unmarshal([]byte(js), &o); err != nil {
				return nil, fmt.Errorf("attendance: decode override %s/%s: %w", id, uid, err)
			}
			d.overrides[uid] = &o
		}
		if withAudit {
			for _, m := range aus[i].Val() {
				a, err := decodeAudit(id, m)
				if err != nil {
					return nil, err
				}
				d.audit = append(d.audit, a)
			}
		}
		out[i] = d
	}
	return out, nil
}

// rows builds a lecture's rows: every expected student, and every known
// student who connected, was marked in the room or has an override.
// People not in students (lecturers, operators, unknown ids) are left out.
func rows(l LectureInfo, rules Rules, students []Person, d *lectureData, now time.Time) []Row {
	_, openEnd, held := l.window(now)
	if !held {
		openEnd = now
	}
	ts := tracks(d.events, openEnd)
	var out []Row
	for _, p := range students {
		t, mark, ov := ts[p.UserID], d.rollCalls[p.UserID], d.overrides[p.UserID]
		expected := l.Expects(p)
		if !expected && t == nil && mark == nil && ov == nil {
			continue
		}
		out = append(out, computeRow(l, rules, p, expected, t, mark, ov, now))
	}
	return out
}

// sortRows orders rows by display name, then username, then id.
func sortRows(rs []Row) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.DisplayName != b.DisplayName {
			return a.DisplayName < b.DisplayName
		}
		if a.Username != b.Username {
			return a.Username < b.Username
		}
		return a.UserID < b.UserID
	})
}

// LectureReport is one lecture's attendance.
type LectureReport struct {
	Rows   []Row        `json:"rows"`
	Events []Event      `json:"events"`
	Audit  []AuditEntry `json:"audit"`
}

// LectureReport computes a lecture's rows for the given students (see
// LectureInfo.Expects for who is expected) and returns them with the raw
// events and the audit trail, all read in one round trip.
func (s *Store) LectureReport(ctx context.Context, l LectureInfo, rules Rules, students []Person) (LectureReport, error) {
	ds, err := s.load(ctx, []string{l.ID}, true)
	if err != nil {
		return LectureReport{}, err
	}
	d := ds[0]
	rs := rows(l, rules, students, d, s.opts.Now().UTC())
	sortRows(rs)
	if rs == nil {
		rs = []Row{}
	}
	if d.audit == nil {
		d.audit = []AuditEntry{}
	}
	return LectureReport{Rows: rs, Events: d.events, Audit: d.audit}, nil
}

// Cell is one student's attendance of one lecture in a matrix or history.
type Cell struct {
	LectureID      string `json:"lectureId"`
	Status         string `json:"status"` // "" if not started, cancelled, or neither expected nor present
	Source         string `json:"source"`
	PresentSeconds int64  `json:"presentSeconds"`
	Expected       bool   `json:"expected"`
}

// StudentLine is one student's row of a series matrix.
type StudentLine struct {
	Person
	Cells []Cell `json:"cells"`
	// Percent is the attendance rate over the ended lectures, see Percent;
	// nil if no lecture counts.
	Percent *float64 `json:"percent"`
}

// Percent is a student's attendance rate over held lectures: 100 × the
// lectures with an attending status / the lectures that count. A lecture
// counts once it has ended, if the student has a status in it (was
// expected, or came), unless the status is E: an excused lecture is left
// out altogether. Attending statuses are P and L, and any custom status
// (not P, L, E or A) with a grade above zero. nil if nothing counts.
func Percent(rules Rules, lectures []LectureInfo, cells []Cell) *float64 {
	var counted, attended int
	for i, c := range cells {
		if i >= len(lectures) || !lectures[i].Ended() || c.Status == "" || c.Status == StatusExcused {
			continue
		}
		counted++
		if attends(rules, c.Status) {
			attended++
		}
	}
	if counted == 0 {
		return nil
	}
	p := 100 * float64(attended) / float64(counted)
	return &p
}

func attends(rules Rules, status string) bool {
	switch status {
	case StatusPresent, StatusLate:
		return true
	case StatusAbsent, StatusExcused:
		return false
	}
	st, ok := rules.Status(status)
	return ok && st.Grade > 0
}

// SeriesReport is the student × lecture matrix of a series: a line for
// every student expected at one of its lectures or present at one, with a
// cell per lecture in the order given. All lectures are read in one round
// trip.
func (s *Store) SeriesReport(ctx context.Context, lectures []LectureInfo, rules Rules, students []Person) ([]StudentLine, error) {
	ids := make([]string, len(lectures))
	for i, l := range lectures {
		ids[i] = l.ID
	}
	ds, err := s.load(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	index := make(map[string]int, len(students))
	for i, p := range students {
		index[p.UserID] = i
	}
	cells := make([][]Cell, len(students)) // nil: the student appears nowhere
	for li, l := range lectures {
		for _, r := range rows(l, rules, students, ds[li], now) {
			si := index[r.UserID]
			if cells[si] == nil {
				cells[si] = make([]Cell, len(lectures))
				for k, l := range lectures {
					cells[si][k] = Cell{LectureID: l.ID}
				}
			}
			cells[si][li] = Cell{LectureID: l.ID, Status: r.Status, Source: r.Source, PresentSeconds: r.PresentSeconds, Expected: r.Expected}
		}
	}
	out := []StudentLine{}
	for si, p := range students {
		if cells[si] == nil {
			continue
		}
		out = append(out, StudentLine{Person: p, Cells: cells[si], Percent: Percent(rules, lectures, cells[si])})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].DisplayName != out[j].DisplayName {
			return out[i].DisplayName < out[j].DisplayName
		}
		return out[i].Username < out[j].Username
	})
	return out, nil
}

// SeriesInput is one series of a student's history: its rules and
// lectures in order.
type SeriesInput struct {
	SeriesID string
	Rules    Rules
	Lectures []LectureInfo
}

// SeriesHistory is one student's attendance of one series.
type SeriesHistory struct {
	SeriesID string   `json:"seriesId"`
	Cells    []Cell   `json:"cells"`
	Percent  *float64 `json:"percent"`
}

// History returns one student's cells across series, in the order given;
// every lecture of every series is read in one round trip.
func (s *Store) History(ctx context.Context, p Person, series []SeriesInput) ([]SeriesHistory, error) {
	var ids []string
	for _, si := range series {
		for _, l := range si.Lectures {
			ids = append(ids, l.ID)
		}
	}
	ds, err := s.load(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	out := make([]SeriesHistory, 0, len(series))
	k := 0
	for _, si := range series {
		h := SeriesHistory{SeriesID: si.SeriesID, Cells: make([]Cell, len(si.Lectures))}
		for i, l := range si.Lectures {
			h.Cells[i] = Cell{LectureID: l.ID}
			if rs := rows(l, si.Rules, []Person{p}, ds[k], now); len(rs) == 1 {
				r := rs[0]
				h.Cells[i] = Cell{LectureID: l.ID, Status: r.Status, Source: r.Source, PresentSeconds: r.PresentSeconds, Expected: r.Expected}
			}
			k++
		}
		h.Percent = Percent(si.Rules, si.Lectures, h.Cells)
		out = append(out, h)
	}
	return out, nil
}

// Row returns one student's current row in a lecture (for the reply to an
// override or a roll-call mark), whether or not they are expected.
func (s *Store) Row(ctx context.Context, l LectureInfo, rules Rules, p Person) (Row, error) {
	ds, err := s.load(ctx, []string{l.ID}, false)
	if err != nil {
		return Row{}, err
	}
	d := ds[0]
	now := s.opts.Now().UTC()
	_, openEnd, held := l.window(now)
	if !held {
		openEnd = now
	}
	t := tracks(d.events, openEnd)[p.UserID]
	return computeRow(l, rules, p, l.Expects(p), t, d.rollCalls[p.UserID], d.overrides[p.UserID], now), nil
}
