package signaling

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// TestLiveLecture runs a whole lecture: a student waiting before the start
// is let in when the lecturer starts, two more join while it is live, all
// three receive the lecturer's video and audio, attendance records every
// join before media flows, and ending the lecture tells everyone, stops
// media and closes attendance.
func TestLiveLecture(t *testing.T) {
	// Registered first, so it runs after every other cleanup has closed the
	// server, the SFU and the clients.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	early := e.dial("student1")
	earlyRTC := newRTCClient(t, early)
	early.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	joined := early.expect("joined")
	if got := lectureState(t, joined); got != schedule.StateScheduled {
		t.Fatalf("waiting student sees state %q", got)
	}
	var jm joinedMsg
	json.Unmarshal(joined, &jm)
	if jm.CanPublish || jm.CanEnd || jm.Role != "student" {
		t.Fatalf("student joined with %+v", jm)
	}

	lect := e.dial("lecturer")
	lectRTC := newRTCClient(t, lect)
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	json.Unmarshal(lect.expect("joined"), &jm)
	if !jm.CanPublish || !jm.CanEnd || jm.Role != "lecturer" {
		t.Fatalf("lecturer joined with %+v", jm)
	}
	lect.send(map[string]string{"type": "start"})
	if got := lectureState(t, lect.expect("lecture")); got != schedule.StateLive {
		t.Fatalf("lecturer sees %q after start", got)
	}
	if got := lectureState(t, early.expect("lecture")); got != schedule.StateLive {
		t.Fatalf("waiting student sees %q after start", got)
	}
	lectRTC.publish()

	students := []*rtcClient{earlyRTC}
	for _, name := range []string{"student2", "student3"} {
		ws := e.dial(name)
		rtc := newRTCClient(t, ws)
		ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
		if got := lectureState(t, ws.expect("joined")); got != schedule.StateLive {
			t.Fatalf("%s joined a lecture in state %q", name, got)
		}
		students = append(students, rtc)
	}
	for _, s := range students {
		s.waitMedia(25)
	}

	var parts participantsMsg
	deadline := time.Now().Add(5 * time.Second)
	for len(parts.Participants) != 4 && time.Now().Before(deadline) {
		json.Unmarshal(lect.expect("participants"), &parts)
	}
	if len(parts.Participants) != 4 {
		t.Fatalf("lecturer sees %d participants, want 4", len(parts.Participants))
	}

	summary, err := e.att.Summary(ctx, e.lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, p := range summary {
		if p.Connected {
			present[p.UserID] = true
		}
	}
	for _, name := range []string{"lecturer", "student1", "student2", "student3"} {
		if !present[e.users[name].ID] {
			t.Errorf("attendance does not show %s connected: %+v", name, summary)
		}
	}

	lect.send(map[string]string{"type": "end"})
	for _, s := range students {
		if got := lectureState(t, s.ws.expect("lecture")); got != schedule.StateEnded {
			t.Fatalf("student sees %q after end", got)
		}
	}
	l, err := e.sched.Lecture(ctx, e.lecture.ID)
	if err != nil || l.State != schedule.StateEnded || l.StartedAt == nil || l.EndedAt == nil {
		t.Fatalf("stored lecture after end: %+v, %v", l, err)
	}
	events, err := e.att.Events(ctx, e.lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	joins, leaves := 0, 0
	for _, ev := range events {
		switch ev.Kind {
		case attendance.KindJoin:
			joins++
		case attendance.KindLeave:
			leaves++
			if ev.Reason != attendance.ReasonEnded {
				t.Errorf("leave reason %q, want %q", ev.Reason, attendance.ReasonEnded)
			}
		}
	}
	if joins != 4 || leaves != 4 {
		t.Fatalf("attendance has %d joins and %d leaves, want 4 and 4: %+v", joins, leaves, events)
	}
	if st := e.media.Stats(); st.Peers != 0 || st.PublishedTracks != 0 {
		t.Fatalf("media still held after end: %+v", st)
	}

	// After the end, media stops: counts freeze.
	v := students[1].videoPackets.Load()
	time.Sleep(300 * time.Millisecond)
	if got := students[1].videoPackets.Load(); got > v+5 {
		t.Fatalf("video still flowing after end: %d → %d packets", v, got)
	}

	// Ended lectures cannot be restarted.
	lect.send(map[string]string{"type": "start"})
	lect.expectError(codeEnded, "start")
	for _, s := range append(students, lectRTC) {
		s.close()
	}
}

// TestVanishedClient checks that a client that stops answering pings is
// noticed and, once its reconnect window is over, its leave recorded at its
// last sign of life.
func TestVanishedClient(t *testing.T) {
	e := newEnv(t, envOptions{pingInterval: 100 * time.Millisecond, resumeGrace: 500 * time.Millisecond})
	ctx := context.Background()
	if _, err := e.sched.Start(ctx, e.lecture.ID); err != nil {
		t.Fatal(err)
	}
	// Pings go unanswered, as from a laptop whose lid was closed.
	ws := e.dial("student1", func(c *websocket.Conn) { c.SetPingHandler(func(string) error { return nil }) })
	ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	ws.expect("joined")
	lastSent := time.Now()
	ws.send(map[string]string{"type": "no-such-type"})
	ws.expectError(codeUnknownType, "no-such-type")

	var leave *attendance.Event
	deadline := time.Now().Add(5 * time.Second)
	for leave == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		events, err := e.att.Events(ctx, e.lecture.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range events {
			if events[i].Kind == attendance.KindLeave {
				leave = &events[i]
			}
		}
	}
	if leave == nil {
		t.Fatal("no leave recorded for a client that stopped answering")
	}
	if leave.Reason != attendance.ReasonTimeout {
		t.Fatalf("leave reason %q, want %q", leave.Reason, attendance.ReasonTimeout)
	}
	if d := leave.At.Sub(lastSent); d < -time.Second || d > 300*time.Millisecond {
		t.Fatalf("leave recorded %v after the last sign of life; want it at the last sign of life", d)
	}
}

// TestStartCancelledLecture checks that a lecture an admin cancelled while
// its lecturer had the room open cannot be started.
func TestStartCancelledLecture(t *testing.T) {
	e := newEnv(t, envOptions{})
	lect := e.dial("lecturer")
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")
	if _, err := e.sched.CancelLecture(context.Background(), e.lecture.ID, "instructor ill"); err != nil {
		t.Fatal(err)
	}
	lect.send(map[string]string{"type": "start"})
	lect.expectError(codeCancelled, "start")
	l, err := e.sched.Lecture(context.Background(), e.lecture.ID)
	if err != nil || l.State != schedule.StateCancelled {
		t.Fatalf("lecture after refused start: %+v, %v", l, err)
	}
}

// TestAudioOnlyPreference checks that a student who chooses audio-only
// stops receiving video RTP while audio continues, that "auto" brings video
// back, and that bad or early preferences are refused.
func TestAudioOnlyPreference(t *testing.T) {
	e := newEnv(t, envOptions{})
	lect := e.dial("lecturer")
	lectRTC := newRTCClient(t, lect)
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")

	ws := e.dial("student1")
	rtc := newRTCClient(t, ws)
	ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	ws.expect("joined")
	ws.send(map[string]string{"type": "preference", "video": "audio-only"})
	ws.expectError(codeNotLive, "preference")

	lect.send(map[string]string{"type": "start"})
	lect.expect("lecture")
	lectRTC.publish()
	rtc.waitMedia(20)

	ws.send(map[string]string{"type": "preference", "video": "sideways"})
	ws.expectError(codeBadRequest, "preference")
	ws.send(map[string]string{"type": "preference", "video": "audio-only"})
	time.Sleep(300 * time.Millisecond) // packets already in flight
	v0, a0 := rtc.videoPackets.Load(), rtc.audioPackets.Load()
	time.Sleep(time.Second)
	v1, a1 := rtc.videoPackets.Load(), rtc.audioPackets.Load()
	if v1-v0 > 2 || a1-a0 < 20 {
		t.Fatalf("audio-only: %d video and %d audio packets in a second; want no video, audio going on", v1-v0, a1-a0)
	}
	ws.send(map[string]string{"type": "preference", "video": "auto"})
	deadline := time.Now().Add(10 * time.Second)
	for rtc.videoPackets.Load() < v1+20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := rtc.videoPackets.Load(); got < v1+20 {
		t.Fatalf("video did not come back after auto: %d → %d packets", v1, got)
	}
	rtc.close()
	lectRTC.close()
}
