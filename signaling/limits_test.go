package signaling

import (
	"context"
	"testing"

	"github.com/bomca/lecturelink/schedule"
)

// leaveLecture sends a leave and waits until the server has handled it:
// a second leave is answered not_joined only after the first is done.
func leaveLecture(t *testing.T, ws *wsClient) {
	t.Helper()
	ws.send(map[string]string{"type": "leave"})
	ws.send(map[string]string{"type": "leave"})
	ws.expectError(codeNotJoined, msgLeave)
}

// startLecture has the lecturer join e.lecture and start it.
func (e *env) startLecture() *wsClient {
	e.t.Helper()
	lect := e.dial("lecturer")
	joinLecture(e.t, lect, e.lecture.ID)
	lect.send(map[string]string{"type": "start"})
	if got := lectureState(e.t, lect.expect("lecture")); got != schedule.StateLive {
		e.t.Fatalf("lecture is %q after start", got)
	}
	return lect
}

// joinedEver reports whether username has a join in the lecture's attendance.
func (e *env) joinedEver(lectureID, username string) bool {
	e.t.Helper()
	evs, err := e.att.Events(context.Background(), lectureID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.UserID == e.users[username].ID {
			return true
		}
	}
	return false
}

// TestLectureFull: with room for two participants, the third student is
// refused with lecture_full and leaves no trace in attendance; moderators
// still get in; once a student leaves, the refused one gets in.
func TestLectureFull(t *testing.T) {
	e := newEnv(t, envOptions{maxLectureParticipants: 2})
	lect := e.startLecture()
	s1, s2, s3 := e.dial("student1"), e.dial("student2"), e.dial("student3")
	joinLecture(t, s1, e.lecture.ID)
	joinLecture(t, s2, e.lecture.ID)

	s3.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s3.expectError(codeLectureFull, msgJoin)
	if e.joinedEver(e.lecture.ID, "student3") {
		t.Fatal("the refused student has attendance")
	}

	// Moderators are not shed: an admin comes in, and the lecturer leaves
	// and comes back, into the full lecture.
	joinLecture(t, e.dial("admin"), e.lecture.ID)
	leaveLecture(t, lect)
	joinLecture(t, e.dial("lecturer"), e.lecture.ID)

	// The same socket tries again once a place is free.
	s3.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s3.expectError(codeLectureFull, msgJoin)
	leaveLecture(t, s1)
	joinLecture(t, s3, e.lecture.ID)
	if !e.joinedEver(e.lecture.ID, "student3") {
		t.Fatal("the admitted student has no attendance")
	}
	// student1's place is taken again.
	s1.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s1.expectError(codeLectureFull, msgJoin)
}

// TestServerBusy: with room for three participants on the server, live or
// waiting, a fourth is refused with server_busy, in any lecture, and leaves
// no trace; moderators get in past the limit; seats come back as people
// leave.
func TestServerBusy(t *testing.T) {
	e := newEnv(t, envOptions{maxMediaPeers: 3})
	e.startLecture()
	s1, s2, s3 := e.dial("student1"), e.dial("student2"), e.dial("student3")
	joinLecture(t, s1, e.lecture.ID)
	joinLecture(t, s2, e.lecture.ID)

	s3.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s3.expectError(codeServerBusy, msgJoin)
	if e.joinedEver(e.lecture.ID, "student3") {
		t.Fatal("the refused student has attendance")
	}
	// A waiting participant of another lecture needs a seat too.
	s3.send(map[string]string{"type": "join", "lectureId": e.other.ID})
	s3.expectError(codeServerBusy, msgJoin)

	// Moderators get in past the limit, each to a lecture they run.
	admin := e.dial("admin")
	joinLecture(t, admin, e.lecture.ID)
	lect2 := e.dial("lecturer2")
	joinLecture(t, lect2, e.other.ID)
	if n := e.server.seats.used(); n != 5 {
		t.Fatalf("seats used = %d, want 5", n)
	}

	leaveLecture(t, admin)
	leaveLecture(t, lect2)
	leaveLecture(t, s1)
	joinLecture(t, s3, e.lecture.ID)
	if !e.joinedEver(e.lecture.ID, "student3") {
		t.Fatal("the admitted student has no attendance")
	}
	s1.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	s1.expectError(codeServerBusy, msgJoin)
	if n := e.server.seats.used(); n != 3 {
		t.Fatalf("seats used = %d, want 3", n)
	}
}
