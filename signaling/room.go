package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
)

// participantsDelay coalesces participant-list updates, so that a hundred
// students joining within a second cause a handful of broadcasts, not 10,000.
const participantsDelay = 250 * time.Millisecond

// room is one lecture's live state on this server: who is connected, and
// which of them are in the live lecture (with a media peer and an open
// attendance interval).
type room struct {
	s  *Server
	id string

	mu       sync.Mutex
	lecture  schedule.Lecture
	members  map[*client]*member
	removed  bool // the room left s.rooms; a joiner must fetch a new one
	listSent bool // a participants broadcast is scheduled
	// siteNames are the site names of the last participants list.
	siteNames map[string]string

	// q is the members' link qualities and the siteQuality throttle. It
	// has its own lock because the SFU reports qualities from its own
	// goroutines, which must never wait for r.mu (held while calling the
	// SFU). Lock order: r.mu before q.mu.
	q siteQualities
}

// member is a client's place in the room.
type member struct {
	peer      *sfu.Peer // nil unless the lecture is live for this member
	active    bool      // an attendance interval is open
	lastTouch time.Time
	clientAt  *time.Time // the client's clock at its join message; information only
	token     tokenHash  // the current resume token (resume.go)
	lost      *lostConn  // non-nil while the socket is gone and the place kept
	audioOnly bool       // the client asked for no video (preference audio-only)
}

// enterRoom puts c into the lecture's room, creating the room if needed.
// clientAt is the time the client reported with its join, if any.
func (s *Server) enterRoom(ctx context.Context, c *client, lectureID string, clientAt *time.Time) (*room, string, error) {
	for {
		r, code, err := s.room(ctx, lectureID)
		if err != nil {
			return nil, code, err
		}
		ok, code, err := r.join(ctx, c, clientAt)
		if err != nil {
			return nil, code, err
		}
		if ok {
			return r, "", nil
		}
		// The room was being removed as we arrived: take the next one.
	}
}

// room returns the live room of a lecture, loading the lecture on first use.
func (s *Server) room(ctx context.Context, lectureID string) (*room, string, error) {
	s.mu.Lock()
	r := s.rooms[lectureID]
	s.mu.Unlock()
	if r != nil {
		return r, "", nil
	}
	l, err := s.cfg.Schedule.Lecture(ctx, lectureID)
	if errors.Is(err, schedule.ErrNotFound) {
		return nil, codeNotFound, errors.New("no such lecture")
	}
	if err != nil {
		s.log.Error("loading lecture failed", "lecture", lectureID, "err", err)
		return nil, codeInternal, errors.New("could not load the lecture")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[lectureID]; r != nil {
		return r, "", nil
	}
	r = &room{s: s, id: lectureID, lecture: l, members: make(map[*client]*member)}
	s.rooms[lectureID] = r
	return r, "", nil
}

// roleIn is the part c.user plays in this lecture.
func (r *room) roleIn(u account.User) string {
	switch {
	case u.Role == account.RoleLecturer && u.ID == r.lecture.LecturerID:
		return string(account.RoleLecturer)
	case u.Role == account.RoleAdmin:
		return string(account.RoleAdmin)
	case u.Role == account.RoleOperator:
		return string(account.RoleOperator)
	default:
		return string(account.RoleStudent)
	}
}

// canPublish: the lecturer and the sites' classroom computers publish
// from the start; a student only while given the floor (floor.go).
func (r *room) canPublish(u account.User) bool {
	role := r.roleIn(u)
	return role == string(account.RoleLecturer) || role == string(account.RoleOperator)
}

func (r *room) canEnd(u account.User) bool {
	role := r.roleIn(u)
	return role == string(account.RoleLecturer) || role == string(account.RoleAdmin)
}

// join adds c; if the lecture is live, c's attendance is recorded before it
// is told it is in. ok is false if the room was removed meanwhile.
func (r *room) join(ctx context.Context, c *client, clientAt *time.Time) (ok bool, code string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed {
		return false, "", nil
	}
	if code, err := r.admit(ctx, c); err != nil {
		r.removeIfEmpty()
		return false, code, err
	}
	if old, om := r.sameUserLocked(c); old != nil && !r.s.cfg.AllowDuplicateJoins {
		if om.lost == nil && !r.silentLocked(old) {
			return false, codeDuplicate, errors.New("you are already in this lecture from another window or device")
		}
		r.takeOverLocked(ctx, old, om, c, msgJoined)
		return true, "", nil
	}
	if code, err := r.takeSeatLocked(c); err != nil {
		r.removeIfEmpty()
		return false, code, err
	}
	m := &member{clientAt: clientAt}
	r.members[c] = m
	live := r.lecture.State == schedule.StateLive
	if live {
		if err := r.recordJoin(ctx, c, m); err != nil {
			delete(r.members, c)
			r.s.seats.release()
			r.removeIfEmpty()
			return false, codeInternal, err
		}
	}
	r.welcomeLocked(ctx, c, m, msgJoined)
	c.log.Info("joined lecture", "lecture", r.id, "state", r.lecture.State)
	if live {
		r.connectMedia(ctx, c, m)
	}
	r.participantsChanged()
	return true, "", nil
}

// recordJoin opens c's attendance interval. It runs before c is told it is
// in the live lecture: nobody is in a live lecture without a record of it.
func (r *room) recordJoin(ctx context.Context, c *client, m *member) error {
	_, err := r.s.cfg.AttendanceWriter.Record(ctx, attendance.Event{
		LectureID: r.id, Kind: attendance.KindJoin, UserID: c.user.ID, Role: r.roleIn(c.user),
		SiteID: c.user.SiteID, ConnID: c.id, At: r.s.cfg.Now(), ClientAt: m.clientAt,
	})
	if err != nil {
		r.s.metrics.attendance.WithLabelValues("join", "error").Inc()
		r.s.log.Error("recording attendance failed; join refused", "lecture", r.id, "conn", c.id, "err", err)
		return errors.New("attendance could not be recorded; try again")
	}
	r.s.metrics.attendance.WithLabelValues("join", "ok").Inc()
	m.active = true
	m.lastTouch = r.s.cfg.Now()
	return nil
}

// connectMedia gives c its media peer, after c knows the lecture is live, so
// that the SFU's first offer never precedes the message that explains it.
func (r *room) connectMedia(ctx context.Context, c *client, m *member) {
	peer, err := r.s.cfg.SFU.Room(r.id).Join(ctx, c.id, r.peerOptions(c))
	if err != nil {
		r.s.log.Error("joining media room failed", "lecture", r.id, "conn", c.id, "err", err)
		c.sendError(codeInternal, "could not set up media; reconnecting may help", msgJoin)
		return
	}
	m.peer = peer
	r.applyFloor(ctx, c, peer)
	// A lecturer (or admin) who arrives needs the current picture at once.
	r.siteQualityChanged(r.canEnd(c.user))
}

// peerOptions are c's media peer options: its site's shared downlink, the
// lecturer's camera first, and the SFU's reports passed on to the client.
func (r *room) peerOptions(c *client) sfu.PeerOptions {
	return sfu.PeerOptions{
		Publish:   r.canPublish(c.user),
		Presenter: r.roleIn(c.user) == string(account.RoleLecturer),
		Site:      c.user.SiteID,
		OnSignal:  c.forwardSignal,
		OnState:   c.mediaState,
		OnActiveSpeaker: func(peerID string) {
			c.sendJSON(speakerMsg{Type: msgSpeaker, Conn: peerID})
		},
		OnQuality: func(q sfu.Quality) { r.qualityChanged(c, q) },
	}
}

// deactivate closes c's media peer and attendance interval.
func (r *room) deactivate(c *client, m *member, reason string, at time.Time) {
	if m.peer != nil {
		if err := m.peer.Close(); err != nil && !errors.Is(err, sfu.ErrClosed) {
			r.s.log.Warn("closing media peer failed", "conn", c.id, "err", err)
		}
		m.peer = nil
		r.forgetQuality(c)
	}
	if !m.active {
		return
	}
	m.active = false
	// Use a fresh context: a leave must be recorded even when the client's request is gone.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.s.cfg.AttendanceWriter.Record(ctx, attendance.Event{
		LectureID: r.id, Kind: attendance.KindLeave, UserID: c.user.ID, Role: r.roleIn(c.user),
		SiteID: c.user.SiteID, ConnID: c.id, At: at, Reason: reason,
	})
	if err != nil {
		r.s.metrics.attendance.WithLabelValues("leave", "error").Inc()
		r.s.log.Error("recording leave failed", "lecture", r.id, "conn", c.id, "err", err)
		return
	}
	r.s.metrics.attendance.WithLabelValues("leave", "ok").Inc()
}

// leave removes c from the room, recording its leave at time at.
func (r *room) leave(c *client, reason string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[c]
	if !ok {
		return
	}
	if r.suspendLocked(c, m, reason, at) {
		return
	}
	delete(r.members, c)
	r.s.seats.release()
	r.s.resumes.revoke(m.token)
	r.deactivate(c, m, reason, at)
	c.log.Info("left lecture", "lecture", r.id, "reason", reason)
	r.participantsChanged()
	r.removeIfEmpty()
}

// removeIfEmpty forgets an empty room and its media. Caller holds r.mu.
func (r *room) removeIfEmpty() {
	if len(r.members) > 0 || r.removed {
		return
	}
	r.removed = true
	r.s.mu.Lock()
	if r.s.rooms[r.id] == r {
		delete(r.s.rooms, r.id)
	}
	r.s.mu.Unlock()
	r.s.cfg.SFU.CloseRoom(r.id)
}

// touch writes c's sign of life to attendance, at most every TouchInterval.
func (r *room) touch(c *client) {
	r.mu.Lock()
	m, ok := r.members[c]
	now := r.s.cfg.Now()
	if !ok || !m.active || now.Sub(m.lastTouch) < r.s.cfg.TouchInterval {
		r.mu.Unlock()
		return
	}
	m.lastTouch = now
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.s.cfg.AttendanceWriter.Touch(ctx, r.id, c.id, now); err != nil {
		r.s.log.Warn("recording sign of life failed", "conn", c.id, "err", err)
	}
}

// start makes the lecture live and lets everyone waiting in.
func (r *room) start(ctx context.Context, c *client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.roleIn(c.user) != string(account.RoleLecturer) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only the lecture's lecturer may start it", msgStart)
		return
	}
	// An admin may have moved or cancelled the lecture since the room opened.
	if l, err := r.s.cfg.Schedule.Lecture(ctx, r.id); err == nil {
		r.lecture = l
	}
	switch r.lecture.State {
	case schedule.StateEnded:
		c.sendError(codeEnded, "the lecture has ended", msgStart)
		return
	case schedule.StateCancelled:
		c.sendError(codeCancelled, "the lecture was cancelled", msgStart)
		return
	case schedule.StateLive:
		r.sendLecture(ctx, c) // already live: starting again is harmless
		return
	}
	if now := r.s.cfg.Now(); now.Before(r.lecture.Start.Add(-r.s.cfg.StartEarly)) {
		c.sendError(codeTooEarly, fmt.Sprintf("the lecture can be started from %s before its scheduled time",
			r.s.cfg.StartEarly), msgStart)
		return
	}
	l, err := r.s.cfg.Schedule.Start(ctx, r.id)
	if err != nil {
		r.s.log.Error("starting lecture failed", "lecture", r.id, "err", err)
		c.sendError(codeInternal, "could not start the lecture", msgStart)
		return
	}
	r.lecture = l
	c.log.Info("lecture started", "lecture", r.id)
	var admitted []*client
	for mc, m := range r.members {
		if err := r.recordJoin(ctx, mc, m); err != nil {
			mc.sendError(codeInternal, err.Error(), msgStart)
			continue
		}
		admitted = append(admitted, mc)
	}
	r.broadcastLecture(ctx)
	for _, mc := range admitted {
		r.connectMedia(ctx, mc, r.members[mc])
	}
}

// end ends the lecture for everyone and releases its media.
func (r *room) end(ctx context.Context, c *client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.canEnd(c.user) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only the lecturer or an admin may end the lecture", msgEnd)
		return
	}
	switch r.lecture.State {
	case schedule.StateEnded:
		c.sendError(codeEnded, "the lecture has already ended", msgEnd)
		return
	case schedule.StateScheduled:
		c.sendError(codeNotLive, "the lecture has not started", msgEnd)
		return
	}
	l, err := r.s.cfg.Schedule.End(ctx, r.id)
	if err != nil {
		r.s.log.Error("ending lecture failed", "lecture", r.id, "err", err)
		c.sendError(codeInternal, "could not end the lecture", msgEnd)
		return
	}
	r.lecture = l
	c.log.Info("lecture ended", "lecture", r.id)
	if err := r.s.cfg.Floor.End(ctx, r.id); err != nil {
		r.s.log.Error("clearing the floor failed", "lecture", r.id, "err", err)
	}
	at := r.s.cfg.Now()
	r.dropAllLostLocked() // their leaves are at their last sign of life
	for mc, m := range r.members {
		r.deactivate(mc, m, attendance.ReasonEnded, at)
	}
	r.s.cfg.SFU.CloseRoom(r.id)
	r.broadcastLecture(ctx)
	r.participantsChanged()
	r.removeIfEmpty()
}

// media passes a negotiation message to c's peer.
func (r *room) media(ctx context.Context, c *client, m inbound) {
	r.mu.Lock()
	mem := r.members[c]
	var peer *sfu.Peer
	if mem != nil {
		peer = mem.peer
	}
	r.mu.Unlock()
	if peer == nil {
		c.sendError(codeNotLive, "the lecture is not live", m.Type)
		return
	}
	t := sfu.Transport(m.PC)
	var err error
	switch {
	case m.Type == msgOffer && t == sfu.TransportPub:
		if pr := peer.PublishRights(); !pr.Audio && !pr.Video {
			r.refusePublish(c, m.Type)
			return
		}
		if m.SDP == "" {
			c.sendError(codeBadRequest, "sdp is required", m.Type)
			return
		}
		err = peer.HandleOffer(ctx, t, m.SDP)
	case m.Type == msgAnswer && t == sfu.TransportSub:
		if m.SDP == "" {
			c.sendError(codeBadRequest, "sdp is required", m.Type)
			return
		}
		err = peer.HandleAnswer(ctx, t, m.SDP)
	case m.Type == msgCandidate && (t == sfu.TransportPub || t == sfu.TransportSub):
		err = peer.AddCandidate(t, m.Candidate)
	default:
		c.sendError(codeBadRequest, "pc must be \"pub\" for offers and \"sub\" for answers", m.Type)
		return
	}
	switch {
	case err == nil:
	case errors.Is(err, sfu.ErrBadSDP), errors.Is(err, sfu.ErrWrongState):
		c.sendError(codeBadSDP, "the session description was refused", m.Type)
	case errors.Is(err, sfu.ErrBadICE):
		c.sendError(codeBadCandidate, "the ICE candidate was refused", m.Type)
	case errors.Is(err, sfu.ErrNoPublish):
		r.refusePublish(c, m.Type)
	case errors.Is(err, sfu.ErrClosed):
		c.sendError(codeNotLive, "the lecture is not live", m.Type)
	default:
		r.s.log.Error("media negotiation failed", "conn", c.id, "type", m.Type, "err", err)
		c.sendError(codeInternal, "media negotiation failed", m.Type)
	}
}

// sendLecture tells c the lecture's state. Caller holds r.mu.
func (r *room) sendLecture(ctx context.Context, c *client) {
	lv, err := r.s.newViewer().view(ctx, r.lecture)
	if err != nil {
		r.s.log.Error("loading lecture details failed", "lecture", r.id, "err", err)
	}
	c.sendJSON(lectureMsg{Type: msgLecture, Lecture: lv})
}

// broadcastLecture tells everyone the lecture's state. Caller holds r.mu.
func (r *room) broadcastLecture(ctx context.Context) {
	lv, err := r.s.newViewer().view(ctx, r.lecture)
	if err != nil {
		r.s.log.Error("loading lecture details failed", "lecture", r.id, "err", err)
	}
	for mc := range r.members {
		mc.sendJSON(lectureMsg{Type: msgLecture, Lecture: lv})
	}
}

// participantsChanged schedules one participants broadcast. Caller holds r.mu.
func (r *room) participantsChanged() {
	if r.listSent {
		return
	}
	r.listSent = true
	time.AfterFunc(participantsDelay, r.broadcastParticipants)
}

func (r *room) broadcastParticipants() {
	// Site names come from Redis, read before taking the room's lock; if
	// Redis does not answer, the names of the last list stand.
	names := r.s.siteNames()
	r.mu.Lock()
	defer r.mu.Unlock()
	if names != nil {
		r.siteNames = names
	}
	names = r.siteNames
	r.listSent = false
	list := make([]Participant, 0, len(r.members))
	for mc := range r.members {
		p := Participant{ConnID: mc.id, UserID: mc.user.ID, DisplayName: mc.user.DisplayName,
			Role: r.roleIn(mc.user), SiteID: mc.user.SiteID, SiteName: names[mc.user.SiteID],
			State: r.stateOfLocked(mc)}
		if p.SiteName == "" {
			p.SiteName = p.SiteID
		}
		list = append(list, p)
	}
	r.addFloorFields(list)
	for mc := range r.members {
		mc.sendJSON(participantsMsg{Type: msgParticipants, Participants: list})
	}
}

// forwardSignal sends the SFU's offers, answers and candidates to the client.
func (c *client) forwardSignal(sig sfu.Signal) {
	switch sig.Kind {
	case sfu.SignalOffer, sfu.SignalAnswer:
		c.sendJSON(sdpMsg{Type: string(sig.Kind), PC: string(sig.Transport), SDP: sig.SDP})
	case sfu.SignalCandidate:
		c.sendJSON(candidateMsg{Type: msgCandidate, PC: string(sig.Transport), Candidate: sig.Candidate})
	}
}

// mediaState reacts to the media connection failing: the client gets time
// to restart ICE before it is disconnected (resume_ice.go).
func (c *client) mediaState(st sfu.PeerState) { c.ice.state(c, st) }

// preference sets what video c wants to receive (auto, low, audio-only).
func (r *room) preference(c *client, m inbound) {
	pref, err := sfu.ParsePreference(m.Video)
	if err != nil {
		c.sendError(codeBadRequest, `video must be "auto", "low" or "audio-only"`, m.Type)
		return
	}
	r.mu.Lock()
	var peer *sfu.Peer
	if mem := r.members[c]; mem != nil {
		peer = mem.peer
	}
	r.mu.Unlock()
	if peer == nil {
		c.sendError(codeNotLive, "the lecture is not live", m.Type)
		return
	}
	peer.SetVideoPreference(pref)
	r.mu.Lock()
	if mem := r.members[c]; mem != nil && mem.audioOnly != (pref == sfu.PreferAudioOnly) {
		mem.audioOnly = pref == sfu.PreferAudioOnly
		r.participantsChanged()
	}
	r.mu.Unlock()
}
