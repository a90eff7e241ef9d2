package signaling

import (
	"errors"
	"net/http"

	"github.com/bomca/lecturelink/schedule"
)

type siteRequest struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Institution  string `json:"institution"`
	TimeZone     string `json:"timeZone"`
	NetworkNotes string `json:"networkNotes"`
}

func (s *Server) handleCreateSite(w http.ResponseWriter, r *http.Request) {
	var req siteRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if _, err := s.cfg.Schedule.Site(r.Context(), req.ID); err == nil {
		writeError(w, http.StatusConflict, "conflict", "a site with this id exists; use PUT /api/sites/"+req.ID)
		return
	}
	s.putSite(w, r, http.StatusCreated, req)
}

func (s *Server) handlePutSite(w http.ResponseWriter, r *http.Request) {
	var req siteRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if req.ID != "" && req.ID != r.PathValue("id") {
		writeFieldError(w, "id", "id in the body differs from the path")
		return
	}
	req.ID = r.PathValue("id")
	if _, err := s.cfg.Schedule.Site(r.Context(), req.ID); errors.Is(err, schedule.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such site")
		return
	}
	s.putSite(w, r, http.StatusOK, req)
}

func (s *Server) putSite(w http.ResponseWriter, r *http.Request, status int, req siteRequest) {
	site := schedule.Site{ID: req.ID, Name: req.Name, Institution: req.Institution, TimeZone: req.TimeZone, NetworkNotes: req.NetworkNotes}
	if err := s.cfg.Schedule.PutSite(r.Context(), site); err != nil {
		s.scheduleError(w, "could not save the site", err)
		return
	}
	site, err := s.cfg.Schedule.Site(r.Context(), site.ID)
	if err != nil {
		s.internalError(w, "could not load the site", err)
		return
	}
	s.log.Info("site saved", "site", site.ID, "by", userFrom(r.Context()).ID)
	writeJSON(w, status, map[string]any{"site": site})
}

// scheduleError answers an error from the schedule store: 400 naming the
// field, 409 listing conflicts, 404, or 500.
func (s *Server) scheduleError(w http.ResponseWriter, what string, err error) {
	var invalid *schedule.InvalidError
	var conflict *schedule.ConflictError
	switch {
	case errors.As(err, &invalid):
		writeFieldError(w, invalid.Field, invalid.Reason)
	case errors.As(err, &conflict):
		writeJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
			"code": "conflict", "message": conflictMessage(conflict), "conflicts": conflict.Conflicts}})
	case errors.Is(err, schedule.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such lecture or series")
	case errors.Is(err, schedule.ErrNotScheduled):
		writeError(w, http.StatusConflict, "conflict", "only scheduled lectures can be changed")
	default:
		s.internalError(w, what, err)
	}
}

func conflictMessage(c *schedule.ConflictError) string {
	first := c.Conflicts[0]
	what := "the lecturer"
	if first.Kind == "site" {
		what = "site " + first.ResourceID
	}
	msg := what + " is already booked"
	if first.LectureTitle != "" {
		msg += " for \"" + first.LectureTitle + "\""
	}
	if len(c.Conflicts) > 1 {
		msg += " (and more conflicts)"
	}
	return msg
}
