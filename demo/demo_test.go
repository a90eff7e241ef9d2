package demo

import (
	"context"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
)

func stores(t *testing.T, now time.Time) (*account.Store, *schedule.Store) {
	t.Helper()
	srv := redistest.Start(t)
	clock := func() time.Time { return now }
	acc := account.NewStore(srv.Client, account.Options{Argon2Time: 1, Argon2Memory: 64, Argon2Threads: 1, Now: clock})
	return acc, schedule.NewStore(srv.Client, schedule.Options{Now: clock})
}

func TestSeedCreatesTheDemoAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	riga, _ := time.LoadLocation("Europe/Riga")
	now := time.Date(2026, 11, 27, 11, 2, 30, 0, riga)
	acc, sched := stores(t, now)

	sum, err := Seed(ctx, acc, sched, now)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Seeded || sum.Password != "lecturelink" || len(sum.Accounts) != 13 || len(sum.Lectures) != 3 || len(sum.Sites) != 4 || len(sum.Groups) != 4 || sum.Series.Occurrences != 8 {
		t.Fatalf("summary: seeded=%v password=%q accounts=%d lectures=%d sites=%d groups=%d", sum.Seeded, sum.Password, len(sum.Accounts), len(sum.Lectures), len(sum.Sites), len(sum.Groups))
	}

	// One cohort per site.
	groups, err := acc.Groups(ctx, "")
	if err != nil || len(groups) != 4 {
		t.Fatalf("groups %+v, %v; want 4", groups, err)
	}
	groupSite := map[string]string{} // id -> site
	for _, g := range groups {
		if groupSite[g.ID] = g.SiteID; g.Name == "" {
			t.Errorf("group %+v has no name", g)
		}
	}
	if g, err := acc.GroupByName(ctx, "osh", "KG-2026-A"); err != nil || g.SiteID != "osh" {
		t.Fatalf("KG-2026-A at osh: %+v, %v", g, err)
	}

	// Sites, with their institutions and zones.
	sites, err := sched.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSites := map[string][2]string{
		"osh":     {"Border Service Training Centre", "Asia/Bishkek"},
		"bishkek": {"Border Guard Faculty, Military Institute", "Asia/Bishkek"},
		"rezekne": {"State Border Guard College", "Europe/Riga"},
		"riga":    {"Riga Technical University", "Europe/Riga"},
	}
	if len(sites) != len(wantSites) {
		t.Fatalf("%d sites, want 4", len(sites))
	}
	// The narrow classroom links have budgets that their notes explain.
	wantBudget := map[string]int{"osh": 6000, "rezekne": 8000}
	for _, s := range sites {
		if w := wantSites[s.ID]; s.Institution != w[0] || s.TimeZone != w[1] {
			t.Errorf("site %+v, want %v", s, w)
		}
		if s.DownlinkKbps != wantBudget[s.ID] || s.NetworkNotes == "" {
			t.Errorf("site %s: budget %d kbit/s, notes %q; want %d and notes", s.ID, s.DownlinkKbps, s.NetworkNotes, wantBudget[s.ID])
		}
	}

	// Accounts: they exist as summarised and sign in with the demo password.
	users, err := acc.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[account.Role]int{}
	studentSites := map[string]bool{}
	operatorSites := map[string]bool{}
	lecturerSite := map[string]string{} // id -> site
	for _, u := range users {
		roles[u.Role]++
		switch u.Role {
		case account.RoleStudent:
			studentSites[u.SiteID] = true
			if groupSite[u.GroupID] != u.SiteID {
				t.Errorf("student %s at %s is in group %q of site %q", u.Username, u.SiteID, u.GroupID, groupSite[u.GroupID])
			}
		case account.RoleOperator:
			operatorSites[u.SiteID] = true
		case account.RoleLecturer:
			lecturerSite[u.ID] = u.SiteID
		}
	}
	if roles[account.RoleAdmin] != 1 || roles[account.RoleLecturer] != 2 || roles[account.RoleStudent] != 6 || roles[account.RoleOperator] != 4 {
		t.Fatalf("roles %v, want 1 admin, 2 lecturers, 4 operators, 6 students", roles)
	}
	if len(operatorSites) != 4 {
		t.Fatalf("operators at %v, want one per site", operatorSites)
	}
	if len(studentSites) != 4 {
		t.Fatalf("students at %v, want spread over all 4 sites", studentSites)
	}
	for _, a := range sum.Accounts {
		u, err := acc.Authenticate(ctx, a.Username, Password)
		if err != nil || u.Role != a.Role || u.SiteID != a.SiteID || u.DisplayName != a.DisplayName {
			t.Errorf("sign in %s: %+v, %v; want %+v", a.Username, u, err, a)
		}
	}
	if admin, err := acc.ByUsername(ctx, "admin"); err != nil || admin.Role != account.RoleAdmin {
		t.Fatalf("admin = %+v, %v", admin, err)
	}

	// Lectures: one at the next 5-minute boundary, one earlier, one later,
	// all on the site's local today and taught by a demo lecturer.
	next := time.Date(2026, 11, 27, 11, 5, 0, 0, riga)
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, riga)
	ls, err := sched.LecturesBetween(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Fatalf("%d lectures today, want 3", len(ls))
	}
	if !ls[0].Start.Before(now) || !ls[1].Start.Equal(next) || !ls[2].Start.After(next) {
		t.Fatalf("starts %v %v %v; want one before %v, one at %v, one after", ls[0].Start, ls[1].Start, ls[2].Start, now, next)
	}
	for _, l := range ls {
		if l.State != schedule.StateScheduled || l.Title == "" || l.Topic == "" {
			t.Errorf("lecture %+v", l)
		}
		if _, ok := lecturerSite[l.LecturerID]; !ok {
			t.Errorf("lecture %q taught by %q, not a demo lecturer", l.Title, l.LecturerID)
		}
	}
	if lecturerSite[ls[1].LecturerID] != "osh" || lecturerSite[ls[0].LecturerID] != "riga" {
		t.Fatalf("lecturers by site: %v", lecturerSite)
	}
	// The lecture starting next can be started right away.
	if l, err := sched.Start(ctx, ls[1].ID); err != nil || l.State != schedule.StateLive {
		t.Fatalf("Start the next lecture: %v, %v", l.State, err)
	}

	// A second run writes nothing.
	again, err := Seed(ctx, acc, sched, now.Add(time.Hour))
	if err != nil || again.Seeded || len(again.Lectures) != 0 {
		t.Fatalf("second Seed = seeded %v, %d lectures, %v; want nothing done", again.Seeded, len(again.Lectures), err)
	}
	if users2, _ := acc.List(ctx, ""); len(users2) != len(users) {
		t.Fatalf("second Seed changed users: %d, want %d", len(users2), len(users))
	}
	if groups2, _ := acc.Groups(ctx, ""); len(groups2) != len(groups) {
		t.Fatalf("second Seed changed groups: %d, want %d", len(groups2), len(groups))
	}
	if ls2, _ := sched.LecturesBetween(ctx, day, day.AddDate(0, 0, 2)); len(ls2) != 3 {
		t.Fatalf("second Seed changed lectures: %d, want 3", len(ls2))
	}
}

func TestSeedLecturesStayOnToday(t *testing.T) {
	riga, _ := time.LoadLocation("Europe/Riga")
	ids := map[string]string{"aliev": "u_a", "berzins": "u_b"}
	for _, now := range []time.Time{
		time.Date(2026, 3, 29, 0, 20, 0, 0, riga), // just after midnight, DST day
		time.Date(2026, 11, 27, 22, 41, 0, 0, riga),
		time.Date(2026, 11, 27, 12, 0, 0, 0, riga), // exactly on a boundary
	} {
		ls := lectures(now, ids)
		next := ls[1].Start
		if !next.After(now) || next.Sub(now) > 5*time.Minute || next.Unix()%300 != 0 {
			t.Errorf("now %v: next lecture at %v, want the next 5-minute boundary", now, next)
		}
		y, m, d := now.Date()
		for _, l := range []schedule.NewLecture{ls[0], ls[2]} {
			if ly, lm, ld := l.Start.In(riga).Date(); ly != y || lm != m || ld != d {
				t.Errorf("now %v: %q at %v is not today", now, l.Title, l.Start.In(riga))
			}
		}
		if !ls[0].Start.Before(now) && !ls[0].Start.Equal(time.Date(y, m, d, 0, 0, 0, 0, riga)) {
			t.Errorf("now %v: earlier lecture at %v", now, ls[0].Start)
		}
		if !ls[2].Start.After(next) {
			t.Errorf("now %v: later lecture at %v, not after %v", now, ls[2].Start, next)
		}
	}
}

func TestSummaryString(t *testing.T) {
	got := Summary{Accounts: append(Accounts()[:2:2], Account{"tursunov", "Bakyt Tursunov", account.RoleStudent, "osh", "KG-2026-A"})}.String()
	if want := "admin (admin, bishkek), aliev (lecturer, osh), tursunov (student, osh, KG-2026-A)"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}

// TestSeedCompletesAFailedRun: groups and accounts left by a run that
// failed before creating the admin are reused, not duplicated.
func TestSeedCompletesAFailedRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	acc, sched := stores(t, now)
	for _, site := range Sites() {
		if err := sched.PutSite(ctx, site); err != nil {
			t.Fatal(err)
		}
	}
	g, err := acc.CreateGroup(ctx, Groups()[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Create(ctx, account.NewUser{Username: "tursunov", Password: Password, DisplayName: "Bakyt Tursunov",
		Role: account.RoleStudent, SiteID: "osh", GroupID: g.ID}); err != nil {
		t.Fatal(err)
	}
	sum, err := Seed(ctx, acc, sched, now)
	if err != nil || !sum.Seeded {
		t.Fatalf("Seed after a partial run: %v, seeded %v", err, sum.Seeded)
	}
	if sum.Groups[0].ID != g.ID {
		t.Fatalf("Seed made a second %s: %+v", g.Name, sum.Groups[0])
	}
	groups, _ := acc.Groups(ctx, "")
	users, _ := acc.List(ctx, "")
	if len(groups) != 4 || len(users) != len(Accounts()) {
		t.Fatalf("%d groups and %d users, want 4 and %d", len(groups), len(users), len(Accounts()))
	}
}
