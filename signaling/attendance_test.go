package signaling

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
)

type attendanceReply struct {
	Lecture LectureView
	Rules   attendance.Rules
	Rows    []attendance.Row
	Events  []attendance.Event
	Audit   []attendance.AuditEntry
	Error   apiError
}

type rowReply struct {
	Row   attendance.Row
	Error apiError
}

func rowsByUser(rows []attendance.Row) map[string]attendance.Row {
	m := map[string]attendance.Row{}
	for _, r := range rows {
		m[r.Username] = r
	}
	return m
}

// heldLecture books a lecture from osh with riga taking part (so student1
// and student2 of riga and student3 of osh are expected), starts and ends
// it, and records student1 and student3 present for all of it.
func heldLecture(t *testing.T, e *env) schedule.Lecture {
	t.Helper()
	ctx := context.Background()
	l, err := e.sched.CreateLecture(ctx, schedule.NewLecture{Title: "Profiling", Start: time.Now().Add(4 * time.Hour),
		DurationMinutes: 60, LecturerID: e.users["lecturer"].ID, SiteID: "osh", SiteIDs: []string{"riga"}})
	if err != nil {
		t.Fatal(err)
	}
	if l, err = e.sched.Start(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a lecture of some length
	if l, err = e.sched.End(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"student1", "student3"} {
		u := e.users[name]
		conn := "c_" + name
		for _, ev := range []attendance.Event{
			{LectureID: l.ID, Kind: attendance.KindJoin, UserID: u.ID, Role: "student", SiteID: u.SiteID, ConnID: conn, At: *l.StartedAt},
			{LectureID: l.ID, Kind: attendance.KindLeave, ConnID: conn, At: *l.EndedAt, Reason: attendance.ReasonEnded},
		} {
			if _, err := e.att.Record(ctx, ev); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
	}
	return l
}

func TestLectureAttendanceRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	l := heldLecture(t, e)
	path := "/api/lectures/" + l.ID
	lecturer := e.session("lecturer")

	var rep attendanceReply
	if st := e.do("GET", path+"/attendance", lecturer, "", &rep); st != http.StatusOK {
		t.Fatalf("GET attendance: %d %+v", st, rep.Error)
	}
	rows := rowsByUser(rep.Rows)
	if len(rep.Rows) != 3 || rows["student1"].Status != "P" || rows["student3"].Status != "P" || rows["student2"].Status != "A" ||
		!rows["student2"].Expected || rows["student1"].SiteName != "Riga" || rows["student1"].Source != "automatic" {
		t.Fatalf("rows %+v", rep.Rows)
	}
	if len(rep.Events) != 4 || len(rep.Audit) != 0 || rep.Rules.PresentShare != 0.75 || rep.Lecture.ID != l.ID {
		t.Fatalf("reply %+v", rep)
	}

	// An operator sees only their own site's people.
	var opRep attendanceReply
	if st := e.do("GET", path+"/attendance", e.session("operator"), "", &opRep); st != http.StatusOK ||
		len(opRep.Rows) != 1 || opRep.Rows[0].Username != "student3" || len(opRep.Events) != 2 {
		t.Fatalf("operator sees %d %+v", st, opRep)
	}
	// Another lecturer may not look.
	if st := e.do("GET", path+"/attendance", e.session("lecturer2"), "", &rep); st != http.StatusForbidden {
		t.Fatalf("lecturer2: %d", st)
	}

	// Overrides: good one, then refusals that write nothing.
	var rr rowReply
	body := `{"userId":"` + e.users["student2"].ID + `","status":"E","reason":"sick note"}`
	if st := e.do("POST", path+"/attendance/overrides", lecturer, body, &rr); st != http.StatusOK ||
		rr.Row.Status != "E" || rr.Row.Source != "manual" || rr.Row.AutomaticStatus != "A" || rr.Row.Override == nil ||
		rr.Row.Override.By != e.users["lecturer"].ID || rr.Row.Override.Reason != "sick note" {
		t.Fatalf("override: %d %+v", st, rr)
	}
	for _, c := range []struct {
		name, path, body string
		who              string
		status           int
		field            string
	}{
		{"status outside the set", path, `{"userId":"` + e.users["student1"].ID + `","status":"X","reason":"r"}`, "lecturer", 400, "status"},
		{"empty reason", path, `{"userId":"` + e.users["student1"].ID + `","status":"L","reason":" "}`, "lecturer", 400, "reason"},
		{"unknown student", path, `{"userId":"u_nobody","status":"L","reason":"r"}`, "lecturer", 404, ""},
		{"a lecturer is no student", path, `{"userId":"` + e.users["lecturer2"].ID + `","status":"L","reason":"r"}`, "lecturer", 404, ""},
		{"unknown lecture", "/api/lectures/lec_nope", `{"userId":"` + e.users["student1"].ID + `","status":"L","reason":"r"}`, "lecturer", 404, ""},
		{"not their lecture", path, `{"userId":"` + e.users["student1"].ID + `","status":"L","reason":"r"}`, "lecturer2", 403, ""},
		{"unknown field", path, `{"userId":"` + e.users["student1"].ID + `","status":"L","reason":"r","at":"x"}`, "lecturer", 400, ""},
	} {
		var out struct{ Error apiError }
		if st := e.do("POST", c.path+"/attendance/overrides", e.session(c.who), c.body, &out); st != c.status || out.Error.Field != c.field {
			t.Errorf("%s: %d %+v, want %d on %q", c.name, st, out.Error, c.status, c.field)
		}
	}

	// Roll-call: the osh operator marks student3 (osh); not student1 (riga).
	op := e.session("operator")
	if st := e.do("PUT", path+"/rollcall/"+e.users["student3"].ID, op, `{"present":true}`, &rr); st != http.StatusOK ||
		rr.Row.Source != "rollcall" || rr.Row.RollCall == nil || rr.Row.RollCall.SiteID != "osh" || rr.Row.RollCall.By != e.users["operator"].ID {
		t.Fatalf("roll-call: %d %+v", st, rr)
	}
	_, err := e.accounts.Create(context.Background(), account.NewUser{Username: "operator2", DisplayName: "Riga classroom",
		Role: account.RoleOperator, SiteID: "riga", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, who, path, body string
		status                int
	}{
		{"student of another site", "operator", path + "/rollcall/" + e.users["student1"].ID, `{"present":true}`, 403},
		{"operator of a site not taking part", "operator", "/api/lectures/" + e.other.ID + "/rollcall/" + e.users["student3"].ID, `{"present":true}`, 403},
		{"unknown student", "operator", path + "/rollcall/u_nobody", `{"present":true}`, 404},
		{"riga operator for an osh student", "operator2", path + "/rollcall/" + e.users["student3"].ID, `{"present":false}`, 403},
		{"no present", "operator", path + "/rollcall/" + e.users["student3"].ID, `{}`, 400},
		{"backwards interval", "admin", path + "/rollcall/" + e.users["student3"].ID,
			`{"present":true,"from":"2030-01-01T10:00:00Z","to":"2030-01-01T09:00:00Z"}`, 400},
	} {
		var out struct{ Error apiError }
		if st := e.do("PUT", c.path, e.session(c.who), c.body, &out); st != c.status || out.Error.Code == "" {
			t.Errorf("roll-call %s: %d %+v, want %d", c.name, st, out.Error, c.status)
		}
	}

	// Only the accepted override and roll-call reached the audit trail.
	if st := e.do("GET", path+"/attendance", lecturer, "", &rep); st != http.StatusOK || len(rep.Audit) != 2 ||
		rep.Audit[0].Kind != "override" || rep.Audit[0].Old != "A" || rep.Audit[0].New != "E" || rep.Audit[0].Reason != "sick note" ||
		rep.Audit[1].Kind != "rollcall" || rep.Audit[1].UserID != e.users["student3"].ID {
		t.Fatalf("audit after refusals: %+v", rep.Audit)
	}
	var list struct {
		SiteID   string
		Students []RollCallStudent
	}
	if st := e.do("GET", path+"/rollcall", e.session("operator2"), "", &list); st != http.StatusOK || list.SiteID != "riga" ||
		len(list.Students) != 2 || list.Students[0].Present {
		t.Fatalf("riga roll-call list: %d %+v", st, list)
	}
	if st := e.do("GET", "/api/lectures/"+e.other.ID+"/rollcall", op, "", &list); st != http.StatusForbidden {
		t.Fatalf("osh operator's list for a riga lecture: %d", st)
	}

	var live struct {
		Present map[string][]attendance.Row
		Missing []attendance.Row
	}
	if st := e.do("GET", path+"/attendance/live", lecturer, "", &live); st != http.StatusOK || len(live.Present) != 0 || len(live.Missing) != 3 {
		t.Fatalf("live panel of an ended lecture: %d %+v", st, live)
	}
}

func getRaw(t *testing.T, e *env, path, user string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+path, nil)
	req.AddCookie(e.session(user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAttendanceExports(t *testing.T) {
	e := newEnv(t, envOptions{})
	l := heldLecture(t, e)
	resp, b := getRaw(t, e, "/api/lectures/"+l.ID+"/attendance.csv?bom=true", "lecturer")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Fatalf("CSV: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "username" || recs[0][8] != "source" {
		t.Fatalf("CSV records %q, %v", recs, err)
	}
	_, plain := getRaw(t, e, "/api/lectures/"+l.ID+"/attendance.csv", "lecturer")
	if bytes.HasPrefix(plain, []byte("\ufeff")) {
		t.Fatal("BOM without bom=true")
	}
	resp, b = getRaw(t, e, "/api/lectures/"+l.ID+"/attendance.moodle.csv", "admin")
	recs, err = csv.NewReader(bytes.NewReader(b)).ReadAll()
	want := map[string]string{"student1": "P", "student2": "A", "student3": "P"}
	if resp.StatusCode != 200 || err != nil || len(recs) != 4 || recs[0][0] != "username" || recs[0][1] != "status" {
		t.Fatalf("Moodle CSV %d %q %v", resp.StatusCode, recs, err)
	}
	for _, r := range recs[1:] {
		if want[r[0]] != r[1] {
			t.Errorf("Moodle line %q, want %s", r, want[r[0]])
		}
	}
	// An operator's export holds only their site's students.
	_, b = getRaw(t, e, "/api/lectures/"+l.ID+"/attendance.moodle.csv", "operator")
	if recs, _ := csv.NewReader(bytes.NewReader(b)).ReadAll(); len(recs) != 2 || recs[1][0] != "student3" {
		t.Fatalf("operator's Moodle CSV %q", recs)
	}
}

func TestSeriesAttendanceRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	first := time.Now().Add(-3 * time.Hour).In(mustZone(t, "Asia/Bishkek"))
	ser, ls, err := e.sched.CreateSeries(ctx, schedule.Series{Title: "Vehicles", LecturerIDs: []string{e.users["lecturer"].ID},
		OriginSiteID: "osh", SiteIDs: []string{"riga"}, FirstStart: first.Format("2006-01-02T15:04"), RRule: "FREQ=WEEKLY;COUNT=3", DurationMinutes: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sched.Start(ctx, ls[0].ID); err != nil {
		t.Fatal(err)
	}
	l0, err := e.sched.End(ctx, ls[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	u := e.users["student1"]
	for _, ev := range []attendance.Event{
		{LectureID: l0.ID, Kind: attendance.KindJoin, UserID: u.ID, Role: "student", SiteID: "riga", ConnID: "c1", At: *l0.StartedAt},
		{LectureID: l0.ID, Kind: attendance.KindLeave, ConnID: "c1", At: *l0.EndedAt},
	} {
		if _, err := e.att.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	path := "/api/series/" + ser.ID
	var rules struct {
		Rules attendance.Rules
		Error apiError
	}
	if st := e.do("PUT", path+"/attendance-rules", e.session("admin"), `{"statuses":[{"acronym":"P","description":"Present","grade":2}],"presentShare":0.5,"lateAfterMinutes":5,"graceSeconds":30}`, &rules); st != 400 || rules.Error.Field != "statuses" {
		t.Fatalf("rules without L and A: %d %+v", st, rules.Error)
	}
	if st := e.do("PUT", path+"/attendance-rules", e.session("admin"), `{"statuses":[{"acronym":"P","description":"Present","grade":2},{"acronym":"L","description":"Late","grade":1},{"acronym":"A","description":"Absent","grade":0}],"presentShare":1.5,"lateAfterMinutes":5,"graceSeconds":30}`, &rules); st != 400 || rules.Error.Field != "presentShare" {
		t.Fatalf("share 1.5: %d %+v", st, rules.Error)
	}
	if st := e.do("GET", path+"/attendance-rules", e.session("lecturer"), "", &rules); st != 200 || rules.Rules.PresentShare != 0.75 {
		t.Fatalf("rules after refusals: %d %+v", st, rules)
	}
	if st := e.do("GET", path+"/attendance-rules", e.session("lecturer2"), "", &rules); st != 403 {
		t.Fatalf("lecturer2 reads rules: %d", st)
	}

	var matrix struct {
		Lectures []LectureView
		Students []attendance.StudentLine
	}
	if st := e.do("GET", path+"/attendance", e.session("lecturer"), "", &matrix); st != 200 || len(matrix.Lectures) != 3 || len(matrix.Students) != 3 {
		t.Fatalf("matrix: %d %+v", st, matrix)
	}
	for _, s := range matrix.Students {
		want := 0.0
		if s.Username == "student1" {
			want = 100
		}
		if s.Percent == nil || *s.Percent != want || len(s.Cells) != 3 || s.Cells[1].Status != "" {
			t.Errorf("%s: %+v percent %v, want %v", s.Username, s.Cells, s.Percent, want)
		}
	}
	resp, b := getRaw(t, e, path+"/attendance.csv", "admin")
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(recs) != 4 || len(recs[0]) != 8 || recs[0][7] != "percent" {
		t.Fatalf("series CSV %d %q %v", resp.StatusCode, recs, err)
	}

	// History: a student sees their own, not someone else's.
	var hist struct {
		User   account.User
		Series []HistorySeries
	}
	if st := e.do("GET", "/api/users/"+u.ID+"/attendance", e.session("student1"), "", &hist); st != 200 || len(hist.Series) != 1 ||
		hist.Series[0].Series.ID != ser.ID || hist.Series[0].Lectures[0].Status != "P" || *hist.Series[0].Percent != 100 {
		b, _ := json.Marshal(hist)
		t.Fatalf("history: %d %s", st, b)
	}
	if st := e.do("GET", "/api/users/"+e.users["student2"].ID+"/attendance", e.session("student1"), "", &hist); st != 403 {
		t.Fatalf("someone else's history: %d", st)
	}
	if st := e.do("GET", "/api/users/u_nobody/attendance", e.session("admin"), "", &hist); st != 404 {
		t.Fatalf("unknown user's history: %d", st)
	}
}

// TestJoinClientTime: the clientTime of a join is stored with the event,
// and the server's time is the one that counts.
func TestJoinClientTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.sched.Start(context.Background(), e.lecture.ID); err != nil {
		t.Fatal(err)
	}
	c := e.dial("student3")
	c.send(map[string]string{"type": "join", "lectureId": e.lecture.ID, "clientTime": "2001-01-01T00:00:00Z"})
	c.expect("joined")
	evs, err := e.att.Events(context.Background(), e.lecture.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if evs[0].ClientAt == nil || !evs[0].ClientAt.Equal(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) || time.Since(evs[0].At) > time.Minute {
		t.Fatalf("join event %+v: want the client's time kept beside a current server time", evs[0])
	}
}
