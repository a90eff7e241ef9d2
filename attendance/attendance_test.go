package attendance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/internal/testclock"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
func join(lec, user, conn string, t time.Time) Event {
	return Event{LectureID: lec, Kind: KindJoin, UserID: user, Role: "student", SiteID: "riga", ConnID: conn, At: t}
}
func leave(lec, conn string, t time.Time) Event {
	return Event{LectureID: lec, Kind: KindLeave, ConnID: conn, At: t}
}

func newStore(t *testing.T) (*Store, *testclock.Clock, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	c := testclock.New(t0)
	return NewStore(srv.Client, Options{Now: c.Now}), c, srv
}

func mustRecord(t *testing.T, s *Store, e Event) Event {
	t.Helper()
	got, err := s.Record(context.Background(), e)
	if err != nil {
		t.Fatalf("Record(%s %s): %v", e.Kind, e.ConnID, err)
	}
	return got
}

func mustEvents(t *testing.T, s *Store, lec string) []Event {
	t.Helper()
	evs, err := s.Events(context.Background(), lec)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestRecordAndEvents(t *testing.T) {
	s, clk, _ := newStore(t)
	j1 := mustRecord(t, s, join("lec_a", "u_anna", "c_1", at(0)))
	j2 := mustRecord(t, s, join("lec_a", "u_emil", "c_2", at(1)))
	clk.Set(at(7))
	l1 := mustRecord(t, s, Event{LectureID: "lec_a", Kind: KindLeave, ConnID: "c_1", Reason: ReasonDisconnected})
	mustRecord(t, s, join("lec_b", "u_anna", "c_9", at(2))) // another lecture

	if j1.ID == "" || j2.ID == "" || l1.ID == "" {
		t.Fatalf("ids not set: %q %q %q", j1.ID, j2.ID, l1.ID)
	}
	if !l1.At.Equal(at(7)) {
		t.Fatalf("zero At became %v, want now %v", l1.At, at(7))
	}
	if l1.UserID != "u_anna" || l1.Role != "student" || l1.SiteID != "riga" || l1.Reason != ReasonDisconnected {
		t.Fatalf("leave %+v: want who from the join and the given reason", l1)
	}
	evs := mustEvents(t, s, "lec_a")
	want := []Event{j1, j2, l1}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d = %+v\nwant %+v", i, evs[i], want[i])
		}
	}
	if !streamIDLess(evs[0].ID, evs[1].ID) || !streamIDLess(evs[1].ID, evs[2].ID) {
		t.Fatalf("stream ids not increasing: %s %s %s", evs[0].ID, evs[1].ID, evs[2].ID)
	}
	if evs := mustEvents(t, s, "lec_none"); len(evs) != 0 {
		t.Fatalf("events of an unknown lecture: %v", evs)
	}
	open, err := s.Open(context.Background(), "lec_a")
	if err != nil || len(open) != 1 || open[0] != j2 {
		t.Fatalf("Open = %+v, %v; want only %+v", open, err, j2)
	}
}

func TestRecordIsIdempotentPerConnection(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	j := mustRecord(t, s, join("lec_a", "u_anna", "c_1", at(0)))
	if again := mustRecord(t, s, join("lec_a", "u_anna", "c_1", at(3))); again != j {
		t.Fatalf("second join = %+v, want the first %+v", again, j)
	}
	first := mustRecord(t, s, leave("lec_a", "c_1", at(10)))
	second := mustRecord(t, s, Event{LectureID: "lec_a", Kind: KindLeave, ConnID: "c_1", At: at(12), Reason: ReasonTimeout})
	if second != first {
		t.Fatalf("second leave = %+v, want the first %+v", second, first)
	}
	// A leave of a connection that never joined writes nothing.
	ghost := mustRecord(t, s, leave("lec_a", "c_ghost", at(11)))
	if ghost.ID != "" {
		t.Fatalf("leave of unknown connection got id %q", ghost.ID)
	}
	if evs := mustEvents(t, s, "lec_a"); len(evs) != 2 {
		t.Fatalf("%d events after duplicates, want 2: %+v", len(evs), evs)
	}

	// Many concurrent leaves of one connection: one event.
	mustRecord(t, s, join("lec_a", "u_anna", "c_2", at(20)))
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.Record(ctx, leave("lec_a", "c_2", at(30)))
			if err != nil {
				t.Error(err)
			}
			ids[i] = e.ID
		}()
	}
	wg.Wait()
	if ids[0] == "" || slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }) {
		t.Fatalf("concurrent leaves returned ids %v, want one id", ids)
	}
	if evs := mustEvents(t, s, "lec_a"); len(evs) != 4 {
		t.Fatalf("%d events after concurrent leaves, want 4", len(evs))
	}
}

func TestRecordValidation(t *testing.T) {
	s, _, _ := newStore(t)
	for name, e := range map[string]Event{
		"no kind":         {LectureID: "lec_a", UserID: "u", ConnID: "c"},
		"bad kind":        {LectureID: "lec_a", Kind: "wave", UserID: "u", ConnID: "c"},
		"no lecture":      join("", "u", "c", at(0)),
		"brace lecture":   join("lec_{x}", "u", "c", at(0)),
		"no connection":   join("lec_a", "u", "", at(0)),
		"join no user":    join("lec_a", "", "c", at(0)),
		"unknown reason":  {LectureID: "lec_a", Kind: KindLeave, ConnID: "c", Reason: "bored"},
		"huge connection": join("lec_a", "u", string(make([]byte, 500)), at(0)),
	} {
		if _, err := s.Record(context.Background(), e); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n := len(mustEvents(t, s, "lec_a")); n != 0 {
		t.Fatalf("invalid events wrote %d entries", n)
	}
}

func TestSummaryUnionsIntervals(t *testing.T) {
	s, clk, _ := newStore(t)
	lec := "lec_a"
	// Anna: two tabs overlapping (0-30, 10-40), a gap, then 60-70: 50 min.
	mustRecord(t, s, join(lec, "u_anna", "c_1", at(0)))
	mustRecord(t, s, Event{LectureID: lec, Kind: KindJoin, UserID: "u_emil", Role: "lecturer", SiteID: "osh", ConnID: "c_e", At: at(5)})
	mustRecord(t, s, join(lec, "u_anna", "c_2", at(10)))
	mustRecord(t, s, leave(lec, "c_1", at(30)))
	mustRecord(t, s, leave(lec, "c_2", at(40)))
	mustRecord(t, s, Event{LectureID: lec, Kind: KindJoin, UserID: "u_anna", Role: "student", SiteID: "rezekne", ConnID: "c_3", At: at(60)})
	mustRecord(t, s, leave(lec, "c_3", at(70)))
	// Ivo: a leave stamped before the join (clock skew) counts as zero.
	mustRecord(t, s, join(lec, "u_ivo", "c_i", at(20)))
	mustRecord(t, s, leave(lec, "c_i", at(19)))
	clk.Set(at(65.5)) // Emil is still connected: 60.5 min so far

	got, err := s.Summary(context.Background(), lec)
	if err != nil {
		t.Fatal(err)
	}
	ll := func(m float64) *time.Time { x := at(m); return &x }
	want := []Presence{
		{UserID: "u_anna", Role: "student", SiteID: "rezekne", FirstJoin: at(0), LastLeave: ll(70), PresentSeconds: 50 * 60, Connections: 3},
		{UserID: "u_emil", Role: "lecturer", SiteID: "osh", FirstJoin: at(5), PresentSeconds: 60*60 + 30, Connected: true, Connections: 1},
		{UserID: "u_ivo", Role: "student", SiteID: "riga", FirstJoin: at(20), LastLeave: ll(20), PresentSeconds: 0, Connections: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Summary = %+v, want %d people", got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		llEq := (g.LastLeave == nil) == (w.LastLeave == nil) && (g.LastLeave == nil || g.LastLeave.Equal(*w.LastLeave))
		g.LastLeave, w.LastLeave = nil, nil
		if g != w || !llEq {
			t.Errorf("presence %d = %+v (lastLeave %v)\nwant %+v (lastLeave %v)", i, got[i], got[i].LastLeave, want[i], want[i].LastLeave)
		}
	}
}

func TestUnionLength(t *testing.T) {
	iv := func(a, b float64) interval { return interval{at(a), at(b)} }
	for _, tc := range []struct {
		in   []interval
		want float64 // minutes
	}{
		{nil, 0},
		{[]interval{iv(0, 10)}, 10},
		{[]interval{iv(0, 10), iv(10, 20)}, 20},            // touching
		{[]interval{iv(0, 30), iv(5, 10)}, 30},             // contained
		{[]interval{iv(20, 30), iv(0, 10), iv(5, 25)}, 30}, // unsorted chain
		{[]interval{iv(0, 10), iv(20, 30)}, 20},            // gap
	} {
		if got := total(merge(tc.in, 0)); got != time.Duration(tc.want*float64(time.Minute)) {
			t.Errorf("union of %v = %v, want %v min", tc.in, got, tc.want)
		}
	}
}

func TestTouchAndCloseOpen(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	lec := "lec_a"
	mustRecord(t, s, join(lec, "u_anna", "c_1", at(0)))
	mustRecord(t, s, join(lec, "u_emil", "c_2", at(2)))
	mustRecord(t, s, join(lec, "u_ivo", "c_3", at(3)))
	mustRecord(t, s, leave(lec, "c_3", at(4)))
	for _, m := range []float64{1, 5, 3} { // the late 3 must not move it back
		if err := s.Touch(ctx, lec, "c_1", at(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Touching a connection that has left must not bring it back.
	if err := s.Touch(ctx, lec, "c_3", at(9)); err != nil {
		t.Fatal(err)
	}

	n, err := s.CloseOpen(ctx, lec, ReasonRecovered)
	if err != nil || n != 2 {
		t.Fatalf("CloseOpen = %d, %v; want 2", n, err)
	}
	leaves := map[string]Event{}
	for _, e := range mustEvents(t, s, lec) {
		if e.Kind == KindLeave {
			leaves[e.ConnID] = e
		}
	}
	if e := leaves["c_1"]; !e.At.Equal(at(5)) || e.Reason != ReasonRecovered || e.UserID != "u_anna" {
		t.Fatalf("c_1 leave %+v, want at its last sign of life %v, reason recovered", e, at(5))
	}
	if e := leaves["c_2"]; !e.At.Equal(at(2)) || e.Reason != ReasonRecovered {
		t.Fatalf("c_2 (never touched) leave %+v, want at its join %v", e, at(2))
	}
	if e := leaves["c_3"]; !e.At.Equal(at(4)) || e.Reason != ReasonLeft {
		t.Fatalf("c_3 leave %+v changed", e)
	}
	if n, err := s.CloseOpen(ctx, lec, ReasonRecovered); err != nil || n != 0 {
		t.Fatalf("second CloseOpen = %d, %v; want 0", n, err)
	}
	if open, _ := s.Open(ctx, lec); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	if _, err := s.CloseOpen(ctx, lec, "whatever"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CloseOpen with unknown reason: %v", err)
	}
}

func TestOpenLectures(t *testing.T) {
	ctx := context.Background()
	s, _, srv := newStore(t)
	mustRecord(t, s, join("lec_b", "u_anna", "c_1", at(0)))
	mustRecord(t, s, join("lec_a", "u_emil", "c_2", at(0)))
	mustRecord(t, s, join("lec_c", "u_ivo", "c_3", at(0)))
	mustRecord(t, s, leave("lec_c", "c_3", at(1)))

	got, err := s.OpenLectures(ctx)
	if err != nil || !slices.Equal(got, []string{"lec_a", "lec_b"}) {
		t.Fatalf("OpenLectures = %v, %v; want [lec_a lec_b]", got, err)
	}
	if _, err := s.CloseOpen(ctx, "lec_a", ReasonEnded); err != nil {
		t.Fatal(err)
	}
	// A stale member (as a crash could leave) is filtered and pruned.
	srv.Client.ZIncrBy(ctx, keyOpenLectures, 1, "lec_stale")
	got, err = s.OpenLectures(ctx)
	if err != nil || !slices.Equal(got, []string{"lec_b"}) {
		t.Fatalf("OpenLectures = %v, %v; want [lec_b]", got, err)
	}
	members := slices.DeleteFunc(srv.Client.ZRange(ctx, keyOpenLectures, 0, -1).Val(), func(m string) bool { return m == seqMember })
	if !slices.Equal(members, []string{"lec_b"}) {
		t.Fatalf("index = %v, want only lec_b", members)
	}
}

// Joins and leaves racing with OpenLectures' pruning must never lose a
// lecture that has an open connection.
func TestOpenLecturesUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	const lectures, rounds = 4, 40
	stop := make(chan struct{})
	var pruner sync.WaitGroup
	pruner.Add(1)
	go func() {
		defer pruner.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if _, err := s.OpenLectures(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for l := range lectures {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lec := fmt.Sprintf("lec_%d", l)
			for r := range rounds {
				conn := fmt.Sprintf("c_%d_%d", l, r)
				if _, err := s.Record(ctx, join(lec, "u_x", conn, at(float64(r)))); err != nil {
					t.Error(err)
					return
				}
				if r == rounds-1 && l%2 == 0 {
					break // even lectures keep their last connection open
				}
				if _, err := s.Record(ctx, leave(lec, conn, at(float64(r)+0.5))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pruner.Wait()
	got, err := s.OpenLectures(ctx)
	if err != nil || !slices.Equal(got, []string{"lec_0", "lec_2"}) {
		t.Fatalf("OpenLectures = %v, %v; want [lec_0 lec_2]", got, err)
	}
}
