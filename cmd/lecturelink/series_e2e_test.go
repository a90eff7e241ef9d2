package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/browsertest"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/signaling"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// timetableRow is one lecture as the student's timetable shows it.
type timetableRow struct {
	Topic  string `json:"topic"`
	Local  string `json:"local"`
	Origin string `json:"origin"`
	Date   string `json:"date"`
}

const timetableJS = `[...document.querySelectorAll('li[data-lecture-id]')].map(li => ({
  topic: (li.querySelector('.lecture-topic') || {}).textContent || '',
  local: (li.querySelector('.time-local') || {}).textContent || '',
  origin: (li.querySelector('.time-origin') || {}).textContent || '',
  date: (li.closest('section[data-date]') || {dataset: {}}).dataset.date || '',
}))`

// setFormJS fills the series form the way a person would, firing the input
// and change events the form listens to.
const setFormJS = `(v) => {
  const set = (sel, val) => { const el = document.querySelector(sel); el.value = val;
    el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); };
  const tick = (sel, on) => { const el = document.querySelector(sel); if (el.checked !== on) el.click(); };
  set('#sf-title', v.title);
  set('#sf-origin', v.origin);
  tick('input[name="sf-site"][value="' + v.site + '"]', true);
  tick('input[name="sf-lecturer"][value="' + v.lecturer + '"]', true);
  set('#sf-date', v.date);
  set('#sf-time', v.time);
  set('#sf-duration', '90');
  document.querySelectorAll('input[name="sf-byday"]').forEach(el => { if (el.checked !== (el.value === 'TU')) el.click(); });
  set('#sf-count', '3');
  set('#sf-topics', v.topics.join('\n'));
}`

// TestBrowserSeries has an admin create a weekly series from Osh to a Riga
// cohort in the browser; a student of that cohort then sees its first
// lecture in their timetable with its topic, at the right Riga time and
// the Osh time beside it.
func TestBrowserSeries(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	accounts := account.NewStore(rs.Client, account.Options{SiteExists: signaling.SiteExists(sched)})
	for _, s := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := sched.PutSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	cohort, err := accounts.CreateGroup(ctx, account.NewGroup{Name: "LV-2026-A", SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	const password = "e2e password"
	mk := func(nu account.NewUser) account.User {
		nu.Password = password
		u, err := accounts.Create(ctx, nu)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	mk(account.NewUser{Username: "admin", DisplayName: "Nurlan Sadykov", Role: account.RoleAdmin, SiteID: "osh"})
	lecturer := mk(account.NewUser{Username: "aliev", DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"})
	mk(account.NewUser{Username: "berzina", DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga", GroupID: cohort.ID})

	// The first Tuesday after today, 10:00 in Osh.
	bishkek, _ := time.LoadLocation("Asia/Bishkek")
	riga, _ := time.LoadLocation("Europe/Riga")
	day := time.Now().In(bishkek).AddDate(0, 0, 1)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	first := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, bishkek)
	topics := []string{"Inspection of vehicles", "Hidden compartments", "Documents of carriers"}

	base := e2eServer(t, rs)
	browser := browsertest.Start(t)
	adminTab := browsertest.Tab(t, browser)
	studentTab := browsertest.Tab(t, browser)

	signIn(t, adminTab, base, "admin", password, "#nav-series")
	form := map[string]any{"title": "Border control of vehicles", "origin": "osh", "site": "riga",
		"lecturer": lecturer.ID, "date": first.Format("2006-01-02"), "time": "10:00", "topics": topics}
	formJSON, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(adminTab, 30*time.Second)
	defer cancel()
	err = chromedp.Do(tctx,
		chromedp.Navigate(base+"/#/series/new"),
		chromedp.WaitVisible(chromedp.CSS("#series-form")),
		chromedp.WaitReady(chromedp.CSS(`input[name="sf-site"][value="riga"]`)),
		chromedp.Evaluate[chromedp.Void]("("+setFormJS+")("+string(formJSON)+")", func(p *runtime.EvaluateParams) { p.ReturnByValue = new(true) }),
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`input[name="sf-group"][value="%s"]`, cohort.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="sf-group"][value="%s"]`, cohort.ID))),
		chromedp.Click(chromedp.CSS("#sf-preview")),
		chromedp.WaitVisible(chromedp.CSS(`#sf-preview-table tr[data-index="3"]`)),
		chromedp.Click(chromedp.CSS("#sf-save")),
		chromedp.WaitVisible(chromedp.CSS(".series-detail[data-series-id]")),
		chromedp.WaitVisible(chromedp.CSS(`#series-lectures tr[data-lecture-id]`)),
	)
	if err != nil {
		t.Fatalf("creating the series in the browser: %v", err)
	}
	n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll('#series-lectures tr[data-lecture-id]').length`))
	if err != nil || n != 3 {
		t.Fatalf("series detail lists %d lectures (%v), want 3", n, err)
	}

	signIn(t, studentTab, base, "berzina", password, "li[data-lecture-id]")
	rows, err := chromedp.Run(studentTab, chromedp.Evaluate[[]timetableRow](timetableJS))
	if err != nil {
		t.Fatal(err)
	}
	wantLocal := first.In(riga).Format("15:04")
	var got *timetableRow
	for i := range rows {
		if strings.TrimSpace(rows[i].Topic) == topics[0] {
			got = &rows[i]
		}
	}
	if got == nil {
		t.Fatalf("the student's timetable has no lecture with topic %q: %+v", topics[0], rows)
	}
	if got.Local != wantLocal || got.Origin != "10:00" || got.Date != first.In(riga).Format("2006-01-02") {
		t.Fatalf("first lecture shown as %+v, want %s Riga time (%s in Osh) on %s",
			*got, wantLocal, "10:00", first.In(riga).Format("2006-01-02"))
	}
	t.Logf("student sees %q on %s at %s Riga / %s Osh", got.Topic, got.Date, got.Local, got.Origin)
}
