package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Probing: when the allocator wants more than a subscriber's estimate
// allows and its path has been clean for a while, the estimator asks for a
// short burst of padding on top of the media (bwe.go: at most twice the
// estimate, for probeDuration). Padding goes out as padding-only packets on
// a video down-track's RTX SSRC, as browsers probe, so the subscriber's
// decoder never sees it; each is stamped with the transport-wide sequence
// and so reported in the feedback like media. See prober for where it is
// written.

// padSize is the padding of one probe packet (the RTP maximum, as
// libwebrtc's padding packets).
const padSize = 255

// wantRate is what the subscriber would be sent if bandwidth were no
// object, as the allocator last computed it (with its up-switch margin).
func (p *Peer) wantRate() uint64 { return p.est.want.Load() }

// startProbe starts padding at rate bit/s for d on one of p's video
// down-tracks that negotiated RTX and is sending. It reports false if there
// is none (the estimator then steps up without a probe). Called with
// p.cc.mu held.
func (p *Peer) startProbe(rate float64, d time.Duration) bool {
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	for _, s := range p.downs {
		dt := s.down
		if b := dt.bound.Load(); b != nil && b.rtxPT != 0 && dt.kind == webrtc.RTPCodecTypeVideo && dt.fw.cur.Load() != noLayer {
			dt.probe.begin(min(rate, probeMaxRate), d, time.Now())
			return true
		}
	}
	return false
}

// prober is a down-track's probe padding. It is written from the fan-out,
// just before a media packet of the down-track: the subscriber's feedback
// names the SSRC of the last packet it received, and pion (as the SFU's
// WebRTC stack) drops RTCP addressed to an RTX SSRC, since no reader is
// open for it. Padding sent between media packets would make most feedback
// during a probe name the RTX SSRC, and be lost; padding sent right before
// a media packet almost never does. It also never pads a stream that is
// not flowing.
type prober struct {
	on         atomic.Bool // checked per packet by the fan-out
	mu         sync.Mutex  // the layers' goroutines may meet at a switch
	start, end int64       // Unix ns
	rate       float64     // padding bit/s
	sent       int
	hdr        rtp.Header
	ext        [2]byte
}

func (pr *prober) begin(rate float64, d time.Duration, now time.Time) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.start, pr.end = now.UnixNano(), now.Add(d).UnixNano()
	pr.rate, pr.sent = rate, 0
	pr.on.Store(true)
}

// maxPadBurst bounds the padding written ahead of one media packet (a
// stream with long gaps between packets gets less padding, not a burst).
const maxPadBurst = 8

// padBefore writes the padding due by now on b's RTX SSRC, ahead of a media
// packet with timestamp ts. Called by forward only while a probe is on.
func (d *downTrack) padBefore(b *binding, ts uint32, now int64) {
	pr := &d.probe
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if now >= pr.end || d.cc == nil || d.cc.probeStop.Load() || b.rtxPT == 0 {
		pr.on.Store(false)
		return
	}
	h := &pr.hdr
	*h = rtp.Header{Version: 2, Padding: true, PaddingSize: padSize, SSRC: b.rtxSSRC, PayloadType: b.rtxPT, Timestamp: ts, Extensions: h.Extensions}
	size := h.MarshalSize() + twccExtBytes + padSize
	due := int(pr.rate*float64(now-pr.start)/1e9/float64(size*8)) + 1 - pr.sent
	for range min(due, maxPadBurst) {
		h.SequenceNumber = uint16(d.rtxSeq.Add(1))
		if b.twccID != 0 {
			setTWCC(h, b.twccID, d.cc.stamp(size, now/1e3), pr.ext[:])
		}
		if err := d.writeRTX(b, h, nil); err != nil {
			return
		}
		pr.sent++
	}
}

// lastTimestamp is the timestamp of the newest packet forwarded.
func (f *forwarder) lastTimestamp() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastTS
}
