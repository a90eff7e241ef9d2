package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/internal/browsertest"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// mediaStats is what the student's page reports from getStats().
type mediaStats struct {
	FramesDecoded int `json:"framesDecoded"`
	AudioPackets  int `json:"audioPackets"`
	Width         int `json:"width"`
}

const statsJS = `(async () => {
  const s = window.lecturelink && window.lecturelink.session;
  const pc = s && s.sub;
  const out = {framesDecoded: 0, audioPackets: 0, width: 0};
  if (!pc) return out;
  (await pc.getStats()).forEach(r => {
    if (r.type !== 'inbound-rtp') return;
    if (r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
    if (r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
  });
  const v = document.querySelector('video#remote-video');
  out.width = v ? v.videoWidth : 0;
  return out;
})()`

func awaitPromise(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }

// TestBrowserLecture runs the real server (on a private redis-server) and two
// headless Chromium pages: a student who opens the lecture before it starts
// and a lecturer who starts it with a fake camera and microphone. The
// student's page must be let in automatically and decode the lecturer's video
// and receive audio; attendance in Redis must show the student's join.
func TestBrowserLecture(t *testing.T) {
	rs := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	accounts := account.NewStore(rs.Client, account.Options{})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	att := attendance.NewStore(rs.Client, attendance.Options{})
	if err := sched.PutSite(ctx, schedule.Site{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"}); err != nil {
		t.Fatal(err)
	}
	if err := sched.PutSite(ctx, schedule.Site{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	const password = "e2e password"
	lecturer, err := accounts.Create(ctx, account.NewUser{Username: "aliev", Password: password, DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}
	student, err := accounts.Create(ctx, account.NewUser{Username: "berzina", Password: password, DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	lecture, err := sched.CreateLecture(ctx, schedule.NewLecture{Title: "Document control at crossings", Topic: "Forged passports",
		Start: time.Now().Add(2 * time.Minute), DurationMinutes: 90, LecturerID: lecturer.ID, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}

	base := e2eServer(t, rs)

	browser := browsertest.Start(t)
	studentTab := browsertest.Tab(t, browser)
	lecturerTab := browsertest.Tab(t, browser)

	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, lecture.ID)
	waitState := func(tab context.Context, state string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`#lecture-state[data-state="`+state+`"]`))); err != nil {
			t.Fatalf("page never reached state %q: %v", state, err)
		}
	}

	// The student arrives early and waits.
	signIn(t, studentTab, base, "berzina", password, rowSel)
	if err := chromedp.Do(studentTab, chromedp.Navigate(base+"/#/lecture/"+lecture.ID)); err != nil {
		t.Fatal(err)
	}
	waitState(studentTab, "waiting")

	// The lecturer starts the lecture from their list.
	signIn(t, lecturerTab, base, "aliev", password, rowSel)
	start := fmt.Sprintf(`button[data-action="start"][data-lecture-id="%s"]`, lecture.ID)
	if err := chromedp.Do(lecturerTab, chromedp.Click(chromedp.CSS(start))); err != nil {
		t.Fatalf("pressing Start: %v", err)
	}
	waitState(lecturerTab, "live")
	waitState(studentTab, "live")

	// The student's page decodes the lecturer's video and receives audio.
	var first, last mediaStats
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		last, err = chromedp.Run(studentTab, chromedp.Evaluate[mediaStats](statsJS, awaitPromise))
		if err != nil {
			t.Fatalf("reading stats: %v", err)
		}
		if first.FramesDecoded == 0 && last.FramesDecoded > 0 {
			first = last
		}
		if first.FramesDecoded > 0 && last.FramesDecoded >= first.FramesDecoded+30 && last.AudioPackets > first.AudioPackets+20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if first.FramesDecoded == 0 || last.FramesDecoded < first.FramesDecoded+30 || last.AudioPackets <= first.AudioPackets+20 || last.Width == 0 {
		t.Fatalf("student's page did not keep decoding: first %+v, last %+v", first, last)
	}
	t.Logf("student decoded %d frames (width %d) and received %d audio packets", last.FramesDecoded, last.Width, last.AudioPackets)

	summary, err := att.Summary(ctx, lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range summary {
		if p.UserID == student.ID && p.Connected && p.SiteID == "riga" {
			found = true
		}
	}
	if !found {
		t.Fatalf("attendance does not show the student connected: %+v", summary)
	}

	// The lecturer ends the lecture (and confirms); the student's page says so.
	if err := chromedp.Do(lecturerTab,
		chromedp.Click(chromedp.CSS("#end-lecture")),
		chromedp.Click(chromedp.CSS("#end-lecture-confirm")),
	); err != nil {
		t.Fatalf("pressing End: %v", err)
	}
	waitState(studentTab, "ended")
	events, err := att.Events(ctx, lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	leftEnded := false
	for _, e := range events {
		if e.UserID == student.ID && e.Kind == attendance.KindLeave && e.Reason == attendance.ReasonEnded {
			leftEnded = true
		}
	}
	if !leftEnded {
		t.Fatalf("no leave with reason %q for the student: %+v", attendance.ReasonEnded, events)
	}
}
