package signaling

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/calendar"
	"github.com/bomca/lecturelink/schedule"
)

// A user's feed covers this window around now: enough history for the
// term so far and the whole of any series (at most 366 days long).
const (
	feedPast   = 62 * 24 * time.Hour
	feedFuture = 366 * 24 * time.Hour
)

func feedURL(token string) string { return "/calendar/" + token + ".ics" }

func (s *Server) handleMyCalendar(w http.ResponseWriter, r *http.Request) {
	s.feedToken(w, r, schedule.FeedOwner{Kind: schedule.FeedUser, ID: userFrom(r.Context()).ID}, false)
}

func (s *Server) handleRotateMyCalendar(w http.ResponseWriter, r *http.Request) {
	s.feedToken(w, r, schedule.FeedOwner{Kind: schedule.FeedUser, ID: userFrom(r.Context()).ID}, true)
}

func (s *Server) handleSeriesCalendar(w http.ResponseWriter, r *http.Request) {
	ser, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	s.feedToken(w, r, schedule.FeedOwner{Kind: schedule.FeedSeries, ID: ser.ID}, true)
}

func (s *Server) feedToken(w http.ResponseWriter, r *http.Request, o schedule.FeedOwner, rotate bool) {
	get := s.cfg.Schedule.FeedToken
	if rotate {
		get = s.cfg.Schedule.RotateFeedToken
	}
	token, err := get(r.Context(), o)
	if err != nil {
		s.internalError(w, "could not make the calendar link", err)
		return
	}
	if rotate {
		s.log.Info("calendar link renewed", "feed", o.String(), "by", userFrom(r.Context()).ID)
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": feedURL(token)})
}

// handleCalendarFeed serves /calendar/<token>.ics to anyone holding the
// token. Unknown, revoked and deactivated users' tokens all get the same
// 404, so the reply says nothing about which tokens once existed.
func (s *Server) handleCalendarFeed(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	notFound := func() { http.Error(w, "no such calendar", http.StatusNotFound) }
	if !ok {
		notFound()
		return
	}
	ctx := r.Context()
	owner, err := s.cfg.Schedule.FeedOwnerOf(ctx, token)
	if errors.Is(err, schedule.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.log.Error("calendar lookup failed", "err", err)
		http.Error(w, "could not load the calendar", http.StatusInternalServerError)
		return
	}
	var lectures []schedule.Lecture
	var name string
	switch owner.Kind {
	case schedule.FeedUser:
		u, err := s.cfg.Accounts.Get(ctx, owner.ID)
		if errors.Is(err, account.ErrNotFound) || err == nil && !u.Active {
			notFound()
			return
		}
		if err == nil {
			now := s.cfg.Now()
			name = "lecturelink: " + u.DisplayName
			lectures, err = s.cfg.Schedule.Visible(ctx, audience(u), now.Add(-feedPast), now.Add(feedFuture))
		}
		if err != nil {
			s.log.Error("calendar feed failed", "err", err)
			http.Error(w, "could not load the calendar", http.StatusInternalServerError)
			return
		}
	case schedule.FeedSeries:
		ser, err := s.cfg.Schedule.Series(ctx, owner.ID)
		if errors.Is(err, schedule.ErrNotFound) {
			notFound()
			return
		}
		if err == nil {
			name = "lecturelink: " + ser.Title
			lectures, err = s.cfg.Schedule.SeriesLectures(ctx, ser.ID)
		}
		if err != nil {
			s.log.Error("calendar feed failed", "err", err)
			http.Error(w, "could not load the calendar", http.StatusInternalServerError)
			return
		}
	default:
		notFound()
		return
	}
	v := s.newViewer()
	events := make([]calendar.Event, 0, len(lectures))
	for _, l := range lectures {
		lv, err := v.view(ctx, l)
		if err != nil {
			s.log.Error("calendar feed failed", "err", err)
			http.Error(w, "could not load the calendar", http.StatusInternalServerError)
			return
		}
		events = append(events, calendar.Event{Lecture: l, SiteName: lv.SiteName, LecturerName: lv.LecturerName, Zone: lv.SiteTimeZone})
	}
	var buf bytes.Buffer
	if err := calendar.Write(&buf, name, events, s.cfg.Now()); err != nil {
		s.log.Error("calendar feed failed", "err", err)
		http.Error(w, "could not render the calendar", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(buf.Bytes())
}
