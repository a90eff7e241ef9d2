package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Room is the media of one lecture.
type Room struct {
	id  string
	sfu *SFU
	log *slog.Logger

	// mu guards the membership lists only; it is never held while calling
	// into pion or into a peer, so the lists are snapshotted and the work is
	// done outside. Races between a join and a track change are resolved by
	// Peer.subscribe being idempotent and pubTrack.addDown failing on an
	// ended track.
	mu     sync.Mutex
	peers  map[string]*Peer
	tracks []*pubTrack
	closed bool

	// speaker is the current speaker (nil: none), written by the speaker
	// detector and read by the subscribers' allocators.
	speaker atomic.Pointer[Peer]
	// The speaker detector runs while the room has peers and a track with
	// audio levels; it is started under mu and stopped by closing
	// speakerStop (when the room closes), which close waits for.
	speakerRunning bool
	speakerStop    chan struct{}
	speakerWG      sync.WaitGroup
}

// Join adds a peer. Every peer subscribes to every track published in the
// room; the SFU sends a TransportSub offer through OnSignal whenever there
// are tracks to send or the set of tracks changes.
func (r *Room) Join(ctx context.Context, peerID string, opts PeerOptions) (*Peer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sfu: join: %w", err)
	}
	r.mu.Lock()
	closed, dup := r.closed, r.peers[peerID] != nil
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if dup {
		return nil, fmt.Errorf("%w: %q", ErrDuplicate, peerID)
	}

	p, err := newPeer(r, peerID, opts)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	switch {
	case r.closed:
		err = ErrClosed
	case r.peers[peerID] != nil:
		err = fmt.Errorf("%w: %q", ErrDuplicate, peerID)
	default:
		r.peers[peerID] = p
		// Counted here, under r.mu and before the room can be closed, so
		// SFU.Close's Wait cannot miss it.
		r.sfu.wg.Add(1)
		go func() {
			defer r.sfu.wg.Done()
			p.notify.run()
		}()
	}
	tracks := slices.Clone(r.tracks)
	r.mu.Unlock()
	if err != nil {
		p.closePCs()
		if p.site != nil {
			r.sfu.leaveSite(p, p.site)
		}
		return nil, err
	}
	p.subscribe(tracks...)
	return p, nil
}

// Peers returns the number of peers in the room.
func (r *Room) Peers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers)
}

// addTrack makes t available to every other peer of the room. It fails if
// the publisher has already left.
func (r *Room) addTrack(t *pubTrack) bool {
	r.mu.Lock()
	if r.closed || r.peers[t.pub.id] != t.pub || t.ended() {
		r.mu.Unlock()
		return false
	}
	if slices.Contains(r.tracks, t) {
		r.mu.Unlock()
		return true
	}
	r.tracks = append(r.tracks, t)
	if t.levelExt != 0 {
		r.startSpeakerLocked()
	}
	peers := r.peerList()
	r.mu.Unlock()
	r.log.Info("track published", "peer", t.pub.id, "track", t.id, "kind", t.kind.String(), "codec", t.codec.MimeType)
	for _, p := range peers {
		if p != t.pub {
			p.subscribe(t)
		}
	}
	return true
}

// removeTrack ends t and takes it away from every subscriber.
func (r *Room) removeTrack(t *pubTrack) {
	// Ended before it leaves the list, so that addTrack (which checks
	// under r.mu) cannot put it back.
	t.close()
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
	r.log.Info("track unpublished", "peer", t.pub.id, "track", t.id)
	for _, p := range peers {
		if p != t.pub {
			p.unsubscribe(t)
		}
	}
}

// removePeer takes p and its tracks out of the room.
func (r *Room) removePeer(p *Peer) {
	r.mu.Lock()
	if r.peers[p.id] == p {
		delete(r.peers, p.id)
	}
	var gone []*pubTrack
	r.tracks = slices.DeleteFunc(r.tracks, func(t *pubTrack) bool {
		if t.pub == p {
			gone = append(gone, t)
			return true
		}
		return false
	})
	peers := r.peerList()
	closing := r.closed
	r.mu.Unlock()
	for _, t := range gone {
		t.close()
	}
	// When the whole room is closing every peer goes anyway: renegotiating
	// them first would only send offers nobody will answer.
	if len(gone) == 0 || closing {
		return
	}
	for _, o := range peers {
		o.unsubscribe(gone...)
	}
}

// peerList returns the peers; r.mu must be held.
func (r *Room) peerList() []*Peer {
	peers := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	return peers
}

// close closes every peer of the room.
func (r *Room) close() {
	r.mu.Lock()
	if !r.closed && r.speakerStop != nil {
		close(r.speakerStop)
	}
	r.closed = true
	peers := r.peerList()
	r.mu.Unlock()
	for _, p := range peers {
		_ = p.Close()
	}
	r.speakerWG.Wait()
}
