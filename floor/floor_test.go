package floor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/internal/testclock"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*Store, *testclock.Clock) {
	t.Helper()
	srv := redistest.Start(t)
	c := testclock.New(t0)
	return NewStore(srv.Client, Options{Now: c.Now}), c
}

var ctx = context.Background()

func handUsers(st State) string {
	var u []string
	for _, h := range st.Hands {
		u = append(u, h.UserID)
	}
	return strings.Join(u, ",")
}

func mustState(t *testing.T, s *Store, lec string) State {
	t.Helper()
	st, err := s.State(ctx, lec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestHandQueueKeepsOrder(t *testing.T) {
	s, clk := newStore(t)
	for i, u := range []string{"u_anna", "u_emil", "u_ilze"} {
		pos, err := s.RaiseHand(ctx, "lec_a", u)
		if err != nil || pos != i {
			t.Fatalf("RaiseHand(%s) = %d, %v; want %d", u, pos, err, i)
		}
		clk.Add(time.Second)
	}
	// Raising again keeps the original place.
	if pos, err := s.RaiseHand(ctx, "lec_a", "u_anna"); err != nil || pos != 0 {
		t.Fatalf("raising again: %d, %v; want place 0 kept", pos, err)
	}
	if was, err := s.LowerHand(ctx, "lec_a", "u_emil"); err != nil || !was {
		t.Fatalf("LowerHand = %v, %v", was, err)
	}
	if was, _ := s.LowerHand(ctx, "lec_a", "u_emil"); was {
		t.Fatal("lowering twice reported a raised hand")
	}
	st := mustState(t, s, "lec_a")
	if got := handUsers(st); got != "u_anna,u_ilze" {
		t.Fatalf("queue = %s", got)
	}
	if !st.Hands[1].At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("hand time %v", st.Hands[1].At)
	}
	if other := mustState(t, s, "lec_b"); len(other.Hands) != 0 {
		t.Fatal("hands leaked into another lecture")
	}
}

func TestGrantMovesFloorAndLowersHand(t *testing.T) {
	s, _ := newStore(t)
	s.RaiseHand(ctx, "lec_a", "u_anna")
	s.RaiseHand(ctx, "lec_a", "u_emil")
	g, prev, err := s.Grant(ctx, "lec_a", "u_anna", "u_aliev", true)
	if err != nil || prev != nil || g.UserID != "u_anna" || !g.Camera || g.By != "u_aliev" {
		t.Fatalf("first grant = %+v, prev %+v, %v", g, prev, err)
	}
	st := mustState(t, s, "lec_a")
	if st.Floor == nil || st.Floor.UserID != "u_anna" || handUsers(st) != "u_emil" {
		t.Fatalf("after grant: floor %+v hands %s", st.Floor, handUsers(st))
	}
	_, prev, err = s.Grant(ctx, "lec_a", "u_emil", "u_aliev", false)
	if err != nil || prev == nil || prev.UserID != "u_anna" {
		t.Fatalf("second grant: prev %+v, %v; want anna's grant", prev, err)
	}
	h, err := s.Holder(ctx, "lec_a")
	if err != nil || h == nil || h.UserID != "u_emil" || h.Camera {
		t.Fatalf("holder %+v, %v", h, err)
	}
}

func TestRevoke(t *testing.T) {
	s, _ := newStore(t)
	s.Grant(ctx, "lec_a", "u_anna", "u_aliev", false)
	if g, err := s.Revoke(ctx, "lec_a", "u_emil"); err != nil || g != nil {
		t.Fatalf("revoking from a non-holder took %+v, %v", g, err)
	}
	if h, _ := s.Holder(ctx, "lec_a"); h == nil || h.UserID != "u_anna" {
		t.Fatal("a revoke aimed at someone else took the floor")
	}
	if g, err := s.Revoke(ctx, "lec_a", ""); err != nil || g == nil || g.UserID != "u_anna" {
		t.Fatalf("Revoke(any) = %+v, %v", g, err)
	}
	if h, _ := s.Holder(ctx, "lec_a"); h != nil {
		t.Fatalf("floor still held by %+v", h)
	}
	if g, err := s.Revoke(ctx, "lec_a", ""); err != nil || g != nil {
		t.Fatalf("revoking an empty floor: %+v, %v", g, err)
	}
}

func TestRemoveTakesEverythingAndBlocksRejoin(t *testing.T) {
	s, _ := newStore(t)
	s.RaiseHand(ctx, "lec_a", "u_emil")
	s.Grant(ctx, "lec_a", "u_anna", "u_aliev", true)
	s.SetMuted(ctx, "lec_a", "u_anna", "u_aliev", true)
	prev, err := s.Remove(ctx, "lec_a", "u_anna", "u_aliev", "  disrupting the lecture ")
	if err != nil || prev == nil || prev.UserID != "u_anna" {
		t.Fatalf("Remove = %+v, %v; want anna's grant back", prev, err)
	}
	st := mustState(t, s, "lec_a")
	if st.Floor != nil || len(st.Muted) != 0 || len(st.Removed) != 1 || st.Removed[0].Reason != "disrupting the lecture" {
		t.Fatalf("after removal: %+v", st)
	}
	sn, err := s.CheckJoin(ctx, "lec_a", "u_anna", true)
	if !errors.Is(err, ErrRemoved) || sn == nil || sn.Reason != "disrupting the lecture" || sn.By != "u_aliev" {
		t.Fatalf("CheckJoin after removal = %+v, %v", sn, err)
	}
	if _, err := s.RaiseHand(ctx, "lec_a", "u_anna"); !errors.Is(err, ErrRemoved) {
		t.Fatalf("a removed user raised a hand: %v", err)
	}
	if _, _, err := s.Grant(ctx, "lec_a", "u_anna", "u_aliev", false); !errors.Is(err, ErrRemoved) {
		t.Fatalf("a removed user was granted the floor: %v", err)
	}
	if _, err := s.CheckJoin(ctx, "lec_b", "u_anna", false); err != nil {
		t.Fatalf("removal leaked into another lecture: %v", err)
	}
	if was, err := s.Readmit(ctx, "lec_a", "u_anna"); err != nil || !was {
		t.Fatalf("Readmit = %v, %v", was, err)
	}
	if _, err := s.CheckJoin(ctx, "lec_a", "u_anna", false); err != nil {
		t.Fatalf("readmitted user refused: %v", err)
	}
}

func TestRemoveKeepsOthersFloor(t *testing.T) {
	s, _ := newStore(t)
	s.Grant(ctx, "lec_a", "u_anna", "u_aliev", false)
	if prev, err := s.Remove(ctx, "lec_a", "u_emil", "u_aliev", ""); err != nil || prev != nil {
		t.Fatalf("Remove(emil) = %+v, %v", prev, err)
	}
	if h, _ := s.Holder(ctx, "lec_a"); h == nil || h.UserID != "u_anna" {
		t.Fatal("removing someone else took the floor")
	}
}

func TestLock(t *testing.T) {
	s, _ := newStore(t)
	if err := s.SetLocked(ctx, "lec_a", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckJoin(ctx, "lec_a", "u_new", false); !errors.Is(err, ErrLocked) {
		t.Fatalf("newcomer to a locked lecture: %v, want ErrLocked", err)
	}
	if _, err := s.CheckJoin(ctx, "lec_a", "u_back", true); err != nil {
		t.Fatalf("a returning participant was refused: %v", err)
	}
	if !mustState(t, s, "lec_a").Locked {
		t.Fatal("state does not say locked")
	}
	s.SetLocked(ctx, "lec_a", false)
	if _, err := s.CheckJoin(ctx, "lec_a", "u_new", false); err != nil {
		t.Fatalf("unlocked: %v", err)
	}
}

func TestMute(t *testing.T) {
	s, _ := newStore(t)
	s.SetMuted(ctx, "lec_a", "u_anna", "u_aliev", true)
	s.SetMuted(ctx, "lec_a", "u_emil", "u_aliev", true)
	s.SetMuted(ctx, "lec_a", "u_emil", "u_aliev", false)
	st := mustState(t, s, "lec_a")
	if len(st.Muted) != 1 || st.Muted[0].UserID != "u_anna" || st.Muted[0].By != "u_aliev" {
		t.Fatalf("muted = %+v", st.Muted)
	}
}

func TestEndClearsLiveStateKeepsRemovals(t *testing.T) {
	s, _ := newStore(t)
	s.RaiseHand(ctx, "lec_a", "u_emil")
	s.Grant(ctx, "lec_a", "u_anna", "u_aliev", false)
	s.SetLocked(ctx, "lec_a", true)
	s.Remove(ctx, "lec_a", "u_ilze", "u_aliev", "spam")
	if err := s.End(ctx, "lec_a"); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, s, "lec_a")
	if st.Locked || st.Floor != nil || len(st.Hands) != 0 || len(st.Removed) != 1 {
		t.Fatalf("after End: %+v", st)
	}
}

func TestBadInput(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.RaiseHand(ctx, "lec_{x}", "u_anna"); !errors.Is(err, ErrInvalid) {
		t.Errorf("brace in lecture id: %v", err)
	}
	if _, err := s.RaiseHand(ctx, "lec_a", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty user: %v", err)
	}
	if _, err := s.Remove(ctx, "lec_a", "u_anna", "u_aliev", strings.Repeat("x", MaxReason+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long reason: %v", err)
	}
	if _, err := s.Remove(ctx, "lec_a", "u_anna", "u_aliev", "a\x1bb"); !errors.Is(err, ErrInvalid) {
		t.Errorf("control character in reason: %v", err)
	}
	if st := mustState(t, s, "lec_a"); len(st.Removed) != 0 {
		t.Fatal("a refused removal was recorded")
	}
}

// Survives a Redis restart with persistence: the floor is where it was.
func TestFloorSurvivesRedisRestart(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{AppendOnly: true})
	s := NewStore(srv.Client, Options{})
	s.RaiseHand(ctx, "lec_a", "u_emil")
	s.Grant(ctx, "lec_a", "u_anna", "u_aliev", true)
	srv.Restart()
	st := mustState(t, s, "lec_a")
	if st.Floor == nil || st.Floor.UserID != "u_anna" || handUsers(st) != "u_emil" {
		t.Fatalf("after restart: %+v", st)
	}
}
