package signaling

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
)

// newTestRecorder returns an outbox Recorder on att that replays in the
// background until the test ends.
func newTestRecorder(t *testing.T, att *attendance.Store) *attendance.Recorder {
	t.Helper()
	rec, err := attendance.NewRecorder(att, attendance.OutboxOptions{Dir: t.TempDir(),
		AttemptTimeout: 500 * time.Millisecond, RetryInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := rec.Close(context.Background()); err != nil {
			t.Errorf("outbox: %v", err)
		}
	})
	return rec
}

// TestRedisRestartMidLecture: Redis stops while students join and leave a
// live lecture and starts again. Nobody is turned away, and once the outbox
// has been replayed every join and leave is in Redis exactly once, in order.
func TestRedisRestartMidLecture(t *testing.T) {
	e := newEnv(t, envOptions{outbox: true})
	lect := e.dial("lecturer")
	s1, s2, s3 := e.dial("student1"), e.dial("student2"), e.dial("student3") // signed in while Redis answers
	join := func(c *wsClient) {
		t.Helper()
		c.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
		if got := lectureState(t, c.expect("joined")); got != schedule.StateLive {
			t.Fatalf("joined a lecture in state %q", got)
		}
	}
	lect.send(map[string]string{"type": "join", "lectureId": e.lecture.ID})
	lect.expect("joined")
	lect.send(map[string]string{"type": "start"})
	if got := lectureState(t, lect.expect("lecture")); got != schedule.StateLive {
		t.Fatalf("lecture %q after start", got)
	}
	join(s1)

	e.redis.Stop()
	join(s2)
	s1.send(map[string]string{"type": "leave"})
	join(s3)
	if st := e.rec.Stats(); st.Queued == 0 {
		t.Fatalf("nothing went to the outbox while Redis was down: %+v", st)
	}

	e.redis.Start()
	s2.send(map[string]string{"type": "leave"})
	join(s1) // the same socket joins again, after its leave

	want := map[string]string{
		e.users["lecturer"].ID: "[join]",
		e.users["student1"].ID: "[join leave join]",
		e.users["student2"].ID: "[join leave]",
		e.users["student3"].ID: "[join]",
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]string{}
		evs, err := e.att.Events(context.Background(), e.lecture.ID)
		if err == nil && e.rec.Stats().PendingLines == 0 {
			kinds := map[string][]attendance.Kind{}
			for _, ev := range evs {
				kinds[ev.UserID] = append(kinds[ev.UserID], ev.Kind)
			}
			for u, ks := range kinds {
				got[u] = fmt.Sprint(ks)
			}
			if fmt.Sprint(got) == fmt.Sprint(want) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("events by user = %v (err %v, outbox %+v), want %v", got, err, e.rec.Stats(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Each connection's events keep the times they happened, in order.
	// (Different sockets' events may interleave either way, as they do
	// without an outage.)
	evs, _ := e.att.Events(context.Background(), e.lecture.ID)
	last := map[string]attendance.Event{}
	for _, ev := range evs {
		if prev, ok := last[ev.ConnID]; ok && ev.At.Before(prev.At) {
			t.Fatalf("events of %s out of order: %+v then %+v", ev.ConnID, prev, ev)
		}
		last[ev.ConnID] = ev
	}
}
