package signaling

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
)

// seriesMatrix computes a series' student × lecture matrix.
func (s *Server) seriesMatrix(ctx context.Context, ser schedule.Series) ([]schedule.Lecture, []attendance.StudentLine, error) {
	ls, err := s.cfg.Schedule.SeriesLectures(ctx, ser.ID)
	if err != nil {
		return nil, nil, err
	}
	rules, err := s.cfg.Attendance.Rules(ctx, ser.ID)
	if err != nil {
		return nil, nil, err
	}
	students, err := s.students(ctx)
	if err != nil {
		return nil, nil, err
	}
	infos := make([]attendance.LectureInfo, len(ls))
	for i, l := range ls {
		infos[i] = lectureInfo(l)
	}
	lines, err := s.cfg.Attendance.SeriesReport(ctx, infos, rules, students)
	return ls, lines, err
}

func (s *Server) handleSeriesAttendance(w http.ResponseWriter, r *http.Request) {
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	ls, lines, err := s.seriesMatrix(r.Context(), ser)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	views, err := s.views(r.Context(), ls)
	if err != nil {
		s.internalError(w, "could not load the lectures", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"series": ser, "lectures": views, "students": lines})
}

func (s *Server) handleSeriesAttendanceCSV(w http.ResponseWriter, r *http.Request) {
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	ls, lines, err := s.seriesMatrix(r.Context(), ser)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	cols := make([]attendance.SeriesColumn, len(ls))
	for i, l := range ls {
		// "3 2026-12-08": the occurrence and its local date, which is how
		// people name a lesson of a course.
		cols[i] = attendance.SeriesColumn{LectureID: l.ID, Label: strconv.Itoa(l.Index) + " " + l.Start.In(lectureZone(l)).Format("2006-01-02")}
	}
	var b bytes.Buffer
	if err := attendance.WriteSeriesCSV(&b, cols, lines, r.URL.Query().Get("bom") == "true"); err != nil {
		s.internalError(w, "could not export attendance", err)
		return
	}
	writeCSV(w, "attendance-"+ser.ID+".csv", b.Bytes())
}

func (s *Server) handleGetRules(w http.ResponseWriter, r *http.Request) {
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	rules, err := s.cfg.Attendance.Rules(r.Context(), ser.ID)
	if err != nil {
		s.internalError(w, "could not load the attendance rules", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
}

func (s *Server) handlePutRules(w http.ResponseWriter, r *http.Request) {
	var rules attendance.Rules
	if err := readJSON(w, r, &rules); err != nil {
		badBody(w, err)
		return
	}
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	rules, err := s.cfg.Attendance.PutRules(r.Context(), ser.ID, rules)
	if err != nil {
		s.attendanceError(w, "could not save the attendance rules", err)
		return
	}
	s.log.Info("attendance rules changed", "series", ser.ID, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
}

// HistoryLecture is one lecture of a student's history.
type HistoryLecture struct {
	Lecture        LectureView `json:"lecture"`
	Status         string      `json:"status"`
	Source         string      `json:"source"`
	PresentSeconds int64       `json:"presentSeconds"`
	Expected       bool        `json:"expected"`
}

// HistorySeries is one series of a student's history.
type HistorySeries struct {
	Series   schedule.Series  `json:"series"`
	Percent  *float64         `json:"percent"`
	Lectures []HistoryLecture `json:"lectures"`
}

// handleUserAttendance is a student's history across the series that
// expect them at one of their lectures (by group, or by site for series
// without groups).
func (s *Server) handleUserAttendance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := userFrom(ctx)
	id := r.PathValue("id")
	if me.Role != account.RoleAdmin && me.ID != id {
		s.metrics.forbidden.Inc()
		writeError(w, http.StatusForbidden, "forbidden", "students may only see their own attendance")
		return
	}
	u, err := s.cfg.Accounts.Get(ctx, id)
	if errors.Is(err, account.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such user")
		return
	}
	if err != nil {
		s.internalError(w, "could not load the user", err)
		return
	}
	out, err := s.history(ctx, u)
	if err != nil {
		s.internalError(w, "could not load attendance", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u, "series": out})
}

func (s *Server) history(ctx context.Context, u account.User) ([]HistorySeries, error) {
	out := []HistorySeries{}
	if u.Role != account.RoleStudent {
		return out, nil
	}
	all, err := s.cfg.Schedule.ListSeries(ctx)
	if err != nil {
		return nil, err
	}
	p := s.studentPerson(ctx, u)
	// Expectation ignores deactivation here: a former student's history
	// is still theirs.
	p.Inactive = false
	var inputs []attendance.SeriesInput
	var series []schedule.Series
	var lectures [][]schedule.Lecture
	var ids []string
	for _, ser := range all {
		ls, err := s.cfg.Schedule.SeriesLectures(ctx, ser.ID)
		if err != nil {
			return nil, err
		}
		in := attendance.SeriesInput{SeriesID: ser.ID}
		expected := false
		for _, l := range ls {
			info := lectureInfo(l)
			expected = expected || info.Expects(p)
			in.Lectures = append(in.Lectures, info)
		}
		if !expected {
			continue
		}
		inputs, series, lectures, ids = append(inputs, in), append(series, ser), append(lectures, ls), append(ids, ser.ID)
	}
	rules, err := s.cfg.Attendance.RulesFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range inputs {
		inputs[i].Rules = rules[inputs[i].SeriesID]
	}
	hist, err := s.cfg.Attendance.History(ctx, p, inputs)
	if err != nil {
		return nil, err
	}
	v := s.newViewer()
	for i, h := range hist {
		hs := HistorySeries{Series: series[i], Percent: h.Percent, Lectures: make([]HistoryLecture, len(h.Cells))}
		for k, c := range h.Cells {
			lv, err := v.view(ctx, lectures[i][k])
			if err != nil {
				return nil, err
			}
			hs.Lectures[k] = HistoryLecture{Lecture: lv, Status: c.Status, Source: c.Source, PresentSeconds: c.PresentSeconds, Expected: c.Expected}
		}
		out = append(out, hs)
	}
	return out, nil
}
