package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/browsertest"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// classroomFixture is a live lecture with a lecturer's and a student's page
// open in headless Chromium (fake camera and microphone).
type classroomFixture struct {
	t           *testing.T
	base        string
	lecture     schedule.Lecture
	student     account.User
	lecturerTab context.Context
	studentTab  context.Context
}

func newClassroom(t *testing.T) *classroomFixture {
	t.Helper()
	rs := redistest.Start(t)
	ctx := context.Background()
	accounts := account.NewStore(rs.Client, account.Options{})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	for _, s := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := sched.PutSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	const password = "e2e password"
	lecturer, err := accounts.Create(ctx, account.NewUser{Username: "aliev", Password: password, DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Create(ctx, account.NewUser{Username: "riga-room", Password: password, DisplayName: "Riga classroom", Role: account.RoleOperator, SiteID: "riga"}); err != nil {
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
	f := &classroomFixture{t: t, base: e2eServer(t, rs), lecture: lecture, student: student}
	browser := browsertest.Start(t)
	f.lecturerTab = browsertest.Tab(t, browser)
	f.studentTab = browsertest.Tab(t, browser)

	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, lecture.ID)
	signIn(t, f.lecturerTab, f.base, "aliev", password, rowSel)
	if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-action="start"][data-lecture-id="%s"]`, lecture.ID)))); err != nil {
		t.Fatalf("pressing Start: %v", err)
	}
	f.wait(f.lecturerTab, `#lecture-state[data-state="live"]`, "the lecturer's page is live")
	signIn(t, f.studentTab, f.base, "berzina", password, rowSel)
	if err := chromedp.Do(f.studentTab, chromedp.Navigate(f.base+"/#/lecture/"+lecture.ID)); err != nil {
		t.Fatal(err)
	}
	f.wait(f.studentTab, `#lecture-state[data-state="live"]`, "the student's page is live")
	return f
}

// wait waits (generously: the machine is shared) until sel is in the page.
func (f *classroomFixture) wait(tab context.Context, sel, what string) {
	f.t.Helper()
	tctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		f.t.Fatalf("%s: %s never appeared: %v", what, sel, err)
	}
}

// TestBrowserChat: the student's message reaches the lecturer's page as
// text (markup shown literally, never run), the lecturer deletes it, and
// the student's page shows it deleted.
func TestBrowserChat(t *testing.T) {
	f := newClassroom(t)
	const attack = `<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> see https://example.org/x`
	if err := chromedp.Do(f.studentTab,
		chromedp.WaitVisible(chromedp.CSS("#chat-input")),
		chromedp.SetValue(chromedp.CSS("#chat-input"), attack),
		chromedp.Click(chromedp.CSS("#chat-send")),
	); err != nil {
		t.Fatalf("sending chat: %v", err)
	}
	f.wait(f.lecturerTab, `#chat-messages li.chat-message[data-id]`, "the lecturer's chat")
	type shown struct {
		Text   string `json:"text"`
		ID     string `json:"id"`
		Pwned  bool   `json:"pwned"`
		Images int    `json:"images"`
		Links  int    `json:"links"`
		Anchor int    `json:"anchors"`
	}
	const readJS = `(() => {
  const li = document.querySelector('#chat-messages li.chat-message[data-id]');
  return {text: li ? li.querySelector('.chat-text').textContent : '', id: li ? li.dataset.id : '',
    pwned: window.__pwned !== undefined, images: document.querySelectorAll('#chat img, #chat script').length,
    links: li ? li.querySelectorAll('.chat-link').length : 0, anchors: li ? li.querySelectorAll('a').length : 0};
})()`
	got, err := chromedp.Run(f.lecturerTab, chromedp.Evaluate[shown](readJS))
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != attack || got.Pwned || got.Images != 0 || got.Links != 1 || got.Anchor != 0 {
		t.Fatalf("lecturer's page shows %+v; want the text as typed, no elements from it, the link as text", got)
	}
	// The lecturer deletes it; the student's page marks it deleted.
	del := fmt.Sprintf(`#chat-messages li[data-id="%s"] button[data-action="delete-chat"]`, got.ID)
	if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS(del))); err != nil {
		t.Fatalf("pressing Delete: %v", err)
	}
	f.wait(f.studentTab, fmt.Sprintf(`#chat-messages li[data-id="%s"][data-deleted="true"]`, got.ID), "the student's chat")
	studentDelete, err := chromedp.Run(f.studentTab, chromedp.Evaluate[int](`document.querySelectorAll('#chat button[data-action="delete-chat"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if studentDelete != 0 {
		t.Fatalf("the student's page offers %d delete buttons", studentDelete)
	}

	// Too long: the counter says so and Send is disabled.
	type form struct {
		Over     string `json:"over"`
		Disabled bool   `json:"disabled"`
		Error    string `json:"error"`
	}
	const formJS = `(() => ({over: document.querySelector('#chat-counter').dataset.over,
  disabled: document.querySelector('#chat-send').disabled,
  error: document.querySelector('#chat-error').hidden ? '' : document.querySelector('#chat-error').textContent}))()`
	if err := chromedp.Do(f.studentTab, chromedp.SetValue(chromedp.CSS("#chat-input"), strings.Repeat("x", 1001))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(f.studentTab, chromedp.Evaluate[bool](`document.querySelector('#chat-input').dispatchEvent(new Event('input'))`)); err != nil {
		t.Fatal(err)
	}
	fm, err := chromedp.Run(f.studentTab, chromedp.Evaluate[form](formJS))
	if err != nil {
		t.Fatal(err)
	}
	if fm.Over != "true" || !fm.Disabled {
		t.Fatalf("a 1001-character message: form %+v, want the counter over and Send disabled", fm)
	}
	// A flood: the server's refusal is shown under the form.
	if _, err := chromedp.Run(f.studentTab, chromedp.Evaluate[bool](`(() => { for (let i = 0; i < 8; i++) window.lecturelink.session.sendChat('flood ' + i); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	f.wait(f.studentTab, `#chat-error:not([hidden])`, "the chat's error line")
	if fm, err = chromedp.Run(f.studentTab, chromedp.Evaluate[form](formJS)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fm.Error, "too fast") {
		t.Fatalf("after a flood the chat says %q, want the rate limit", fm.Error)
	}
}

// inboundFrom is what the lecturer's page receives from one publisher.
type inboundFrom struct {
	FramesDecoded int  `json:"framesDecoded"`
	AudioPackets  int  `json:"audioPackets"`
	Tile          bool `json:"tile"`
	TileVideo     bool `json:"tileVideo"`
}

// inboundJS sums the lecturer's inbound video frames and audio packets of
// the tracks in the student's stream (by the stream id the page recorded).
const inboundJS = `(async (userId) => {
  const s = window.lecturelink && window.lecturelink.session;
  const out = {framesDecoded: 0, audioPackets: 0, tile: false, tileVideo: false};
  if (!s || !s.sub) return out;
  const conns = new Set(s.participants.filter(p => p.userId === userId).map(p => p.connId));
  const mids = new Set();
  for (const tr of s.sub.getTransceivers()) {
    const id = s.remoteStreamIds.get(tr.receiver.track);
    if (id && conns.has(id)) mids.add(tr.receiver.track.id);
  }
  (await s.sub.getStats()).forEach(r => {
    if (r.type !== 'inbound-rtp' || !mids.has(r.trackIdentifier)) return;
    if (r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
    if (r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
  });
  const tile = document.querySelector('#site-gallery .tile[data-user-id="' + userId + '"]');
  out.tile = !!tile;
  out.tileVideo = !!tile && tile.dataset.video === 'true' && !document.querySelector('#site-gallery').hidden;
  return out;
})`

// TestBrowserFloor: a student raises a hand, the lecturer sees the queue and
// grants the floor with microphone and camera from the page; the lecturer's
// page decodes the student's video and receives its audio; the lecturer
// takes the floor back and the student's tile disappears.
func TestBrowserFloor(t *testing.T) {
	f := newClassroom(t)
	// By keyboard: the button takes the focus and Enter raises the hand.
	if err := chromedp.Do(f.studentTab, chromedp.WaitVisible(chromedp.CSS("#raise-hand")), chromedp.Focus(chromedp.CSS("#raise-hand")), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("raising the hand: %v", err)
	}
	f.wait(f.studentTab, `#raise-hand[aria-pressed="true"]`, "the student's hand is up")
	f.wait(f.lecturerTab, fmt.Sprintf(`#participants li[data-user-id="%s"][data-hand="true"]`, f.student.ID), "the hand badge")
	grant := fmt.Sprintf(`#hand-queue li[data-user-id="%s"] button[data-action="grant-camera"]`, f.student.ID)
	f.wait(f.lecturerTab, grant, "the lecturer's queue")
	if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS(grant))); err != nil {
		t.Fatalf("granting the floor: %v", err)
	}
	f.wait(f.studentTab, `#release-floor:not([hidden])`, "the student has the floor")

	js := inboundJS + fmt.Sprintf("(%q)", f.student.ID)
	var first, last inboundFrom
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		last, err = chromedp.Run(f.lecturerTab, chromedp.Evaluate[inboundFrom](js, awaitPromise))
		if err != nil {
			t.Fatalf("reading the lecturer's stats: %v", err)
		}
		if first.FramesDecoded == 0 && last.FramesDecoded > 0 {
			first = last
		}
		if first.FramesDecoded > 0 && last.FramesDecoded >= first.FramesDecoded+30 && last.AudioPackets > first.AudioPackets+20 && last.TileVideo {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if first.FramesDecoded == 0 || last.FramesDecoded < first.FramesDecoded+30 || last.AudioPackets <= first.AudioPackets+20 || !last.TileVideo {
		t.Fatalf("the lecturer's page did not receive the student: first %+v, last %+v", first, last)
	}
	t.Logf("lecturer decoded %d frames and received %d audio packets from the student", last.FramesDecoded, last.AudioPackets)

	// The student's own media controls: muting the microphone disables its
	// track (and says so), unmuting brings it back.
	micJS := `(() => { const tr = window.lecturelink.session.localStream.getAudioTracks()[0];
  return (tr && tr.enabled ? 'on' : 'off') + ' ' + document.querySelector('#mic-toggle').getAttribute('aria-pressed'); })()`
	for _, want := range []string{"off true", "on false"} {
		if err := chromedp.Do(f.studentTab, chromedp.Click(chromedp.CSS("#mic-toggle"))); err != nil {
			t.Fatalf("pressing the microphone button: %v", err)
		}
		got, err := chromedp.Run(f.studentTab, chromedp.Evaluate[string](micJS))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("microphone after pressing its button: %q, want %q", got, want)
		}
	}

	// Mute and unmute from the lecturer's participant list: the student's
	// page says so, and the badge follows.
	for _, step := range []struct{ action, notice, badge string }{
		{"mute", `#muted-notice:not([hidden])`, "true"},
		{"unmute", `#muted-notice[hidden]`, "false"},
	} {
		btn := fmt.Sprintf(`#participants li[data-user-id="%s"] button[data-action="%s"]`, f.student.ID, step.action)
		f.wait(f.lecturerTab, btn, "the "+step.action+" button")
		if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS(btn))); err != nil {
			t.Fatalf("pressing %s: %v", step.action, err)
		}
		f.wait(f.studentTab, step.notice, "the student's page after "+step.action)
		f.wait(f.lecturerTab, fmt.Sprintf(`#participants li[data-user-id="%s"][data-muted="%s"]`, f.student.ID, step.badge), "the muted badge")
	}
	// Lock and unlock.
	for _, pressed := range []string{"true", "false"} {
		if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS("#lock-lecture"))); err != nil {
			t.Fatal(err)
		}
		f.wait(f.lecturerTab, `#lock-lecture[aria-pressed="`+pressed+`"]:not([disabled])`, "the lock button")
	}

	if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS("#take-back"))); err != nil {
		t.Fatalf("taking the floor back: %v", err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		last, err = chromedp.Run(f.lecturerTab, chromedp.Evaluate[inboundFrom](js, awaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !last.Tile {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if last.Tile {
		t.Fatalf("the student's tile is still shown after taking the floor back")
	}
	publishing, err := chromedp.Run(f.studentTab, chromedp.Evaluate[bool](`!!(window.lecturelink.session.pub) || !document.querySelector('#self-view').hidden`))
	if err != nil {
		t.Fatal(err)
	}
	if publishing {
		t.Fatalf("the student's page still publishes after the floor was taken back")
	}
	f.wait(f.studentTab, `#raise-hand:not([hidden])`, "the student may raise a hand again")

	// The lecturer removes the student with a reason: the student's page
	// shows it and does not reconnect; after Readmit a reload gets back in.
	const reason = "Please rejoin from the classroom"
	remove := fmt.Sprintf(`#participants li[data-user-id="%s"] button[data-action="remove"]`, f.student.ID)
	if err := chromedp.Do(f.lecturerTab,
		chromedp.Click(chromedp.CSS(remove)),
		chromedp.WaitVisible(chromedp.CSS("#remove-reason")),
		chromedp.SendKeys(chromedp.CSS("#remove-reason"), reason),
		chromedp.Click(chromedp.CSS("#remove-confirm")),
	); err != nil {
		t.Fatalf("removing the student: %v", err)
	}
	f.wait(f.studentTab, `#lecture-state[data-state="error"]`, "the removed student's page")
	msg, err := chromedp.Run(f.studentTab, chromedp.Evaluate[string](`document.querySelector('#room-message').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, reason) {
		t.Fatalf("the removed student's page says %q, want the reason %q", msg, reason)
	}
	hellos := `window.lecturelink.session.log.filter(e => e.dir === 'in' && e.type === 'hello').length`
	before, err := chromedp.Run(f.studentTab, chromedp.Evaluate[int](hellos))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // longer than the first reconnect delay
	after, err := chromedp.Run(f.studentTab, chromedp.Evaluate[int](hellos+` + (window.lecturelink.session.ws ? 100 : 0)`))
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("the removed student's page reconnected (%d hellos before, %d after, +100 for an open socket)", before, after)
	}
	// Opening the lecture again is refused, with the reason.
	if err := chromedp.Do(f.studentTab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	f.wait(f.studentTab, `#lecture-state[data-state="error"]`, "the removed student's new page")
	if msg, err = chromedp.Run(f.studentTab, chromedp.Evaluate[string](`document.querySelector('#room-message').textContent`)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, reason) {
		t.Fatalf("the removed student's new page says %q, want the reason %q", msg, reason)
	}
	readmit := fmt.Sprintf(`#removed-list li[data-user-id="%s"] button[data-action="readmit"]`, f.student.ID)
	f.wait(f.lecturerTab, readmit, "the lecturer's list of removed people")
	if err := chromedp.Do(f.lecturerTab, chromedp.Click(chromedp.CSS(readmit))); err != nil {
		t.Fatalf("readmitting: %v", err)
	}
	f.wait(f.lecturerTab, `#removed-list:empty`, "the readmitted student leaves the list")
	if err := chromedp.Do(f.studentTab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	f.wait(f.studentTab, `#lecture-state[data-state="live"]`, "the readmitted student is back")
}

// TestBrowserSiteGallery: a classroom computer (operator) opens the live
// lecture, its page publishes the room camera and microphone by itself,
// and the lecturer's gallery shows it as a tile labelled with the site.
func TestBrowserSiteGallery(t *testing.T) {
	f := newClassroom(t)
	browser := browsertest.Start(t)
	room := browsertest.Tab(t, browser)
	signIn(t, room, f.base, "riga-room", "e2e password", "#nav-timetable")
	if err := chromedp.Do(room, chromedp.Navigate(f.base+"/#/lecture/"+f.lecture.ID)); err != nil {
		t.Fatal(err)
	}
	f.wait(room, `#self-view:not([hidden])`, "the classroom's own picture")
	tile := `#site-gallery .tile[data-role="operator"][data-video="true"]`
	f.wait(f.lecturerTab, tile, "the classroom's tile")
	type tileInfo struct {
		Label  string `json:"label"`
		Width  int    `json:"width"`
		Hidden bool   `json:"hidden"`
	}
	js := `(() => { const el = document.querySelector('` + tile + `'); const v = el.querySelector('video');
  return {label: el.querySelector('.tile-label').textContent, width: v.videoWidth, hidden: document.querySelector('#site-gallery').hidden}; })()`
	var got tileInfo
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if got, err = chromedp.Run(f.lecturerTab, chromedp.Evaluate[tileInfo](js)); err != nil {
			t.Fatal(err)
		}
		if got.Width > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got.Label != "Riga" || got.Width == 0 || got.Hidden {
		t.Fatalf("the classroom's tile = %+v, want the label Riga and a decoded picture", got)
	}
	// The student's page shows the classroom as a tile too, beside the
	// lecturer on the stage.
	f.wait(f.studentTab, `#site-gallery .tile[data-role="operator"]`, "the student's gallery")
	main, err := chromedp.Run(f.studentTab, chromedp.Evaluate[string](`(() => { const s = window.lecturelink.session;
  const v = document.querySelector('#remote-video').srcObject; const tr = v && v.getVideoTracks()[0];
  const lect = s.participants.find(p => p.role === 'lecturer');
  return tr && lect && s.remoteStreamIds.get(tr) === lect.connId ? 'lecturer' : 'other'; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if main != "lecturer" {
		t.Fatalf("the student's stage shows %s, want the lecturer", main)
	}
}
