package chat

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

func msg(lec, user, text string) Message {
	return Message{LectureID: lec, UserID: user, Name: "Name " + user, Role: "student", SiteID: "riga", Text: text}
}

func mustPost(t *testing.T, s *Store, m Message) Message {
	t.Helper()
	got, err := s.Post(context.Background(), m)
	if err != nil {
		t.Fatalf("Post(%q): %v", m.Text, err)
	}
	return got
}

func texts(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		if m.Deleted {
			out[i] = "<deleted by " + m.DeletedBy + ">"
		} else {
			out[i] = m.Text
		}
	}
	return out
}

func TestPostAndHistory(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	a := mustPost(t, s, msg("lec_a", "u_anna", "  Good morning from Riga  "))
	clk.Add(time.Second)
	mustPost(t, s, msg("lec_b", "u_emil", "other lecture"))
	b := mustPost(t, s, msg("lec_a", "u_emil", "line one\nline two"))
	if a.ID == "" || a.Text != "Good morning from Riga" || !a.At.Equal(t0) {
		t.Fatalf("posted %+v: want an id, trimmed text and the clock's time", a)
	}
	h, err := s.History(ctx, "lec_a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(texts(h), "|"); got != "Good morning from Riga|line one\nline two" {
		t.Fatalf("history = %q", got)
	}
	if h[1].ID != b.ID || h[1].UserID != "u_emil" || h[1].Name != "Name u_emil" || h[1].SiteID != "riga" || !h[1].At.Equal(t0.Add(time.Second)) {
		t.Fatalf("history entry %+v does not round-trip %+v", h[1], b)
	}
}

func TestHistoryLimitKeepsNewest(t *testing.T) {
	s, _ := newStore(t)
	for i := range 12 {
		mustPost(t, s, msg("lec_a", "u_anna", strings.Repeat("x", i+1)))
	}
	h, err := s.History(context.Background(), "lec_a", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 || h[0].Text != strings.Repeat("x", 8) || h[4].Text != strings.Repeat("x", 12) {
		t.Fatalf("history(5) = %q, want the 5 newest oldest first", texts(h))
	}
}

func TestDeleteLeavesTombstoneInPlace(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	mustPost(t, s, msg("lec_a", "u_anna", "first"))
	bad := mustPost(t, s, msg("lec_a", "u_emil", "something rude"))
	mustPost(t, s, msg("lec_a", "u_anna", "third"))
	clk.Add(time.Minute)
	d, err := s.Delete(ctx, "lec_a", bad.ID, "u_aliev")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Deleted || d.DeletedBy != "u_aliev" || !d.DeletedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Delete returned %+v", d)
	}
	h, err := s.History(ctx, "lec_a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(texts(h), "|"); got != "first|<deleted by u_aliev>|third" {
		t.Fatalf("history after delete = %q", got)
	}
	tomb := h[1]
	if tomb.ID != bad.ID || tomb.UserID != "u_emil" || tomb.Text != "" || !tomb.At.Equal(bad.At) {
		t.Fatalf("tombstone %+v: want the author and time of %+v without its text", tomb, bad)
	}
	// The text is gone from Redis, not only hidden.
	for _, m := range h {
		if strings.Contains(m.Text, "rude") {
			t.Fatal("deleted text still returned")
		}
	}
	if _, err := s.Delete(ctx, "lec_a", bad.ID, "u_aliev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func TestDeleteUnknownOrForeign(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	other := mustPost(t, s, msg("lec_b", "u_anna", "in another lecture"))
	for _, id := range []string{"", "nonsense", "1-x", "999-0", other.ID} {
		if _, err := s.Delete(ctx, "lec_a", id, "u_aliev"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(lec_a, %q): %v, want ErrNotFound", id, err)
		}
	}
	h, err := s.History(ctx, "lec_b", 0)
	if err != nil || len(h) != 1 || h[0].Deleted {
		t.Fatalf("the other lecture's message was touched: %+v %v", h, err)
	}
}

func TestPostRefusesBadText(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cases := map[string]string{
		"empty":          "",
		"blank":          " \n\t ",
		"too long":       strings.Repeat("a", MaxRunes+1),
		"too many bytes": strings.Repeat("😀", MaxBytes/4+1),
		"invalid utf8":   "abc\xff",
		"nul":            "a\x00b",
		"escape":         "a\x1b[31mred",
		"line sep":       "a\u2028b",
	}
	for name, text := range cases {
		if _, err := s.Post(ctx, msg("lec_a", "u_anna", text)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Post err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Post(ctx, msg("lec_{a}", "u_anna", "hi")); !errors.Is(err, ErrInvalid) {
		t.Errorf("brace in lecture id: %v, want ErrInvalid", err)
	}
	h, err := s.History(ctx, "lec_a", 0)
	if err != nil || len(h) != 0 {
		t.Fatalf("refused messages were stored: %q %v", texts(h), err)
	}
}

// Markup is stored and returned exactly as typed: it is text, and the
// client shows it as text.
func TestMarkupIsKeptAsText(t *testing.T) {
	s, _ := newStore(t)
	in := `<img src=x onerror="alert(1)"> <script>alert(2)</script> https://example.org/?a=1&b=2`
	mustPost(t, s, msg("lec_a", "u_anna", in))
	h, err := s.History(context.Background(), "lec_a", 0)
	if err != nil || len(h) != 1 || h[0].Text != in {
		t.Fatalf("history = %+v %v, want the text unchanged", h, err)
	}
}

func TestMaxTextAccepted(t *testing.T) {
	s, _ := newStore(t)
	text := strings.Repeat("ā", MaxRunes) // 2 bytes each: within both limits
	if _, err := s.Post(context.Background(), msg("lec_a", "u_anna", text)); err != nil {
		t.Fatalf("a message of exactly %d characters: %v", MaxRunes, err)
	}
}

func TestCompareIDs(t *testing.T) {
	if compareIDs("5-10", "5-9") <= 0 || compareIDs("10-0", "9-99") <= 0 || compareIDs("7-1", "7-1") != 0 {
		t.Fatal("stream ids must compare numerically")
	}
}
