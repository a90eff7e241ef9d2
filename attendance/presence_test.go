package attendance

import (
	"context"
	"testing"
	"time"
)

func ptr(t time.Time) *time.Time { return &t }

// held is a lecture that was actually started at startMin and ended at
// endMin (minutes after t0); endMin < 0 means still live.
func held(id string, startMin, endMin float64, groups ...string) LectureInfo {
	l := LectureInfo{ID: id, StartedAt: ptr(at(startMin)), SiteIDs: []string{"osh", "riga"}, GroupIDs: groups}
	if endMin >= 0 {
		l.EndedAt = ptr(at(endMin))
	}
	return l
}

func student(id, group string) Person {
	return Person{UserID: id, Username: id[2:], DisplayName: "Student " + id[2:], SiteID: "riga", GroupID: group}
}

// rowOf computes the one row of p in l.
func rowOf(t *testing.T, s *Store, l LectureInfo, rules Rules, p Person) Row {
	t.Helper()
	r, err := s.Row(context.Background(), l, rules, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func minutes(sec int64) float64 { return float64(sec) / 60 }

// TestPresenceIntervals covers the interval edge cases of the issue: two
// tabs, reconnects inside and outside the grace window, a connection lost
// without a goodbye, and a lecture ended while connected.
func TestPresenceIntervals(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newStore(t)
	lec := "lec_iv"
	// Two tabs: 0-30 and 10-50 count once, 50 minutes.
	mustRecord(t, s, join(lec, "u_tabs", "c_t1", at(0)))
	mustRecord(t, s, join(lec, "u_tabs", "c_t2", at(10)))
	mustRecord(t, s, leave(lec, "c_t1", at(30)))
	mustRecord(t, s, leave(lec, "c_t2", at(50)))
	// Reconnect 30 s after dropping: inside a 60 s grace.
	mustRecord(t, s, join(lec, "u_in", "c_i1", at(0)))
	mustRecord(t, s, Event{LectureID: lec, Kind: KindLeave, ConnID: "c_i1", At: at(20), Reason: ReasonTimeout})
	mustRecord(t, s, join(lec, "u_in", "c_i2", at(20.5)))
	mustRecord(t, s, leave(lec, "c_i2", at(60)))
	// Reconnect 2 minutes after dropping: outside the grace.
	mustRecord(t, s, join(lec, "u_out", "c_o1", at(0)))
	mustRecord(t, s, leave(lec, "c_o1", at(20)))
	mustRecord(t, s, join(lec, "u_out", "c_o2", at(22)))
	mustRecord(t, s, leave(lec, "c_o2", at(60)))
	// Lost without a goodbye: last sign of life at 25, the server notices
	// (or restarts) much later; the leave is dated at the sign of life.
	mustRecord(t, s, join(lec, "u_lost", "c_l1", at(0)))
	if err := s.Touch(ctx, lec, "c_l1", at(25)); err != nil {
		t.Fatal(err)
	}
	// Still connected when the lecture ends at 90: the room records the
	// leave just after the end (it ends the lecture first).
	mustRecord(t, s, join(lec, "u_stay", "c_s1", at(5)))
	mustRecord(t, s, Event{LectureID: lec, Kind: KindLeave, ConnID: "c_s1", At: at(90.2), Reason: ReasonEnded})

	clk.Set(at(200))
	if n, err := s.CloseOpen(ctx, lec, ReasonRecovered); err != nil || n != 1 {
		t.Fatalf("CloseOpen = %d, %v; want 1", n, err)
	}

	grace := time.Minute
	got := map[string]Presence{}
	ps, err := s.Presence(ctx, lec, grace)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		got[p.UserID] = p
	}
	for _, c := range []struct {
		user  string
		min   float64
		conns int
	}{
		{"u_tabs", 50, 2},
		{"u_in", 60, 2}, // the 30 s gap is bridged
		{"u_out", 58, 2},
		{"u_lost", 25, 1},
	} {
		p := got[c.user]
		if minutes(p.PresentSeconds) != c.min || p.Connections != c.conns || p.Connected {
			t.Errorf("%s: %v min, %d connections, connected %v; want %v min, %d", c.user, minutes(p.PresentSeconds), p.Connections, p.Connected, c.min, c.conns)
		}
	}
	if ll := got["u_lost"].LastLeave; ll == nil || !ll.Equal(at(25)) {
		t.Errorf("lost connection left at %v, want its last sign of life %v", ll, at(25))
	}
	// Without grace the reconnect gap is not presence.
	ps0, err := s.Summary(ctx, lec)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps0 {
		if p.UserID == "u_in" && minutes(p.PresentSeconds) != 59.5 {
			t.Errorf("u_in without grace: %v min, want 59.5", minutes(p.PresentSeconds))
		}
	}

	// Against the lecture (started 0, ended 90): the connection counts
	// until the end, not beyond.
	l := held(lec, 0, 90)
	stay := rowOf(t, s, l, DefaultRules(), student("u_stay", ""))
	if minutes(stay.PresentSeconds) != 85 || stay.Connected {
		t.Errorf("u_stay: %v min connected %v, want 85 (5 to the end at 90)", minutes(stay.PresentSeconds), stay.Connected)
	}
}

// TestOpenConnectionAtEnd: a connection still open in an ended lecture
// (its leave not yet written) ends at the lecture's end.
func TestOpenConnectionAtEnd(t *testing.T) {
	s, clk, _ := newStore(t)
	lec := "lec_end"
	mustRecord(t, s, join(lec, "u_anna", "c_1", at(10)))
	clk.Set(at(300))
	r := rowOf(t, s, held(lec, 0, 90), DefaultRules(), student("u_anna", ""))
	if minutes(r.PresentSeconds) != 80 || r.Connected || r.Status != StatusPresent {
		t.Fatalf("row %+v: want 80 min, not connected, P", r)
	}
	// While live (no end yet) the same connection counts up to now.
	clk.Set(at(40))
	r = rowOf(t, s, held(lec, 0, -1), DefaultRules(), student("u_anna", ""))
	if minutes(r.PresentSeconds) != 30 || !r.Connected || r.Share != 0.75 || r.Status != StatusPresent {
		t.Fatalf("live row %+v: want 30 of 40 min (0.75, P), connected", r)
	}
}

// TestStatuses: P, L by lateness, L by half the share, A, all against the
// actual start (5 minutes after the scheduled 0) and end (95).
func TestStatuses(t *testing.T) {
	s, _, _ := newStore(t)
	lec := "lec_st"
	l := held(lec, 5, 95, "g_1")
	// Scheduled start was at 0, actual at 5: joining at 12 is 7 minutes
	// late against the actual start, so on time; against the schedule it
	// would be 12 minutes late.
	mustRecord(t, s, join(lec, "u_ontime", "c_1", at(12)))
	mustRecord(t, s, leave(lec, "c_1", at(95)))
	mustRecord(t, s, join(lec, "u_late", "c_2", at(16)))
	mustRecord(t, s, leave(lec, "c_2", at(95)))
	mustRecord(t, s, join(lec, "u_half", "c_3", at(5)))
	mustRecord(t, s, leave(lec, "c_3", at(45)))
	mustRecord(t, s, join(lec, "u_short", "c_4", at(5)))
	mustRecord(t, s, leave(lec, "c_4", at(25)))
	// Present before the actual start (impossible in practice) and after
	// the end counts only inside the lecture.
	mustRecord(t, s, join(lec, "u_edges", "c_5", at(0)))
	mustRecord(t, s, leave(lec, "c_5", at(150)))

	rules := DefaultRules()
	for _, c := range []struct {
		user, status string
		min          float64
	}{
		{"u_ontime", StatusPresent, 83},
		{"u_late", StatusLate, 79},
		{"u_half", StatusLate, 40},    // 40/90 = 0.44 ≥ 0.375
		{"u_short", StatusAbsent, 20}, // 0.22
		{"u_edges", StatusPresent, 90},
		{"u_never", StatusAbsent, 0},
	} {
		r := rowOf(t, s, l, rules, student(c.user, "g_1"))
		if r.Status != c.status || r.Source != SourceAutomatic || minutes(r.PresentSeconds) != c.min || !r.Expected {
			t.Errorf("%s: %s (%s) %v min expected %v; want %s %v min", c.user, r.Status, r.Source, minutes(r.PresentSeconds), r.Expected, c.status, c.min)
		}
	}
	// Stricter rules change the outcome: 0.95 share makes u_ontime (83/90) L.
	strict := rules
	strict.PresentShare = 0.95
	if r := rowOf(t, s, l, strict, student("u_ontime", "g_1")); r.Status != StatusLate {
		t.Errorf("u_ontime with share 0.95: %s, want L", r.Status)
	}
	// A lecture not started has no statuses.
	if r := rowOf(t, s, LectureInfo{ID: lec, GroupIDs: []string{"g_1"}}, rules, student("u_ontime", "g_1")); r.Status != "" || r.Source != "" {
		t.Errorf("not started: %q %q, want no status", r.Status, r.Source)
	}
}

// TestClientTimeIsInformationOnly: a forged client time is stored and shown
// but changes nothing.
func TestClientTimeIsInformationOnly(t *testing.T) {
	s, _, _ := newStore(t)
	forged := at(-600) // "I was here ten hours early"
	e := join("lec_ct", "u_anna", "c_1", at(30))
	e.ClientAt = &forged
	got := mustRecord(t, s, e)
	if got.ClientAt == nil || !got.ClientAt.Equal(forged) {
		t.Fatalf("Record returned clientAt %v", got.ClientAt)
	}
	mustRecord(t, s, join("lec_ct", "u_emil", "c_2", at(30)))
	evs := mustEvents(t, s, "lec_ct")
	if evs[0].ClientAt == nil || !evs[0].ClientAt.Equal(forged) || evs[1].ClientAt != nil {
		t.Fatalf("stored clientAt %v / %v, want the forged time / none", evs[0].ClientAt, evs[1].ClientAt)
	}
	if !evs[0].At.Equal(at(30)) {
		t.Fatalf("server time %v changed", evs[0].At)
	}
	l := held("lec_ct", 0, 90)
	a, b := rowOf(t, s, l, DefaultRules(), student("u_anna", "")), rowOf(t, s, l, DefaultRules(), student("u_emil", ""))
	if a.PresentSeconds != b.PresentSeconds || a.Status != b.Status || !a.FirstJoin.Equal(*b.FirstJoin) || a.Status != StatusLate {
		t.Fatalf("forged client time changed the result: %+v vs %+v", a, b)
	}
}
