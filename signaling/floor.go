package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/floor"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
)

// Floor control: raised hands, the floor given to one student, mutes,
// removals and the lock. Every decision is made in floor.Store (Redis),
// keyed by user id, so it holds across reconnects and server restarts;
// this file checks roles, tells the clients and makes the SFU enforce it.

// Client message types of floor control.
const (
	msgRaiseHand = "raiseHand"
	msgLowerHand = "lowerHand"
	msgGrant     = "grant"
	msgRevoke    = "revoke"
	msgRelease   = "release"
	msgMute      = "mute"
	msgUnmute    = "unmute"
	msgRemove    = "remove"
	msgReadmit   = "readmit"
	msgLock      = "lock"
	msgUnlock    = "unlock"
)

// Server message types of floor control.
const (
	msgFloor   = "floor"
	msgGranted = "granted"
	msgRevoked = "revoked"
	msgMuted   = "muted"
	msgUnmuted = "unmuted"
	msgRemoved = "removed"
)

// Error codes of floor control.
const (
	codeRemoved = "removed"
	codeLocked  = "locked"
	codeNoFloor = "no_floor"
)

// closeRemoved is the WebSocket close code after a removal: the client
// shows the reason and does not reconnect to the lecture.
const closeRemoved = 4001

// floorReadTimeout bounds the floor reads on the way into a lecture and
// for broadcasts, which go ahead without the floor when Redis is away.
const floorReadTimeout = 2 * time.Second

// maxUserIDLen bounds the user ids a client names (floor's own limit).
const maxUserIDLen = 128

// floorMessage reports whether t is a floor control message.
func floorMessage(t string) bool {
	switch t {
	case msgRaiseHand, msgLowerHand, msgGrant, msgRevoke, msgRelease, msgMute, msgUnmute,
		msgRemove, msgReadmit, msgLock, msgUnlock:
		return true
	}
	return false
}

type floorMsg struct {
	Type   string       `json:"type"`
	Holder *floorHolder `json:"holder"`
	Hands  []floorHand  `json:"hands"`
	Locked bool         `json:"locked"`
}

type floorHolder struct {
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
	Camera      bool   `json:"camera"`
}

type floorHand struct {
	UserID      string    `json:"userId"`
	DisplayName string    `json:"displayName"`
	SiteID      string    `json:"siteId"`
	At          time.Time `json:"at"`
}

type grantedMsg struct {
	Type   string `json:"type"`
	Camera bool   `json:"camera"`
}

type mutedMsg struct {
	Type string `json:"type"`
	By   string `json:"by,omitempty"`
}

type removedMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// removedErrorMsg is the error refusing a removed user's join; it carries
// the reason they were given.
type removedErrorMsg struct {
	errorMsg
	Reason string `json:"reason"`
}

// removedError is a join refused because the user was removed.
type removedError struct{ reason string }

func (e *removedError) Error() string {
	if e.reason == "" {
		return "you were removed from this lecture"
	}
	return "you were removed from this lecture: " + e.reason
}

// sendJoinError refuses a join, with the removal's reason if that is why.
func (c *client) sendJoinError(code string, err error) {
	var re *removedError
	if !errors.As(err, &re) {
		c.sendError(code, err.Error(), msgJoin)
		return
	}
	c.s.metrics.errors.WithLabelValues(code).Inc()
	c.log.Info("message refused", "code", code, "ref", msgJoin, "msg", err.Error())
	c.sendJSON(removedErrorMsg{errorMsg: errorMsg{Type: msgError, Code: code, Message: err.Error(), Ref: msgJoin}, Reason: re.reason})
}

// isModerator: the lecture's lecturer and admins run the floor.
func (r *room) isModerator(u account.User) bool {
	role := r.roleIn(u)
	return role == string(account.RoleLecturer) || role == string(account.RoleAdmin)
}

// admit checks the floor before c joins: a removed user is refused with
// the reason, and a locked lecture takes only moderators and participants
// who were in it before. Caller holds r.mu.
func (r *room) admit(ctx context.Context, c *client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, floorReadTimeout)
	defer cancel()
	sn, err := r.s.cfg.Floor.CheckJoin(ctx, r.id, c.user.ID, r.isModerator(c.user))
	if errors.Is(err, floor.ErrLocked) {
		// Only now is it worth reading who was here before.
		back, herr := r.wasHere(ctx, c.user.ID)
		switch {
		case herr != nil:
			err = herr
		case back:
			sn, err = r.s.cfg.Floor.CheckJoin(ctx, r.id, c.user.ID, true)
		}
	}
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, floor.ErrRemoved):
		re := &removedError{}
		if sn != nil {
			re.reason = sn.Reason
		}
		return codeRemoved, re
	case errors.Is(err, floor.ErrLocked):
		return codeLocked, errors.New("the lecture is locked: it takes no new participants")
	default:
		// Like attendance, the floor must not stop a lecture while Redis
		// is away: the join goes ahead unchecked.
		r.s.log.Warn("checking the floor failed; join let through", "lecture", r.id, "conn", c.id, "err", err)
		return "", nil
	}
}

// wasHere reports whether userID is, or has been, in this lecture: connected
// now, or with a join in its attendance. Caller holds r.mu.
func (r *room) wasHere(ctx context.Context, userID string) (bool, error) {
	for mc := range r.members {
		if mc.user.ID == userID {
			return true, nil
		}
	}
	events, err := r.s.cfg.Attendance.Events(ctx, r.id)
	if err != nil {
		return false, fmt.Errorf("signaling: attendance of %s: %w", r.id, err)
	}
	return slices.ContainsFunc(events, func(e attendance.Event) bool {
		return e.Kind == attendance.KindJoin && e.UserID == userID
	}), nil
}

// participant finds the user an action names among this lecture's
// participants (connected now, or in its attendance); ok is false if they
// are not one. Caller holds r.mu.
func (r *room) participant(ctx context.Context, userID string) (u account.User, ok bool, err error) {
	for mc := range r.members {
		if mc.user.ID == userID {
			return mc.user, true, nil
		}
	}
	here, err := r.wasHere(ctx, userID)
	if err != nil || !here {
		return account.User{}, false, err
	}
	u, err = r.s.cfg.Accounts.Get(ctx, userID)
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, false, nil
	}
	if err != nil {
		return account.User{}, false, fmt.Errorf("signaling: user %s: %w", userID, err)
	}
	return u, true, nil
}

// rightsFor is what u may publish given the floor's holder: lecturers and
// operators always publish, a student only while holding the floor (the
// microphone, and the camera if granted), admins never.
func (r *room) rightsFor(u account.User, holder *floor.Grant) sfu.PublishRights {
	switch r.roleIn(u) {
	case string(account.RoleLecturer), string(account.RoleOperator):
		return sfu.PublishRights{Audio: true, Video: true}
	case string(account.RoleStudent):
		if holder != nil && holder.UserID == u.ID {
			return sfu.PublishRights{Audio: true, Video: holder.Camera}
		}
	}
	return sfu.PublishRights{}
}

// applyFloor gives c's new media peer what the floor says: its publish
// rights and its mute, and tells c if it holds the floor or is muted.
// Caller holds r.mu.
func (r *room) applyFloor(ctx context.Context, c *client, peer *sfu.Peer) {
	ctx, cancel := context.WithTimeout(ctx, floorReadTimeout)
	defer cancel()
	st, err := r.s.cfg.Floor.State(ctx, r.id)
	if err != nil {
		// The peer starts with its role's rights only: a student holding
		// the floor gets it back with the next floor change.
		r.s.log.Error("loading the floor failed", "lecture", r.id, "conn", c.id, "err", err)
		return
	}
	if r.roleIn(c.user) == string(account.RoleStudent) && st.Floor != nil && st.Floor.UserID == c.user.ID {
		peer.SetPublishRights(r.rightsFor(c.user, st.Floor))
		c.sendJSON(grantedMsg{Type: msgGranted, Camera: st.Floor.Camera})
	}
	for _, m := range st.Muted {
		if m.UserID == c.user.ID {
			peer.SetMuted(true)
			c.sendJSON(mutedMsg{Type: msgMuted, By: m.By})
		}
	}
}

// sendFloor tells c the floor. Caller holds r.mu.
func (r *room) sendFloor(ctx context.Context, c *client) {
	if msg, ok := r.floorView(ctx); ok {
		c.sendJSON(msg)
	}
}

// floorChanged tells everyone the floor and schedules a participants
// update. Caller holds r.mu.
func (r *room) floorChanged(ctx context.Context) {
	if msg, ok := r.floorView(ctx); ok {
		for mc := range r.members {
			mc.sendJSON(msg)
		}
	}
	r.participantsChanged()
}

// floorView builds the floor message. Caller holds r.mu.
func (r *room) floorView(ctx context.Context) (floorMsg, bool) {
	ctx, cancel := context.WithTimeout(ctx, floorReadTimeout)
	defer cancel()
	st, err := r.s.cfg.Floor.State(ctx, r.id)
	if err != nil {
		r.s.log.Error("loading the floor failed", "lecture", r.id, "err", err)
		return floorMsg{}, false
	}
	msg := floorMsg{Type: msgFloor, Hands: make([]floorHand, 0, len(st.Hands)), Locked: st.Locked}
	if g := st.Floor; g != nil {
		u := r.userByID(ctx, g.UserID)
		msg.Holder = &floorHolder{UserID: g.UserID, DisplayName: u.DisplayName, Camera: g.Camera}
	}
	for _, h := range st.Hands {
		u := r.userByID(ctx, h.UserID)
		msg.Hands = append(msg.Hands, floorHand{UserID: h.UserID, DisplayName: u.DisplayName, SiteID: u.SiteID, At: h.At})
	}
	return msg, true
}

// userByID finds a user among the members, else in the accounts; a user
// who cannot be found is shown by id alone. Caller holds r.mu.
func (r *room) userByID(ctx context.Context, id string) account.User {
	for mc := range r.members {
		if mc.user.ID == id {
			return mc.user
		}
	}
	u, err := r.s.cfg.Accounts.Get(ctx, id)
	if err != nil {
		r.s.log.Warn("loading a user on the floor failed", "user", id, "err", err)
		return account.User{ID: id}
	}
	return u
}

// floorFields fills in each participant's hand, floor and mute from st.
func floorFields(list []Participant, st floor.State) {
	hands := make(map[string]time.Time, len(st.Hands))
	for _, h := range st.Hands {
		hands[h.UserID] = h.At
	}
	muted := make(map[string]bool, len(st.Muted))
	for _, m := range st.Muted {
		muted[m.UserID] = true
	}
	for i := range list {
		p := &list[i]
		if at, ok := hands[p.UserID]; ok {
			p.Hand, p.HandAt = true, &at
		}
		p.Floor = st.Floor != nil && st.Floor.UserID == p.UserID
		p.Muted = muted[p.UserID]
	}
}

// eachConn calls f for every connection of userID with its member record.
// Caller holds r.mu.
func (r *room) eachConn(userID string, f func(*client, *member)) {
	for mc, m := range r.members {
		if mc.user.ID == userID {
			f(mc, m)
		}
	}
}

// takeFloor stops userID's publishing (the SFU at once) and tells them.
// Caller holds r.mu.
func (r *room) takeFloor(userID string) {
	r.eachConn(userID, func(mc *client, m *member) {
		if m.peer != nil && r.roleIn(mc.user) == string(account.RoleStudent) {
			m.peer.SetPublishRights(sfu.PublishRights{})
		}
		mc.sendJSON(struct {
			Type string `json:"type"`
		}{msgRevoked})
	})
}

// floorAction handles one floor control message from c.
func (r *room) floorAction(ctx context.Context, c *client, m inbound) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[c]; !ok {
		c.sendError(codeNotJoined, "join a lecture first", m.Type)
		return
	}
	switch m.Type {
	case msgRaiseHand, msgLowerHand:
		r.hand(ctx, c, m)
	case msgRelease:
		r.release(ctx, c, m)
	default:
		r.moderate(ctx, c, m)
	}
}

// hand raises or lowers c's hand: students and operators, in a live lecture.
func (r *room) hand(ctx context.Context, c *client, m inbound) {
	switch r.roleIn(c.user) {
	case string(account.RoleStudent), string(account.RoleOperator):
	default:
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only students and classrooms raise hands", m.Type)
		return
	}
	if !r.live(c, m.Type) {
		return
	}
	var err error
	changed := true
	if m.Type == msgRaiseHand {
		_, err = r.s.cfg.Floor.RaiseHand(ctx, r.id, c.user.ID)
	} else {
		changed, err = r.s.cfg.Floor.LowerHand(ctx, r.id, c.user.ID)
	}
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if changed {
		r.floorChanged(ctx)
	}
}

// release gives the floor back: only its holder may.
func (r *room) release(ctx context.Context, c *client, m inbound) {
	if !r.live(c, m.Type) {
		return
	}
	g, err := r.s.cfg.Floor.Revoke(ctx, r.id, c.user.ID)
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if g == nil {
		c.sendError(codeNoFloor, "you do not hold the floor", m.Type)
		return
	}
	c.log.Info("floor released", "lecture", r.id)
	r.takeFloor(c.user.ID)
	r.floorChanged(ctx)
}

// moderate handles the moderators' actions: grant, revoke, mute, unmute,
// remove, readmit, lock, unlock. Roles are checked first, then fields,
// then the named participant; a refused action changes nothing.
func (r *room) moderate(ctx context.Context, c *client, m inbound) {
	if !r.isModerator(c.user) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only the lecture's lecturer or an admin may do this", m.Type)
		return
	}
	if m.Type == msgLock || m.Type == msgUnlock {
		r.lock(ctx, c, m)
		return
	}
	userID, ok := rawString(m.UserID)
	if !ok || userID == "" || len(userID) > maxUserIDLen {
		c.sendError(codeBadRequest, "userId must be a user id of 1-128 bytes", m.Type)
		return
	}
	if m.Type == msgReadmit {
		r.readmit(ctx, c, m, userID)
		return
	}
	var camera bool
	var reason string
	switch m.Type {
	case msgGrant:
		if camera, ok = rawBool(m.Camera); !ok {
			c.sendError(codeBadRequest, "camera must be true or false", m.Type)
			return
		}
	case msgRemove:
		if reason, ok = rawString(m.Reason); !ok || utf8.RuneCountInString(reason) > floor.MaxReason {
			c.sendError(codeBadRequest, fmt.Sprintf("reason must be text of at most %d characters", floor.MaxReason), m.Type)
			return
		}
	}
	// Removing takes effect before or during the lecture; the floor itself
	// only exists while it is live.
	if m.Type == msgRemove {
		if r.lecture.State == schedule.StateEnded {
			c.sendError(codeEnded, "the lecture has ended", m.Type)
			return
		}
	} else if !r.live(c, m.Type) {
		return
	}
	target, ok, err := r.participant(ctx, userID)
	if err != nil {
		r.s.log.Error("finding a participant failed", "lecture", r.id, "user", userID, "err", err)
		c.sendError(codeInternal, "could not look the participant up", m.Type)
		return
	}
	if !ok {
		c.sendError(codeNotFound, "no such participant in this lecture", m.Type)
		return
	}
	switch m.Type {
	case msgGrant:
		r.grant(ctx, c, m, target, camera)
	case msgRevoke:
		r.revoke(ctx, c, m, target)
	case msgMute, msgUnmute:
		r.mute(ctx, c, m, target)
	case msgRemove:
		r.remove(ctx, c, m, target, reason)
	}
}

func (r *room) grant(ctx context.Context, c *client, m inbound, target account.User, camera bool) {
	if r.roleIn(target) != string(account.RoleStudent) {
		c.sendError(codeBadRequest, "only students are given the floor; lecturers and classrooms always publish", m.Type)
		return
	}
	g, prev, err := r.s.cfg.Floor.Grant(ctx, r.id, target.ID, c.user.ID, camera)
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if prev != nil && prev.UserID != target.ID {
		r.takeFloor(prev.UserID)
	}
	r.eachConn(target.ID, func(mc *client, mm *member) {
		if mm.peer != nil {
			mm.peer.SetPublishRights(r.rightsFor(mc.user, &g))
		}
		mc.sendJSON(grantedMsg{Type: msgGranted, Camera: g.Camera})
	})
	c.log.Info("floor granted", "lecture", r.id, "to", target.ID, "camera", camera)
	r.floorChanged(ctx)
}

func (r *room) revoke(ctx context.Context, c *client, m inbound, target account.User) {
	g, err := r.s.cfg.Floor.Revoke(ctx, r.id, target.ID)
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if g == nil {
		// Already given back or taken: nothing to do; the caller gets the
		// floor as it is.
		r.sendFloor(ctx, c)
		return
	}
	c.log.Info("floor revoked", "lecture", r.id, "from", target.ID)
	r.takeFloor(target.ID)
	r.floorChanged(ctx)
}

func (r *room) mute(ctx context.Context, c *client, m inbound, target account.User) {
	muted := m.Type == msgMute
	if r.floorFailed(c, m.Type, r.s.cfg.Floor.SetMuted(ctx, r.id, target.ID, c.user.ID, muted)) {
		return
	}
	r.eachConn(target.ID, func(mc *client, mm *member) {
		if mm.peer != nil {
			mm.peer.SetMuted(muted)
		}
		if muted {
			mc.sendJSON(mutedMsg{Type: msgMuted, By: c.user.ID})
		} else {
			mc.sendJSON(mutedMsg{Type: msgUnmuted})
		}
	})
	c.log.Info("participant "+m.Type+"d", "lecture", r.id, "user", target.ID)
	r.participantsChanged()
}

func (r *room) remove(ctx context.Context, c *client, m inbound, target account.User, reason string) {
	if r.isModerator(target) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "the lecture's lecturer and admins cannot be removed", m.Type)
		return
	}
	prev, err := r.s.cfg.Floor.Remove(ctx, r.id, target.ID, c.user.ID, reason)
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if prev != nil {
		r.takeFloor(target.ID)
	}
	r.eachConn(target.ID, func(mc *client, mm *member) {
		if mm.peer != nil {
			// Stop its media now; the leave is recorded when its socket closes.
			mm.peer.SetPublishRights(sfu.PublishRights{})
		}
		mc.sendJSON(removedMsg{Type: msgRemoved, Reason: reason})
		mc.close(closeRemoved, "removed from the lecture", attendance.ReasonRemoved)
	})
	c.log.Info("participant removed", "lecture", r.id, "user", target.ID)
	r.floorChanged(ctx)
}

func (r *room) readmit(ctx context.Context, c *client, m inbound, userID string) {
	ok, err := r.s.cfg.Floor.Readmit(ctx, r.id, userID)
	if r.floorFailed(c, m.Type, err) {
		return
	}
	if !ok {
		c.sendError(codeNotFound, "no participant of this lecture was removed under that id", m.Type)
		return
	}
	c.log.Info("participant readmitted", "lecture", r.id, "user", userID)
	r.sendFloor(ctx, c)
}

func (r *room) lock(ctx context.Context, c *client, m inbound) {
	if r.lecture.State == schedule.StateEnded {
		c.sendError(codeEnded, "the lecture has ended", m.Type)
		return
	}
	if r.floorFailed(c, m.Type, r.s.cfg.Floor.SetLocked(ctx, r.id, m.Type == msgLock)) {
		return
	}
	c.log.Info("lecture "+m.Type+"ed", "lecture", r.id)
	r.floorChanged(ctx)
}

// live checks that the lecture is live, telling c if not.
func (r *room) live(c *client, ref string) bool {
	if r.lecture.State != schedule.StateLive {
		c.sendError(codeNotLive, "the lecture is not live", ref)
		return false
	}
	return true
}

// floorFailed answers a failed floor store call; false if err is nil.
func (r *room) floorFailed(c *client, ref string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, floor.ErrRemoved):
		c.sendError(codeRemoved, "that participant was removed from this lecture", ref)
	case errors.Is(err, floor.ErrInvalid):
		c.sendError(codeBadRequest, err.Error(), ref)
	default:
		r.s.log.Error("floor change failed", "lecture", r.id, "type", ref, "err", err)
		c.sendError(codeInternal, "the floor could not be changed", ref)
	}
	return true
}

// refusePublish answers an offer, candidate or source on pub from c
// while it may not publish: no_floor for a student (who may be given
// the floor), forbidden for anyone else.
func (r *room) refusePublish(c *client, ref string) {
	r.s.metrics.forbidden.Inc()
	if r.roleIn(c.user) == string(account.RoleStudent) {
		c.sendError(codeNoFloor, "you do not hold the floor", ref)
		return
	}
	c.sendError(codeForbidden, "you may not publish", ref)
}

// rawString reads an optional JSON string field ("" when absent).
func rawString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", true
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// rawBool reads an optional JSON boolean field (false when absent).
func rawBool(raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	return false, false
}

// addFloorFields fills in the participants' floor fields from Redis; on
// failure the list goes out without them. Caller holds r.mu.
func (r *room) addFloorFields(list []Participant) {
	ctx, cancel := context.WithTimeout(context.Background(), floorReadTimeout)
	defer cancel()
	st, err := r.s.cfg.Floor.State(ctx, r.id)
	if err != nil {
		r.s.log.Warn("loading the floor for the participant list failed", "lecture", r.id, "err", err)
		return
	}
	floorFields(list, st)
}
