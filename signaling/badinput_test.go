package signaling

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestBadMessages sends each kind of bad input and checks that the sender
// gets the documented error, the connection survives, and a bystander in the
// same lecture is not disturbed.
func TestBadMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.sched.Start(context.Background(), e.lecture.ID); err != nil {
		t.Fatal(err)
	}
	bystander := e.dial("student2")
	bystander.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	bystander.expect("joined")

	ws := e.dial("student1")
	// Before joining.
	ws.send(map[string]string{"type": "start"})
	ws.expectError(codeNotJoined, "start")
	ws.send(map[string]string{"type": "join", "lectureId": "lec_nope"})
	ws.expectError(codeNotFound, "join")
	ws.send(map[string]string{"type": "join"})
	ws.expectError(codeBadRequest, "join")

	cases := []struct {
		name string
		raw  string
		code string
		ref  string
	}{
		{"not JSON", `{"type": "join", `, codeBadJSON, ""},
		{"JSON array", `[1,2,3]`, codeBadJSON, ""},
		{"wrong field type", `{"type":"offer","pc":"pub","sdp":42}`, codeBadJSON, ""},
		{"unknown type", `{"type":"launch-missiles"}`, codeUnknownType, "launch-missiles"},
		{"missing type", `{"lectureId":"x"}`, codeUnknownType, ""},
		{"too large", `{"type":"answer","pc":"sub","sdp":"` + strings.Repeat("a", 70<<10) + `"}`, codeTooLarge, ""},
	}
	for _, c := range cases {
		ws.sendRaw([]byte(c.raw))
		ws.expectError(c.code, c.ref)
	}

	ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	ws.expect("joined")
	ws.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	ws.expectError(codeAlreadyJoined, "join")
	// A student may not start, end or publish.
	ws.send(map[string]string{"type": "start"})
	ws.expectError(codeForbidden, "start")
	ws.send(map[string]string{"type": "end"})
	ws.expectError(codeForbidden, "end")
	ws.send(map[string]string{"type": "offer", "pc": "pub", "sdp": "v=0\r\n"})
	ws.expectError(codeNoFloor, "offer")
	// Broken negotiation.
	ws.send(map[string]string{"type": "answer", "pc": "sub", "sdp": "this is not SDP"})
	ws.expectError(codeBadSDP, "answer")
	ws.send(map[string]string{"type": "answer", "pc": "pub", "sdp": "v=0"})
	ws.expectError(codeBadRequest, "answer")
	ws.send(map[string]any{"type": "candidate", "pc": "sub", "candidate": map[string]any{"candidate": "candidate:garbage"}})
	ws.expectError(codeBadCandidate, "candidate")

	// The lecturer's broken offer is refused too.
	lect := e.dial("lecturer")
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")
	lect.send(map[string]string{"type": "offer", "pc": "pub", "sdp": "v=0\r\nnonsense"})
	lect.expectError(codeBadSDP, "offer")

	// Everyone is still connected and the bystander saw only normal traffic.
	ws.send(map[string]string{"type": "leave"})
	var parts participantsMsg
	for len(parts.Participants) != 2 {
		decode(t, bystander.expect("participants"), &parts)
	}
	select {
	case m := <-bystander.queue:
		if strings.Contains(string(m), `"error"`) {
			t.Fatalf("bystander received %s", m)
		}
	default:
	}
}

// TestFloodIsLimited checks the per-connection message rate limit.
func TestFloodIsLimited(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws := e.dial("student1")
	for range msgBurst + 20 {
		ws.sendRaw([]byte(`{"type":"leave"}`))
	}
	limited := 0
	for range msgBurst + 20 {
		var m errorMsg
		decode(t, ws.expect("error"), &m)
		if m.Code == codeRateLimited {
			limited++
		}
	}
	if limited < 10 {
		t.Fatalf("%d of %d flooded messages were rate limited", limited, msgBurst+20)
	}
	// A client that keeps flooding is disconnected (its writes then fail).
	for range maxDropped + msgBurst {
		ws.writeMu.Lock()
		err := ws.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"leave"}`))
		ws.writeMu.Unlock()
		if err != nil {
			break
		}
	}
	select {
	case <-ws.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a flooding client was not disconnected")
	}
}

// TestWebSocketRefusals checks the upgrade's authentication and origin checks.
func TestWebSocketRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	url := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws"
	cookie := e.login("student1").String()
	for _, c := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"no cookie", http.Header{"Origin": {e.http.URL}}, http.StatusUnauthorized},
		{"bad cookie", http.Header{"Origin": {e.http.URL}, "Cookie": {sessionCookie + "=forged"}}, http.StatusUnauthorized},
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}, "Cookie": {cookie}}, http.StatusForbidden},
	} {
		conn, resp, err := websocket.DefaultDialer.Dial(url, c.header)
		if err == nil {
			conn.Close()
			t.Errorf("%s: upgrade succeeded", c.name)
			continue
		}
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: got %v, want status %d", c.name, resp, c.status)
		}
	}
}
