package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/browsertest"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// stagePictures is what the student's stage shows.
type stagePictures struct {
	Main       string `json:"main"`  // #remote-video[data-source]
	Small      string `json:"small"` // #remote-video-small[data-source], "" when hidden
	MainWidth  int    `json:"mainWidth"`
	SmallWidth int    `json:"smallWidth"`
	Decoded    []int  `json:"decoded"` // framesDecoded of each inbound video
	SizesSent  int    `json:"sizesSent"`
	Errors     int    `json:"errors"`
	Speaker    string `json:"speaker"` // #active-speaker[data-conn] when shown
	// Spoke is the last non-empty speaker the page was told of: the fake
	// microphone beeps, so a speaker may be "" again between two polls.
	Spoke string `json:"spoke"`
}

// watchSpeakerJS remembers the speakers the student's session reports.
const watchSpeakerJS = `(() => {
  const s = window.lecturelink.session;
  window.__spoke = s.speaker || '';
  s.on(ev => { if (ev.type === 'speaker' && ev.conn) window.__spoke = ev.conn; });
  return true;
})()`

const stagePicturesJS = `(async () => {
  const s = window.lecturelink && window.lecturelink.session;
  const main = document.querySelector('#remote-video');
  const small = document.querySelector('#remote-video-small');
  const speaker = document.querySelector('#active-speaker');
  const out = {main: main ? main.dataset.source || '' : '', small: small && !small.hidden ? small.dataset.source || '' : '',
    mainWidth: main ? main.videoWidth : 0, smallWidth: small && !small.hidden ? small.videoWidth : 0, decoded: [],
    sizesSent: 0, errors: 0, speaker: speaker && !speaker.hidden ? speaker.dataset.conn || '' : '', spoke: window.__spoke || ''};
  if (!s) return out;
  out.sizesSent = s.log.filter(e => e.dir === 'out' && e.type === 'displaySize').length;
  out.errors = s.log.filter(e => e.dir === 'in' && e.type === 'error').length;
  if (s.sub) (await s.sub.getStats()).forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.decoded.push(r.framesDecoded || 0);
  });
  return out;
})()`

// speakJS replaces the lecturer's microphone (the fake device only beeps
// once a second) with a loud, voice-like sound: a sawtooth at a speaking
// pitch whose loudness rises and falls a few times a second.
const speakJS = `(async () => {
  const s = window.lecturelink.session;
  const ac = new AudioContext();
  await ac.resume();
  const voice = ac.createOscillator();
  voice.type = 'sawtooth';
  voice.frequency.value = 140;
  const syllables = ac.createOscillator();
  syllables.frequency.value = 4;
  const depth = ac.createGain();
  depth.gain.value = 0.4;
  const level = ac.createGain();
  level.gain.value = 0.6;
  syllables.connect(depth).connect(level.gain);
  const out = ac.createMediaStreamDestination();
  voice.connect(level).connect(out);
  voice.start();
  syllables.start();
  window.__voice = ac;
  const sender = s.pub.getSenders().find(x => x.track && x.track.kind === 'audio');
  await sender.replaceTrack(out.stream.getAudioTracks()[0]);
  return true;
})()`

// TestBrowserSlides: the lecturer shares a screen beside the camera; the
// student's page shows the slides large and the lecturer small, decoding
// both, reports the shown sizes, swaps the pictures from the keyboard, and
// goes back to the camera alone when the lecturer stops sharing. The
// lecturer's voice makes them the active speaker on the student's page.
func TestBrowserSlides(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	accounts := account.NewStore(rs.Client, account.Options{})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	for _, site := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := sched.PutSite(ctx, site); err != nil {
			t.Fatal(err)
		}
	}
	const password = "e2e password"
	lecturer, err := accounts.Create(ctx, account.NewUser{Username: "aliev", Password: password, DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Create(ctx, account.NewUser{Username: "berzina", Password: password, DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga"}); err != nil {
		t.Fatal(err)
	}
	lecture, err := sched.CreateLecture(ctx, schedule.NewLecture{Title: "Document control at crossings", Topic: "Forged passports",
		Start: time.Now().Add(2 * time.Minute), DurationMinutes: 90, LecturerID: lecturer.ID, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}

	base := e2eServer(t, rs)
	browser := browsertest.Start(t)
	lecturerTab := browsertest.Tab(t, browser)
	studentTab := browsertest.Tab(t, browser)
	if err := chromedp.Do(studentTab, chromedp.EmulateViewport(1600, 1000)); err != nil {
		t.Fatal(err)
	}
	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, lecture.ID)
	wait := func(tab context.Context, sel, what string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s (%s): %v", what, sel, err)
		}
	}
	read := func() stagePictures {
		t.Helper()
		v, err := chromedp.Run(studentTab, chromedp.Evaluate[stagePictures](stagePicturesJS, awaitPromise))
		if err != nil {
			t.Fatalf("reading the student's stage: %v", err)
		}
		return v
	}
	// until polls the student's stage until ok holds.
	until := func(what string, ok func(stagePictures) bool) stagePictures {
		t.Helper()
		var v stagePictures
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			if v = read(); ok(v) {
				return v
			}
		}
		t.Fatalf("%s: the student's stage is %+v", what, v)
		return v
	}

	signIn(t, lecturerTab, base, "aliev", password, rowSel)
	if err := chromedp.Do(lecturerTab, chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-action="start"][data-lecture-id="%s"]`, lecture.ID)))); err != nil {
		t.Fatalf("pressing Start: %v", err)
	}
	wait(lecturerTab, `#lecture-state[data-state="live"]`, "the lecturer's page is live")
	signIn(t, studentTab, base, "berzina", password, rowSel)
	if err := chromedp.Do(studentTab, chromedp.Navigate(base+"/#/lecture/"+lecture.ID)); err != nil {
		t.Fatal(err)
	}
	wait(studentTab, `#lecture-state[data-state="live"]`, "the student's page is live")
	if _, err := chromedp.Run(studentTab, chromedp.Evaluate[bool](watchSpeakerJS)); err != nil {
		t.Fatalf("watching the speaker: %v", err)
	}
	until("the lecturer's camera alone, large", func(v stagePictures) bool {
		return v.Main == "camera" && v.Small == "" && v.MainWidth > 0
	})

	// The lecturer shares a screen (the button is a user gesture).
	if err := chromedp.Do(lecturerTab, chromedp.Click(chromedp.CSS("#share-screen"))); err != nil {
		t.Fatalf("pressing Share: %v", err)
	}
	wait(lecturerTab, `#share-screen[aria-pressed="true"]`, "the lecturer's page shares")
	first := until("slides large and the lecturer small", func(v stagePictures) bool {
		return v.Main == "screen" && v.Small == "camera" && v.MainWidth > 0 && v.SmallWidth > 0 && len(v.Decoded) == 2
	})
	later := until("both pictures decoding", func(v stagePictures) bool {
		return len(v.Decoded) == 2 && v.Decoded[0] > first.Decoded[0]+3 && v.Decoded[1] > first.Decoded[1]+3 && v.SizesSent >= 2
	})
	if later.Errors != 0 {
		t.Fatalf("the server refused %d of the student's messages", later.Errors)
	}
	t.Logf("slides %d px wide and camera %d px wide; %d display sizes sent", later.MainWidth, later.SmallWidth, later.SizesSent)

	// The viewer swaps them from the keyboard, and back.
	if err := chromedp.Do(studentTab, chromedp.Focus(chromedp.CSS("#swap-videos")), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("swapping: %v", err)
	}
	until("the lecturer large after the swap", func(v stagePictures) bool { return v.Main == "camera" && v.Small == "screen" })
	wait(studentTab, `#swap-videos[aria-pressed="true"]`, "the swap is pressed")
	if err := chromedp.Do(studentTab, chromedp.KeyEvent(" ")); err != nil {
		t.Fatalf("swapping back: %v", err)
	}
	until("the slides large again", func(v stagePictures) bool { return v.Main == "screen" && v.Small == "camera" })

	// The lecturer speaks: the student's page is told who speaks.
	if _, err := chromedp.Run(lecturerTab, chromedp.Evaluate[bool](speakJS, awaitPromise)); err != nil {
		t.Fatalf("the lecturer's voice: %v", err)
	}
	lecturerConn, err := chromedp.Run(lecturerTab, chromedp.Evaluate[string](`window.lecturelink.session.connId`))
	if err != nil || lecturerConn == "" {
		t.Fatalf("the lecturer's connection id: %q, %v", lecturerConn, err)
	}
	// (The page shows a speaker while #active-speaker has its connection.)
	until("the lecturer reported as speaking", func(v stagePictures) bool { return v.Speaker == lecturerConn || v.Spoke == lecturerConn })

	// Stopping the share takes the slides away.
	if err := chromedp.Do(lecturerTab, chromedp.Click(chromedp.CSS("#share-screen"))); err != nil {
		t.Fatalf("pressing Stop sharing: %v", err)
	}
	wait(lecturerTab, `#share-screen[aria-pressed="false"]`, "the lecturer's page stopped sharing")
	until("the camera alone again", func(v stagePictures) bool { return v.Main == "camera" && v.Small == "" && v.MainWidth > 0 })
}
