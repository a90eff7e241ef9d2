package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/sfu"
)

const (
	// siteQualityInterval is the least time between two siteQuality
	// messages: link qualities flap, and a lecturer needs a calm picture.
	siteQualityInterval = 2 * time.Second
	// siteQualityDelay coalesces the changes of one moment (a site's
	// budget lowering everyone there at once) into one message.
	siteQualityDelay = 250 * time.Millisecond
	// maxDisplayPixels bounds displaySize: larger than any screen.
	maxDisplayPixels = 8192
	// maxMediaIDLen bounds the stream and track ids a client names
	// (browsers use UUIDs; the SFU's stream ids are connection ids).
	maxMediaIDLen = 256
)

// siteQualities is a room's record of its members' link qualities, as the
// SFU reported them, and the state of the siteQuality throttle.
type siteQualities struct {
	mu        sync.Mutex
	by        map[*client]sfu.Quality // absent: good
	scheduled bool                    // a broadcast is pending
	lastAt    time.Time               // when the last one was sent
	last      []byte                  // what it said; nil forces the next one
}

// livePeer returns c's media peer, or nil (with an error sent to c) when
// c has none because the lecture is not live for it.
func (r *room) livePeer(c *client, ref string) *sfu.Peer {
	r.mu.Lock()
	var peer *sfu.Peer
	if m := r.members[c]; m != nil {
		peer = m.peer
	}
	r.mu.Unlock()
	if peer == nil {
		c.sendError(codeNotLive, "the lecture is not live", ref)
	}
	return peer
}

// source declares what one of the publisher's tracks carries. A client
// sends it before the offer that adds the track, so that subscribers see a
// screen track under the publisher's "~screen" stream id.
func (r *room) source(c *client, m inbound) {
	if !r.canPublish(c.user) && r.roleIn(c.user) != string(account.RoleStudent) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only the lecturer, classrooms and the student holding the floor publish tracks", m.Type)
		return
	}
	if m.Track == "" || len(m.Track) > maxMediaIDLen {
		c.sendError(codeBadRequest, "track must be the track id of 1-256 characters", m.Type)
		return
	}
	src, err := sfu.ParseSource(m.Source)
	if err != nil {
		c.sendError(codeBadRequest, `source must be "camera", "microphone" or "screen"`, m.Type)
		return
	}
	peer := r.livePeer(c, m.Type)
	if peer == nil {
		return
	}
	switch err := peer.SetTrackSource(m.Track, src); {
	case err == nil:
	case errors.Is(err, sfu.ErrNoPublish):
		r.refusePublish(c, m.Type)
	case errors.Is(err, sfu.ErrClosed):
		c.sendError(codeNotLive, "the lecture is not live", m.Type)
	default:
		r.s.log.Error("declaring a track source failed", "conn", c.id, "err", err)
		c.sendError(codeInternal, "the track source could not be set", m.Type)
	}
}

// displaySize tells the SFU how large c shows one video track, so that it
// is not sent a layer larger than it can show.
func (r *room) displaySize(c *client, m inbound) {
	if m.Stream == "" || len(m.Stream) > maxMediaIDLen || m.Track == "" || len(m.Track) > maxMediaIDLen {
		c.sendError(codeBadRequest, "stream and track must be ids of 1-256 characters", m.Type)
		return
	}
	w, okW := pixels(m.Width)
	h, okH := pixels(m.Height)
	if !okW || !okH {
		c.sendError(codeBadRequest, "width and height must be whole numbers of pixels from 0 to 8192", m.Type)
		return
	}
	if peer := r.livePeer(c, m.Type); peer != nil {
		peer.SetDisplaySize(m.Stream, m.Track, w, h)
	}
}

// pixels reads a display dimension: a JSON number with no fraction, from 0
// to maxDisplayPixels.
func pixels(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	// Only a number will do: json.Unmarshal would read null as 0.
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f < 0 || f > maxDisplayPixels {
		return 0, false
	}
	return int(f), true
}

// qualityChanged is the SFU's report of c's new link quality: c is told,
// and the lecturers' per-site picture is updated. It runs on the SFU's
// goroutines and never takes r.mu.
func (r *room) qualityChanged(c *client, q sfu.Quality) {
	c.sendJSON(qualityMsg{Type: msgQuality, Quality: q.String()})
	r.q.mu.Lock()
	if r.q.by == nil {
		r.q.by = make(map[*client]sfu.Quality)
	}
	wasAudioOnly := r.q.by[c] == sfu.QualityAudioOnly
	r.q.by[c] = q
	r.q.mu.Unlock()
	r.siteQualityChanged(false)
	if wasAudioOnly != (q == sfu.QualityAudioOnly) {
		// The participant's state changed; the list is rebuilt under r.mu,
		// which this goroutine of the SFU must not wait for.
		go func() {
			r.mu.Lock()
			r.participantsChanged()
			r.mu.Unlock()
		}()
	}
}

// siteNames maps site ids to names, for the participant list. A failure
// leaves the ids to stand for the names.
func (s *Server) siteNames() map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sites, err := s.cfg.Schedule.Sites(ctx)
	if err != nil {
		s.log.Warn("loading site names failed", "err", err)
		return nil
	}
	names := make(map[string]string, len(sites))
	for _, site := range sites {
		names[site.ID] = site.Name
	}
	return names
}

// forgetQuality drops c's quality when its media peer goes. Caller holds r.mu.
func (r *room) forgetQuality(c *client) {
	r.q.mu.Lock()
	delete(r.q.by, c)
	r.q.mu.Unlock()
	r.siteQualityChanged(false)
}

// siteQualityChanged schedules one siteQuality broadcast, at most one per
// siteQualityInterval; force sends it even if nothing changed (a lecturer
// arrived). It may be called with or without r.mu held.
func (r *room) siteQualityChanged(force bool) {
	r.q.mu.Lock()
	defer r.q.mu.Unlock()
	if force {
		r.q.last = nil
	}
	if r.q.scheduled {
		return
	}
	r.q.scheduled = true
	delay := max(siteQualityDelay, time.Until(r.q.lastAt.Add(siteQualityInterval)))
	time.AfterFunc(delay, r.broadcastSiteQuality)
}

// broadcastSiteQuality sends the lecturers (and admins) of the room the
// number of participants at each site by link quality, if it changed. The
// lecturer, who publishes, is not counted.
func (r *room) broadcastSiteQuality() {
	type counted struct {
		c    *client
		site string
	}
	r.mu.Lock()
	if r.removed {
		r.mu.Unlock()
		r.q.mu.Lock()
		r.q.scheduled = false
		r.q.mu.Unlock()
		return
	}
	var to []*client
	var in []counted
	for mc, m := range r.members {
		if m.peer == nil {
			continue
		}
		if r.canEnd(mc.user) {
			to = append(to, mc)
		}
		if r.roleIn(mc.user) != string(account.RoleLecturer) {
			in = append(in, counted{mc, mc.user.SiteID})
		}
	}
	r.q.mu.Lock()
	// From here on, a change schedules another broadcast.
	r.q.scheduled = false
	bySite := map[string]*SiteQuality{}
	for _, x := range in {
		sq := bySite[x.site]
		if sq == nil {
			sq = &SiteQuality{ID: x.site, Name: x.site}
			bySite[x.site] = sq
		}
		switch r.q.by[x.c] {
		case sfu.QualityWeak:
			sq.Weak++
		case sfu.QualityAudioOnly:
			sq.AudioOnly++
		default:
			sq.Good++
		}
	}
	r.q.mu.Unlock()
	r.mu.Unlock()

	if len(bySite) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sites, err := r.s.cfg.Schedule.Sites(ctx)
		cancel()
		if err != nil {
			// The ids still tell the lecturer which site is which.
			r.s.log.Warn("loading site names failed", "lecture", r.id, "err", err)
		}
		for _, site := range sites {
			if sq := bySite[site.ID]; sq != nil {
				sq.Name = site.Name
			}
		}
	}
	msg := siteQualityMsg{Type: msgSiteQuality, Sites: make([]SiteQuality, 0, len(bySite))}
	for _, sq := range bySite {
		msg.Sites = append(msg.Sites, *sq)
	}
	sort.Slice(msg.Sites, func(i, j int) bool {
		if msg.Sites[i].Name != msg.Sites[j].Name {
			return msg.Sites[i].Name < msg.Sites[j].Name
		}
		return msg.Sites[i].ID < msg.Sites[j].ID
	})
	b, err := json.Marshal(msg)
	if err != nil {
		r.s.log.Error("encoding site qualities failed", "err", err)
		return
	}

	r.q.mu.Lock()
	same := r.q.last != nil && bytes.Equal(b, r.q.last)
	if !same && len(to) > 0 {
		r.q.last = b
		r.q.lastAt = time.Now()
	}
	r.q.mu.Unlock()
	if same {
		return
	}
	for _, c := range to {
		c.sendJSON(json.RawMessage(b))
	}
}
