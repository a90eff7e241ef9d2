package signaling

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/bomca/lecturelink/schedule"
	"github.com/prometheus/client_golang/prometheus"
)

// Shedding: past a configured size a lecture, or the whole server, refuses
// newcomers with a clear error instead of letting everyone's media degrade
// (Config.MaxLectureParticipants, Config.MaxMediaPeers).
//
// Every member of a room holds a seat, whether the lecture is live or still
// waiting to start (each becomes a media peer when it starts) and while it
// is in its reconnect window. Moderators (the lecture's lecturer, admins)
// are never refused: a lecture without its lecturer helps nobody. They do
// not count towards a full lecture, and they take a server seat but may
// take one past the limit, so the limit should leave a little headroom for
// them. A takeover or a resume reuses the seat it takes over.

// Error codes of shedding, listed in docs/protocol.md.
const (
	codeLectureFull = "lecture_full"
	codeServerBusy  = "server_busy"
)

// seats counts the members of every room on this server.
type seats struct {
	n atomic.Int64
}

// take takes a seat for a newcomer; it fails when limit (0: unlimited)
// seats are taken, unless the newcomer is a moderator.
func (s *seats) take(limit int, moderator bool) bool {
	if limit <= 0 || moderator {
		s.n.Add(1)
		return true
	}
	for {
		cur := s.n.Load()
		if cur >= int64(limit) {
			return false
		}
		if s.n.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// release gives a seat back when a member leaves its room.
func (s *seats) release() { s.n.Add(-1) }

func (s *seats) used() int64 { return s.n.Load() }

// takeSeatLocked admits c as a new member under the limits, taking its
// server seat; the caller releases it (Server.seats.release) if c does not
// become a member after all. A refusal is logged once, by sendError, and
// counted in lecturelink_ws_errors_total. Caller holds r.mu; c is not a
// member yet.
func (r *room) takeSeatLocked(c *client) (string, error) {
	moderator := r.isModerator(c.user)
	if limit := r.s.cfg.MaxLectureParticipants; limit > 0 && !moderator {
		n := 0
		for mc := range r.members {
			if !r.isModerator(mc.user) {
				n++
			}
		}
		if n >= limit {
			return codeLectureFull, fmt.Errorf("the lecture is full (%d participants); try again later", limit)
		}
	}
	if !r.s.seats.take(r.s.cfg.MaxMediaPeers, moderator) {
		return codeServerBusy, errors.New("the server has no room for more participants; try again in a few minutes")
	}
	return "", nil
}

// liveCollector exposes, at scrape time, the lectures live on this server
// and who is in them.
type liveCollector struct {
	s                                    *Server
	lectures, participants, waiting      *prometheus.Desc
	seatsUsed, maxLecture, maxMediaPeers *prometheus.Desc
}

func newLiveCollector(s *Server) *liveCollector {
	return &liveCollector{
		s:        s,
		lectures: prometheus.NewDesc("lecturelink_lectures_live", "Live lectures with at least one participant on this server.", nil, nil),
		participants: prometheus.NewDesc("lecturelink_participants",
			"Participants of live lectures (those in their reconnect window included), by site and role in the lecture.",
			[]string{"site", "role"}, nil),
		waiting:       prometheus.NewDesc("lecturelink_participants_waiting", "Participants waiting for their lecture to start.", nil, nil),
		seatsUsed:     prometheus.NewDesc("lecturelink_seats_used", "Participants held by this server, live or waiting: what -max-media-peers limits.", nil, nil),
		maxLecture:    prometheus.NewDesc("lecturelink_limit_lecture_participants", "Configured participants per lecture, moderators not counted (0: unlimited).", nil, nil),
		maxMediaPeers: prometheus.NewDesc("lecturelink_limit_media_peers", "Configured participants per server (0: unlimited).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (lc *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lc.lectures, lc.participants, lc.waiting, lc.seatsUsed, lc.maxLecture, lc.maxMediaPeers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Rooms are locked one at a time
// (never under s.mu, which a room takes while holding its own lock).
func (lc *liveCollector) Collect(ch chan<- prometheus.Metric) {
	s := lc.s
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	type key struct{ site, role string }
	counts := make(map[key]int)
	live, waiting := 0, 0
	for _, r := range rooms {
		r.mu.Lock()
		if r.lecture.State == schedule.StateLive && len(r.members) > 0 {
			live++
			for mc := range r.members {
				counts[key{mc.user.SiteID, r.roleIn(mc.user)}]++
			}
		} else if r.lecture.State == schedule.StateScheduled {
			waiting += len(r.members)
		}
		r.mu.Unlock()
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(lc.lectures, float64(live))
	for k, n := range counts {
		gauge(lc.participants, float64(n), k.site, k.role)
	}
	gauge(lc.waiting, float64(waiting))
	gauge(lc.seatsUsed, float64(s.seats.used()))
	gauge(lc.maxLecture, float64(s.cfg.MaxLectureParticipants))
	gauge(lc.maxMediaPeers, float64(s.cfg.MaxMediaPeers))
}
