package signaling

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bomca/lecturelink/schedule"
)

// scheduleRouteCases covers scheduleRoutes in TestRouteRoles. Routes that
// change something get lectures and series of their own, so the order in
// which the test walks the table does not matter.
func scheduleRouteCases(e *env) map[string]routeCase {
	e.t.Helper()
	ctx := context.Background()
	day := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	lecture := func(title string, at time.Duration) schedule.Lecture {
		l, err := e.sched.CreateLecture(ctx, schedule.NewLecture{Title: title, Start: day.Add(at), DurationMinutes: 60,
			LecturerID: e.users["lecturer2"].ID, SiteID: "riga"})
		if err != nil {
			e.t.Fatalf("lecture: %v", err)
		}
		return l
	}
	toPatch, toCancel := lecture("Patched", 0), lecture("Cancelled", 2*time.Hour)
	series := func(title string, days int) schedule.Series {
		first := time.Now().AddDate(0, 0, days).In(mustZone(e.t, "Asia/Bishkek"))
		ser, _, err := e.sched.CreateSeries(ctx, schedule.Series{Title: title, LecturerIDs: []string{e.users["lecturer"].ID},
			OriginSiteID: "osh", FirstStart: first.Format("2006-01-02") + "T08:00", RRule: "FREQ=WEEKLY;COUNT=2", DurationMinutes: 60})
		if err != nil {
			e.t.Fatalf("series: %v", err)
		}
		return ser
	}
	kept, toDelete := series("Kept", 10), series("Deleted", 11)
	var n atomic.Int64
	newSeries := func() string {
		// Each call books a different day, a year away from the fixtures.
		first := time.Now().AddDate(0, 0, 100+int(n.Add(1))).Format("2006-01-02") + "T12:00"
		return `{"title":"Vehicles","lecturerIds":["` + e.users["lecturer2"].ID + `"],"originSiteId":"riga","firstStart":"` + first +
			`","rrule":"FREQ=DAILY;COUNT=1","durationMinutes":60,"topics":["Cars"]}`
	}
	// A user who plays no role in the test, so no case rotates the token.
	token, err := e.sched.FeedToken(ctx, schedule.FeedOwner{Kind: schedule.FeedUser, ID: e.users["student3"].ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]routeCase{
		"PATCH /api/lectures/{id}":       {path: "/api/lectures/" + toPatch.ID, body: func() string { return `{"topic":"New topic"}` }},
		"POST /api/lectures/{id}/cancel": {path: "/api/lectures/" + toCancel.ID + "/cancel", body: func() string { return `{"reason":"ill"}` }},
		"POST /api/sites": {path: "/api/sites", body: func() string {
			return `{"id":"tallinn` + strconv.FormatInt(n.Add(1), 10) + `","name":"Tallinn","institution":"Academy","timeZone":"Europe/Tallinn","networkNotes":"fibre"}`
		}},
		"PUT /api/sites/{id}": {path: "/api/sites/osh", body: func() string {
			return `{"name":"Osh","institution":"Border Service Training Centre","timeZone":"Asia/Bishkek","networkNotes":"8 Mbit/s"}`
		}},
		"GET /api/series":                {path: "/api/series"},
		"POST /api/series/preview":       {path: "/api/series/preview", body: newSeries},
		"POST /api/series":               {path: "/api/series", body: newSeries},
		"GET /api/series/{id}":           {path: "/api/series/" + kept.ID},
		"PATCH /api/series/{id}":         {path: "/api/series/" + kept.ID, body: func() string { return `{"description":"Updated"}` }},
		"DELETE /api/series/{id}":        {path: "/api/series/" + toDelete.ID},
		"POST /api/series/{id}/calendar": {path: "/api/series/" + kept.ID + "/calendar"},
		"GET /api/me/calendar":           {path: "/api/me/calendar"},
		"POST /api/me/calendar":          {path: "/api/me/calendar"},
		"GET /calendar/{file}":           {path: "/calendar/" + token + ".ics"},
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
