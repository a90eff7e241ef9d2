package sfu

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Packet cache sizes: about 3 s of 1.5 Mbit/s video and 2.5 s of Opus, enough
// for a NACK round trip on a bad long-distance link.
const (
	videoCacheSize = 512
	audioCacheSize = 128
)

// pubTrack is one track a peer publishes: its packet cache, its keyframe
// throttle and the set of down-tracks it fans out to.
type pubTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecParameters
	mediaSSRC    uint32
	pub          *Peer
	remote       *webrtc.TrackRemote
	receiver     *webrtc.RTPReceiver
	cache        *packetCache
	kf           *keyframer // nil for audio
	st           *counters

	// downs is replaced as a whole (copy on write) under mu, and loaded
	// without a lock for every packet.
	downs  atomic.Pointer[[]*downTrack]
	mu     sync.Mutex
	closed bool
	done   chan struct{}

	hdr rtp.Header // owned by the reader goroutine
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
		mediaSSRC: uint32(remote.SSRC()),
		pub:       p,
		remote:    remote,
		receiver:  receiver,
		st:        p.sfu.st,
		done:      make(chan struct{}),
	}
	empty := []*downTrack{}
	t.downs.Store(&empty)
	if t.kind == webrtc.RTPCodecTypeVideo {
		t.cache = newPacketCache(videoCacheSize)
		t.kf = newKeyframer(p.sfu.cfg.KeyframeInterval, t.sendPLI)
	} else {
		t.cache = newPacketCache(audioCacheSize)
	}
	return t
}

// readLoop forwards the track's packets until the track ends (the publisher
// renegotiated it away or its connection closed).
func (t *pubTrack) readLoop() {
	buf := make([]byte, cacheSlotSize)
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		t.handlePacket(buf[:n])
	}
}

// handlePacket caches one received packet and forwards it to every
// subscriber. It allocates nothing.
func (t *pubTrack) handlePacket(pkt []byte) {
	t.st.packetsIn.Add(1)
	payload, ok := parseForForward(&t.hdr, pkt)
	if !ok {
		return
	}
	t.cache.store(t.hdr.SequenceNumber, pkt)
	n := forward(*t.downs.Load(), &t.hdr, payload)
	if n > 0 {
		t.st.packetsForwarded.Add(uint64(n))
		t.st.bytesForwarded.Add(uint64(n * (t.hdr.MarshalSize() + len(payload))))
	}
}

// rtcpLoop drains the publisher's RTCP (sender reports) so the report
// interceptor sees them and the receiver reports it sends back carry the
// timing the publisher needs for its RTT estimate.
func (t *pubTrack) rtcpLoop() {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.receiver.Read(buf); err != nil {
			return
		}
	}
}

// requestKeyframe asks the publisher for a keyframe, throttled.
func (t *pubTrack) requestKeyframe() {
	if t.kf != nil {
		t.kf.request()
	}
}

func (t *pubTrack) sendPLI() {
	err := t.pub.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: t.mediaSSRC}})
	if err == nil {
		t.st.keyframeRequests.Add(1)
	}
}

// addDown adds d to the fan-out; false if the track has ended.
func (t *pubTrack) addDown(d *downTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	old := *t.downs.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	t.downs.Store(&next)
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
