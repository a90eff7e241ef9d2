package attendance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/internal/testclock"
)

// newRecorder returns a Recorder on a private redis-server with an AOF, so
// the server can be stopped and started without losing what it holds.
func newRecorder(t *testing.T, opts OutboxOptions) (*Recorder, *Store, *testclock.Clock, *redistest.Server) {
	t.Helper()
	srv := redistest.StartWith(t, redistest.Options{AppendOnly: true})
	c := testclock.New(t0)
	s := NewStore(srv.Client, Options{Now: c.Now})
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.AttemptTimeout == 0 {
		opts.AttemptTimeout = 500 * time.Millisecond
	}
	r, err := NewRecorder(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, s, c, srv
}

func mustRecordVia(t *testing.T, r *Recorder, e Event) Event {
	t.Helper()
	got, err := r.Record(context.Background(), e)
	if err != nil {
		t.Fatalf("Record(%s %s): %v", e.Kind, e.ConnID, err)
	}
	return got
}

// outboxLines reads the outbox file of dir.
func outboxLines(t *testing.T, dir string) []outboxLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, outboxName))
	if err != nil {
		t.Fatal(err)
	}
	var out []outboxLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l outboxLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("outbox line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// brief is what identifies an event in comparisons: no stream id, no key.
func brief(e Event) string {
	return fmt.Sprintf("%s %s %s %s", e.Kind, e.ConnID, e.At.UTC().Format(time.RFC3339Nano), e.Reason)
}

func briefs(es []Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = brief(e)
	}
	return out
}

func sameEvents(t *testing.T, got []Event, want []string) {
	t.Helper()
	g := briefs(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %q\nwant %q", g, want)
	}
}

// TestRecorderOutage: while Redis is down, events are fsynced to the outbox
// and acknowledged; when it is back they reach Redis in order, once each,
// including a connection that leaves and joins again and a sign of life.
func TestRecorderOutage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, s, _, srv := newRecorder(t, OutboxOptions{Dir: dir})

	if got := mustRecordVia(t, r, join("lec_a", "u_anna", "c_1", at(0))); got.ID == "" {
		t.Fatal("with Redis up the join should be written at once")
	}
	srv.Stop()
	queued := []Event{
		leave("lec_a", "c_1", at(1)),
		join("lec_a", "u_emil", "c_2", at(2)),
		join("lec_a", "u_ilze", "c_3", at(3)),
		leave("lec_a", "c_2", at(4)),
		join("lec_a", "u_anna", "c_1", at(5)), // the same socket joins again
	}
	for _, e := range queued {
		if got := mustRecordVia(t, r, e); got.ID != "" || got.IdempotencyKey == "" {
			t.Fatalf("queued event = %+v, want no stream id and a key", got)
		}
	}
	if err := r.Touch(ctx, "lec_a", "c_3", at(7)); err != nil {
		t.Fatal(err)
	}
	if err := r.Touch(ctx, "lec_a", "c_3", at(6)); err != nil { // older: ignored
		t.Fatal(err)
	}
	lines := outboxLines(t, dir)
	if len(lines) != len(queued) {
		t.Fatalf("outbox has %d lines, want %d", len(lines), len(queued))
	}
	for i, l := range lines {
		want := queued[i]
		want.Reason = map[Kind]string{KindJoin: "", KindLeave: ReasonLeft}[want.Kind]
		if l.Event == nil || brief(*l.Event) != brief(want) {
			t.Fatalf("outbox line %d = %+v, want %s", i, l.Event, brief(want))
		}
	}
	st := r.Stats()
	if st.Queued != 5 || st.PendingLines != 5 || st.PendingBytes == 0 || st.PendingTouches != 1 {
		t.Fatalf("stats during the outage = %+v", st)
	}

	srv.Start()
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		brief(join("lec_a", "", "c_1", at(0))),
		"leave c_1 " + at(1).Format(time.RFC3339Nano) + " left",
		brief(join("lec_a", "", "c_2", at(2))),
		brief(join("lec_a", "", "c_3", at(3))),
		"leave c_2 " + at(4).Format(time.RFC3339Nano) + " left",
		brief(join("lec_a", "", "c_1", at(5))),
	}
	sameEvents(t, mustEvents(t, s, "lec_a"), want)
	st = r.Stats()
	if st.Replayed != 6 || st.PendingLines != 0 || st.PendingBytes != 0 || st.PendingTouches != 0 {
		t.Fatalf("stats after replay = %+v", st)
	}
	if fi, err := os.Stat(filepath.Join(dir, outboxName)); err != nil || fi.Size() != 0 {
		t.Fatalf("outbox after replay: %v, %v", fi, err)
	}
	// The sign of life written during the outage dates c_3's end.
	if _, err := s.CloseOpen(ctx, "lec_a", ReasonEnded); err != nil {
		t.Fatal(err)
	}
	evs := mustEvents(t, s, "lec_a")
	for _, e := range evs[len(want):] {
		if e.ConnID == "c_3" && !e.At.Equal(at(7)) {
			t.Fatalf("c_3 closed at %v, want its last sign of life %v", e.At, at(7))
		}
	}
	// Redis answers again: events go straight to it.
	if got := mustRecordVia(t, r, join("lec_a", "u_emil", "c_4", at(8))); got.ID == "" {
		t.Fatal("after the replay the join should be written at once")
	}
}

// TestRecorderReplayTwice: a crash after replaying but before truncating
// makes the next run replay every line again; nothing is written twice. A
// line torn by the crash is dropped.
func TestRecorderReplayTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, s, _, srv := newRecorder(t, OutboxOptions{Dir: dir})
	srv.Stop()
	for _, e := range []Event{
		join("lec_b", "u_anna", "c_1", at(0)),
		leave("lec_b", "c_1", at(1)),
		join("lec_b", "u_anna", "c_1", at(2)),
		leave("lec_b", "c_1", at(3)),
		join("lec_b", "u_emil", "c_2", at(4)),
	} {
		mustRecordVia(t, r, e)
	}
	saved, err := os.ReadFile(filepath.Join(dir, outboxName))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	first := briefs(mustEvents(t, s, "lec_b"))
	if len(first) != 5 {
		t.Fatalf("after the first replay: %q", first)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The next run finds the file as it was before the truncation, plus a
	// half-written line.
	torn := append(append([]byte{}, saved...), []byte(`{"v":1,"event":{"lectureId":"lec_b","kind":"jo`)...)
	if err := os.WriteFile(filepath.Join(dir, outboxName), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	r2, err := NewRecorder(s, OutboxOptions{Dir: dir, AttemptTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close(ctx)
	if st := r2.Stats(); st.PendingLines != 5 || st.PendingBytes != int64(len(saved)) {
		t.Fatalf("reopened outbox = %+v, want the 5 whole lines", st)
	}
	if err := r2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, mustEvents(t, s, "lec_b"), first)
	if st := r2.Stats(); st.Replayed != 5 || st.Rejected != 0 {
		t.Fatalf("second replay stats = %+v", st)
	}
}

// TestRecorderFull: a full outbox refuses joins but keeps room for the
// leaves of connections already in; invalid events never reach it.
func TestRecorderFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, s, _, srv := newRecorder(t, OutboxOptions{Dir: dir, MaxBytes: 2000})
	srv.Stop()
	if _, err := r.Record(ctx, Event{LectureID: "lec_c", Kind: "wave", ConnID: "c_0"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid event: err = %v, want ErrInvalid", err)
	}
	var admitted []string
	for i := 0; ; i++ {
		conn := fmt.Sprintf("c_%d", i)
		_, err := r.Record(ctx, join("lec_c", "u_"+conn, conn, at(float64(i))))
		if errors.Is(err, ErrOutboxFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		admitted = append(admitted, conn)
	}
	if len(admitted) == 0 {
		t.Fatal("no join fitted in the outbox")
	}
	// Every admitted connection can still leave.
	for _, conn := range admitted {
		mustRecordVia(t, r, leave("lec_c", conn, at(30)))
	}
	if st := r.Stats(); st.Refused != 1 || st.PendingLines != int64(2*len(admitted)) {
		t.Fatalf("stats = %+v", st)
	}
	srv.Start()
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	evs := mustEvents(t, s, "lec_c")
	if len(evs) != 2*len(admitted) {
		t.Fatalf("%d events in Redis, want %d", len(evs), 2*len(admitted))
	}
	for _, e := range evs {
		if e.ConnID == "c_0" && e.Kind == "wave" {
			t.Fatal("the invalid event was recorded")
		}
	}
}

// TestRecorderRejectsPoison: a line Redis refuses for good is set aside,
// and the lines after it are still replayed.
func TestRecorderRejectsPoison(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := outboxLine{V: 1, Event: &Event{LectureID: "lec_d", Kind: KindJoin, UserID: "u_anna", ConnID: "c_1", At: at(0), IdempotencyKey: "ik_1"}}
	gb, _ := json.Marshal(good)
	content := `{"v":1,"event":{"lectureId":"lec_d","kind":"wave","connId":"c_9","at":"2026-11-27T09:00:00Z"}}` + "\n" + string(gb) + "\n"
	if err := os.WriteFile(filepath.Join(dir, outboxName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	r, s, _, _ := newRecorder(t, OutboxOptions{Dir: dir})
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, mustEvents(t, s, "lec_d"), []string{brief(join("lec_d", "", "c_1", at(0)))})
	rej, err := os.ReadFile(filepath.Join(dir, rejectedName))
	if err != nil || !bytes.Contains(rej, []byte(`"kind":"wave"`)) {
		t.Fatalf("rejected.jsonl = %q, %v", rej, err)
	}
	if st := r.Stats(); st.Rejected != 1 || st.Replayed != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// A second Recorder cannot take the same directory.
	if _, err := NewRecorder(s, OutboxOptions{Dir: dir}); err == nil {
		t.Fatal("a second recorder opened the same outbox")
	}
}

// TestRecorderConcurrentRestart: many connections join and leave
// concurrently while Redis is restarted and Run replays in the background;
// at the end each has exactly one join followed by one leave.
func TestRecorderConcurrentRestart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, s, _, srv := newRecorder(t, OutboxOptions{RetryInterval: 20 * time.Millisecond, AttemptTimeout: 300 * time.Millisecond})
	runDone := make(chan struct{})
	go func() { r.Run(ctx); close(runDone) }()

	const workers, perWorker = 6, 10
	var wg sync.WaitGroup
	restarted := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if i == perWorker/2 {
					<-restarted
				}
				conn := fmt.Sprintf("c_%d_%d", w, i)
				if _, err := r.Record(ctx, join("lec_e", "u_"+conn, conn, time.Time{})); err != nil {
					t.Errorf("join %s: %v", conn, err)
					return
				}
				if err := r.Touch(ctx, "lec_e", conn, time.Time{}); err != nil {
					t.Errorf("touch %s: %v", conn, err)
				}
				if _, err := r.Record(ctx, leave("lec_e", conn, time.Time{})); err != nil {
					t.Errorf("leave %s: %v", conn, err)
				}
			}
		}()
	}
	srv.Stop()
	srv.Start()
	close(restarted)
	wg.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().PendingLines > 0 || !r.file.empty() {
		if time.Now().After(deadline) {
			t.Fatalf("outbox not replayed: %+v", r.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-runDone
	evs := mustEvents(t, s, "lec_e")
	seen := map[string][]Kind{}
	for _, e := range evs {
		seen[e.ConnID] = append(seen[e.ConnID], e.Kind)
	}
	if len(seen) != workers*perWorker || len(evs) != 2*workers*perWorker {
		t.Fatalf("%d connections, %d events; want %d and %d", len(seen), len(evs), workers*perWorker, 2*workers*perWorker)
	}
	for conn, ks := range seen {
		if len(ks) != 2 || ks[0] != KindJoin || ks[1] != KindLeave {
			t.Fatalf("%s: %v, want join then leave", conn, ks)
		}
	}
	t.Logf("stats: %+v", r.Stats())
}
