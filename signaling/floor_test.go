package signaling

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/floor"
	"github.com/gorilla/websocket"
)

// floorStore reads the floor the server keeps, straight from Redis.
func (e *env) floorStore() *floor.Store { return floor.NewStore(e.redis.Client, floor.Options{}) }

func (e *env) floorState() floor.State {
	e.t.Helper()
	st, err := e.floorStore().State(context.Background(), e.lecture.ID)
	if err != nil {
		e.t.Fatalf("floor state: %v", err)
	}
	return st
}

func (e *env) id(username string) string { return e.users[username].ID }

// expectFloor waits for a floor message satisfying ok.
func expectFloor(t *testing.T, ws *wsClient, what string, ok func(floorMsg) bool) floorMsg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var m floorMsg
		decode(t, ws.expect(msgFloor), &m)
		if ok(m) {
			return m
		}
	}
	t.Fatalf("no floor message with %s", what)
	return floorMsg{}
}

// refusedPublish reads the errors a publish attempt without the floor
// causes (its offer and any candidates trickled with it) up to the
// offer's, and checks that each is the code given.
func refusedPublish(t *testing.T, ws *wsClient, code string) {
	t.Helper()
	for {
		var m errorMsg
		decode(t, ws.expect("error"), &m)
		if m.Code != code || (m.Ref != msgOffer && m.Ref != msgCandidate) {
			t.Fatalf("error %+v, want %s for the offer or a pub candidate", m, code)
		}
		if m.Ref == msgOffer {
			return
		}
	}
}

// stopsGrowing asserts that rc receives no more packets of either kind:
// what was in flight has 300 ms to arrive, then nothing may come for 1 s.
func stopsGrowing(t *testing.T, name string, rc *rtcClient) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	v, a := rc.videoPackets.Load(), rc.audioPackets.Load()
	time.Sleep(time.Second)
	if dv, da := rc.videoPackets.Load()-v, rc.audioPackets.Load()-a; dv != 0 || da != 0 {
		t.Fatalf("%s received %d video and %d audio packets after forwarding stopped", name, dv, da)
	}
}

// waitCount waits until counter has grown by n.
func waitCount(t *testing.T, what string, counter interface{ Load() int64 }, n int64) {
	t.Helper()
	from := counter.Load()
	deadline := time.Now().Add(15 * time.Second)
	for counter.Load() < from+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d packets, want %d more than %d", what, counter.Load(), n, from)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dropPub closes the client's pub connection, as a browser does when the
// floor is taken from it.
func (r *rtcClient) dropPub() {
	r.mu.Lock()
	pc := r.pub
	r.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
}

// TestFloorGrantAndRevoke: only the student given the floor publishes;
// its media reaches the lecturer and the other students; after the revoke
// nothing of it is forwarded even though it keeps sending; a later
// microphone-only grant forwards its audio and none of its video.
func TestFloorGrantAndRevoke(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student1", "student2")
	lect, s1, s2 := ws["lecturer"], ws["student1"], ws["student2"]
	rl, r1, r2 := newRTCClient(t, lect), newRTCClient(t, s1), newRTCClient(t, s2)

	// Without the floor the server refuses the student's offer.
	r1.publish()
	refusedPublish(t, s1, codeNoFloor)
	r1.dropPub()

	s1.send(map[string]any{"type": msgRaiseHand})
	expectFloor(t, lect, "student1's hand", func(m floorMsg) bool {
		return len(m.Hands) == 1 && m.Hands[0].UserID == e.id("student1") && m.Hands[0].DisplayName == "Anna Berzina"
	})
	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student1"), "camera": true})
	var g grantedMsg
	decode(t, s1.expect(msgGranted), &g)
	if !g.Camera {
		t.Fatalf("granted %+v, want the camera", g)
	}
	for _, c := range []*wsClient{lect, s1, s2} {
		expectFloor(t, c, "student1 holding the floor", func(m floorMsg) bool {
			return m.Holder != nil && m.Holder.UserID == e.id("student1") && m.Holder.Camera && len(m.Hands) == 0
		})
	}
	if h := e.floorState().Floor; h == nil || h.UserID != e.id("student1") || !h.Camera || h.By != e.id("lecturer") {
		t.Fatalf("stored floor %+v", h)
	}

	r1.publish()
	rl.waitMedia(20)
	r2.waitMedia(20)

	// Revoked: forwarding stops at once although the client keeps sending.
	lect.send(map[string]any{"type": msgRevoke, "userId": e.id("student1")})
	s1.expect(msgRevoked)
	expectFloor(t, lect, "nobody holding the floor", func(m floorMsg) bool { return m.Holder == nil })
	stopsGrowing(t, "lecturer", rl)
	stopsGrowing(t, "student2", r2)
	if h := e.floorState().Floor; h != nil {
		t.Fatalf("stored floor after revoke: %+v", h)
	}

	// A microphone-only grant: the client starts over and offers its
	// camera too, but only its audio is forwarded.
	r1.dropPub()
	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student1"), "camera": false})
	decode(t, s1.expect(msgGranted), &g)
	if g.Camera {
		t.Fatalf("granted %+v, want no camera", g)
	}
	r1.publish()
	waitCount(t, "lecturer audio", &rl.audioPackets, 20)
	waitCount(t, "student2 audio", &r2.audioPackets, 20)
	v := rl.videoPackets.Load()
	waitCount(t, "lecturer audio", &rl.audioPackets, 50)
	if dv := rl.videoPackets.Load() - v; dv != 0 {
		t.Fatalf("%d video packets forwarded under a microphone-only grant", dv)
	}

	// The holder gives the floor back.
	s1.send(map[string]any{"type": msgRelease})
	s1.expect(msgRevoked)
	stopsGrowing(t, "lecturer", rl)
	s1.send(map[string]any{"type": msgRelease})
	s1.expectError(codeNoFloor, msgRelease)
}

// TestFloorMute: a muted participant's audio is not forwarded (its video
// is), unmuting resumes it, and a new connection of the muted user is
// muted from the start.
func TestFloorMute(t *testing.T) {
	// Duplicate joins allowed: the classroom account is signed in twice.
	e := newEnv(t, envOptions{allowDuplicateJoins: true})
	ws := liveRoom(t, e, "lecturer", "operator", "student1")
	lect, op, s1 := ws["lecturer"], ws["operator"], ws["student1"]
	ro, r1 := newRTCClient(t, op), newRTCClient(t, s1)
	// A classroom publishes without the floor.
	ro.publish()
	r1.waitMedia(20)

	lect.send(map[string]any{"type": msgMute, "userId": e.id("operator")})
	var m mutedMsg
	decode(t, op.expect(msgMuted), &m)
	if m.By != e.id("lecturer") {
		t.Fatalf("muted %+v, want by the lecturer", m)
	}
	time.Sleep(300 * time.Millisecond)
	a := r1.audioPackets.Load()
	waitCount(t, "video while muted", &r1.videoPackets, 50)
	if da := r1.audioPackets.Load() - a; da != 0 {
		t.Fatalf("%d audio packets forwarded while muted", da)
	}
	if st := e.floorState(); len(st.Muted) != 1 || st.Muted[0].UserID != e.id("operator") {
		t.Fatalf("stored mutes %+v", st.Muted)
	}
	var parts participantsMsg
	for !hasParticipant(parts, "operator", func(p Participant) bool { return p.Muted }) {
		decode(t, lect.expect(msgParticipants), &parts)
	}

	// A second connection of the muted classroom is muted at once.
	op2 := e.dial("operator")
	op2.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	op2.expect("joined")
	op2.expect(msgMuted)
	r, _ := e.member(e.lecture.ID, "operator")
	r.mu.Lock()
	for mc, mm := range r.members {
		if mc.user.Username == "operator" && (mm.peer == nil || !mm.peer.Muted()) {
			t.Errorf("operator connection %s: media peer not muted", mc.id)
		}
	}
	r.mu.Unlock()

	lect.send(map[string]any{"type": msgUnmute, "userId": e.id("operator")})
	op.expect(msgUnmuted)
	op2.expect(msgUnmuted)
	waitCount(t, "audio after unmute", &r1.audioPackets, 20)
	if st := e.floorState(); len(st.Muted) != 0 {
		t.Fatalf("stored mutes after unmute %+v", st.Muted)
	}
}

func hasParticipant(m participantsMsg, username string, ok func(Participant) bool) bool {
	for _, p := range m.Participants {
		if strings.EqualFold(p.DisplayName, displayNames[username]) && ok(p) {
			return true
		}
	}
	return false
}

var displayNames = map[string]string{"operator": "Osh classroom", "student1": "Anna Berzina", "student2": "Janis Kalns"}

// closeCode records the close code the server sends.
func closeCode(ch chan int) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		conn.SetCloseHandler(func(code int, _ string) error {
			select {
			case ch <- code:
			default:
			}
			return nil
		})
	}
}

// TestFloorRemoveAndReadmit: a removed participant is told why, closed
// with 4001 and cannot rejoin until readmitted; the removal outlives the
// lecture's end.
func TestFloorRemoveAndReadmit(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student2")
	lect := ws["lecturer"]
	codes := make(chan int, 1)
	s1 := e.dial("student1", closeCode(codes))
	s1.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s1.expect("joined")
	s1.send(map[string]any{"type": msgRaiseHand})
	expectFloor(t, lect, "a hand", func(m floorMsg) bool { return len(m.Hands) == 1 })

	const reason = "Phone calls during the exercise"
	lect.send(map[string]any{"type": msgRemove, "userId": e.id("student1"), "reason": reason})
	var rm removedMsg
	decode(t, s1.expect(msgRemoved), &rm)
	if rm.Reason != reason {
		t.Fatalf("removed %+v", rm)
	}
	select {
	case code := <-codes:
		if code != closeRemoved {
			t.Fatalf("close code %d, want %d", code, closeRemoved)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the removed participant's socket was not closed")
	}
	expectFloor(t, lect, "the hand gone", func(m floorMsg) bool { return len(m.Hands) == 0 })

	// Rejoining is refused with the reason, before and after the lecture ends.
	again := e.dial("student1")
	again.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	var em removedErrorMsg
	decode(t, again.expect("error"), &em)
	if em.Code != codeRemoved || em.Reason != reason || !strings.Contains(em.Message, reason) || em.Ref != msgJoin {
		t.Fatalf("join after removal: %+v", em)
	}
	again.send(map[string]any{"type": msgRaiseHand})
	again.expectError(codeNotJoined, msgRaiseHand)

	// Readmitted: the join succeeds.
	lect.send(map[string]any{"type": msgReadmit, "userId": e.id("student1")})
	lect.expect(msgFloor)
	if st := e.floorState(); len(st.Removed) != 0 {
		t.Fatalf("removals after readmit: %+v", st.Removed)
	}
	again.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	again.expect("joined")
	lect.send(map[string]any{"type": msgReadmit, "userId": e.id("student1")})
	lect.expectError(codeNotFound, msgReadmit)

	// A removal made elsewhere (another server) stops a connected user's hand.
	if _, err := e.floorStore().Remove(context.Background(), e.lecture.ID, e.id("student2"), e.id("lecturer"), "elsewhere"); err != nil {
		t.Fatal(err)
	}
	ws["student2"].send(map[string]any{"type": msgRaiseHand})
	ws["student2"].expectError(codeRemoved, msgRaiseHand)
	if st := e.floorState(); len(st.Hands) != 0 {
		t.Fatalf("a removed user's hand was raised: %+v", st.Hands)
	}

	// Ending the lecture clears the floor but keeps the removal on record.
	again.send(map[string]any{"type": msgRaiseHand})
	expectFloor(t, lect, "student1's hand", func(m floorMsg) bool { return len(m.Hands) == 1 })
	lect.send(map[string]any{"type": msgLock})
	expectFloor(t, lect, "locked", func(m floorMsg) bool { return m.Locked })
	lect.send(map[string]string{"type": "end"})
	lect.expect("lecture")
	if st := e.floorState(); len(st.Hands) != 0 || st.Locked || len(st.Removed) != 1 {
		t.Fatalf("floor after the end: %+v", st)
	}
}

// TestFloorLock: a locked lecture refuses newcomers but not participants
// who were in it before, nor moderators.
func TestFloorLock(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student1")
	lect := ws["lecturer"]
	lect.send(map[string]any{"type": msgLock})
	for _, c := range ws {
		expectFloor(t, c, "locked", func(m floorMsg) bool { return m.Locked })
	}
	// student1 drops out and comes back.
	ws["student1"].send(map[string]string{"type": "leave"})
	back := e.dial("student1")
	back.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	back.expect("joined")
	expectFloor(t, back, "the lock, right after joining", func(m floorMsg) bool { return m.Locked })

	newcomer := e.dial("student2")
	newcomer.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	newcomer.expectError(codeLocked, msgJoin)
	admin := e.dial("admin")
	admin.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	admin.expect("joined")

	admin.send(map[string]any{"type": msgUnlock})
	expectFloor(t, lect, "unlocked", func(m floorMsg) bool { return !m.Locked })
	newcomer.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	newcomer.expect("joined")
}

// TestFloorBadInput: moderator actions from others, actions on users of
// another lecture and malformed fields are refused with clear errors and
// change nothing in Redis.
func TestFloorBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	// student3 is only ever in the other lecture.
	if _, err := e.sched.Start(context.Background(), e.other.ID); err != nil {
		t.Fatal(err)
	}
	outsider := e.dial("student3")
	outsider.send(map[string]string{"type": "join", "lectureId": e.other.ID})
	outsider.expect("joined")

	ws := liveRoom(t, e, "lecturer", "student1", "student2", "operator", "admin")
	lect, s1, op := ws["lecturer"], ws["student1"], ws["operator"]
	s1.send(map[string]any{"type": msgRaiseHand})
	var parts participantsMsg
	for !hasParticipant(parts, "student1", func(p Participant) bool { return p.Hand && p.HandAt != nil && !p.Floor }) {
		decode(t, lect.expect(msgParticipants), &parts)
	}
	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student2"), "camera": false})
	ws["student2"].expect(msgGranted)
	before := e.floorState()

	s2 := e.id("student2")
	actions := []map[string]any{
		{"type": msgGrant, "userId": e.id("student1"), "camera": true},
		{"type": msgRevoke, "userId": s2},
		{"type": msgMute, "userId": s2},
		{"type": msgUnmute, "userId": s2},
		{"type": msgRemove, "userId": s2, "reason": "x"},
		{"type": msgReadmit, "userId": s2},
		{"type": msgLock},
		{"type": msgUnlock},
	}
	for _, c := range []*wsClient{s1, op} {
		for _, a := range actions {
			c.send(a)
			c.expectError(codeForbidden, a["type"].(string))
		}
	}
	lect.send(map[string]any{"type": msgRaiseHand})
	lect.expectError(codeForbidden, msgRaiseHand)

	// Users of another lecture, and unknown ones.
	for _, typ := range []string{msgGrant, msgRevoke, msgMute, msgUnmute, msgRemove, msgReadmit} {
		for _, id := range []string{e.id("student3"), "usr_nobody"} {
			lect.send(map[string]any{"type": typ, "userId": id, "reason": "r"})
			lect.expectError(codeNotFound, typ)
		}
	}

	for _, c := range []struct {
		name string
		msg  map[string]any
		code string
	}{
		{"grant without user", map[string]any{"type": msgGrant}, codeBadRequest},
		{"numeric user", map[string]any{"type": msgMute, "userId": 42}, codeBadRequest},
		{"long user", map[string]any{"type": msgRevoke, "userId": strings.Repeat("u", 129)}, codeBadRequest},
		{"camera not a boolean", map[string]any{"type": msgGrant, "userId": e.id("student1"), "camera": "yes"}, codeBadRequest},
		{"long reason", map[string]any{"type": msgRemove, "userId": e.id("student1"), "reason": strings.Repeat("é", 201)}, codeBadRequest},
		{"numeric reason", map[string]any{"type": msgRemove, "userId": e.id("student1"), "reason": 5}, codeBadRequest},
		{"control characters", map[string]any{"type": msgRemove, "userId": e.id("student1"), "reason": "a\u0007b"}, codeBadRequest},
		{"grant to a classroom", map[string]any{"type": msgGrant, "userId": e.id("operator")}, codeBadRequest},
		{"remove the lecturer", map[string]any{"type": msgRemove, "userId": e.id("lecturer")}, codeForbidden},
	} {
		from := lect
		if c.name == "remove the lecturer" {
			from = ws["admin"]
		}
		from.send(c.msg)
		var m errorMsg
		decode(t, from.expect("error"), &m)
		if m.Code != c.code || m.Ref != c.msg["type"] || m.Message == "" {
			t.Errorf("%s: error %+v, want %s", c.name, m, c.code)
		}
	}
	// A raw frame with a userId of the wrong type is a bad value too.
	lect.sendRaw([]byte(`{"type":"grant","userId":{"id":1}}`))
	lect.expectError(codeBadRequest, msgGrant)

	if after := e.floorState(); !reflect.DeepEqual(before, after) {
		t.Fatalf("floor changed by refused actions:\nbefore %+v\nafter  %+v", before, after)
	}
	// Nothing reached the other lecture either.
	st, err := e.floorStore().State(context.Background(), e.other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Floor != nil || len(st.Muted) != 0 || len(st.Removed) != 0 || st.Locked {
		t.Fatalf("other lecture's floor: %+v", st)
	}
	// The connections are all still usable.
	expectQuiet(lect, "the refusals")
	expectQuiet(s1, "the refusals")
	expectQuiet(op, "the refusals")
}

// TestFloorNotLive: the floor exists only while the lecture is live.
func TestFloorNotLive(t *testing.T) {
	e := newEnv(t, envOptions{})
	lect := e.dial("lecturer")
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")
	var m floorMsg
	decode(t, lect.expect(msgFloor), &m)
	if m.Holder != nil || m.Locked || m.Hands == nil {
		t.Fatalf("initial floor %s", mustJSON(m))
	}
	s1 := e.dial("student1")
	s1.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s1.expect("joined")
	s1.send(map[string]any{"type": msgRaiseHand})
	s1.expectError(codeNotLive, msgRaiseHand)
	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student1")})
	lect.expectError(codeNotLive, msgGrant)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFloorSurvivesReconnect: the floor is kept by user, so a holder who
// reconnects is told it holds the floor and its new media peer may publish
// at once; the others' new peers may not.
func TestFloorSurvivesReconnect(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student1", "student2")
	ws["lecturer"].send(map[string]any{"type": msgGrant, "userId": e.id("student1"), "camera": true})
	ws["student1"].expect(msgGranted)
	ws["student1"].conn.Close()
	ws["student2"].conn.Close()

	for _, u := range []string{"student1", "student2"} {
		again := e.dial(u)
		again.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
		again.expect("joined")
		if u == "student1" {
			var g grantedMsg
			decode(t, again.expect(msgGranted), &g)
			if !g.Camera {
				t.Fatalf("granted %+v after reconnecting, want the camera", g)
			}
		}
	}
	r, _ := e.member(e.lecture.ID, "student1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		var got []string
		for mc, m := range r.members {
			if m.peer != nil {
				pr := m.peer.PublishRights()
				got = append(got, mc.user.Username+":"+mustJSON(pr))
			}
		}
		r.mu.Unlock()
		want := []string{`lecturer:{"Audio":true,"Video":true}`, `student1:{"Audio":true,"Video":true}`, `student2:{"Audio":false,"Video":false}`}
		if slicesEqualUnordered(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media peers' rights %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slicesEqualUnordered(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestFloorPassesOn: granting the floor to another student takes it from
// the holder, whose media peer loses its rights at once.
func TestFloorPassesOn(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student1", "student2")
	lect := ws["lecturer"]
	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student1"), "camera": true})
	ws["student1"].expect(msgGranted)
	ws["student2"].send(map[string]any{"type": msgRaiseHand})
	expectFloor(t, lect, "student2's hand", func(m floorMsg) bool { return len(m.Hands) == 1 })

	lect.send(map[string]any{"type": msgGrant, "userId": e.id("student2")})
	ws["student1"].expect(msgRevoked)
	ws["student2"].expect(msgGranted)
	expectFloor(t, lect, "student2 holding the floor, hand lowered", func(m floorMsg) bool {
		return m.Holder != nil && m.Holder.UserID == e.id("student2") && !m.Holder.Camera && len(m.Hands) == 0
	})
	rights := func(user string) string {
		r, mc := e.member(e.lecture.ID, user)
		r.mu.Lock()
		defer r.mu.Unlock()
		return mustJSON(r.members[mc].peer.PublishRights())
	}
	if got := rights("student1"); got != `{"Audio":false,"Video":false}` {
		t.Fatalf("student1's rights after losing the floor: %s", got)
	}
	if got := rights("student2"); got != `{"Audio":true,"Video":false}` {
		t.Fatalf("student2's rights with a microphone-only floor: %s", got)
	}
	var parts participantsMsg
	for !hasParticipant(parts, "student2", func(p Participant) bool { return p.Floor && !p.Hand }) {
		decode(t, lect.expect(msgParticipants), &parts)
	}
}
