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
)

// videoStats is what a viewer's page reports about the video it decodes.
type videoStats struct {
	FramesDecoded int    `json:"framesDecoded"`
	FrameWidth    int    `json:"frameWidth"`
	Quality       string `json:"quality"`       // #link-quality[data-quality]
	ServerQuality string `json:"serverQuality"` // the last `quality` message
}

const videoStatsJS = `(async () => {
  const s = window.lecturelink && window.lecturelink.session;
  const out = {framesDecoded: 0, frameWidth: 0, quality: '', serverQuality: ''};
  if (!s) return out;
  out.serverQuality = s.serverQuality || '';
  out.quality = (document.querySelector('#link-quality') || {dataset: {}}).dataset.quality || '';
  if (!s.sub) return out;
  (await s.sub.getStats()).forEach(r => {
    if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
    out.framesDecoded += r.framesDecoded || 0;
    out.frameWidth = Math.max(out.frameWidth, r.frameWidth || 0);
  });
  return out;
})()`

// setSiteDownlinkJS fills the open site form's downlink budget (400 kbit/s).
const setSiteDownlinkJS = `(() => {
  const el = document.querySelector('#site-downlink');
  el.value = '400';
  el.dispatchEvent(new Event('input', {bubbles: true}));
  return true;
})()`

const sitePanelJS = `[...document.querySelectorAll('#site-quality-list li[data-site-id]')]
  .map(li => li.dataset.siteId + ':' + li.dataset.quality).join(' ')`

// TestBrowserSiteBudget: an admin gives the Rezekne site a 400 kbit/s
// downlink budget in the Sites page; the lecturer at Osh publishes its
// 1280×720 camera with simulcast; a student at Riga (no budget) and one at
// Rezekne both decode it, and the Rezekne page decodes a smaller layer.
func TestBrowserSiteBudget(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	accounts := account.NewStore(rs.Client, account.Options{})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	for _, site := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
		{ID: "rezekne", Name: "Rezekne", Institution: "State Border Guard College", TimeZone: "Europe/Riga",
			NetworkNotes: "Classroom link 8 Mbit/s down"},
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
	for _, nu := range []account.NewUser{
		{Username: "admin", DisplayName: "Site Admin", Role: account.RoleAdmin, SiteID: "riga"},
		{Username: "berzina", DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga"},
		{Username: "kalns", DisplayName: "Janis Kalns", Role: account.RoleStudent, SiteID: "rezekne"},
	} {
		nu.Password = password
		if _, err := accounts.Create(ctx, nu); err != nil {
			t.Fatal(err)
		}
	}
	lecture, err := sched.CreateLecture(ctx, schedule.NewLecture{Title: "Document control at crossings", Topic: "Forged passports",
		Start: time.Now().Add(2 * time.Minute), DurationMinutes: 90, LecturerID: lecturer.ID, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}

	base := e2eServer(t, rs)
	browser := browsertest.Start(t)
	adminTab := browsertest.Tab(t, browser)
	lecturerTab := browsertest.Tab(t, browser)
	rigaTab := browsertest.Tab(t, browser)
	rezekneTab := browsertest.Tab(t, browser)
	// Wide pages: the students' pictures are shown large enough for the
	// full layer, so only the budget tells them apart.
	for _, tab := range []context.Context{rigaTab, rezekneTab} {
		if err := chromedp.Do(tab, chromedp.EmulateViewport(1920, 1080)); err != nil {
			t.Fatal(err)
		}
	}

	// The admin sets Rezekne's budget in the Sites page.
	signIn(t, adminTab, base, "admin", password, "nav a#nav-sites")
	actx, cancel := context.WithTimeout(adminTab, 30*time.Second)
	err = chromedp.Do(actx,
		chromedp.Navigate(base+"/#/sites"),
		chromedp.Click(chromedp.CSS(`tr[data-site-id="rezekne"] button[data-action="edit-site"]`)),
		chromedp.WaitVisible(chromedp.CSS("#site-downlink")),
	)
	if err == nil {
		_, err = chromedp.Run(actx, chromedp.Evaluate[bool](setSiteDownlinkJS))
	}
	if err == nil {
		err = chromedp.Do(actx,
			chromedp.Click(chromedp.CSS("#site-save")),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-site-id="rezekne"] td.downlink[data-downlink-kbps="400"]`)),
		)
	}
	cancel()
	if err != nil {
		t.Fatalf("setting the Rezekne budget in the Sites page: %v", err)
	}
	if site, err := sched.Site(ctx, "rezekne"); err != nil || site.DownlinkKbps != 400 || site.NetworkNotes == "" {
		t.Fatalf("stored Rezekne site %+v, %v; want a 400 kbit/s budget and the notes kept", site, err)
	}

	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, lecture.ID)
	waitState := func(tab context.Context, state string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`#lecture-state[data-state="`+state+`"]`))); err != nil {
			t.Fatalf("page never reached state %q: %v", state, err)
		}
	}

	signIn(t, lecturerTab, base, "aliev", password, rowSel)
	start := fmt.Sprintf(`button[data-action="start"][data-lecture-id="%s"]`, lecture.ID)
	if err := chromedp.Do(lecturerTab, chromedp.Click(chromedp.CSS(start))); err != nil {
		t.Fatalf("pressing Start: %v", err)
	}
	waitState(lecturerTab, "live")
	simulcast, err := chromedp.Run(lecturerTab, chromedp.Evaluate[bool](`window.lecturelink.session.simulcast === true`))
	if err != nil || !simulcast {
		t.Fatalf("the lecturer does not publish simulcast (%v)", err)
	}

	for _, s := range []struct {
		tab  context.Context
		user string
	}{{rigaTab, "berzina"}, {rezekneTab, "kalns"}} {
		signIn(t, s.tab, base, s.user, password, rowSel)
		if err := chromedp.Do(s.tab, chromedp.Navigate(base+"/#/lecture/"+lecture.ID)); err != nil {
			t.Fatal(err)
		}
	}
	waitState(rigaTab, "live")
	waitState(rezekneTab, "live")

	// Both keep decoding, and Rezekne a smaller layer than Riga, over a
	// whole window of a few seconds (not a moment of a layer switch). The
	// unconstrained page may start small while its bandwidth estimate
	// ramps up: poll.
	read := func(tab context.Context) videoStats {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[videoStats](videoStatsJS, awaitPromise))
		if err != nil {
			t.Fatalf("reading stats: %v", err)
		}
		return v
	}
	const window = 3 * time.Second
	smaller := func(riga, rezekne videoStats) bool {
		return rezekne.FrameWidth > 0 && riga.FrameWidth > rezekne.FrameWidth
	}
	prevRiga, prevRezekne := read(rigaTab), read(rezekneTab)
	var riga, rezekne videoStats
	ok := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		time.Sleep(window)
		riga, rezekne = read(rigaTab), read(rezekneTab)
		if riga.FramesDecoded >= prevRiga.FramesDecoded+10 && rezekne.FramesDecoded >= prevRezekne.FramesDecoded+10 &&
			smaller(prevRiga, prevRezekne) && smaller(riga, rezekne) {
			ok = true
			break
		}
		prevRiga, prevRezekne = riga, rezekne
	}
	if !ok {
		t.Fatalf("want both pages decoding and Rezekne (400 kbit/s budget) on a smaller layer for %v: Riga %+v then %+v, Rezekne %+v then %+v",
			window, prevRiga, riga, prevRezekne, rezekne)
	}
	t.Logf("Riga decodes %d px wide (%d frames, link %q, server %q); Rezekne %d px wide (%d frames, link %q, server %q)",
		riga.FrameWidth, riga.FramesDecoded, riga.Quality, riga.ServerQuality,
		rezekne.FrameWidth, rezekne.FramesDecoded, rezekne.Quality, rezekne.ServerQuality)

	// The budget shows: Rezekne's own badge carries the server's verdict,
	// and the lecturer's per-site panel lists Rezekne as held back.
	var panel string
	held := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !held; time.Sleep(500 * time.Millisecond) {
		rezekne = read(rezekneTab)
		panel, err = chromedp.Run(lecturerTab, chromedp.Evaluate[string](sitePanelJS))
		if err != nil {
			t.Fatalf("reading the lecturer's panel: %v", err)
		}
		held = rezekne.ServerQuality != "" && rezekne.ServerQuality != "good" && rezekne.Quality == rezekne.ServerQuality &&
			(strings.Contains(panel, "rezekne:weak") || strings.Contains(panel, "rezekne:audio-only"))
	}
	if !held {
		t.Fatalf("Rezekne's budget is not shown: its page %+v, the lecturer's panel %q", rezekne, panel)
	}
	t.Logf("Rezekne's badge %q; the lecturer's per-site panel %q", rezekne.Quality, panel)
}
