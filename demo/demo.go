// Package demo owns the demonstration data set: the four training sites,
// a cohort of students at each, a handful of accounts and today's lectures,
// so a fresh installation can be tried at once. Every demo account has the
// password in Password.
package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/schedule"
)

// Password is the password of every demo account. It is public on purpose:
// the demo data is for trying lecturelink out, never for real use.
const Password = "lecturelink"

// AdminUsername is the demo administrator; its existence marks a seeded store.
const AdminUsername = "admin"

// Account describes one demo account, for printing at start-up.
type Account struct {
	Username    string
	DisplayName string
	Role        account.Role
	SiteID      string
	Group       string // the student's cohort, by name; empty for staff
}

// Summary says what Seed did.
type Summary struct {
	// Seeded is false when the admin already existed and nothing was written.
	Seeded bool
	// Password is the password of every demo account.
	Password string
	// Accounts lists the demo accounts (also when Seeded is false, since
	// they were created by an earlier run; they may have changed since).
	Accounts []Account
	// Sites, Groups and Lectures are what was written; empty when Seeded is false.
	Sites    []schedule.Site
	Groups   []account.Group
	Lectures []schedule.Lecture
	// Series is the demo course, weekly from a week after the seed.
	Series schedule.Series
}

// Sites are the four participating institutions, with the links measured
// before installation: the two classrooms on narrow links get a downlink
// budget that their students share; the others have no budget.
func Sites() []schedule.Site {
	return []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek",
			NetworkNotes: "Classroom link 6 Mbit/s down, 2 up (radio relay to Bishkek); 180 ms to Riga. Downlink budget 6000 kbit/s.",
			DownlinkKbps: 6000},
		{ID: "bishkek", Name: "Bishkek", Institution: "Border Guard Faculty, Military Institute", TimeZone: "Asia/Bishkek",
			NetworkNotes: "Campus fibre, 100 Mbit/s; no budget needed."},
		{ID: "rezekne", Name: "Rezekne", Institution: "State Border Guard College", TimeZone: "Europe/Riga",
			NetworkNotes: "Classroom link 8 Mbit/s down, 2 up, shared with the college office; behind NAT. Downlink budget 8000 kbit/s.",
			DownlinkKbps: 8000},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga",
			NetworkNotes: "University network, 1 Gbit/s; no budget needed."},
	}
}

// Groups are the demo cohorts, one per site (name and site id).
func Groups() []account.NewGroup {
	return []account.NewGroup{
		{Name: "KG-2026-A", SiteID: "osh"},
		{Name: "KG-2026-B", SiteID: "bishkek"},
		{Name: "LV-2026-B", SiteID: "rezekne"},
		{Name: "LV-2026-A", SiteID: "riga"},
	}
}

// Accounts are the demo people: one admin, a lecturer in Osh and one in
// Riga, a classroom operator per site, and six students over the four
// sites, each in their site's cohort.
func Accounts() []Account {
	return []Account{
		{AdminUsername, "Nurlan Sadykov", account.RoleAdmin, "bishkek", ""},
		{"aliev", "Marat Aliev", account.RoleLecturer, "osh", ""},
		{"berzins", "Jānis Bērziņš", account.RoleLecturer, "riga", ""},
		{"osh-room", "Osh classroom", account.RoleOperator, "osh", ""},
		{"bishkek-room", "Bishkek classroom", account.RoleOperator, "bishkek", ""},
		{"rezekne-room", "Rezekne classroom", account.RoleOperator, "rezekne", ""},
		{"riga-room", "Riga classroom", account.RoleOperator, "riga", ""},
		{"tursunov", "Bakyt Tursunov", account.RoleStudent, "osh", "KG-2026-A"},
		{"asanova", "Aizada Asanova", account.RoleStudent, "bishkek", "KG-2026-B"},
		{"omurbekov", "Emil Omurbekov", account.RoleStudent, "bishkek", "KG-2026-B"},
		{"kalnina", "Ilze Kalniņa", account.RoleStudent, "rezekne", "LV-2026-B"},
		{"ozols", "Mārtiņš Ozols", account.RoleStudent, "rezekne", "LV-2026-B"},
		{"berzina", "Anna Berzina", account.RoleStudent, "riga", "LV-2026-A"},
	}
}

// Seed writes the demo data set unless the admin account already exists.
//
// Today's lectures are placed relative to now: one at the next 5-minute
// boundary (so it can be started at once), one earlier today and one later
// today, "today" meaning the lecture site's local day. The admin is
// created last, so a run that failed half-way is completed by the next one
// (lectures written before the failure may then appear twice).
func Seed(ctx context.Context, accounts *account.Store, sched *schedule.Store, now time.Time) (Summary, error) {
	sum := Summary{Password: Password, Accounts: Accounts()}
	_, err := accounts.ByUsername(ctx, AdminUsername)
	if err == nil {
		return sum, nil
	}
	if !errors.Is(err, account.ErrNotFound) {
		return sum, fmt.Errorf("demo: look for the admin: %w", err)
	}

	for _, site := range Sites() {
		if err := sched.PutSite(ctx, site); err != nil {
			return sum, fmt.Errorf("demo: site %s: %w", site.ID, err)
		}
		sum.Sites = append(sum.Sites, site)
	}

	groups := map[string]string{} // site id + "/" + name -> group id
	for _, ng := range Groups() {
		g, err := ensureGroup(ctx, accounts, ng)
		if err != nil {
			return sum, err
		}
		groups[g.SiteID+"/"+g.Name] = g.ID
		sum.Groups = append(sum.Groups, g)
	}

	ids := map[string]string{} // username -> id
	for _, a := range sum.Accounts {
		if a.Username == AdminUsername {
			continue
		}
		id, err := ensureUser(ctx, accounts, a, groups)
		if err != nil {
			return sum, err
		}
		ids[a.Username] = id
	}

	for _, nl := range lectures(now, ids) {
		l, err := sched.CreateLecture(ctx, nl)
		if err != nil {
			return sum, fmt.Errorf("demo: lecture %q: %w", nl.Title, err)
		}
		sum.Lectures = append(sum.Lectures, l)
	}

	ser, _, err := sched.CreateSeries(ctx, series(now, ids, groups))
	if err != nil {
		return sum, fmt.Errorf("demo: series: %w", err)
	}
	sum.Series = ser

	if _, err := ensureUser(ctx, accounts, sum.Accounts[0], groups); err != nil {
		return sum, err
	}
	sum.Seeded = true
	return sum, nil
}

// ensureGroup creates a demo group or, if a failed earlier run created it
// already, returns it.
func ensureGroup(ctx context.Context, accounts *account.Store, ng account.NewGroup) (account.Group, error) {
	g, err := accounts.CreateGroup(ctx, ng)
	if errors.Is(err, account.ErrGroupExists) {
		g, err = accounts.GroupByName(ctx, ng.SiteID, ng.Name)
	}
	if err != nil {
		return account.Group{}, fmt.Errorf("demo: group %s: %w", ng.Name, err)
	}
	return g, nil
}

// ensureUser creates a demo account or, if a failed earlier run created it
// already, returns its id. groups maps site id + "/" + name to group ids.
func ensureUser(ctx context.Context, accounts *account.Store, a Account, groups map[string]string) (string, error) {
	var groupID string
	if a.Group != "" {
		groupID = groups[a.SiteID+"/"+a.Group]
		if groupID == "" {
			return "", fmt.Errorf("demo: account %s: no group %s at %s", a.Username, a.Group, a.SiteID)
		}
	}
	u, err := accounts.Create(ctx, account.NewUser{
		Username: a.Username, Password: Password, DisplayName: a.DisplayName, Role: a.Role, SiteID: a.SiteID, GroupID: groupID,
	})
	if errors.Is(err, account.ErrExists) {
		u, err = accounts.ByUsername(ctx, a.Username)
	}
	if err != nil {
		return "", fmt.Errorf("demo: account %s: %w", a.Username, err)
	}
	return u.ID, nil
}

// series is a weekly course from Osh to the Latvian cohorts, starting a
// week after now (so it never clashes with today's lectures) at 10:00
// Bishkek time, with a topic plan.
func series(now time.Time, ids, groups map[string]string) schedule.Series {
	first := now.In(zone("Asia/Bishkek")).AddDate(0, 0, 7)
	return schedule.Series{
		Title:        "Border control of vehicles",
		Description:  "Lectures from Kyrgyzstan to Latvian students: inspecting cars, buses and lorries at crossing points.",
		LecturerIDs:  []string{ids["aliev"]},
		OriginSiteID: "osh", SiteIDs: []string{"rezekne", "riga"},
		GroupIDs:   []string{groups["riga/LV-2026-A"], groups["rezekne/LV-2026-B"]},
		FirstStart: first.Format("2006-01-02") + "T10:00", RRule: "FREQ=WEEKLY;COUNT=8", DurationMinutes: 90,
		Topics: []string{"Inspection of cars", "Hidden compartments", "Buses and coaches", "Lorries and seals",
			"Documents of the vehicle", "Stolen vehicle databases", "Dogs and scanners", "Review"},
	}
}

// lectures returns today's three demo lectures around now.
func lectures(now time.Time, ids map[string]string) []schedule.NewLecture {
	next := now.Truncate(5 * time.Minute).Add(5 * time.Minute)
	riga := zone("Europe/Riga")
	earlier := clampToDay(next.Add(-3*time.Hour), next, riga)
	later := clampToDay(next.Add(3*time.Hour), next, riga)
	return []schedule.NewLecture{
		{
			Title:           "Risk analysis at the external border",
			Topic:           "Risk indicators and profiles in daily shift planning; sharing incident reports between crossing points",
			Start:           earlier,
			DurationMinutes: 90,
			LecturerID:      ids["berzins"],
			SiteID:          "riga",
		},
		{
			Title:           "Document control at crossings",
			Topic:           "Forged passports: security features, UV and retro-reflective checks, impostors using genuine documents",
			Start:           next,
			DurationMinutes: 90,
			LecturerID:      ids["aliev"],
			SiteID:          "osh",
		},
		{
			Title:           "Vehicle inspection at road crossings",
			Topic:           "Concealment in cars and lorries, using X-ray scanners and detection dogs, recording findings for prosecution",
			Start:           later,
			DurationMinutes: 60,
			LecturerID:      ids["berzins"],
			SiteID:          "riga",
		},
	}
}

// clampToDay keeps t on the local day (in loc) of ref: not before
// midnight, and, for a lecture after ref, starting at least an hour before
// the day ends when that is still after ref. Only when ref itself is in the
// last minutes of the day does a later lecture spill into tomorrow.
func clampToDay(t, ref time.Time, loc *time.Location) time.Time {
	r := ref.In(loc)
	midnight := time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, loc)
	if t.Before(midnight) {
		return midnight
	}
	dayEnd := midnight.AddDate(0, 0, 1)
	if t.Before(dayEnd) {
		return t
	}
	for _, room := range []time.Duration{time.Hour, 15 * time.Minute, 5 * time.Minute} {
		if c := dayEnd.Add(-room); c.After(ref) {
			return c
		}
	}
	return t
}

// zone loads a time zone, falling back to a fixed offset so the demo never
// fails on a machine without tzdata.
func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone(name, 2*60*60)
	}
	return loc
}

// String lists the demo accounts as "username (role, site)", with the
// group for students ("username (student, site, group)"), for a log line.
func (s Summary) String() string {
	var b strings.Builder
	for i, a := range s.Accounts {
		if i > 0 {
			b.WriteString(", ")
		}
		if a.Group != "" {
			fmt.Fprintf(&b, "%s (%s, %s, %s)", a.Username, a.Role, a.SiteID, a.Group)
		} else {
			fmt.Fprintf(&b, "%s (%s, %s)", a.Username, a.Role, a.SiteID)
		}
	}
	return b.String()
}
