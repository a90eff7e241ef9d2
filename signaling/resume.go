package signaling

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
)

// A participant whose WebSocket drops without a leave (network loss, a
// timeout) keeps its place in a live lecture for the grace window: its
// attendance interval stays open and the participants list shows it as
// reconnecting. A new socket presenting the participant's resume token
// within the window takes the place over (same connection id, so the
// attendance shows one continuous interval); after the window the leave is
// recorded at the last sign of life. See docs/protocol.md.

const (
	// resumeTokenBytes is the size of a resume token before encoding.
	resumeTokenBytes = 32
	// defaultResumeGrace is how long a dropped participant keeps its place.
	defaultResumeGrace = 30 * time.Second
	// closeReplaced closes a socket whose participant was taken over by a
	// newer connection presenting its resume token.
	closeReplaced = 4002
	// reasonReplaced is the attendance reason passed with closeReplaced;
	// it is never recorded: the participant lives on in the new socket.
	reasonReplaced = "replaced"
)

// Participant states, as the participants message shows them.
const (
	stateConnected    = ParticipantConnected
	stateReconnecting = ParticipantReconnecting
	stateAudioOnly    = ParticipantAudioOnly
)

// tokenHash is how a resume token is kept: only its SHA-256, so that the
// server's memory never holds a usable token.
type tokenHash [sha256.Size]byte

// resumeBinding is what a token was issued for.
type resumeBinding struct {
	userID, lectureID, connID string
}

// resumeTokens are the live resume tokens of the server, by hash.
type resumeTokens struct {
	mu sync.Mutex
	by map[tokenHash]resumeBinding
}

// issue makes a new token bound to b.
func (t *resumeTokens) issue(b resumeBinding) (string, tokenHash, error) {
	raw := make([]byte, resumeTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", tokenHash{}, fmt.Errorf("signaling: resume token: %w", err)
	}
	h := tokenHash(sha256.Sum256(raw))
	t.mu.Lock()
	if t.by == nil {
		t.by = make(map[tokenHash]resumeBinding)
	}
	t.by[h] = b
	t.mu.Unlock()
	return base64.RawURLEncoding.EncodeToString(raw), h, nil
}

// lookup finds the binding of a token as a client sent it.
func (t *resumeTokens) lookup(token string) (resumeBinding, tokenHash, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != resumeTokenBytes {
		return resumeBinding{}, tokenHash{}, false
	}
	h := tokenHash(sha256.Sum256(raw))
	t.mu.Lock()
	b, ok := t.by[h]
	t.mu.Unlock()
	return b, h, ok
}

// revoke forgets a token; the zero hash (no token) is ignored.
func (t *resumeTokens) revoke(h tokenHash) {
	if h == (tokenHash{}) {
		return
	}
	t.mu.Lock()
	delete(t.by, h)
	t.mu.Unlock()
}

// lostConn is a member's dropped socket, while it is in its grace window.
type lostConn struct {
	at     time.Time // the last sign of life: the leave is recorded here
	reason string    // attendance reason if the window runs out
	timer  *time.Timer
}

// graceful tells whether a socket that ended for reason keeps its member's
// place for the grace window: only losses, never a leave, the end of the
// lecture, a shutdown or a takeover.
func graceful(reason string) bool {
	return reason == attendance.ReasonDisconnected || reason == attendance.ReasonTimeout
}

// suspendLocked keeps c's place in the room after its socket dropped: the
// media peer is closed (its tracks are unpublished and subscribers
// renegotiated), the attendance interval stays open. It reports false when
// c has nothing to keep (not in a live lecture), and the caller removes it
// as before. Caller holds r.mu.
func (r *room) suspendLocked(c *client, m *member, reason string, at time.Time) bool {
	grace := r.s.cfg.ResumeGrace
	if grace <= 0 || !graceful(reason) || !m.active || r.lecture.State != schedule.StateLive {
		return false
	}
	if m.peer != nil {
		if err := m.peer.Close(); err != nil {
			r.s.log.Warn("closing media peer failed", "conn", c.id, "err", err)
		}
		m.peer = nil
		r.forgetQuality(c)
	}
	m.lost = &lostConn{at: at, reason: reason}
	lost := m.lost
	lost.timer = time.AfterFunc(grace, func() { r.expire(c, lost) })
	c.log.Info("connection lost; keeping the participant's place", "lecture", r.id, "reason", reason, "grace", grace)
	r.participantsChanged()
	return true
}

// expire gives up a lost member's place once its grace window is over.
func (r *room) expire(c *client, lost *lostConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[c]
	if m == nil || m.lost != lost {
		return // resumed, or the lecture ended meanwhile
	}
	r.dropLostLocked(c, m)
	c.log.Info("reconnect window over; left lecture", "lecture", r.id, "reason", lost.reason)
	r.participantsChanged()
	r.removeIfEmpty()
}

// dropLostLocked removes a lost member, recording its leave at its last
// sign of life. Caller holds r.mu.
func (r *room) dropLostLocked(c *client, m *member) {
	m.lost.timer.Stop()
	delete(r.members, c)
	r.s.seats.release()
	r.s.resumes.revoke(m.token)
	r.deactivate(c, m, m.lost.reason, m.lost.at)
}

// dropAllLostLocked ends every grace window at once (the lecture ended).
// Caller holds r.mu.
func (r *room) dropAllLostLocked() {
	for mc, m := range r.members {
		if m.lost != nil {
			r.dropLostLocked(mc, m)
		}
	}
}

// dropLost ends the grace windows of every room (the server is stopping:
// nobody can come back to this process).
func (s *Server) dropLost() {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		r.dropAllLostLocked()
		r.removeIfEmpty()
		r.mu.Unlock()
	}
}

// sameUserLocked finds another member of the room who is the same user as c.
// Caller holds r.mu.
func (r *room) sameUserLocked(c *client) (*client, *member) {
	for mc, m := range r.members {
		if mc != c && mc.user.ID == c.user.ID {
			return mc, m
		}
	}
	return nil, nil
}

// silentLocked tells whether a connected member's socket has shown no sign
// of life for one and a half ping intervals: it missed a pong, and is most
// likely a dead connection the server has not noticed yet (its network went
// without a close). A join of the same user then takes its place instead of
// being refused as a duplicate: the page that was reloaded after the loss
// has no token, and would otherwise wait for the 30 s timeout. Caller holds
// r.mu.
func (r *room) silentLocked(old *client) bool {
	return r.s.cfg.Now().Sub(old.lastSign()) > r.s.cfg.PingInterval*3/2
}

// takeOverLocked moves old's place in the room to c: c gets old's connection
// id, so that attendance, the participants list and the published stream
// ids continue unchanged, and a fresh media peer if the lecture is live.
// A socket of old that is still open is closed with closeReplaced. reply
// is the message type c is answered with (joined or resumed). Caller holds
// r.mu; c is not in any room yet.
func (r *room) takeOverLocked(ctx context.Context, old *client, m *member, c *client, reply string) {
	if m.lost != nil {
		m.lost.timer.Stop()
		m.lost = nil
	}
	if m.peer != nil {
		if err := m.peer.Close(); err != nil {
			r.s.log.Warn("closing media peer failed", "conn", old.id, "err", err)
		}
		m.peer = nil
		r.forgetQuality(old)
	}
	delete(r.members, old)
	r.s.resumes.revoke(m.token)
	m.token = tokenHash{}
	// old's read loop, if it still runs, finds itself out of the room and
	// records nothing.
	old.close(closeReplaced, "replaced by a newer connection", reasonReplaced)
	c.adopt(old.id)
	r.members[c] = m
	c.log.Info("took over participant", "lecture", r.id, "via", reply)
	r.welcomeLocked(ctx, c, m, reply)
	if m.active && r.lecture.State == schedule.StateLive {
		r.connectMedia(ctx, c, m)
	}
	r.participantsChanged()
}

// welcomeLocked issues c's resume token and sends the joined (or resumed)
// message. Caller holds r.mu.
func (r *room) welcomeLocked(ctx context.Context, c *client, m *member, reply string) {
	token, h, err := r.s.resumes.issue(resumeBinding{userID: c.user.ID, lectureID: r.id, connID: c.id})
	if err != nil {
		// Without a token the client simply joins afresh after a drop.
		r.s.log.Error("issuing a resume token failed", "conn", c.id, "err", err)
	}
	m.token = h
	lv, err := r.s.newViewer().view(ctx, r.lecture)
	if err != nil {
		r.s.log.Error("loading lecture details failed", "lecture", r.id, "err", err)
	}
	c.sendJSON(joinedMsg{Type: reply, Lecture: lv, Role: r.roleIn(c.user),
		CanPublish: r.canPublish(c.user), CanEnd: r.canEnd(c.user),
		ConnID: c.id, Resume: token, GraceSeconds: max(0, int(r.s.cfg.ResumeGrace/time.Second))})
	// A resumed or taken-over participant needs these as much as a new one.
	r.sendChatHistory(ctx, c)
	r.sendFloor(ctx, c)
}

// resume lets c take over the participant a token was issued to. ok is
// false (and nothing changed) when the token no longer names a member of
// this room.
func (r *room) resume(ctx context.Context, c *client, h tokenHash, b resumeBinding) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed || r.lecture.State == schedule.StateEnded || r.lecture.State == schedule.StateCancelled {
		return false
	}
	for mc, m := range r.members {
		if m.token == h && mc.id == b.connID && mc.user.ID == c.user.ID {
			r.takeOverLocked(ctx, mc, m, c, msgResumed)
			return true
		}
	}
	return false
}

// handleResume is a new socket's "resume": it takes over its participant
// if the token is live, belongs to this user and (when named) this
// lecture; anything else is resume_expired with no side effects, and the
// client falls back to join.
func (c *client) handleResume(ctx context.Context, m inbound) {
	if c.room != nil {
		c.sendError(codeAlreadyJoined, "this connection is already in a lecture", msgResume)
		return
	}
	if m.Token == "" || len(m.Token) > 100 {
		c.sendError(codeBadRequest, "token is required", msgResume)
		return
	}
	expired := func() {
		c.sendError(codeResumeExpired, "the session cannot be resumed; join the lecture", msgResume)
	}
	b, h, ok := c.s.resumes.lookup(m.Token)
	if !ok || b.userID != c.user.ID || (m.LectureID != "" && m.LectureID != b.lectureID) {
		expired()
		return
	}
	c.s.mu.Lock()
	r := c.s.rooms[b.lectureID]
	c.s.mu.Unlock()
	if r == nil || !r.resume(ctx, c, h, b) {
		expired()
		return
	}
	c.room = r
}

// adopt makes c the connection id of the participant it took over. It is
// called on c's read loop before c enters a room, so nothing else reads
// c.id or c.log yet.
func (c *client) adopt(connID string) {
	c.id = connID
	c.log = c.s.log.With("conn", connID, "user", c.user.ID)
}

// stateOfLocked is c's state as the participants list shows it. Caller
// holds r.mu (r.q.mu is taken after it, in the documented order).
func (r *room) stateOfLocked(c *client) ParticipantState {
	m := r.members[c]
	if m != nil && m.lost != nil {
		return stateReconnecting
	}
	r.q.mu.Lock()
	q, ok := r.q.by[c]
	r.q.mu.Unlock()
	if m != nil && m.audioOnly || ok && q == sfu.QualityAudioOnly {
		return stateAudioOnly
	}
	return stateConnected
}
