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

// TestBrowserLectureFull: on a server that takes one participant per
// lecture, a second student's lecture page says the lecture is full instead
// of joining.
func TestBrowserLectureFull(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	accounts := account.NewStore(rs.Client, account.Options{})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	if err := sched.PutSite(ctx, schedule.Site{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	const password = "e2e password"
	lecturer, err := accounts.Create(ctx, account.NewUser{Username: "ozola", Password: password, DisplayName: "Ilze Ozola", Role: account.RoleLecturer, SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"berzina", "kalns"} {
		if _, err := accounts.Create(ctx, account.NewUser{Username: u, Password: password, DisplayName: u, Role: account.RoleStudent, SiteID: "riga"}); err != nil {
			t.Fatal(err)
		}
	}
	lecture, err := sched.CreateLecture(ctx, schedule.NewLecture{Title: "Green border patrols", Topic: "Night observation",
		Start: time.Now().Add(time.Hour), DurationMinutes: 60, LecturerID: lecturer.ID, SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	base := e2eServer(t, rs, "-max-lecture-participants", "1")

	browser := browsertest.Start(t)
	rowSel := fmt.Sprintf(`[data-lecture-id="%s"]`, lecture.ID)
	open := func(user, state string) context.Context {
		t.Helper()
		tab := browsertest.Tab(t, browser)
		signIn(t, tab, base, user, password, rowSel)
		tctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.Navigate(base+"/#/lecture/"+lecture.ID),
			chromedp.WaitVisible(chromedp.CSS(`#lecture-state[data-state="`+state+`"]`))); err != nil {
			t.Fatalf("%s's page never reached state %q: %v", user, state, err)
		}
		return tab
	}
	open("berzina", "waiting") // takes the one place
	tab := open("kalns", "error")
	msg, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('#room-message').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "This lecture is full") {
		t.Fatalf("the refused student's page says %q", msg)
	}
}
