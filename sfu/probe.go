package sfu

import (
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
// and so reported in the feedback like media.

// padSize is the padding of one probe packet (the RTP maximum, as
// libwebrtc's padding packets).
const padSize = 255

// wantRate is what the subscriber would be sent if bandwidth were no
// object: the allocator's figure, or, until it gives one, the best layer of
// every video track p receives (within its preference) and its audio.
func (p *Peer) wantRate() uint64 {
	if w := p.est.want.Load(); w > 0 {
		return w
	}
	now := time.Now().UnixNano()
	pref := Preference(p.pref.Load())
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	var sum uint64
	for _, s := range p.downs {
		d := s.down
		if d.kind != webrtc.RTPCodecTypeVideo {
			if l := d.src.layer(0); l != nil {
				sum += l.rate.bps(now)
			}
			continue
		}
		if pref == PreferAudioOnly {
			continue
		}
		var best uint64
		for i := range int32(maxLayers) {
			l := d.src.layer(i)
			if l == nil || now-l.lastAt.Load() >= int64(layerStale) {
				continue
			}
			best = l.rate.bps(now)
			if pref == PreferLow {
				break
			}
		}
		sum += best
	}
	return sum
}

// startProbe sends padding at rate bit/s for d on one of p's video
// down-tracks that negotiated RTX. It reports false if there is none (the
// estimator then steps up without a probe). Called with p.cc.mu held.
func (p *Peer) startProbe(rate float64, d time.Duration) bool {
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	var dt *downTrack
	for _, s := range p.downs {
		if b := s.down.bound.Load(); b != nil && b.rtxPT != 0 && s.down.kind == webrtc.RTPCodecTypeVideo {
			dt = s.down
			break
		}
	}
	if dt == nil {
		return false
	}
	return p.goTracked(func() { dt.sendPadding(&p.cc, min(rate, probeMaxRate), d, p.stop) })
}

// sendPadding writes padding-only RTX packets paced at rate for d, or
// until the estimator stops the probe or the peer closes.
func (d *downTrack) sendPadding(cc *congestion, rate float64, dur time.Duration, stop <-chan struct{}) {
	b := d.bound.Load()
	if b == nil || b.rtxPT == 0 {
		return
	}
	hdr := rtp.Header{
		Version: 2, Padding: true, PaddingSize: padSize,
		SSRC: b.rtxSSRC, PayloadType: b.rtxPT, Timestamp: d.fw.lastTimestamp(),
	}
	var ext [2]byte
	size := hdr.MarshalSize() + twccExtBytes + padSize
	perPkt := float64(size * 8)
	const pace = 5 * time.Millisecond
	tick := time.NewTicker(pace)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for {
		el := time.Since(start)
		if el >= dur || cc.probeStop.Load() {
			return
		}
		for due := int(rate*(el+pace).Seconds()/perPkt) - sent; due > 0; due-- {
			hdr.SequenceNumber = uint16(d.rtxSeq.Add(1))
			if b.twccID != 0 {
				setTWCC(&hdr, b.twccID, cc.stamp(size, micros(time.Now())), ext[:])
			}
			if _, err := b.w.WriteRTP(&hdr, nil); err != nil {
				return
			}
			sent++
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

// lastTimestamp is the timestamp of the newest packet forwarded (probe
// padding carries it, as browsers' does).
func (f *forwarder) lastTimestamp() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastTS
}
