package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/sfu"
	"github.com/gorilla/websocket"
)

// welcome is a joined or resumed message.
type welcome struct {
	Type         string `json:"type"`
	ConnID       string `json:"connId"`
	Resume       string `json:"resume"`
	GraceSeconds int    `json:"graceSeconds"`
}

// joinLecture sends join and returns the joined message.
func joinLecture(t *testing.T, ws *wsClient, lectureID string) welcome {
	t.Helper()
	ws.send(map[string]string{"type": "join", "lectureId": lectureID})
	var w welcome
	decode(t, ws.expect("joined"), &w)
	if w.ConnID == "" || w.Resume == "" {
		t.Fatalf("joined without a connection id or resume token: %+v", w)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(w.Resume); err != nil || len(raw) != resumeTokenBytes {
		t.Fatalf("resume token %q is not 32 bytes of base64url: %v", w.Resume, err)
	}
	return w
}

// resumeAs sends resume with token on ws and returns the resumed message.
func resumeAs(t *testing.T, ws *wsClient, token, lectureID string) welcome {
	t.Helper()
	ws.send(map[string]string{"type": "resume", "token": token, "lectureId": lectureID})
	var w welcome
	decode(t, ws.expect("resumed"), &w)
	return w
}

// memberState is username's state in the room as the participants list
// would show it ("" if not in the room).
func (e *env) memberState(lectureID, username string) ParticipantState {
	e.server.mu.Lock()
	r := e.server.rooms[lectureID]
	e.server.mu.Unlock()
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.members {
		if c.user.Username == username {
			return r.stateOfLocked(c)
		}
	}
	return ""
}

// waitMemberState polls until username's state is want.
func (e *env) waitMemberState(lectureID, username string, want ParticipantState) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.memberState(lectureID, username)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s is %q in the room, want %q", username, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connEvents are the attendance events of one connection id.
func (e *env) connEvents(lectureID, connID string) []attendance.Event {
	e.t.Helper()
	evs, err := e.att.Events(context.Background(), lectureID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []attendance.Event
	for _, ev := range evs {
		if ev.ConnID == connID {
			out = append(out, ev)
		}
	}
	return out
}

// waitMediaWithin waits until n more video and audio packets than counted
// at the call arrived, failing after d.
func (r *rtcClient) waitMediaWithin(n int64, d time.Duration) time.Duration {
	r.t.Helper()
	v0, a0 := r.videoPackets.Load(), r.audioPackets.Load()
	start := time.Now()
	for time.Since(start) < d {
		if r.videoPackets.Load() >= v0+n && r.audioPackets.Load() >= a0+n {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("within %v received %d video and %d audio packets, want %d of each", d,
		r.videoPackets.Load()-v0, r.audioPackets.Load()-a0, n)
	return 0
}

// drop cuts a test client's network path: its peer connections stop (no
// more UDP) and its socket goes without a close frame, as when a laptop
// loses its Wi-Fi.
func drop(rtc *rtcClient, ws *wsClient) {
	rtc.close()
	ws.conn.NetConn().Close()
	<-ws.closed
}

// TestResumeAfterNetworkDrop: a student's path is gone for 5 s and comes
// back; the student resumes the same participant (same connection id),
// receives media again within 5 s of the path returning, and attendance
// shows one continuous interval. A lecturer who drops is renegotiated out
// of the subscribers' connections and back in after resuming.
func TestResumeAfterNetworkDrop(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.sched.Start(ctx, e.lecture.ID); err != nil {
		t.Fatal(err)
	}
	lect := e.dial("lecturer")
	lectRTC := newRTCClient(t, lect)
	lw := joinLecture(t, lect, e.lecture.ID)
	if lw.GraceSeconds != 30 {
		t.Fatalf("graceSeconds = %d, want the default 30", lw.GraceSeconds)
	}
	lectRTC.publish()

	ws := e.dial("student1")
	rtc := newRTCClient(t, ws)
	sw := joinLecture(t, ws, e.lecture.ID)
	rtc.waitMedia(25)

	drop(rtc, ws)
	e.waitMemberState(e.lecture.ID, "student1", stateReconnecting)
	var parts participantsMsg
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		decode(t, lect.expect("participants"), &parts)
		if len(parts.Participants) == 2 && stateOf(parts, sw.ConnID) == stateReconnecting {
			break
		}
	}
	if stateOf(parts, sw.ConnID) != stateReconnecting {
		t.Fatalf("lecturer's participants list after the drop: %+v", parts)
	}
	time.Sleep(5 * time.Second) // the path stays down
	if evs := e.connEvents(e.lecture.ID, sw.ConnID); len(evs) != 1 {
		t.Fatalf("attendance during the outage: %+v, want only the join", evs)
	}

	restored := time.Now()
	ws2 := e.dial("student1")
	rtc2 := newRTCClient(t, ws2)
	rw := resumeAs(t, ws2, sw.Resume, e.lecture.ID)
	if rw.ConnID != sw.ConnID || rw.Resume == "" || rw.Resume == sw.Resume {
		t.Fatalf("resumed %+v after joining as %+v: want the same connId and a new token", rw, sw)
	}
	rtc2.waitMediaWithin(25, 5*time.Second-time.Since(restored))
	t.Logf("media flowing again %v after the path returned", time.Since(restored))
	e.waitMemberState(e.lecture.ID, "student1", stateConnected)

	// The old token is spent.
	ws3 := e.dial("student1")
	ws3.send(map[string]string{"type": "resume", "token": sw.Resume})
	ws3.expectError(codeResumeExpired, "resume")

	// The lecturer drops and resumes: the student's connection loses the
	// lecturer's tracks and gets them back.
	offers := rtc2.offers.Load()
	drop(lectRTC, lect)
	e.waitMemberState(e.lecture.ID, "lecturer", stateReconnecting)
	waitFor(t, "the student renegotiated without the lecturer's tracks", func() bool { return rtc2.offers.Load() > offers })
	lect2 := e.dial("lecturer")
	lectRTC2 := newRTCClient(t, lect2)
	if w := resumeAs(t, lect2, lw.Resume, e.lecture.ID); w.ConnID != lw.ConnID {
		t.Fatalf("lecturer resumed as %q, want %q", w.ConnID, lw.ConnID)
	}
	lectRTC2.publish()
	rtc2.waitMediaWithin(25, 15*time.Second)

	for _, id := range []string{sw.ConnID, lw.ConnID} {
		if evs := e.connEvents(e.lecture.ID, id); len(evs) != 1 || evs[0].Kind != attendance.KindJoin {
			t.Fatalf("attendance of %s: %+v, want one open interval", id, evs)
		}
	}
	lect2.send(map[string]string{"type": "end"})
	lect2.expect("lecture")
	for _, id := range []string{sw.ConnID, lw.ConnID} {
		evs := e.connEvents(e.lecture.ID, id)
		if len(evs) != 2 || evs[1].Kind != attendance.KindLeave || evs[1].Reason != attendance.ReasonEnded {
			t.Fatalf("attendance of %s after the end: %+v, want one interval closed by the end", id, evs)
		}
	}
}

func stateOf(p participantsMsg, connID string) ParticipantState {
	for _, x := range p.Participants {
		if x.ConnID == connID {
			return x.State
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResumeGraceExpires: a participant who does not come back within the
// window leaves at its last sign of life, and its token is then refused.
func TestResumeGraceExpires(t *testing.T) {
	e := newEnv(t, envOptions{resumeGrace: 700 * time.Millisecond})
	liveRoom(t, e, "lecturer")
	ws := e.dial("student1")
	sw := joinLecture(t, ws, e.lecture.ID)
	if sw.GraceSeconds != 0 {
		t.Fatalf("graceSeconds = %d for a 700 ms window, want whole seconds (0)", sw.GraceSeconds)
	}
	ws.send(map[string]string{"type": "no-such-type"})
	ws.expectError(codeUnknownType, "no-such-type")
	lastSign := time.Now()
	ws.conn.NetConn().Close()
	e.waitMemberState(e.lecture.ID, "student1", stateReconnecting)
	var leave *attendance.Event
	waitFor(t, "the leave is recorded", func() bool {
		evs := e.connEvents(e.lecture.ID, sw.ConnID)
		if len(evs) == 2 {
			leave = &evs[1]
		}
		return leave != nil
	})
	if leave.Kind != attendance.KindLeave || leave.Reason != attendance.ReasonDisconnected {
		t.Fatalf("leave %+v, want reason %q", leave, attendance.ReasonDisconnected)
	}
	if d := leave.At.Sub(lastSign); d < -time.Second || d > 300*time.Millisecond {
		t.Fatalf("leave recorded %v after the last sign of life, want it at the last sign of life", d)
	}
	if s := e.memberState(e.lecture.ID, "student1"); s != "" {
		t.Fatalf("student still in the room as %q after the window", s)
	}

	ws2 := e.dial("student1")
	ws2.send(map[string]string{"type": "resume", "token": sw.Resume, "lectureId": e.lecture.ID})
	ws2.expectError(codeResumeExpired, "resume")
	if w := joinLecture(t, ws2, e.lecture.ID); w.ConnID == sw.ConnID {
		t.Fatalf("a join after the window reuses connId %s", w.ConnID)
	}
}

// TestResumeBadInput: forged, foreign and misdirected tokens are refused
// with no side effects; a second tab of a connected user is refused; a
// resume while the original socket is still open replaces that socket; a
// join during the window takes the place over.
func TestResumeBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	liveRoom(t, e, "lecturer")
	s1 := e.dial("student1")
	w1 := joinLecture(t, s1, e.lecture.ID)
	s2 := e.dial("student2")
	w2 := joinLecture(t, s2, e.lecture.ID)
	before, err := e.att.Events(ctx, e.lecture.ID)
	if err != nil {
		t.Fatal(err)
	}

	forged := make([]byte, resumeTokenBytes)
	rand.Read(forged)
	x := e.dial("student1")
	for _, c := range []struct{ name, token, lecture, code string }{
		{"forged", base64.RawURLEncoding.EncodeToString(forged), "", codeResumeExpired},
		{"not base64", "!!!not-a-token!!!", "", codeResumeExpired},
		{"too short", base64.RawURLEncoding.EncodeToString(forged[:16]), "", codeResumeExpired},
		{"another user's", w2.Resume, e.lecture.ID, codeResumeExpired},
		{"for another lecture", w1.Resume, e.other.ID, codeResumeExpired},
		{"missing", "", "", codeBadRequest},
	} {
		x.send(map[string]string{"type": "resume", "token": c.token, "lectureId": c.lecture})
		var m errorMsg
		decode(t, x.expect("error"), &m)
		if m.Code != c.code || m.Ref != "resume" {
			t.Errorf("%s token: error %+v, want %s", c.name, m, c.code)
		}
	}
	// A second tab of a connected student is refused, and changes nothing.
	x.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	x.expectError(codeDuplicate, "join")
	after, err := e.att.Events(ctx, e.lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("refused resumes and joins changed attendance: %d events, then %d", len(before), len(after))
	}
	expectQuiet(s1, "refused resumes")
	expectQuiet(s2, "refused resumes")
	if st := e.memberState(e.lecture.ID, "student1"); st != stateConnected {
		t.Fatalf("student1 is %q after refused attempts", st)
	}

	// A resume on a socket already in a lecture is refused.
	s2.send(map[string]string{"type": "resume", "token": w2.Resume})
	s2.expectError(codeAlreadyJoined, "resume")

	// A resume while the original socket is still open takes the
	// participant over; the old socket is closed with 4002.
	var closeErr error
	closed := make(chan struct{})
	s1.conn.SetCloseHandler(func(code int, text string) error {
		closeErr = &websocket.CloseError{Code: code, Text: text}
		close(closed)
		return nil
	})
	w1b := resumeAs(t, x, w1.Resume, e.lecture.ID)
	if w1b.ConnID != w1.ConnID {
		t.Fatalf("resume while connected gave connId %s, want %s", w1b.ConnID, w1.ConnID)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced socket was not closed")
	}
	var ce *websocket.CloseError
	if !errors.As(closeErr, &ce) || ce.Code != closeReplaced {
		t.Fatalf("replaced socket closed with %v, want code %d", closeErr, closeReplaced)
	}
	if evs := e.connEvents(e.lecture.ID, w1.ConnID); len(evs) != 1 {
		t.Fatalf("attendance after the takeover: %+v, want the one open interval", evs)
	}

	// A join (no token: the page was reloaded) during the window takes the
	// place over too.
	s2.conn.NetConn().Close()
	e.waitMemberState(e.lecture.ID, "student2", stateReconnecting)
	y := e.dial("student2")
	if w := joinLecture(t, y, e.lecture.ID); w.ConnID != w2.ConnID {
		t.Fatalf("join during the window gave connId %s, want %s", w.ConnID, w2.ConnID)
	}
	e.waitMemberState(e.lecture.ID, "student2", stateConnected)
	if evs := e.connEvents(e.lecture.ID, w2.ConnID); len(evs) != 1 {
		t.Fatalf("attendance after the rejoin: %+v, want the one open interval", evs)
	}

	// A leave is final: no window, the token dies with it.
	y.send(map[string]string{"type": "leave"})
	waitFor(t, "student2 has left", func() bool { return e.memberState(e.lecture.ID, "student2") == "" })
	z := e.dial("student2")
	z.send(map[string]string{"type": "resume", "token": w2.Resume})
	z.expectError(codeResumeExpired, "resume")
}

// TestIceRestartMessage: iceRestart gets a sub offer with new ICE
// credentials and media keeps flowing; wrong uses are refused. A failed
// media connection closes the socket with 1013 only if it stays failed
// for the grace period.
func TestIceRestartMessage(t *testing.T) {
	e := newEnv(t, envOptions{mediaFailGrace: 400 * time.Millisecond})
	x := e.dial("student2")
	x.send(map[string]string{"type": "iceRestart", "pc": "sub"})
	x.expectError(codeNotJoined, "iceRestart")
	joinLecture(t, x, e.other.ID) // scheduled: no media yet
	x.send(map[string]string{"type": "iceRestart", "pc": "sub"})
	x.expectError(codeNotLive, "iceRestart")
	if _, err := e.sched.Start(context.Background(), e.lecture.ID); err != nil {
		t.Fatal(err)
	}

	lect := e.dial("lecturer")
	lectRTC := newRTCClient(t, lect)
	joinLecture(t, lect, e.lecture.ID)
	lectRTC.publish()
	ws := e.dial("student1")
	rtc := newRTCClient(t, ws)
	joinLecture(t, ws, e.lecture.ID)
	rtc.waitMedia(25)

	for _, pc := range []string{"pub", "", "both"} {
		ws.send(map[string]string{"type": "iceRestart", "pc": pc})
		ws.expectError(codeBadRequest, "iceRestart")
	}
	rtc.mu.Lock()
	oldUfrag := sdpUfrag(rtc.sub.RemoteDescription().SDP)
	rtc.mu.Unlock()
	offers := rtc.offers.Load()
	ws.send(map[string]string{"type": "iceRestart", "pc": "sub"})
	waitFor(t, "the ICE restart offer is answered", func() bool { return rtc.offers.Load() > offers })
	rtc.mu.Lock()
	newUfrag := sdpUfrag(rtc.sub.RemoteDescription().SDP)
	rtc.mu.Unlock()
	if newUfrag == "" || newUfrag == oldUfrag {
		t.Fatalf("restart offer ice-ufrag %q, was %q: want new credentials", newUfrag, oldUfrag)
	}
	rtc.waitMediaWithin(25, 10*time.Second)

	// Failed, then recovered within the grace period: the socket stays.
	_, c := e.member(e.lecture.ID, "student1")
	closed := make(chan int, 1)
	ws.conn.SetCloseHandler(func(code int, _ string) error { closed <- code; return nil })
	c.mediaState(sfu.PeerFailed)
	time.Sleep(100 * time.Millisecond)
	c.mediaState(sfu.PeerConnected)
	time.Sleep(600 * time.Millisecond)
	expectQuiet(ws, "recovered media")
	// Failed for good: closed with 1013 after the grace period, and the
	// participant keeps its place for a resume.
	c.mediaState(sfu.PeerFailed)
	select {
	case code := <-closed:
		if code != websocket.CloseTryAgainLater {
			t.Fatalf("closed with %d, want 1013", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("socket not closed after the media stayed failed")
	}
	e.waitMemberState(e.lecture.ID, "student1", stateReconnecting)
}

// sdpUfrag is the first ice-ufrag of an SDP.
func sdpUfrag(sdp string) string {
	for l := range strings.SplitSeq(sdp, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}

// TestAllowDuplicateJoins: with the load-test setting, two connections of
// one user are two participants.
func TestAllowDuplicateJoins(t *testing.T) {
	e := newEnv(t, envOptions{allowDuplicateJoins: true})
	liveRoom(t, e, "lecturer")
	a := joinLecture(t, e.dial("student1"), e.lecture.ID)
	b := joinLecture(t, e.dial("student1"), e.lecture.ID)
	if a.ConnID == b.ConnID {
		t.Fatalf("both connections are participant %s", a.ConnID)
	}
	for _, w := range []welcome{a, b} {
		if evs := e.connEvents(e.lecture.ID, w.ConnID); len(evs) != 1 || evs[0].Kind != attendance.KindJoin {
			t.Fatalf("attendance of %s: %+v", w.ConnID, evs)
		}
	}
}

// TestEndAndShutdownDuringGrace: ending the lecture, or stopping the
// server, does not wait for the reconnect window; the participant in it
// leaves at its last sign of life, with the reason of its drop.
func TestEndAndShutdownDuringGrace(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer")
	lect := ws["lecturer"]
	s1 := e.dial("student1")
	w1 := joinLecture(t, s1, e.lecture.ID)
	lost := time.Now()
	s1.conn.NetConn().Close()
	e.waitMemberState(e.lecture.ID, "student1", stateReconnecting)
	time.Sleep(300 * time.Millisecond)
	lect.send(map[string]string{"type": "end"})
	lect.expect("lecture")
	evs := e.connEvents(e.lecture.ID, w1.ConnID)
	if len(evs) != 2 || evs[1].Kind != attendance.KindLeave || evs[1].Reason != attendance.ReasonDisconnected {
		t.Fatalf("attendance of the reconnecting student after the end: %+v", evs)
	}
	if d := evs[1].At.Sub(lost); d < -time.Second || d > 250*time.Millisecond {
		t.Fatalf("leave recorded %v after the drop, want at the drop", d)
	}
	if s := e.memberState(e.lecture.ID, "student1"); s != "" {
		t.Fatalf("student still in the room as %q after the end", s)
	}

	// Shutdown: a participant in its window in another live lecture.
	if _, err := e.sched.Start(context.Background(), e.other.ID); err != nil {
		t.Fatal(err)
	}
	s2 := e.dial("student2")
	w2 := joinLecture(t, s2, e.other.ID)
	s2.conn.NetConn().Close()
	e.waitMemberState(e.other.ID, "student2", stateReconnecting)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	evs = e.connEvents(e.other.ID, w2.ConnID)
	if len(evs) != 2 || evs[1].Kind != attendance.KindLeave || evs[1].Reason != attendance.ReasonDisconnected {
		t.Fatalf("attendance of the reconnecting student after shutdown: %+v", evs)
	}
}

// TestJoinReplacesSilentConnection: a join of the same user while the other
// connection still looks open but has missed its pongs (its network went
// without a close) takes that participant's place; while the other
// connection answers, the join is a duplicate.
func TestJoinReplacesSilentConnection(t *testing.T) {
	e := newEnv(t, envOptions{pingInterval: 200 * time.Millisecond})
	liveRoom(t, e, "lecturer")
	s1 := e.dial("student1")
	w1 := joinLecture(t, s1, e.lecture.ID)
	x := e.dial("student1")
	x.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	x.expectError(codeDuplicate, "join")

	// Pings go unanswered from now on.
	silent := e.dial("student2", func(c *websocket.Conn) { c.SetPingHandler(func(string) error { return nil }) })
	w2 := joinLecture(t, silent, e.lecture.ID)
	time.Sleep(500 * time.Millisecond) // two pings missed, not yet the 600 ms timeout
	if st := e.memberState(e.lecture.ID, "student2"); st != stateConnected {
		t.Fatalf("student2 is %q before the timeout", st)
	}
	y := e.dial("student2")
	if w := joinLecture(t, y, e.lecture.ID); w.ConnID != w2.ConnID {
		t.Fatalf("join replaced the silent connection as %s, want %s", w.ConnID, w2.ConnID)
	}
	if evs := e.connEvents(e.lecture.ID, w2.ConnID); len(evs) != 1 {
		t.Fatalf("attendance after the replacement: %+v, want the one open interval", evs)
	}
	expectQuiet(s1, "the other student's replacement")
	if evs := e.connEvents(e.lecture.ID, w1.ConnID); len(evs) != 1 {
		t.Fatalf("student1's attendance changed: %+v", evs)
	}
}
