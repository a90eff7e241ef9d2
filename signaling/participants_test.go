package signaling

import (
	"encoding/json"
	"testing"
	"time"
)

// waitParticipant reads c's participants messages until userID's entry
// satisfies ok, and returns it with the whole list.
func waitParticipant(t *testing.T, c *wsClient, userID string, ok func(Participant) bool) (Participant, []Participant) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last Participant
	for time.Now().Before(deadline) {
		var m participantsMsg
		if err := json.Unmarshal(c.expect("participants"), &m); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Participants {
			if p.UserID == userID {
				last = p
				if ok(p) {
					return p, m.Participants
				}
			}
		}
	}
	t.Fatalf("participant %s never matched; last %+v", userID, last)
	return last, nil
}

// TestParticipantStates: entries carry the site's name and the connection
// state; choosing audio only shows as audio-only to everyone, and going
// back to auto as connected.
func TestParticipantStates(t *testing.T) {
	e := newEnv(t, envOptions{})
	lect := e.dial("lecturer")
	lectRTC := newRTCClient(t, lect)
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")
	lect.send(map[string]string{"type": "start"})
	lect.expect("lecture")
	lectRTC.publish()

	ws := e.dial("student1")
	rtc := newRTCClient(t, ws)
	ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	ws.expect("joined")
	rtc.waitMedia(20)

	student := e.users["student1"].ID
	p, all := waitParticipant(t, lect, student, func(p Participant) bool { return p.State == ParticipantConnected })
	if p.SiteID != "riga" || p.SiteName != "Riga" {
		t.Fatalf("student's entry = %+v, want site riga named Riga", p)
	}
	for _, me := range all {
		if me.UserID == e.users["lecturer"].ID && (me.SiteName != "Osh" || me.State != ParticipantConnected) {
			t.Fatalf("lecturer's entry = %+v", me)
		}
	}

	ws.send(map[string]string{"type": "preference", "video": "audio-only"})
	waitParticipant(t, lect, student, func(p Participant) bool { return p.State == ParticipantAudioOnly })
	ws.send(map[string]string{"type": "preference", "video": "auto"})
	waitParticipant(t, lect, student, func(p Participant) bool { return p.State == ParticipantConnected })
	rtc.close()
	lectRTC.close()
}
