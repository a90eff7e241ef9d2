package signaling

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/schedule"
)

// TestSeriesFlow: an admin creates a weekly series for a Riga group; a
// student of that group sees its occurrences with their topics, a student
// of no group at another site does not; the series' calendar feed works
// without a cookie and stops working when renewed; a clashing one-off
// lecture is refused with the conflicts listed.
func TestSeriesFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	g, err := e.accounts.CreateGroup(ctx, account.NewGroup{Name: "LV-2026-A", SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.Create(ctx, account.NewUser{Username: "ozols", DisplayName: "Janis Ozols", Role: account.RoleStudent,
		SiteID: "riga", GroupID: g.ID, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	admin := e.login("admin")
	bishkek := mustZone(t, "Asia/Bishkek")
	first := time.Now().In(bishkek).AddDate(0, 0, 7)
	body := `{"title":"Border control of vehicles","description":"KG to LV","lecturerIds":["` + e.users["lecturer"].ID +
		`"],"originSiteId":"osh","siteIds":["riga"],"groupIds":["` + g.ID + `"],"firstStart":"` + first.Format("2006-01-02") +
		`T10:00","rrule":"FREQ=WEEKLY;COUNT=3","durationMinutes":90,"topics":["Inspection of cars","Hidden compartments"]}`
	var created struct {
		Series   schedule.Series
		Lectures []LectureView
	}
	if status := e.do("POST", "/api/series", admin, body, &created); status != http.StatusCreated || len(created.Lectures) != 3 {
		t.Fatalf("create series: %d %+v", status, created)
	}
	wantStart := time.Date(first.Year(), first.Month(), first.Day(), 4, 0, 0, 0, time.UTC) // 10:00 Bishkek
	if l := created.Lectures[0]; !l.Start.Equal(wantStart) || l.Topic != "Inspection of cars" || l.TimeZone != "Asia/Bishkek" {
		t.Fatalf("first occurrence %+v, want %v", l, wantStart)
	}

	from, to := wantStart.Add(-time.Hour).Format(time.RFC3339), wantStart.AddDate(0, 0, 15).Format(time.RFC3339)
	var list struct{ Lectures []LectureView }
	e.do("GET", "/api/lectures?from="+from+"&to="+to, e.login("ozols"), "", &list)
	if len(list.Lectures) != 3 || list.Lectures[1].Topic != "Hidden compartments" || list.Lectures[2].Topic != "" ||
		list.Lectures[0].SiteName != "Osh" || list.Lectures[0].SeriesID != created.Series.ID {
		t.Fatalf("group student sees %+v", list.Lectures)
	}
	e.do("GET", "/api/lectures?from="+from+"&to="+to, e.login("student3"), "", &list)
	if len(list.Lectures) != 0 {
		t.Fatalf("student of no group sees %+v, want none", list.Lectures)
	}
	e.do("GET", "/api/lectures?from="+from+"&to="+to+"&groupId="+g.ID, admin, "", &list)
	if len(list.Lectures) != 3 {
		t.Fatalf("admin filtered by group sees %d", len(list.Lectures))
	}

	var conflict struct {
		Error struct {
			Code      string
			Conflicts []schedule.Conflict
		}
	}
	one := `{"title":"Clash","topic":"","start":"` + wantStart.Add(30*time.Minute).Format(time.RFC3339) +
		`","durationMinutes":60,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"riga"}`
	if status := e.do("POST", "/api/lectures", admin, one, &conflict); status != http.StatusConflict || conflict.Error.Code != "conflict" ||
		len(conflict.Error.Conflicts) != 1 || conflict.Error.Conflicts[0].LectureID != created.Lectures[0].ID {
		t.Fatalf("clashing lecture: %d %+v", status, conflict)
	}

	var link struct{ URL string }
	if status := e.do("POST", "/api/series/"+created.Series.ID+"/calendar", admin, "", &link); status != http.StatusOK || !strings.HasSuffix(link.URL, ".ics") {
		t.Fatalf("calendar link: %d %+v", status, link)
	}
	status, ctype, ics := fetch(t, e.http.URL+link.URL)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/calendar") || !strings.Contains(ics, "TZID:Asia/Bishkek") ||
		strings.Count(ics, "BEGIN:VEVENT") != 3 || !strings.Contains(ics, "Hidden compartments") {
		t.Fatalf("feed without a cookie: %d %s\n%s", status, ctype, ics)
	}
	old := link.URL
	e.do("POST", "/api/series/"+created.Series.ID+"/calendar", admin, "", &link)
	if status, _, _ := fetch(t, e.http.URL+old); status != http.StatusNotFound || link.URL == old {
		t.Fatalf("old feed after renewal: %d", status)
	}
	if status, _, _ := fetch(t, e.http.URL+link.URL); status != http.StatusOK {
		t.Fatalf("new feed: %d", status)
	}
}

func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
