package signaling

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/chat"
)

// joinLecture joins username to the test lecture and returns its socket
// after joined and chatHistory (whose messages are returned too).
func joinChat(t *testing.T, e *env, username string) (*wsClient, []chat.Message) {
	t.Helper()
	c := e.dial(username)
	c.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	c.expect("joined")
	var h chatHistoryMsg
	if err := json.Unmarshal(c.expect("chatHistory"), &h); err != nil {
		t.Fatal(err)
	}
	if h.Messages == nil {
		t.Fatalf("chatHistory without a messages array")
	}
	return c, h.Messages
}

// expectChat waits for the next chat broadcast.
func expectChat(t *testing.T, c *wsClient) chat.Message {
	t.Helper()
	var m chatMsg
	if err := json.Unmarshal(c.expect("chat"), &m); err != nil {
		t.Fatal(err)
	}
	return m.Message
}

// TestChatHistoryAndDelete: messages reach everyone in the room, a late
// joiner gets them as history right after joined, the lecturer deletes one
// and everyone is told, and the history then holds its tombstone.
func TestChatHistoryAndDelete(t *testing.T) {
	e := newEnv(t, envOptions{})
	lect, hist := joinChat(t, e, "lecturer")
	if len(hist) != 0 {
		t.Fatalf("new lecture has history %+v", hist)
	}
	s1, _ := joinChat(t, e, "student1")

	s1.send(map[string]string{"type": "chat", "text": "  Is the exam on Friday?  "})
	got := expectChat(t, s1)
	if got.Text != "Is the exam on Friday?" || got.UserID != e.users["student1"].ID || got.Name != "Anna Berzina" ||
		got.Role != "student" || got.SiteID != "riga" || got.ID == "" || got.At.IsZero() {
		t.Fatalf("echo = %+v", got)
	}
	if other := expectChat(t, lect); other.ID != got.ID {
		t.Fatalf("lecturer got %+v, want %s", other, got.ID)
	}
	lect.send(map[string]string{"type": "chat", "text": "Yes, at nine."})
	answer := expectChat(t, lect)
	expectChat(t, s1)

	late, hist := joinChat(t, e, "student2")
	if len(hist) != 2 || hist[0].ID != got.ID || hist[1].ID != answer.ID || hist[1].Text != "Yes, at nine." {
		t.Fatalf("late joiner's history = %+v", hist)
	}

	lect.send(map[string]string{"type": "deleteChat", "id": got.ID})
	for _, c := range []*wsClient{lect, s1, late} {
		var d chatDeletedMsg
		if err := json.Unmarshal(c.expect("chatDeleted"), &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != got.ID || d.By != e.users["lecturer"].ID {
			t.Fatalf("chatDeleted = %+v", d)
		}
	}
	_, hist = joinChat(t, e, "student3")
	if len(hist) != 2 || !hist[0].Deleted || hist[0].Text != "" || hist[0].DeletedBy != e.users["lecturer"].ID || hist[1].Deleted {
		t.Fatalf("history after delete = %+v", hist)
	}

	// Deleting it again, or an id that never existed: not_found.
	lect.send(map[string]string{"type": "deleteChat", "id": got.ID})
	lect.expectError(codeNotFound, "deleteChat")
	lect.send(map[string]string{"type": "deleteChat", "id": "1-1"})
	lect.expectError(codeNotFound, "deleteChat")
	lect.send(map[string]string{"type": "deleteChat", "id": "<script>"})
	lect.expectError(codeNotFound, "deleteChat")
	lect.send(map[string]string{"type": "deleteChat"})
	lect.expectError(codeBadRequest, "deleteChat")

	// An admin moderates too.
	adm, _ := joinChat(t, e, "admin")
	adm.send(map[string]string{"type": "deleteChat", "id": answer.ID})
	adm.expect("chatDeleted")
}

// TestChatDeleteForbidden: a student (and the lecturer of another lecture)
// cannot delete; the message stays.
func TestChatDeleteForbidden(t *testing.T) {
	e := newEnv(t, envOptions{})
	s1, _ := joinChat(t, e, "student1")
	s2, _ := joinChat(t, e, "student2")
	s2.send(map[string]string{"type": "chat", "text": "mine"})
	msg := expectChat(t, s2)
	expectChat(t, s1)

	s1.send(map[string]string{"type": "deleteChat", "id": msg.ID})
	s1.expectError(codeForbidden, "deleteChat")
	s2.send(map[string]string{"type": "deleteChat", "id": msg.ID})
	s2.expectError(codeForbidden, "deleteChat")
	other, _ := joinChat(t, e, "lecturer2") // a lecturer, but not of this lecture
	other.send(map[string]string{"type": "deleteChat", "id": msg.ID})
	other.expectError(codeForbidden, "deleteChat")

	hist, err := chat.NewStore(e.redis.Client, chat.Options{}).History(context.Background(), e.lecture.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Deleted || hist[0].Text != "mine" {
		t.Fatalf("history after refused deletes = %+v", hist)
	}
}

// TestChatScriptInjection: markup is stored and echoed exactly as typed, as
// plain text in a JSON string; nothing is interpreted or altered.
func TestChatScriptInjection(t *testing.T) {
	e := newEnv(t, envOptions{})
	s1, _ := joinChat(t, e, "student1")
	attempts := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror="alert(document.cookie)">`,
		`javascript:alert(1) https://example.org/?q=<b>x</b>&y="1"`,
		`</div><iframe src=//evil.example>`,
		"{{constructor.constructor('alert(1)')()}} ${alert(1)} \u202eevil",
	}
	for _, text := range attempts {
		s1.send(map[string]string{"type": "chat", "text": text})
		// Read the raw frame: the text must arrive as a JSON string equal
		// to what was sent.
		raw := s1.expect("chat")
		var m chatMsg
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.Message.Text != text {
			t.Fatalf("sent %q, echoed %q", text, m.Message.Text)
		}
		if strings.Contains(string(raw), "<script") {
			t.Fatalf("raw frame carries unescaped markup: %s", raw)
		}
	}
	_, hist := joinChat(t, e, "student2")
	if len(hist) != len(attempts) {
		t.Fatalf("history has %d messages, want %d", len(hist), len(attempts))
	}
	for i, m := range hist {
		if m.Text != attempts[i] {
			t.Fatalf("history[%d] = %q, want %q", i, m.Text, attempts[i])
		}
	}
}

// TestChatBadText: oversize, empty and control-character text is refused
// with the reason; nothing is stored.
func TestChatBadText(t *testing.T) {
	e := newEnv(t, envOptions{})
	s1, _ := joinChat(t, e, "student1")
	// Four refusals and one valid message: within the chat burst of five.
	cases := []struct{ text, reason string }{
		{strings.Repeat("a", chat.MaxRunes+1), "longer than"},
		{strings.Repeat("😀", chat.MaxRunes+1), "longer than"},
		{"   ", "empty"},
		{"bell\x07", "control character"},
	}
	for _, tc := range cases {
		s1.send(map[string]string{"type": "chat", "text": tc.text})
		var m errorMsg
		json.Unmarshal(s1.expect("error"), &m)
		if m.Code != codeBadRequest || m.Ref != "chat" || !strings.Contains(m.Message, tc.reason) || strings.HasPrefix(m.Message, "chat:") {
			t.Fatalf("error for %.20q = %+v, want bad_request saying %q", tc.text, m, tc.reason)
		}
	}
	// A message of exactly the limit is fine.
	s1.send(map[string]string{"type": "chat", "text": strings.Repeat("я", chat.MaxRunes)})
	expectChat(t, s1)
	// Over the socket's 64 KiB limit: too_large, before any chat handling.
	s1.send(map[string]string{"type": "chat", "text": strings.Repeat("a", 70<<10)})
	s1.expectError(codeTooLarge, "")

	hist, err := chat.NewStore(e.redis.Client, chat.Options{}).History(context.Background(), e.lecture.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("%d messages stored, want only the valid one", len(hist))
	}
}

// TestChatFlood: past a burst of five, messages are refused with
// rate_limited and not stored; the limit is per connection, so another
// participant can still talk; after a pause the sender may post again.
func TestChatFlood(t *testing.T) {
	e := newEnv(t, envOptions{})
	s1, _ := joinChat(t, e, "student1")
	s2, _ := joinChat(t, e, "student2")
	const sent = 20
	began := time.Now()
	for i := range sent {
		s1.send(map[string]string{"type": "chat", "text": "spam " + string(rune('a'+i))})
	}
	posted, limited := 0, 0
	for posted+limited < sent {
		raw := s1.expectAny("chat", "error")
		var h struct {
			Type string
			Code string
		}
		json.Unmarshal(raw, &h)
		switch {
		case h.Type == "chat":
			posted++
		case h.Code == codeRateLimited:
			limited++
		default:
			t.Fatalf("unexpected %s", raw)
		}
	}
	// A burst of five, and at most what the rate refilled meanwhile (one a
	// second; a loaded machine may take a while to answer twenty).
	refilled := int(time.Since(began).Seconds()*chatRate) + 1
	if posted < chatBurst || posted > chatBurst+refilled || limited < sent-chatBurst-refilled {
		t.Fatalf("%d of %d flood messages were posted and %d refused, want %d (+%d refilled)", posted, sent, limited, chatBurst, refilled)
	}
	t.Logf("flood of %d: %d posted, %d refused with rate_limited in %v", sent, posted, limited, time.Since(began).Round(time.Millisecond))
	hist, err := chat.NewStore(e.redis.Client, chat.Options{}).History(context.Background(), e.lecture.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != posted {
		t.Fatalf("%d messages stored, %d posted", len(hist), posted)
	}

	s2.send(map[string]string{"type": "chat", "text": "I can still talk"})
	for {
		if m := expectChat(t, s2); m.Text == "I can still talk" {
			break
		}
	}
	time.Sleep(1100 * time.Millisecond)
	s1.send(map[string]string{"type": "chat", "text": "sorry"})
	for {
		if m := expectChat(t, s1); m.Text == "sorry" {
			break
		}
	}
}

// TestChatNeedsJoin: chat before join is refused.
func TestChatNeedsJoin(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial("student1")
	c.send(map[string]string{"type": "chat", "text": "hello"})
	c.expectError(codeNotJoined, "chat")
}

// expectAny waits for the next queued message of one of types.
func (c *wsClient) expectAny(types ...string) json.RawMessage {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.queue:
			var h struct{ Type string }
			json.Unmarshal(m, &h)
			for _, typ := range types {
				if h.Type == typ {
					return m
				}
			}
		case <-c.closed:
			c.t.Fatalf("connection closed while waiting for %q", types)
		case <-timeout:
			c.t.Fatalf("no %q message within 10s", types)
		}
	}
}
