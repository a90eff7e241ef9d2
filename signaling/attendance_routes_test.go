package signaling

import (
	"context"
	"time"

	"github.com/bomca/lecturelink/schedule"
)

// attendanceRouteCases covers attendanceRoutes in TestRouteRoles. The
// env's lecture is taught by "lecturer" from osh, whose operator is
// "operator" and whose student is student3, so every admitted role passes
// the handlers' ownership checks too.
func attendanceRouteCases(e *env) map[string]routeCase {
	e.t.Helper()
	first := time.Now().AddDate(0, 0, 20).In(mustZone(e.t, "Asia/Bishkek"))
	ser, _, err := e.sched.CreateSeries(context.Background(), schedule.Series{Title: "Attendance routes",
		LecturerIDs: []string{e.users["lecturer"].ID}, OriginSiteID: "osh", FirstStart: first.Format("2006-01-02") + "T16:00",
		RRule: "FREQ=WEEKLY;COUNT=2", DurationMinutes: 60})
	if err != nil {
		e.t.Fatalf("series: %v", err)
	}
	lec := "/api/lectures/" + e.lecture.ID
	student3 := e.users["student3"].ID
	return map[string]routeCase{
		"GET /api/lectures/{id}/attendance":      {path: lec + "/attendance"},
		"GET /api/lectures/{id}/attendance/live": {path: lec + "/attendance/live"},
		"POST /api/lectures/{id}/attendance/overrides": {path: lec + "/attendance/overrides", body: func() string {
			return `{"userId":"` + student3 + `","status":"E","reason":"sick note"}`
		}},
		"GET /api/lectures/{id}/rollcall":              {path: lec + "/rollcall"},
		"PUT /api/lectures/{id}/rollcall/{userId}":     {path: lec + "/rollcall/" + student3, body: func() string { return `{"present":true}` }},
		"GET /api/lectures/{id}/attendance.csv":        {path: lec + "/attendance.csv?bom=true"},
		"GET /api/lectures/{id}/attendance.moodle.csv": {path: lec + "/attendance.moodle.csv"},
		"GET /api/series/{id}/attendance":              {path: "/api/series/" + ser.ID + "/attendance"},
		"GET /api/series/{id}/attendance.csv":          {path: "/api/series/" + ser.ID + "/attendance.csv"},
		"GET /api/series/{id}/attendance-rules":        {path: "/api/series/" + ser.ID + "/attendance-rules"},
		"PUT /api/series/{id}/attendance-rules": {path: "/api/series/" + ser.ID + "/attendance-rules", body: func() string {
			return `{"statuses":[{"acronym":"P","description":"Present","grade":2},{"acronym":"L","description":"Late","grade":1},` +
				`{"acronym":"A","description":"Absent","grade":0}],"presentShare":0.8,"lateAfterMinutes":5,"graceSeconds":30}`
		}},
		// A student may read their own history; the route test plays the
		// student as student1.
		"GET /api/users/{id}/attendance": {path: "/api/users/" + e.users["student1"].ID + "/attendance"},
	}
}
