package sfu

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxLayers is the number of simulcast layers a published track can have.
// Browsers send at most three.
const maxLayers = 3

// layer is one encoding of a published track: a simulcast RID, or the only
// encoding of a track sent without simulcast. Each has its own reader, packet
// cache and keyframe throttle, because each is its own RTP stream with its
// own SSRC, sequence numbers and encoder state.
type layer struct {
	t        *pubTrack
	idx      int // quality rank, 0 = lowest
	rid      string
	ssrc     uint32
	remote   *webrtc.TrackRemote
	receiver *webrtc.RTPReceiver
	cache    *packetCache
	kf       *keyframer // nil for audio
	rate     rateMeter
	lastAt   atomic.Int64 // arrival of the last packet (Unix ns)
	// res is the layer's resolution, width<<16 | height, from its last
	// keyframe; 0 while unknown (not VP8, or no keyframe yet).
	res atomic.Uint32
	// level accumulates the audio level of an audio layer's packets for
	// the room's speaker detector, which swaps it out (see speaker.go).
	level levelMeter

	hdr rtp.Header // owned by the reader goroutine
	// twccBuf holds the transport-cc extension payload while forward
	// writes one subscriber's copy (reader goroutine only).
	twccBuf [2]byte
	// fanLeft counts, per packet (by sequence number), the parts of a
	// split fan-out not yet written (fanout.go).
	fanLeft [fanLeftSize]atomic.Int32
}

// ridRank orders the RID names browsers and the usual client libraries use,
// low to high; ok is false for a RID it does not know.
func ridRank(rid string) (int, bool) {
	switch strings.ToLower(rid) {
	case "", "q", "l", "low", "0":
		return 0, true
	case "h", "m", "mid", "medium", "1":
		return 1, true
	case "f", "high", "full", "2":
		return 2, true
	}
	return 0, false
}

func newLayer(t *pubTrack, idx int, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *layer {
	l := &layer{t: t, idx: idx, remote: remote, receiver: receiver}
	if remote != nil {
		l.rid = remote.RID()
		l.ssrc = uint32(remote.SSRC())
	}
	if t.kind == webrtc.RTPCodecTypeVideo {
		l.cache = newPacketCache(videoCacheSize)
		if t.pub != nil {
			l.kf = newKeyframer(t.pub.sfu.cfg.KeyframeInterval, l.sendPLI)
		}
	} else {
		l.cache = newPacketCache(audioCacheSize)
	}
	return l
}

// readLoop forwards the layer's packets until its stream ends.
func (l *layer) readLoop() {
	buf := make([]byte, cacheSlotSize)
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		l.handlePacket(buf[:n], time.Now().UnixNano())
	}
}

// rtcpLoop drains the publisher's RTCP for this layer (sender reports) so the
// report interceptor sees them and the receiver reports sent back carry the
// timing the publisher needs for its RTT estimate.
func (l *layer) rtcpLoop() {
	buf := make([]byte, 1500)
	for {
		var err error
		if l.rid != "" {
			_, _, err = l.receiver.ReadSimulcast(buf, l.rid)
		} else {
			_, _, err = l.receiver.Read(buf)
		}
		if err != nil {
			return
		}
	}
}

// handlePacket caches one received packet, measures the layer's bitrate and
// forwards the packet to every subscriber that selected this layer. now is
// the arrival time in Unix nanoseconds. It allocates nothing.
func (l *layer) handlePacket(pkt []byte, now int64) {
	t := l.t
	t.st.packetsIn.Add(1)
	// One atomic load: the publisher may send this kind (its rights) and,
	// for audio, is not muted. Otherwise the packet is read and dropped:
	// not cached, not measured, not heard by the speaker detector.
	if g := t.gate; g != nil && g.Load()&t.gateMask != t.gateWant {
		return
	}
	l.rate.add(now, len(pkt))
	l.lastAt.Store(now)
	if t.levelExt != 0 {
		// Before parseForForward, which drops the extensions.
		l.level.add(pkt, t.levelExt)
	}
	payload, ok := parseForForward(&l.hdr, pkt)
	if !ok {
		return
	}
	l.cache.store(l.hdr.SequenceNumber, pkt)
	key := t.kind == webrtc.RTPCodecTypeVideo && isKeyframe(t.codecKind, payload)
	if key && t.codecKind == codecVP8 {
		if w, h, ok := vp8Resolution(payload); ok {
			l.res.Store(uint32(w)<<16 | uint32(h))
		}
	}
	downs := *t.downs.Load()
	if f := t.fan.Load(); f != nil {
		t.dispatch(f, downs, l, payload, key, now)
		return
	}
	n := forward(downs, l, &l.hdr, payload, key, now, 0, 1, &l.twccBuf)
	if n > 0 {
		t.count(n, l.hdr.MarshalSize()+len(payload))
		t.st.delay.record(time.Now().UnixNano() - now)
	}
}

// requestKeyframe asks the publisher for a keyframe on this layer, throttled.
func (l *layer) requestKeyframe() {
	if l.kf != nil {
		l.kf.request()
	}
}

func (l *layer) sendPLI() {
	pc := l.t.pc
	if pc == nil {
		return
	}
	err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
	if err == nil {
		l.t.st.keyframeRequests.Add(1)
	}
}

// Codec families whose keyframes the forwarder can recognise.
const (
	codecOther = iota
	codecVP8
	codecH264
)

func codecKindOf(mime string) int {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return codecVP8
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return codecH264
	}
	return codecOther
}

// isKeyframe reports whether payload is the first packet of a keyframe. A
// layer switch may only start there: the subscriber's decoder has nothing
// the new layer's inter frames could refer to. For codecs it cannot parse it
// says true: such a track can switch or resume anywhere, and the PLI sent
// with every switch repairs the picture a moment later, which beats never
// switching.
func isKeyframe(codec int, payload []byte) bool {
	switch codec {
	case codecVP8:
		return isVP8Keyframe(payload)
	case codecH264:
		return isH264Keyframe(payload)
	}
	return true
}

// isVP8Keyframe parses the VP8 payload descriptor (RFC 7741 section 4.2) and
// the first byte of the VP8 payload header: the start of partition 0 with
// the inverse key frame flag P cleared.
func isVP8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	b0 := p[0]
	if b0&0x10 == 0 || b0&0x07 != 0 { // S: start of partition; PID 0
		return false
	}
	i := 1
	if b0&0x80 != 0 { // X: extended control bits
		if len(p) <= i {
			return false
		}
		x := p[i]
		i++
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// isH264Keyframe reports an IDR slice or an SPS (which browsers send, in a
// STAP-A, right before the IDR) at the start of payload (RFC 6184).
func isH264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A: 2-byte sizes, each followed by a NAL unit
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A: start fragment of an IDR
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// Bitrate measurement: a ring of rateBuckets buckets of rateBucket each.
// The layer's reader adds, the allocator reads; both with atomics only.
const (
	rateBucket  = 250 * time.Millisecond
	rateBuckets = 8
)

// rateMeter measures a layer's received bitrate over the last ~2 s, the
// figure the allocator compares with a subscriber's bandwidth estimate.
type rateMeter struct {
	bytes [rateBuckets]atomic.Uint64
	epoch [rateBuckets]atomic.Int64 // bucket number each slot holds
}

func (m *rateMeter) add(now int64, n int) {
	e := now / int64(rateBucket)
	s := int(e % rateBuckets)
	if m.epoch[s].Load() != e {
		m.bytes[s].Store(0)
		m.epoch[s].Store(e)
	}
	m.bytes[s].Add(uint64(n))
}

// bps returns the bitrate over the complete buckets of the window before
// now, in bits per second.
func (m *rateMeter) bps(now int64) uint64 {
	e := now / int64(rateBucket)
	var sum uint64
	for s := range rateBuckets {
		if d := e - m.epoch[s].Load(); d >= 1 && d < rateBuckets {
			sum += m.bytes[s].Load()
		}
	}
	return sum * 8 * uint64(time.Second) / uint64((rateBuckets-1)*rateBucket)
}
