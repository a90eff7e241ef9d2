package sfu

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Preference is what video a subscriber wants.
type Preference int32

const (
	// PreferAuto gives the best layer the subscriber's bandwidth estimate
	// allows (the highest available while there is no estimate yet).
	PreferAuto Preference = iota
	// PreferLow gives the lowest layer the publisher sends.
	PreferLow
	// PreferAudioOnly sends no video RTP at all.
	PreferAudioOnly
)

// ParsePreference reads the names the signaling protocol uses.
func ParsePreference(s string) (Preference, error) {
	switch strings.ToLower(s) {
	case "auto":
		return PreferAuto, nil
	case "low":
		return PreferLow, nil
	case "audio-only":
		return PreferAudioOnly, nil
	}
	return 0, fmt.Errorf("sfu: unknown video preference %q", s)
}

// Allocation tuning. Going down is immediate (a congested link gets worse
// while we wait); going up needs the estimate to exceed the next layer's
// bitrate by upMargin for upHold, so a noisy estimate does not make the
// subscriber flip between layers, each flip costing a keyframe.
const (
	allocInterval = 250 * time.Millisecond
	upMargin      = 1.25
	upHold        = 3 * time.Second
	// layerStale: a layer that sent nothing for this long is treated as
	// gone (the publisher dropped it, e.g. on its own congestion).
	layerStale = time.Second
)

// estimate is a subscriber's available downlink bandwidth, and what the
// allocator would send it if bandwidth were no object.
type estimate struct {
	bps atomic.Uint64 // 0: none received
	// want is the bitrate of everything the allocator would like to send
	// this subscriber (best layers it may have, and audio), in bit/s; the
	// bandwidth estimator probes towards it when the estimate is lower.
	want atomic.Uint64
}

// allocState is a video down-track's hysteresis state; owned by the peer's
// allocation goroutine.
type allocState struct {
	upSince int64 // when the estimate first allowed the next layer up; 0 = not
	paused  bool  // video stopped because no layer fitted the estimate
}

// SetVideoPreference changes what video p receives; it takes effect at
// once (pausing at once, resuming at the next keyframe, which is asked for).
func (p *Peer) SetVideoPreference(pref Preference) {
	p.pref.Store(int32(pref))
	p.kickAlloc()
}

// kickAlloc makes the allocation goroutine run now rather than at its next
// tick.
func (p *Peer) kickAlloc() {
	select {
	case p.allocKick <- struct{}{}:
	default:
	}
}

// allocLoop re-chooses every video down-track's layer periodically and when
// kicked, until the peer closes.
func (p *Peer) allocLoop() {
	tick := time.NewTicker(allocInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		case <-p.allocKick:
		}
		p.allocate(time.Now().UnixNano())
	}
}

// allocate chooses a layer for each video down-track of p. The estimate is
// shared out in track order: each gets the best layer that fits what the
// previous ones left.
func (p *Peer) allocate(now int64) {
	p.subT.mu.Lock()
	downs := make([]*downTrack, 0, len(p.downs))
	for _, s := range p.downs {
		if s.down.kind == webrtc.RTPCodecTypeVideo {
			downs = append(downs, s.down)
		}
	}
	p.subT.mu.Unlock()
	slices.SortFunc(downs, func(a, b *downTrack) int { return strings.Compare(a.streamID+a.id, b.streamID+b.id) })

	pref := Preference(p.pref.Load())
	budget := p.est.bps.Load()
	limited := budget > 0
	for _, d := range downs {
		var rates [maxLayers]uint64
		var avail [maxLayers]bool
		for i := range maxLayers {
			if l := d.src.layer(int32(i)); l != nil && now-l.lastAt.Load() < int64(layerStale) {
				avail[i] = true
				rates[i] = l.rate.bps(now)
			}
		}
		next := chooseLayer(pref, d.fw.target.Load(), avail, rates, limited, budget, &d.alloc, now)
		d.setLayer(next)
		if next != noLayer && limited {
			budget -= min(budget, rates[next])
		}
	}
}

// chooseLayer is the layer policy of one video down-track.
func chooseLayer(pref Preference, cur int32, avail [maxLayers]bool, rates [maxLayers]uint64, limited bool, budget uint64, st *allocState, now int64) int32 {
	lowest, highest := int32(noLayer), int32(noLayer)
	for i := int32(maxLayers - 1); i >= 0; i-- {
		if avail[i] {
			lowest = i
			if highest == noLayer {
				highest = i
			}
		}
	}
	switch {
	case pref == PreferAudioOnly || lowest == noLayer:
		st.upSince, st.paused = 0, false
		return noLayer
	case pref == PreferLow:
		st.upSince, st.paused = 0, false
		return lowest
	case !limited:
		st.upSince, st.paused = 0, false
		return highest
	}
	if cur != noLayer && !avail[cur] {
		cur = noLayer // gone: choose afresh below, as from a pause
	}
	// The best layer that fits at all.
	fit := int32(noLayer)
	for i := int32(0); i < maxLayers; i++ {
		if avail[i] && rates[i] <= budget {
			fit = i
		}
	}
	if cur != noLayer && fit < cur || cur == noLayer && !st.paused {
		// Down at once (noLayer pauses video), or a start: no reason to
		// make a new subscriber wait.
		st.upSince, st.paused = 0, fit == noLayer
		return fit
	}
	// Up, one layer at a time, after the estimate has cleared the next
	// layer's bitrate by the margin for upHold.
	up := int32(noLayer)
	for i := cur + 1; i < maxLayers; i++ {
		if avail[i] {
			up = i
			break
		}
	}
	if up == noLayer || float64(budget) < float64(rates[up])*upMargin {
		st.upSince = 0
		return cur
	}
	if st.upSince == 0 {
		st.upSince = now
	}
	if now-st.upSince < int64(upHold) {
		return cur
	}
	st.upSince, st.paused = 0, false
	return up
}
