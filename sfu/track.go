package sfu

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// Packet cache sizes: about 3 s of 1.5 Mbit/s video and 2.5 s of Opus, enough
// for a NACK round trip on a bad long-distance link.
const (
	videoCacheSize = 512
	audioCacheSize = 128
)

// pubTrack is one track a peer publishes: its layers (one per simulcast
// encoding, or just one) and the set of down-tracks it fans out to.
type pubTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecParameters
	codecKind    int
	pub          *Peer
	receiver     *webrtc.RTPReceiver
	st           *counters
	// pc is the publisher's connection the track arrives on (keyframe
	// requests go back on it); nil in unit tests.
	pc *webrtc.PeerConnection

	// gate is the publisher's rights and mute (Peer.gate), nil in unit
	// tests: a packet is forwarded only if gate&gateMask == gateWant
	// (see rights.go).
	gate               *atomic.Uint32
	gateMask, gateWant uint32
	// inRoom: the track is published to the room, not held back for
	// want of rights. Guarded by the publisher's rightsMu.
	inRoom bool

	// source is the track's Source, read without a lock by subscribers'
	// allocators; SetTrackSource may change it while the track runs.
	source atomic.Int32
	// levelExt is the id of the audio level header extension on the
	// publisher's connection (0: not negotiated); set before the first
	// packet is read.
	levelExt uint8

	// layers are set once each, when the publisher's encoding first
	// arrives, and read without a lock by the allocator and NACK paths.
	layers [maxLayers]atomic.Pointer[layer]
	// readers counts layer readers still running; the track ends with the
	// last one.
	readers atomic.Int32

	// downs is replaced as a whole (copy on write) under mu, and loaded
	// without a lock for every packet.
	downs atomic.Pointer[[]*downTrack]
	// fan is the track's fan-out writers, nil until it has more than
	// fanoutThreshold down-tracks (fanout.go).
	fan atomic.Pointer[fanout]
	// parts is the number of parts a large fan-out is split into
	// (Config.FanoutWriters + 1; 0 or 1: never split). nextPart is the
	// part the next down-track gets, guarded by mu.
	parts    int
	nextPart int
	mu       sync.Mutex
	closed   bool
	// withheld: the publisher lost the right to send this kind; no new
	// down-tracks until it is given back.
	withheld bool
	done     chan struct{}
}

func newPubTrack(p *Peer, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *pubTrack {
	id := remote.ID()
	if id == "" {
		id = fmt.Sprintf("%s-%d", remote.Kind(), remote.SSRC())
	}
	t := &pubTrack{
		id: id,
		// The publishing peer's id groups its tracks into one stream on the
		// subscriber side and tells the client whose media it is.
		streamID:  p.id,
		kind:      remote.Kind(),
		codec:     remote.Codec(),
		codecKind: codecKindOf(remote.Codec().MimeType),
		pub:       p,
		receiver:  receiver,
		st:        p.sfu.st,
		parts:     min(max(p.sfu.cfg.FanoutWriters, 0), maxFanoutWriters) + 1,
		done:      make(chan struct{}),
	}
	empty := []*downTrack{}
	t.downs.Store(&empty)
	return t
}

// addLayer attaches the encoding remote to the track at the rank its RID
// names (or the first free one for a RID it does not know). It returns nil
// if that rank is taken or the track has ended.
func (t *pubTrack) addLayer(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	idx, ok := ridRank(remote.RID())
	if !ok {
		idx = -1
		for i := range t.layers {
			if t.layers[i].Load() == nil {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil
		}
	}
	if t.layers[idx].Load() != nil {
		return nil
	}
	l := newLayer(t, idx, remote, receiver)
	t.layers[idx].Store(l)
	t.readers.Add(1)
	return l
}

// layer returns layer i, or nil if the publisher does not send it.
func (t *pubTrack) layer(i int32) *layer {
	if i < 0 || int(i) >= maxLayers {
		return nil
	}
	return t.layers[i].Load()
}

// addDown adds d to the fan-out; false if the track has ended.
func (t *pubTrack) addDown(d *downTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.withheld {
		return false
	}
	old := *t.downs.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	if t.parts > 1 {
		d.part = t.nextPart % t.parts
		t.nextPart++
	}
	next = append(next, d)
	t.downs.Store(&next)
	t.maybeStartFanout(len(next))
	return true
}

func (t *pubTrack) removeDown(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	i := slices.Index(old, d)
	if i < 0 {
		return
	}
	next := make([]*downTrack, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	t.downs.Store(&next)
}

// close marks the track ended: no new down-tracks, keyframe loop stops.
// It reports whether this call closed it.
func (t *pubTrack) close() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.closed = true
	close(t.done)
	empty := []*downTrack{}
	t.downs.Store(&empty)
	return true
}
