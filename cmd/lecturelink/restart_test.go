package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/internal/browsertest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/chromedp/chromedp"
)

// freeAddr is a loopback address no one listens on, so that a restarted
// server can be given the address of the one it replaces.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("localhost:%d", l.Addr().(*net.TCPAddr).Port)
}

// TestBrowserReconnect follows a live lecture on the real server binary
// with two Chromium pages (the lecturer publishing, a student watching)
// through what bad networks do to it. ICE restarts on both connections
// keep the student decoding. The student's socket drops: the page resumes
// the same participant on a new socket. Then the server is killed with
// SIGKILL and started again on the same address: both pages reconnect on
// their own, without a reload, the student decodes the lecturer's video
// again within 5 s of the new server listening, and the lecture is still
// live.
func TestBrowserReconnect(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lecturelink")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	w := newCrashWorld(t, bin)
	addr := freeAddr(t)
	// The later -addr wins over start's own.
	args := []string{"-addr", addr, "-ping-interval", "2s", "-touch-interval", "1s"}
	p := w.start(t, args)
	base := "http://" + addr

	browser := browsertest.Start(t)
	lecturerTab := browsertest.Tab(t, browser)
	studentTab := browsertest.Tab(t, browser)
	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, w.lecture.ID)
	waitState := func(tab context.Context, state string, within time.Duration) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, within)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`#lecture-state[data-state="`+state+`"]`))); err != nil {
			t.Fatalf("page never reached state %q: %v", state, err)
		}
	}
	stats := func() mediaStats {
		t.Helper()
		st, err := chromedp.Run(studentTab, chromedp.Evaluate[mediaStats](statsJS, awaitPromise))
		if err != nil {
			t.Fatalf("reading stats: %v", err)
		}
		return st
	}
	// decoding waits until the student's current sub connection has
	// decoded frames and received audio, and returns how long it took.
	decoding := func(within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		var st mediaStats
		for time.Since(start) < within {
			if st = stats(); st.FramesDecoded >= 5 && st.AudioPackets >= 10 {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the student's page is not decoding within %v: %+v", within, st)
		return 0
	}

	signIn(t, lecturerTab, base, "aliev", crashPassword, rowSel)
	if err := chromedp.Do(lecturerTab, chromedp.Navigate(base+"/#/lecture/"+w.lecture.ID)); err != nil {
		t.Fatal(err)
	}
	waitState(lecturerTab, "live", 30*time.Second)
	signIn(t, studentTab, base, "berzina", crashPassword, rowSel)
	if err := chromedp.Do(studentTab, chromedp.Navigate(base+"/#/lecture/"+w.lecture.ID)); err != nil {
		t.Fatal(err)
	}
	waitState(studentTab, "live", 30*time.Second)
	decoding(30 * time.Second)

	// ICE restarts on a working session, as after a network change: the
	// student asks for a sub offer with new credentials, the lecturer
	// offers pub with new ones; the student keeps decoding.
	const ufragJS = `(() => {
	  const pc = window.lecturelink.session[%q];
	  const m = pc && pc.remoteDescription && /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp);
	  return m ? m[1] : '';
	})()`
	for _, x := range []struct {
		tab context.Context
		pc  string
	}{{studentTab, "sub"}, {lecturerTab, "pub"}} {
		ufrag := func() string {
			t.Helper()
			u, err := chromedp.Run(x.tab, chromedp.Evaluate[string](fmt.Sprintf(ufragJS, x.pc)))
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		old := ufrag()
		js := fmt.Sprintf(`(s => (s.restartIce(%q, s[%q]), true))(window.lecturelink.session)`, x.pc, x.pc)
		if _, err := chromedp.Run(x.tab, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for u := ufrag(); u == old || u == ""; u = ufrag() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: remote ice-ufrag still %q after an ICE restart", x.pc, u)
			}
			time.Sleep(100 * time.Millisecond)
		}
		st := stats()
		deadline = time.Now().Add(10 * time.Second)
		for now := stats(); now.FramesDecoded < st.FramesDecoded+10; now = stats() {
			if time.Now().After(deadline) {
				t.Fatalf("the student stopped decoding after the %s ICE restart: %+v, then %+v", x.pc, st, now)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The student's socket drops (as on a network change): the page
	// resumes the same participant on a new socket and decodes again.
	type sessionInfo struct {
		ConnID  string `json:"connId"`
		Resumed bool   `json:"resumed"`
	}
	const infoJS = `({connId: window.lecturelink.session.connId,
	  resumed: window.lecturelink.session.log.some(e => e.dir === 'in' && e.type === 'resumed')})`
	before, err := chromedp.Run(studentTab, chromedp.Evaluate[sessionInfo](infoJS))
	if err != nil || before.ConnID == "" || before.Resumed {
		t.Fatalf("student's session before the drop: %+v, %v", before, err)
	}
	if _, err := chromedp.Run(studentTab, chromedp.Evaluate[bool](`window.lecturelink.session.forceReconnect('test: socket lost'), true`)); err != nil {
		t.Fatal(err)
	}
	took := decoding(5 * time.Second)
	after, err := chromedp.Run(studentTab, chromedp.Evaluate[sessionInfo](infoJS))
	if err != nil || after.ConnID != before.ConnID || !after.Resumed {
		t.Fatalf("student's session after the drop: %+v (before %+v), %v; want it resumed as the same participant", after, before, err)
	}
	t.Logf("the student's page resumed %s and decodes again %v after its socket dropped", after.ConnID, took)
	for _, e := range w.events(t) {
		if e.ConnID == before.ConnID && e.Kind != attendance.KindJoin {
			t.Fatalf("the resumed participant's attendance has %+v; want one open interval", e)
		}
	}

	p.kill(t)
	waitState(studentTab, "reconnecting", 10*time.Second)
	waitState(lecturerTab, "reconnecting", 10*time.Second)
	time.Sleep(time.Second) // the pages retry against a closed port meanwhile

	w.start(t, args) // returns once the new server listens
	took = decoding(5 * time.Second)
	t.Logf("the student's page decodes the lecturer again %v after the restarted server listens", took)
	waitState(lecturerTab, "live", 5*time.Second)
	waitState(studentTab, "live", 5*time.Second)

	l, err := schedule.NewStore(w.redis.Client, schedule.Options{}).Lecture(context.Background(), w.lecture.ID)
	if err != nil || l.State != schedule.StateLive {
		t.Fatalf("lecture after the restart: %+v, %v; want it still live", l, err)
	}
}
