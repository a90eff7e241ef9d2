package signaling

import (
	"net/http"
	"time"

	"github.com/bomca/lecturelink/schedule"
)

type lecturePatchRequest struct {
	Title           *string    `json:"title"`
	Topic           *string    `json:"topic"`
	Start           *time.Time `json:"start"`
	DurationMinutes *int       `json:"durationMinutes"`
	LecturerID      *string    `json:"lecturerId"`
}

func (s *Server) handleUpdateLecture(w http.ResponseWriter, r *http.Request) {
	var req lecturePatchRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if req.LecturerID != nil && !s.checkPeople(r.Context(), w, "lecturerId", []string{*req.LecturerID}, nil) {
		return
	}
	l, err := s.cfg.Schedule.UpdateLecture(r.Context(), r.PathValue("id"), schedule.LecturePatch{
		Title: req.Title, Topic: req.Topic, Start: req.Start, DurationMinutes: req.DurationMinutes, LecturerID: req.LecturerID})
	if err != nil {
		s.scheduleError(w, "could not change the lecture", err)
		return
	}
	s.log.Info("lecture changed", "lecture", l.ID, "by", userFrom(r.Context()).ID)
	s.writeLecture(w, r, l)
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) handleCancelLecture(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	l, err := s.cfg.Schedule.CancelLecture(r.Context(), r.PathValue("id"), req.Reason)
	if err != nil {
		s.scheduleError(w, "could not cancel the lecture", err)
		return
	}
	s.log.Info("lecture cancelled", "lecture", l.ID, "by", userFrom(r.Context()).ID)
	s.writeLecture(w, r, l)
}

func (s *Server) writeLecture(w http.ResponseWriter, r *http.Request, l schedule.Lecture) {
	lv, err := s.newViewer().view(r.Context(), l)
	if err != nil {
		s.internalError(w, "could not load the lecture", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lecture": lv})
}
