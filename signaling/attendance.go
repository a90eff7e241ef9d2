package signaling

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
)

// lectureInfo is what attendance needs to know of a lecture.
func lectureInfo(l schedule.Lecture) attendance.LectureInfo {
	return attendance.LectureInfo{ID: l.ID, SeriesID: l.SeriesID, StartedAt: l.StartedAt, EndedAt: l.EndedAt,
		Cancelled: l.State == schedule.StateCancelled, SiteIDs: l.Sites(), GroupIDs: l.GroupIDs}
}

// operatorOf reports whether u operates a classroom of a site taking part
// in l (its origin or a participating site).
func operatorOf(u account.User, l schedule.Lecture) bool {
	return u.Role == account.RoleOperator && slices.Contains(l.Sites(), u.SiteID)
}

// teaches reports whether u may manage l's attendance: an admin, or the
// lecture's own lecturer.
func teaches(u account.User, l schedule.Lecture) bool {
	return u.Role == account.RoleAdmin || (u.Role == account.RoleLecturer && l.LecturerID == u.ID)
}

// attendanceLecture loads the {id} lecture and checks that the caller may
// see its attendance: admins and its lecturer always, operators of a site
// taking part if withOperators. It answers 404 and 403 itself.
func (s *Server) attendanceLecture(w http.ResponseWriter, r *http.Request, withOperators bool) (LectureView, bool) {
	lv, ok := s.lectureFromPath(w, r)
	if !ok {
		return LectureView{}, false
	}
	u := userFrom(r.Context())
	if teaches(u, lv.Lecture) || (withOperators && operatorOf(u, lv.Lecture)) {
		return lv, true
	}
	s.metrics.forbidden.Inc()
	msg := "only the lecture's lecturer or an admin may do this"
	if withOperators {
		msg = "only the lecture's lecturer, an admin or an operator of a site taking part may see its attendance"
	}
	writeError(w, http.StatusForbidden, "forbidden", msg)
	return LectureView{}, false
}

// students returns every student as attendance sees people, with site and
// group names for display and export. Deactivated students are included
// (their history stays) but marked, so no lecture expects them.
func (s *Server) students(ctx context.Context) ([]attendance.Person, error) {
	users, err := s.cfg.Accounts.Users(ctx, account.Filter{Role: account.RoleStudent})
	if err != nil {
		return nil, fmt.Errorf("students: %w", err)
	}
	sites, err := s.cfg.Schedule.Sites(ctx)
	if err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	groups, err := s.cfg.Accounts.Groups(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	siteNames := make(map[string]string, len(sites))
	for _, site := range sites {
		siteNames[site.ID] = site.Name
	}
	groupNames := make(map[string]string, len(groups))
	for _, g := range groups {
		groupNames[g.ID] = g.Name
	}
	out := make([]attendance.Person, len(users))
	for i, u := range users {
		out[i] = person(u, siteNames[u.SiteID], groupNames[u.GroupID])
	}
	return out, nil
}

func person(u account.User, siteName, groupName string) attendance.Person {
	return attendance.Person{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName, SiteID: u.SiteID,
		SiteName: siteName, GroupID: u.GroupID, GroupName: groupName, Inactive: !u.Active}
}

// lectureReport computes a lecture's attendance; an operator sees only the
// rows, events and audit entries of their own site's people.
func (s *Server) lectureReport(ctx context.Context, l schedule.Lecture) (attendance.Rules, attendance.LectureReport, error) {
	rules, err := s.cfg.Attendance.Rules(ctx, l.SeriesID)
	if err != nil {
		return attendance.Rules{}, attendance.LectureReport{}, err
	}
	students, err := s.students(ctx)
	if err != nil {
		return attendance.Rules{}, attendance.LectureReport{}, err
	}
	rep, err := s.cfg.Attendance.LectureReport(ctx, lectureInfo(l), rules, students)
	if err != nil {
		return attendance.Rules{}, attendance.LectureReport{}, err
	}
	if u := userFrom(ctx); u.Role == account.RoleOperator {
		rep = onlySite(rep, u.SiteID)
	}
	return rules, rep, nil
}

// onlySite keeps what concerns one site's people.
func onlySite(rep attendance.LectureReport, siteID string) attendance.LectureReport {
	rep.Rows = slices.DeleteFunc(rep.Rows, func(r attendance.Row) bool { return r.SiteID != siteID })
	rep.Events = slices.DeleteFunc(rep.Events, func(e attendance.Event) bool { return e.SiteID != siteID })
	mine := map[string]bool{}
	for _, r := range rep.Rows {
		mine[r.UserID] = true
	}
	rep.Audit = slices.DeleteFunc(rep.Audit, func(a attendance.AuditEntry) bool { return !mine[a.UserID] })
	return rep
}

func (s *Server) handleLectureAttendance(w http.ResponseWriter, r *http.Request) {
	lv, ok := s.attendanceLecture(w, r, true)
	if !ok {
		return
	}
	rules, rep, err := s.lectureReport(r.Context(), lv.Lecture)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lecture": lv, "rules": rules, "rows": rep.Rows, "events": rep.Events, "audit": rep.Audit})
}

// handleLiveAttendance is the lecturer's live panel: who is here now, by
// site (connected, or marked in the room by the site's operator), and who
// is expected but missing.
func (s *Server) handleLiveAttendance(w http.ResponseWriter, r *http.Request) {
	lv, ok := s.attendanceLecture(w, r, false)
	if !ok {
		return
	}
	_, rep, err := s.lectureReport(r.Context(), lv.Lecture)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	live := lv.State == schedule.StateLive
	now := s.cfg.Now()
	present := map[string][]attendance.Row{}
	missing := []attendance.Row{}
	for _, row := range rep.Rows {
		inRoom := row.RollCall != nil && (row.RollCall.To == nil || row.RollCall.To.After(now)) &&
			(row.RollCall.From == nil || !row.RollCall.From.After(now))
		switch {
		case live && (row.Connected || inRoom):
			present[row.SiteID] = append(present[row.SiteID], row)
		case row.Expected:
			missing = append(missing, row)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"lecture": lv, "present": present, "missing": missing})
}

// lectureZone is where a lecture's times are shown: the zone it was
// planned in, else UTC.
func lectureZone(l schedule.Lecture) *time.Location {
	if loc, err := time.LoadLocation(l.TimeZone); err == nil && l.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// writeCSV sends a finished CSV file as a download.
func writeCSV(w http.ResponseWriter, filename string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) handleLectureAttendanceCSV(w http.ResponseWriter, r *http.Request) {
	bom := r.URL.Query().Get("bom") == "true"
	s.exportLectureAttendance(w, r, ".csv", func(b *bytes.Buffer, l schedule.Lecture, rows []attendance.Row) error {
		return attendance.WriteLectureCSV(b, rows, lectureZone(l), bom)
	})
}

func (s *Server) handleLectureAttendanceMoodle(w http.ResponseWriter, r *http.Request) {
	s.exportLectureAttendance(w, r, ".moodle.csv", func(b *bytes.Buffer, _ schedule.Lecture, rows []attendance.Row) error {
		return attendance.WriteMoodleCSV(b, rows)
	})
}

// exportLectureAttendance answers a lecture's attendance as a file written
// by write. The file is built in memory, so a failure can still answer 500
// instead of a truncated file; a lecture's file is a few tens of kilobytes.
func (s *Server) exportLectureAttendance(w http.ResponseWriter, r *http.Request, suffix string,
	write func(*bytes.Buffer, schedule.Lecture, []attendance.Row) error) {
	lv, ok := s.attendanceLecture(w, r, true)
	if !ok {
		return
	}
	_, rep, err := s.lectureReport(r.Context(), lv.Lecture)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	var b bytes.Buffer
	if err := write(&b, lv.Lecture, rep.Rows); err != nil {
		s.internalError(w, "could not export attendance", err)
		return
	}
	writeCSV(w, "attendance-"+lv.ID+suffix, b.Bytes())
}

// attendanceError answers an error from attendance's writes: a field error
// is a 400 naming the field, anything else a 500.
func (s *Server) attendanceError(w http.ResponseWriter, what string, err error) {
	var fe *attendance.FieldError
	if errors.As(err, &fe) {
		writeFieldError(w, fe.Field, fe.Reason)
		return
	}
	if errors.Is(err, attendance.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.internalError(w, what, err)
}
