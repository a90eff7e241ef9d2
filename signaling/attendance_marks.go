package signaling

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
)

// lectureStudent loads the student a mark is about, answering 404 for an
// unknown id or a user who is not a student.
func (s *Server) lectureStudent(ctx context.Context, w http.ResponseWriter, id string) (account.User, bool) {
	u, err := s.cfg.Accounts.Get(ctx, strings.TrimSpace(id))
	if errors.Is(err, account.ErrNotFound) || (err == nil && u.Role != account.RoleStudent) {
		writeError(w, http.StatusNotFound, "not_found", "no such student")
		return account.User{}, false
	}
	if err != nil {
		s.internalError(w, "could not load the student", err)
		return account.User{}, false
	}
	return u, true
}

// studentPerson is u as attendance sees them, with display names.
func (s *Server) studentPerson(ctx context.Context, u account.User) attendance.Person {
	p := person(u, "", "")
	if site, err := s.cfg.Schedule.Site(ctx, u.SiteID); err == nil {
		p.SiteName = site.Name
	}
	if g, err := s.cfg.Accounts.Group(ctx, u.GroupID); err == nil && u.GroupID != "" {
		p.GroupName = g.Name
	}
	return p
}

type overrideRequest struct {
	UserID string `json:"userId"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// handleOverride sets a student's status by hand. Only students of the
// lecture may be overridden: those it expects and those who attended it.
func (s *Server) handleOverride(w http.ResponseWriter, r *http.Request) {
	var req overrideRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	lv, ok := s.attendanceLecture(w, r, false)
	if !ok {
		return
	}
	if lv.State == schedule.StateCancelled {
		writeError(w, http.StatusConflict, "conflict", "the lecture is cancelled")
		return
	}
	ctx := r.Context()
	su, ok := s.lectureStudent(ctx, w, req.UserID)
	if !ok {
		return
	}
	info := lectureInfo(lv.Lecture)
	rules, err := s.cfg.Attendance.Rules(ctx, lv.SeriesID)
	if err != nil {
		s.internalError(w, "could not load the attendance rules", err)
		return
	}
	p := s.studentPerson(ctx, su)
	cur, err := s.cfg.Attendance.Row(ctx, info, rules, p)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	if !cur.Expected && cur.FirstJoin == nil && cur.RollCall == nil && cur.Override == nil {
		writeError(w, http.StatusNotFound, "not_found", "the student is neither expected at this lecture nor attended it")
		return
	}
	by := userFrom(ctx)
	audit, err := s.cfg.Attendance.SetOverride(ctx, lv.ID, su.ID, rules,
		attendance.Override{Status: strings.TrimSpace(req.Status), By: by.ID, Reason: req.Reason}, cur.AutomaticStatus)
	if err != nil {
		s.attendanceError(w, "could not save the override", err)
		return
	}
	s.log.Info("attendance overridden", "lecture", lv.ID, "student", su.ID, "by", by.ID, "old", audit.Old, "new", audit.New)
	s.replyRow(ctx, w, info, rules, p)
}

// replyRow answers with the student's row as it is now.
func (s *Server) replyRow(ctx context.Context, w http.ResponseWriter, info attendance.LectureInfo, rules attendance.Rules, p attendance.Person) {
	row, err := s.cfg.Attendance.Row(ctx, info, rules, p)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"row": row})
}

// rollCallSite is the site whose roll-call the caller takes: an operator's
// own site, which must take part in the lecture (else 403); an admin's
// ?siteId=, by default the origin (400 if it does not take part).
func (s *Server) rollCallSite(w http.ResponseWriter, r *http.Request, l schedule.Lecture) (string, bool) {
	u := userFrom(r.Context())
	if u.Role == account.RoleOperator {
		if !operatorOf(u, l) {
			s.metrics.forbidden.Inc()
			writeError(w, http.StatusForbidden, "forbidden", "your site does not take part in this lecture")
			return "", false
		}
		return u.SiteID, true
	}
	site := r.URL.Query().Get("siteId")
	if site == "" {
		site = l.SiteID
	}
	if !slices.Contains(l.Sites(), site) {
		writeFieldError(w, "siteId", "siteId: the site does not take part in this lecture")
		return "", false
	}
	return site, true
}

// RollCallStudent is one line of an operator's roll-call list.
type RollCallStudent struct {
	UserID      string `json:"userId"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	GroupID     string `json:"groupId"`
	Present     bool   `json:"present"`
}

func (s *Server) handleRollCallList(w http.ResponseWriter, r *http.Request) {
	lv, ok := s.lectureFromPath(w, r)
	if !ok {
		return
	}
	site, ok := s.rollCallSite(w, r, lv.Lecture)
	if !ok {
		return
	}
	_, rep, err := s.lectureReport(r.Context(), lv.Lecture)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	out := []RollCallStudent{}
	for _, row := range rep.Rows {
		// The site's expected students, and any of its students already
		// marked (a visitor from another group).
		if row.SiteID != site || (!row.Expected && row.RollCall == nil) {
			continue
		}
		out = append(out, RollCallStudent{UserID: row.UserID, Username: row.Username, DisplayName: row.DisplayName,
			GroupID: row.GroupID, Present: row.RollCall != nil})
	}
	writeJSON(w, http.StatusOK, map[string]any{"siteId": site, "students": out})
}

type rollCallRequest struct {
	Present *bool      `json:"present"`
	From    *time.Time `json:"from"`
	To      *time.Time `json:"to"`
}

// handleRollCallMark marks a student as in the room at their site (or
// clears the mark). An operator may mark only students of their own site,
// and only in a lecture their site takes part in; nothing is written on a
// refusal.
func (s *Server) handleRollCallMark(w http.ResponseWriter, r *http.Request) {
	var req rollCallRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if req.Present == nil {
		writeFieldError(w, "present", "present: true or false is required")
		return
	}
	lv, ok := s.lectureFromPath(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	u := userFrom(ctx)
	if u.Role == account.RoleOperator && !operatorOf(u, lv.Lecture) {
		s.metrics.forbidden.Inc()
		writeError(w, http.StatusForbidden, "forbidden", "your site does not take part in this lecture")
		return
	}
	su, ok := s.lectureStudent(ctx, w, r.PathValue("userId"))
	if !ok {
		return
	}
	switch {
	case u.Role == account.RoleOperator && su.SiteID != u.SiteID:
		s.metrics.forbidden.Inc()
		writeError(w, http.StatusForbidden, "forbidden", "you may only mark students of your own site")
		return
	case !slices.Contains(lv.Sites(), su.SiteID):
		s.metrics.forbidden.Inc()
		writeError(w, http.StatusForbidden, "forbidden", "the student's site does not take part in this lecture")
		return
	case lv.State == schedule.StateCancelled:
		writeError(w, http.StatusConflict, "conflict", "the lecture is cancelled")
		return
	}
	var mark *attendance.RollCall
	if *req.Present {
		mark = &attendance.RollCall{SiteID: su.SiteID, From: req.From, To: req.To}
	}
	if _, err := s.cfg.Attendance.SetRollCall(ctx, lv.ID, su.ID, u.ID, mark); err != nil {
		s.attendanceError(w, "could not save the roll-call", err)
		return
	}
	s.log.Info("roll-call", "lecture", lv.ID, "student", su.ID, "by", u.ID, "present", *req.Present)
	rules, err := s.cfg.Attendance.Rules(ctx, lv.SeriesID)
	if err != nil {
		s.internalError(w, "could not load the attendance rules", err)
		return
	}
	s.replyRow(ctx, w, lectureInfo(lv.Lecture), rules, s.studentPerson(ctx, su))
}
