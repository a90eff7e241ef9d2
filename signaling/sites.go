package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bomca/lecturelink/schedule"
)

type siteRequest struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Institution  string `json:"institution"`
	TimeZone     string `json:"timeZone"`
	NetworkNotes string `json:"networkNotes"`
	// DownlinkKbps is optional: a PUT without it keeps the site's budget,
	// so clients that do not know the field cannot clear it by accident.
	DownlinkKbps *int `json:"downlinkKbps"`
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
	old, err := s.cfg.Schedule.Site(r.Context(), req.ID)
	if errors.Is(err, schedule.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such site")
		return
	}
	if err != nil {
		s.internalError(w, "could not load the site", err)
		return
	}
	if req.DownlinkKbps == nil {
		req.DownlinkKbps = &old.DownlinkKbps
	}
	s.putSite(w, r, http.StatusOK, req)
}

func (s *Server) putSite(w http.ResponseWriter, r *http.Request, status int, req siteRequest) {
	site := schedule.Site{ID: req.ID, Name: req.Name, Institution: req.Institution, TimeZone: req.TimeZone, NetworkNotes: req.NetworkNotes}
	if req.DownlinkKbps != nil {
		site.DownlinkKbps = *req.DownlinkKbps
	}
	if err := s.cfg.Schedule.PutSite(r.Context(), site); err != nil {
		s.scheduleError(w, "could not save the site", err)
		return
	}
	site, err := s.cfg.Schedule.Site(r.Context(), site.ID)
	if err != nil {
		s.internalError(w, "could not load the site", err)
		return
	}
	s.applySiteBudget(site)
	s.log.Info("site saved", "site", site.ID, "downlinkKbps", site.DownlinkKbps, "by", userFrom(r.Context()).ID)
	writeJSON(w, status, map[string]any{"site": site})
}

// ApplySiteBudgets gives the SFU every site's downlink budget. Call it once
// before serving; later changes through the API are applied as they are saved.
func (s *Server) ApplySiteBudgets(ctx context.Context) error {
	sites, err := s.cfg.Schedule.Sites(ctx)
	if err != nil {
		return fmt.Errorf("signaling: site budgets: %w", err)
	}
	for _, site := range sites {
		s.applySiteBudget(site)
	}
	return nil
}

// applySiteBudget passes one site's budget to the SFU (0 removes it).
func (s *Server) applySiteBudget(site schedule.Site) {
	kbps := max(site.DownlinkKbps, 0) // validated on save; never wraps
	s.setSiteBudget(site.ID, uint64(kbps)*1000)
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
