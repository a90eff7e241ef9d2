package sfu

import (
	"fmt"
	"slices"

	"github.com/pion/webrtc/v4"
)

// PublishRights say which kinds of media a peer may publish. The caller
// decides them (a lecturer always publishes, a student only while given
// the floor); the SFU enforces them on every packet.
type PublishRights struct {
	Audio bool
	Video bool
}

func (r PublishRights) any() bool { return r.Audio || r.Video }

// Bits of Peer.gate. A published packet is forwarded only if its kind's
// bit is set and, for audio, gateMuted is clear: one atomic load decides.
const (
	gateAudio uint32 = 1 << iota
	gateVideo
	gateMuted
)

// kindBit is the gate bit giving the right to publish kind.
func kindBit(kind webrtc.RTPCodecType) uint32 {
	if kind == webrtc.RTPCodecTypeAudio {
		return gateAudio
	}
	return gateVideo
}

// PublishRights returns what the peer may publish now.
func (p *Peer) PublishRights() PublishRights {
	g := p.gate.Load()
	return PublishRights{Audio: g&gateAudio != 0, Video: g&gateVideo != 0}
}

// SetPublishRights changes what the peer may publish, effective at once.
//
// Tracks of a kind no longer allowed stop being forwarded with the next
// packet and are taken out of the room (subscribers are renegotiated);
// whatever of that kind keeps arriving is read and dropped. Tracks of a
// kind allowed again are put back. Without any rights the server's pub
// connection is closed and forgotten: the client closes its own, and a
// later grant starts with a fresh offer on a new connection.
func (p *Peer) SetPublishRights(r PublishRights) {
	p.rightsMu.Lock()
	defer p.rightsMu.Unlock()
	g := p.gate.Load() &^ (gateAudio | gateVideo)
	if r.Audio {
		g |= gateAudio
	}
	if r.Video {
		g |= gateVideo
	}
	p.gate.Store(g)

	p.mu.Lock()
	tracks := make([]*pubTrack, 0, len(p.published))
	for _, t := range p.published {
		tracks = append(tracks, t)
	}
	p.mu.Unlock()
	for _, t := range tracks {
		p.placeTrackLocked(t)
	}
	if !r.any() {
		p.retirePub()
	}
}

// gateTrack points a new track at the peer's gate with the bits of its
// kind.
func (p *Peer) gateTrack(t *pubTrack) {
	t.gate = &p.gate
	t.gateMask, t.gateWant = kindBit(t.kind), kindBit(t.kind)
	if t.kind == webrtc.RTPCodecTypeAudio {
		t.gateMask |= gateMuted
	}
}

// placeTrackLocked publishes t to the room if the peer may send its kind,
// or holds it back (taking it out of the room if it was in). p.rightsMu
// must be held.
func (p *Peer) placeTrackLocked(t *pubTrack) {
	allowed := p.gate.Load()&kindBit(t.kind) != 0
	t.setWithheld(!allowed)
	switch {
	case allowed && !t.inRoom:
		if p.room.addTrack(t) {
			t.inRoom = true
		} else {
			t.close() // the publisher has left
		}
	case !allowed && t.inRoom:
		t.inRoom = false
		p.room.withdrawTrack(t)
	}
}

// retirePub closes and forgets the pub connection, so that the next offer
// negotiates a new one from scratch. Its tracks end with it.
func (p *Peer) retirePub() {
	p.pubT.mu.Lock()
	pc := p.pubPC.Swap(nil)
	p.pubT.pending = nil
	p.pubT.sigMu.Lock()
	p.pubT.described, p.pubT.held = false, nil
	p.pubT.sigMu.Unlock()
	p.pubT.mu.Unlock()
	if pc == nil {
		return
	}
	// The connection no longer counts in the peer's state (its own state
	// changes are ignored from now on).
	p.onPCState(TransportPub, webrtc.PeerConnectionStateUnknown)
	if err := pc.Close(); err != nil {
		p.log.Debug("closing the retired pub connection", "err", err)
	}
}

// pubConnLocked returns the pub connection, creating it on the first offer
// after a grant. p.pubT.mu must be held.
func (p *Peer) pubConnLocked() (*webrtc.PeerConnection, error) {
	if pc := p.pubPC.Load(); pc != nil {
		return pc, nil
	}
	pc, err := p.sfu.pubAPI.NewPeerConnection(webrtc.Configuration{ICEServers: p.sfu.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("sfu: new pub peer connection: %w", err)
	}
	p.pubPC.Store(pc)
	p.watch(pc, &p.pubT)
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		p.onTrack(pc, remote, receiver)
	})
	return pc, nil
}

// withdrawTrack takes t out of the room without ending it: the publisher
// still sends it, but nobody receives it until addTrack puts it back.
func (r *Room) withdrawTrack(t *pubTrack) {
	r.mu.Lock()
	i := slices.Index(r.tracks, t)
	if i >= 0 {
		r.tracks = slices.Delete(r.tracks, i, i+1)
	}
	peers := r.peerList()
	closing := r.closed
	r.mu.Unlock()
	if i < 0 || closing {
		return
	}
	r.log.Info("track withheld", "peer", t.pub.id, "track", t.id, "kind", t.kind.String())
	for _, p := range peers {
		if p != t.pub {
			p.unsubscribe(t)
		}
	}
}

// setWithheld refuses (or again allows) new down-tracks of t.
func (t *pubTrack) setWithheld(w bool) {
	t.mu.Lock()
	t.withheld = w
	t.mu.Unlock()
}

// ended reports whether t has ended.
func (t *pubTrack) ended() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
