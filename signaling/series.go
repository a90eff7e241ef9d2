package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/schedule"
)

// seriesRequest is the body of POST /api/series and its preview: a
// Series without the fields the server sets.
type seriesRequest struct {
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	LecturerIDs     []string `json:"lecturerIds"`
	OriginSiteID    string   `json:"originSiteId"`
	SiteIDs         []string `json:"siteIds"`
	GroupIDs        []string `json:"groupIds"`
	TimeZone        string   `json:"timeZone"`
	FirstStart      string   `json:"firstStart"`
	RRule           string   `json:"rrule"`
	Exdates         []string `json:"exdates"`
	DurationMinutes int      `json:"durationMinutes"`
	Topics          []string `json:"topics"`
}

func (q seriesRequest) series() schedule.Series {
	return schedule.Series{Title: q.Title, Description: q.Description, LecturerIDs: q.LecturerIDs,
		OriginSiteID: q.OriginSiteID, SiteIDs: q.SiteIDs, GroupIDs: q.GroupIDs, TimeZone: q.TimeZone,
		FirstStart: q.FirstStart, RRule: q.RRule, Exdates: q.Exdates, DurationMinutes: q.DurationMinutes, Topics: q.Topics}
}

// checkPeople answers 400 unless every lecturer is an active lecturer and
// every group exists (groups are account's, so the schedule cannot check).
func (s *Server) checkPeople(ctx context.Context, w http.ResponseWriter, lecturerField string, lecturers []string, groups []string) bool {
	for _, id := range lecturers {
		u, err := s.cfg.Accounts.Get(ctx, strings.TrimSpace(id))
		switch {
		case errors.Is(err, account.ErrNotFound), err == nil && (u.Role != account.RoleLecturer || !u.Active):
			writeFieldError(w, lecturerField, fmt.Sprintf("%s: %q is not an active lecturer", lecturerField, id))
			return false
		case err != nil:
			s.internalError(w, "could not check the lecturer", err)
			return false
		}
	}
	for _, id := range groups {
		if _, err := s.cfg.Accounts.Group(ctx, id); errors.Is(err, account.ErrNotFound) {
			writeFieldError(w, "groupIds", fmt.Sprintf("groupIds: %q is not a known group", id))
			return false
		} else if err != nil {
			s.internalError(w, "could not check the group", err)
			return false
		}
	}
	return true
}

// Occurrence is one date of a series preview.
type Occurrence struct {
	Index      int       `json:"index"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Topic      string    `json:"topic"`
	LecturerID string    `json:"lecturerId"`
}

func (s *Server) handlePreviewSeries(w http.ResponseWriter, r *http.Request) {
	var req seriesRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if !s.checkPeople(r.Context(), w, "lecturerIds", req.LecturerIDs, req.GroupIDs) {
		return
	}
	_, ls, conflicts, err := s.cfg.Schedule.PreviewSeries(r.Context(), req.series())
	if err != nil {
		s.scheduleError(w, "could not preview the series", err)
		return
	}
	occ := make([]Occurrence, len(ls))
	for i, l := range ls {
		occ[i] = Occurrence{Index: l.Index, Start: l.Start, End: l.End(), Topic: l.Topic, LecturerID: l.LecturerID}
	}
	if conflicts == nil {
		conflicts = []schedule.Conflict{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"occurrences": occ, "conflicts": conflicts})
}

func (s *Server) handleCreateSeries(w http.ResponseWriter, r *http.Request) {
	var req seriesRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if !s.checkPeople(r.Context(), w, "lecturerIds", req.LecturerIDs, req.GroupIDs) {
		return
	}
	ser, ls, err := s.cfg.Schedule.CreateSeries(r.Context(), req.series())
	if err != nil {
		s.scheduleError(w, "could not create the series", err)
		return
	}
	s.log.Info("series created", "series", ser.ID, "occurrences", len(ls), "by", userFrom(r.Context()).ID)
	views, err := s.views(r.Context(), ls)
	if err != nil {
		s.internalError(w, "could not load the lectures", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"series": ser, "lectures": views})
}

// views adds names to lectures.
func (s *Server) views(ctx context.Context, ls []schedule.Lecture) ([]LectureView, error) {
	v := s.newViewer()
	out := make([]LectureView, 0, len(ls))
	for _, l := range ls {
		lv, err := v.view(ctx, l)
		if err != nil {
			return nil, err
		}
		out = append(out, lv)
	}
	return out, nil
}

func (s *Server) handleListSeries(w http.ResponseWriter, r *http.Request) {
	all, err := s.cfg.Schedule.ListSeries(r.Context())
	if err != nil {
		s.internalError(w, "could not list series", err)
		return
	}
	u := userFrom(r.Context())
	out := make([]schedule.Series, 0, len(all))
	for _, ser := range all {
		if u.Role == account.RoleAdmin || slices.Contains(ser.LecturerIDs, u.ID) {
			out = append(out, ser)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"series": out})
}

// seriesFromPath loads the {id} series, answering 404 itself, and 403 to
// a lecturer who does not teach it.
func (s *Server) seriesFromPath(w http.ResponseWriter, r *http.Request) (schedule.Series, bool) {
	ser, err := s.cfg.Schedule.Series(r.Context(), r.PathValue("id"))
	if errors.Is(err, schedule.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such series")
		return schedule.Series{}, false
	}
	if err != nil {
		s.internalError(w, "could not load the series", err)
		return schedule.Series{}, false
	}
	if u := userFrom(r.Context()); u.Role != account.RoleAdmin && !slices.Contains(ser.LecturerIDs, u.ID) {
		s.metrics.forbidden.Inc()
		writeError(w, http.StatusForbidden, "forbidden", "only the series' lecturers or an admin may see it")
		return schedule.Series{}, false
	}
	return ser, true
}

func (s *Server) handleGetSeries(w http.ResponseWriter, r *http.Request) {
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	s.writeSeries(w, r, http.StatusOK, ser)
}

func (s *Server) writeSeries(w http.ResponseWriter, r *http.Request, status int, ser schedule.Series) {
	ls, err := s.cfg.Schedule.SeriesLectures(r.Context(), ser.ID)
	if err != nil {
		s.internalError(w, "could not load the lectures", err)
		return
	}
	views, err := s.views(r.Context(), ls)
	if err != nil {
		s.internalError(w, "could not load the lectures", err)
		return
	}
	writeJSON(w, status, map[string]any{"series": ser, "lectures": views})
}

type seriesPatchRequest struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Topics      *[]string `json:"topics"`
	LecturerIDs *[]string `json:"lecturerIds"`
	SiteIDs     *[]string `json:"siteIds"`
	GroupIDs    *[]string `json:"groupIds"`
}

func (s *Server) handlePatchSeries(w http.ResponseWriter, r *http.Request) {
	var req seriesPatchRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	var lecturers, groups []string
	if req.LecturerIDs != nil {
		lecturers = *req.LecturerIDs
	}
	if req.GroupIDs != nil {
		groups = *req.GroupIDs
	}
	if !s.checkPeople(r.Context(), w, "lecturerIds", lecturers, groups) {
		return
	}
	ser, err := s.cfg.Schedule.UpdateSeries(r.Context(), r.PathValue("id"), schedule.SeriesPatch{
		Title: req.Title, Description: req.Description, Topics: req.Topics,
		LecturerIDs: req.LecturerIDs, SiteIDs: req.SiteIDs, GroupIDs: req.GroupIDs})
	if err != nil {
		s.scheduleError(w, "could not change the series", err)
		return
	}
	s.log.Info("series changed", "series", ser.ID, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusOK, map[string]any{"series": ser})
}

func (s *Server) handleDeleteSeries(w http.ResponseWriter, r *http.Request) {
	ser, err := s.cfg.Schedule.DeleteSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		s.scheduleError(w, "could not cancel the series", err)
		return
	}
	s.log.Info("series cancelled", "series", ser.ID, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusOK, map[string]any{"series": ser})
}
