package signaling

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/sfu"
)

// liveRoom starts e.lecture and joins the named users to it, in order; it
// returns their connections.
func liveRoom(t *testing.T, e *env, users ...string) map[string]*wsClient {
	t.Helper()
	if _, err := e.sched.Start(context.Background(), e.lecture.ID); err != nil {
		t.Fatal(err)
	}
	out := map[string]*wsClient{}
	for _, u := range users {
		ws := e.dial(u)
		ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
		ws.expect("joined")
		out[u] = ws
	}
	return out
}

// member finds username's server-side connection in the room of lecture.
func (e *env) member(lectureID, username string) (*room, *client) {
	e.t.Helper()
	e.server.mu.Lock()
	r := e.server.rooms[lectureID]
	e.server.mu.Unlock()
	if r == nil {
		e.t.Fatalf("no room for %s", lectureID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.members {
		if c.user.Username == username {
			return r, c
		}
	}
	e.t.Fatalf("%s is not in the room", username)
	return nil, nil
}

// expectQuiet sends a message known to be refused with codeBadRequest and
// checks that that refusal is the next error: whatever was sent before it
// was accepted.
func expectQuiet(ws *wsClient, ref string) {
	ws.t.Helper()
	ws.send(map[string]any{"type": "displaySize", "stream": "s", "track": "t", "width": -1, "height": 0})
	var m errorMsg
	decode(ws.t, ws.expect("error"), &m)
	if m.Code != codeBadRequest || m.Ref != "displaySize" {
		ws.t.Fatalf("after %s: error %+v, want only the probe's bad_request", ref, m)
	}
}

// TestSourceMessage checks the lecturer's track source declarations and
// every way of getting one wrong.
func TestSourceMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Before joining, and before the lecture is live.
	early := e.dial("lecturer2")
	early.send(map[string]string{"type": "source", "track": "t1", "source": "screen"})
	early.expectError(codeNotJoined, "source")
	early.send(map[string]string{"type": "join", "lectureId": e.other.ID})
	early.expect("joined")
	early.send(map[string]string{"type": "source", "track": "t1", "source": "screen"})
	early.expectError(codeNotLive, "source")

	ws := liveRoom(t, e, "lecturer", "student1")
	lect, student := ws["lecturer"], ws["student1"]
	for _, src := range []string{"screen", "camera", "microphone"} {
		lect.send(map[string]string{"type": "source", "track": "track-" + src, "source": src})
	}
	expectQuiet(lect, "source")

	for _, c := range []struct {
		name string
		msg  map[string]any
		code string
	}{
		{"unknown source", map[string]any{"type": "source", "track": "t1", "source": "hologram"}, codeBadRequest},
		{"no source", map[string]any{"type": "source", "track": "t1"}, codeBadRequest},
		{"no track", map[string]any{"type": "source", "source": "screen"}, codeBadRequest},
		{"long track", map[string]any{"type": "source", "track": strings.Repeat("x", 257), "source": "screen"}, codeBadRequest},
	} {
		lect.send(c.msg)
		var m errorMsg
		decode(t, lect.expect("error"), &m)
		if m.Code != c.code || m.Ref != "source" || m.Message == "" {
			t.Errorf("%s: error %+v, want %s", c.name, m, c.code)
		}
	}
	// A student does not publish without the floor.
	student.send(map[string]string{"type": "source", "track": "t1", "source": "screen"})
	student.expectError(codeNoFloor, "source")
	// Both connections are still usable.
	expectQuiet(lect, "the refusals")
	expectQuiet(student, "the refusals")
}

// TestDisplaySizeMessage checks displaySize and its bounds.
func TestDisplaySizeMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	waiting := e.dial("student2")
	waiting.send(map[string]string{"type": "join", "lectureId": e.other.ID})
	waiting.expect("joined")
	waiting.send(map[string]any{"type": "displaySize", "stream": "s", "track": "t", "width": 640, "height": 360})
	waiting.expectError(codeNotLive, "displaySize")

	ws := liveRoom(t, e, "lecturer", "student1")
	student := ws["student1"]
	for _, size := range [][2]any{{640, 360}, {0, 0}, {8192, 8192}, {1280.0, 720.0}} {
		student.send(map[string]any{"type": "displaySize", "stream": "c_1", "track": "v1", "width": size[0], "height": size[1]})
	}
	// The lecturer may say how large it shows its own tracks, too.
	ws["lecturer"].send(map[string]any{"type": "displaySize", "stream": "c_1", "track": "v1", "width": 320, "height": 180})
	expectQuiet(student, "good sizes")
	expectQuiet(ws["lecturer"], "good sizes")

	for _, c := range []struct {
		name string
		raw  string
	}{
		{"negative", `{"type":"displaySize","stream":"s","track":"t","width":-1,"height":10}`},
		{"too wide", `{"type":"displaySize","stream":"s","track":"t","width":8193,"height":10}`},
		{"too tall", `{"type":"displaySize","stream":"s","track":"t","width":10,"height":1e9}`},
		{"fraction", `{"type":"displaySize","stream":"s","track":"t","width":640.5,"height":360}`},
		{"string", `{"type":"displaySize","stream":"s","track":"t","width":"640","height":360}`},
		{"null", `{"type":"displaySize","stream":"s","track":"t","width":null,"height":360}`},
		{"object", `{"type":"displaySize","stream":"s","track":"t","width":{},"height":360}`},
		{"missing height", `{"type":"displaySize","stream":"s","track":"t","width":640}`},
		{"missing stream", `{"type":"displaySize","track":"t","width":640,"height":360}`},
		{"missing track", `{"type":"displaySize","stream":"s","width":640,"height":360}`},
		{"long stream", `{"type":"displaySize","stream":"` + strings.Repeat("s", 257) + `","track":"t","width":640,"height":360}`},
	} {
		student.sendRaw([]byte(c.raw))
		var m errorMsg
		decode(t, student.expect("error"), &m)
		if m.Code != codeBadRequest || m.Ref != "displaySize" || m.Message == "" {
			t.Errorf("%s: error %+v, want bad_request", c.name, m)
		}
	}
	expectQuiet(student, "the refusals")
}

// TestPeerOptions checks what the room asks of the SFU for each member.
func TestPeerOptions(t *testing.T) {
	e := newEnv(t, envOptions{})
	liveRoom(t, e, "lecturer", "student1", "admin")
	for _, c := range []struct {
		user      string
		site      string
		publish   bool
		presenter bool
	}{
		{"lecturer", "osh", true, true},
		{"student1", "riga", false, false},
		{"admin", "osh", false, false},
	} {
		r, mc := e.member(e.lecture.ID, c.user)
		o := r.peerOptions(mc)
		if o.Site != c.site || o.Publish != c.publish || o.Presenter != c.presenter ||
			o.OnQuality == nil || o.OnActiveSpeaker == nil || o.OnSignal == nil || o.OnState == nil {
			t.Errorf("%s: options %+v", c.user, o)
		}
	}
}

// TestSpeakerAndQualityMessages checks that the SFU's reports reach the
// right clients: the speaker to its own subscriber, a link quality to the
// subscriber itself, and per-site counts to the lecturer (and admins) only,
// coalesced and at most every siteQualityInterval.
func TestSpeakerAndQualityMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := liveRoom(t, e, "lecturer", "student1", "student2", "student3")
	lect := ws["lecturer"]

	// Joining sends the lecturer the first picture: everyone good.
	// (On a slow machine the first may come before every student is in.)
	waitSiteQuality(t, lect, []SiteQuality{{ID: "osh", Name: "Osh", Good: 1}, {ID: "riga", Name: "Riga", Good: 2}})
	firstAt := time.Now()

	r, lc := e.member(e.lecture.ID, "lecturer")
	for _, name := range []string{"student1", "student2", "student3", "lecturer"} {
		_, mc := e.member(e.lecture.ID, name)
		r.peerOptions(mc).OnActiveSpeaker(lc.id)
		var m speakerMsg
		decode(t, ws[name].expect("speaker"), &m)
		if m.Conn != lc.id {
			t.Fatalf("%s: speaker %+v, want %s", name, m, lc.id)
		}
	}
	_, s1 := e.member(e.lecture.ID, "student1")
	r.peerOptions(s1).OnActiveSpeaker("")
	var sm speakerMsg
	decode(t, ws["student1"].expect("speaker"), &sm)
	if sm.Conn != "" {
		t.Fatalf("nobody speaking: %+v", sm)
	}

	// student1's link gets weak, then student2's goes to audio only: one
	// coalesced message no sooner than the interval after the first.
	_, s2 := e.member(e.lecture.ID, "student2")
	r.peerOptions(s1).OnQuality(sfu.QualityWeak)
	r.peerOptions(s2).OnQuality(sfu.QualityAudioOnly)
	for name, q := range map[string]string{"student1": "weak", "student2": "audio-only"} {
		var m qualityMsg
		decode(t, ws[name].expect("quality"), &m)
		if m.Quality != q {
			t.Fatalf("%s: quality %+v, want %s", name, m, q)
		}
	}
	next := readSiteQuality(t, lect)
	want := []SiteQuality{{ID: "osh", Name: "Osh", Good: 1}, {ID: "riga", Name: "Riga", Weak: 1, AudioOnly: 1}}
	if !equalSites(next.Sites, want) {
		t.Fatalf("siteQuality %+v, want %+v (both changes in one message)", next.Sites, want)
	}
	// At most one message per interval (less a margin for delivery).
	if d := time.Since(firstAt); d < siteQualityInterval-300*time.Millisecond {
		t.Fatalf("second siteQuality %v after the first, want at least %v", d, siteQualityInterval)
	}

	// A report that changes nothing sends nothing; a student leaving does.
	r.peerOptions(s1).OnQuality(sfu.QualityWeak)
	ws["student3"].send(map[string]string{"type": "leave"})
	last := readSiteQuality(t, lect)
	want = []SiteQuality{{ID: "riga", Name: "Riga", Weak: 1, AudioOnly: 1}}
	if !equalSites(last.Sites, want) {
		t.Fatalf("after a leave: %+v, want %+v", last.Sites, want)
	}
	// Students never receive the per-site picture.
	for _, name := range []string{"student1", "student2"} {
		for {
			select {
			case m := <-ws[name].queue:
				if strings.Contains(string(m), `"siteQuality"`) {
					t.Fatalf("%s received %s", name, m)
				}
				continue
			default:
			}
			break
		}
	}
}

// waitSiteQuality reads siteQuality messages until one says want.
func waitSiteQuality(t *testing.T, ws *wsClient, want []SiteQuality) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := readSiteQuality(t, ws)
		if equalSites(m.Sites, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("siteQuality %+v, want %+v", m.Sites, want)
		}
	}
}

func readSiteQuality(t *testing.T, ws *wsClient) siteQualityMsg {
	t.Helper()
	var m siteQualityMsg
	decode(t, ws.expect("siteQuality"), &m)
	return m
}

func equalSites(a, b []SiteQuality) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
