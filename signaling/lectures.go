package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/schedule"
)

// LectureView is a lecture with the names clients display next to it.
type LectureView struct {
	schedule.Lecture
	LecturerName string `json:"lecturerName"`
	SiteName     string `json:"siteName"`
	SiteTimeZone string `json:"siteTimeZone"`
}

// viewer resolves lecturer and site names, remembering them for one request.
type viewer struct {
	s     *Server
	users map[string]account.User
	sites map[string]schedule.Site
}

func (s *Server) newViewer() *viewer {
	return &viewer{s: s, users: map[string]account.User{}, sites: map[string]schedule.Site{}}
}

// view adds names to l. If they cannot be read (Redis is unavailable), the
// view still carries l itself, so that a room can tell its clients the
// lecture's state during an outage.
func (v *viewer) view(ctx context.Context, l schedule.Lecture) (LectureView, error) {
	u, err := v.user(ctx, l.LecturerID)
	if err != nil {
		return LectureView{Lecture: l}, err
	}
	site, err := v.site(ctx, l.SiteID)
	if err != nil {
		return LectureView{Lecture: l}, err
	}
	return LectureView{Lecture: l, LecturerName: u.DisplayName, SiteName: site.Name, SiteTimeZone: site.TimeZone}, nil
}

// user returns the user with id; an unknown id yields the zero User.
func (v *viewer) user(ctx context.Context, id string) (account.User, error) {
	if u, ok := v.users[id]; ok {
		return u, nil
	}
	u, err := v.s.cfg.Accounts.Get(ctx, id)
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return account.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	v.users[id] = u
	return u, nil
}

// site returns the site with id; an unknown id yields the zero Site.
func (v *viewer) site(ctx context.Context, id string) (schedule.Site, error) {
	if site, ok := v.sites[id]; ok {
		return site, nil
	}
	site, err := v.s.cfg.Schedule.Site(ctx, id)
	if err != nil && !errors.Is(err, schedule.ErrNotFound) {
		return schedule.Site{}, fmt.Errorf("site %s: %w", id, err)
	}
	v.sites[id] = site
	return site, nil
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", what)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	site, err := s.cfg.Schedule.Site(r.Context(), u.SiteID)
	if err != nil && !errors.Is(err, schedule.ErrNotFound) {
		s.internalError(w, "could not load your site", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u, "site": site, "startEarlyMinutes": int(s.cfg.StartEarly / time.Minute)})
}

func (s *Server) handleSites(w http.ResponseWriter, r *http.Request) {
	sites, err := s.cfg.Schedule.Sites(r.Context())
	if err != nil {
		s.internalError(w, "could not list sites", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": sites})
}

// dayBounds returns midnight to midnight of now's day in the user's site zone.
func (s *Server) dayBounds(ctx context.Context, u account.User) (time.Time, time.Time) {
	loc := time.UTC
	if site, err := s.cfg.Schedule.Site(ctx, u.SiteID); err == nil {
		if l, err := time.LoadLocation(site.TimeZone); err == nil {
			loc = l
		}
	}
	now := s.cfg.Now().In(loc)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 0, 1)
}

func (s *Server) handleLectures(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	from, to := s.dayBounds(r.Context(), u)
	q := r.URL.Query()
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", name+" must be an RFC 3339 time")
				return
			}
			*dst = t
		}
	}
	if !to.After(from) || to.Sub(from) > 62*24*time.Hour {
		writeError(w, http.StatusBadRequest, "bad_request", "to must be after from, at most 62 days later")
		return
	}
	var lectures []schedule.Lecture
	var err error
	if f := (schedule.Filter{SiteID: q.Get("siteId"), LecturerID: q.Get("lecturerId"), GroupID: q.Get("groupId")}); u.Role == account.RoleAdmin && f != (schedule.Filter{}) {
		lectures, err = s.cfg.Schedule.ListLectures(r.Context(), from, to, f)
	} else {
		lectures, err = s.cfg.Schedule.Visible(r.Context(), audience(u), from, to)
	}
	if err != nil {
		s.internalError(w, "could not list lectures", err)
		return
	}
	out, err := s.views(r.Context(), lectures)
	if err != nil {
		s.internalError(w, "could not list lectures", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lectures": out})
}

// audience maps a user's role to the lectures they may see (docs/api.md,
// "Who sees which lectures").
func audience(u account.User) schedule.Viewer {
	v := schedule.Viewer{UserID: u.ID, SiteID: u.SiteID, GroupID: u.GroupID}
	switch u.Role {
	case account.RoleAdmin:
		v.Audience = schedule.AudienceAll
	case account.RoleLecturer:
		v.Audience = schedule.AudienceLecturer
	case account.RoleOperator:
		v.Audience = schedule.AudienceSite
	default:
		v.Audience = schedule.AudienceStudent
	}
	return v
}

type createLectureRequest struct {
	Title           string    `json:"title"`
	Topic           string    `json:"topic"`
	Start           time.Time `json:"start"`
	DurationMinutes int       `json:"durationMinutes"`
	LecturerID      string    `json:"lecturerId"`
	SiteID          string    `json:"siteId"`
	SiteIDs         []string  `json:"siteIds"`
	GroupIDs        []string  `json:"groupIds"`
}

func (s *Server) handleCreateLecture(w http.ResponseWriter, r *http.Request) {
	var req createLectureRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if !s.checkPeople(r.Context(), w, "lecturerId", []string{req.LecturerID}, req.GroupIDs) {
		return
	}
	l, err := s.cfg.Schedule.CreateLecture(r.Context(), schedule.NewLecture{
		Title: req.Title, Topic: req.Topic, Start: req.Start, DurationMinutes: req.DurationMinutes,
		LecturerID: strings.TrimSpace(req.LecturerID), SiteID: req.SiteID, SiteIDs: req.SiteIDs, GroupIDs: req.GroupIDs,
	})
	if err != nil {
		s.scheduleError(w, "could not create the lecture", err)
		return
	}
	s.log.Info("lecture created", "lecture", l.ID, "by", userFrom(r.Context()).ID, "start", l.Start)
	lv, err := s.newViewer().view(r.Context(), l)
	if err != nil {
		s.internalError(w, "could not load the lecture", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"lecture": lv})
}

// lectureFromPath loads the {id} lecture, answering 404 itself.
func (s *Server) lectureFromPath(w http.ResponseWriter, r *http.Request) (LectureView, bool) {
	l, err := s.cfg.Schedule.Lecture(r.Context(), r.PathValue("id"))
	if errors.Is(err, schedule.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such lecture")
		return LectureView{}, false
	}
	if err != nil {
		s.internalError(w, "could not load the lecture", err)
		return LectureView{}, false
	}
	lv, err := s.newViewer().view(r.Context(), l)
	if err != nil {
		s.internalError(w, "could not load the lecture", err)
		return LectureView{}, false
	}
	return lv, true
}

func (s *Server) handleLecture(w http.ResponseWriter, r *http.Request) {
	if lv, ok := s.lectureFromPath(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"lecture": lv})
	}
}
