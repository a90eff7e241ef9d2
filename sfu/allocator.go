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
	// Pausing video is the most visible thing the allocator does, and a
	// congested link's estimate dips below the lowest layer for a moment
	// as its queue drains: video pauses only after the lowest layer has
	// not fitted for pauseHold (sent meanwhile), and resumes once it has
	// fitted (with the margin) for resumeHold, sooner than a climb.
	pauseHold  = time.Second
	resumeHold = time.Second
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
	// link is the round-trip time and loss from the subscriber's receiver
	// reports (stats.go), for metrics.
	link linkStats
}

// allocState is a video down-track's allocation state. The hysteresis
// fields are owned by the peer's allocation goroutine; display is written
// by SetDisplaySize.
type allocState struct {
	upSince   int64 // when the estimate first allowed the next layer up; 0 = not
	downSince int64 // when the lowest layer first stopped fitting; 0 = it fits
	paused    bool  // video stopped because no layer fitted the estimate
	display   displaySize
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

// Allocation classes: the order in which a subscriber's budget is spent
// when it is short. Within a class, tracks go in a stable order (stream id,
// then track id).
const (
	classSpeakerAudio    = iota // the room's current speaker
	classAudio                  // every other microphone
	classScreen                 // slides
	classPresenterCamera        // the lecturer's camera
	classCamera                 // other cameras
)

// allocClass places d in the allocation order; speaker is the room's
// current speaker (nil: none).
func allocClass(d *downTrack, speaker *Peer) int {
	t := d.src
	if d.kind != webrtc.RTPCodecTypeVideo {
		if speaker != nil && t.pub == speaker {
			return classSpeakerAudio
		}
		return classAudio
	}
	switch {
	case Source(t.source.Load()) == SourceScreen:
		return classScreen
	case t.pub != nil && t.pub.presenter:
		return classPresenterCamera
	}
	return classCamera
}

// allocItem is one down-track as the allocator sees it in one round.
type allocItem struct {
	d     *downTrack
	class int
	avail [maxLayers]bool   // layers present, sending and not above the display cap
	rates [maxLayers]uint64 // their measured bitrates
	best  int32             // layer it would get were bandwidth no object
	// reserved is the rate of its lowest layer, set aside for it in the
	// first pass.
	reserved uint64
}

// sortAlloc puts items in allocation order.
func sortAlloc(items []allocItem) {
	slices.SortFunc(items, func(a, b allocItem) int {
		if a.class != b.class {
			return a.class - b.class
		}
		if c := strings.Compare(a.d.streamID, b.d.streamID); c != 0 {
			return c
		}
		return strings.Compare(a.d.id, b.d.id)
	})
}

// allocate shares p's budget out among the tracks it receives, in
// allocation order (allocClass): audio first, at its measured rate and
// never paused; then each video track's lowest layer, in order, as far as
// the budget goes; then, in the same order, each video track climbs to the
// best layer that fits what it reserved and what is left, within the
// limits of p's preference and of the size p displays it at. It also
// publishes what p would want with no limit (est.want) and p's link
// quality.
func (p *Peer) allocate(now int64) {
	p.subT.mu.Lock()
	items := make([]allocItem, 0, len(p.downs))
	for _, s := range p.downs {
		items = append(items, allocItem{d: s.down})
	}
	p.subT.mu.Unlock()

	var speaker *Peer
	if p.room != nil {
		speaker = p.room.speaker.Load()
	}
	pref := Preference(p.pref.Load())
	var want uint64
	for i := range items {
		it := &items[i]
		it.class = allocClass(it.d, speaker)
		if it.d.kind != webrtc.RTPCodecTypeVideo {
			if l := it.d.src.layer(0); l != nil {
				it.rates[0] = l.rate.bps(now)
			}
			want += it.rates[0]
			continue
		}
		var res [maxLayers]uint32
		for j := range int32(maxLayers) {
			if l := it.d.src.layer(j); l != nil && now-l.lastAt.Load() < int64(layerStale) {
				it.avail[j] = true
				it.rates[j] = l.rate.bps(now)
				res[j] = l.res.Load()
			}
		}
		w, h := it.d.alloc.display.get()
		for j := displayCap(it.avail, res, w, h) + 1; j < maxLayers; j++ {
			it.avail[j] = false
		}
		it.best = bestLayer(pref, it.avail)
		if it.best != noLayer {
			// With the margin: the estimate must clear it before the
			// allocator climbs to that layer.
			want += uint64(float64(it.rates[it.best]) * upMargin)
		}
	}
	p.est.want.Store(want)
	sortAlloc(items)

	// Pass 1, in order: audio at its measured rate (never paused, see
	// docs/sfu.md), then each video track's lowest layer if it fits, so a
	// track ranked higher cannot leave one ranked lower with nothing just
	// to climb a layer.
	left, limited := p.budget(want, now)
	for i := range items {
		it := &items[i]
		rate := it.rates[0]
		if it.d.kind == webrtc.RTPCodecTypeVideo {
			low := bestLayer(PreferLow, it.avail)
			if pref == PreferAudioOnly || low == noLayer {
				continue
			}
			rate = it.rates[low]
			if limited && rate > left {
				continue
			}
			it.reserved = rate
		}
		left -= min(left, rate)
	}
	// Pass 2, in order: each video track gets the best layer that fits
	// what it reserved and what is still left.
	q := newQualityTally(pref)
	for i := range items {
		it := &items[i]
		if it.d.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		budget := left + it.reserved
		cur := it.d.fw.target.Load()
		next := chooseLayer(pref, cur, it.avail, it.rates, limited, budget, &it.d.alloc, now)
		it.d.setLayer(next)
		if next != cur && p.sfu != nil {
			p.sfu.st.layerSwitches.Add(1)
		}
		if next != noLayer {
			budget -= min(budget, it.rates[next])
		}
		left = budget
		q.add(it.best, next)
	}
	p.noteQuality(q.result(), now)
}

// bestLayer is the layer a video track would get with unlimited bandwidth.
func bestLayer(pref Preference, avail [maxLayers]bool) int32 {
	switch pref {
	case PreferAudioOnly:
		return noLayer
	case PreferLow:
		for i := range int32(maxLayers) {
			if avail[i] {
				return i
			}
		}
		return noLayer
	}
	for i := int32(maxLayers - 1); i >= 0; i-- {
		if avail[i] {
			return i
		}
	}
	return noLayer
}

// budget is what p may receive now: its own bandwidth estimate, lowered to
// its share of its site's budget. limited is false when neither applies.
func (p *Peer) budget(want uint64, now int64) (bps uint64, limited bool) {
	est := p.est.bps.Load()
	bps, limited = est, est > 0
	if p.site == nil {
		return bps, limited
	}
	demand := want
	if limited {
		demand = min(want, est)
	}
	share, ok := p.site.share(p, demand, now)
	if !ok {
		return bps, limited
	}
	if !limited || share < bps {
		bps = share
	}
	return bps, true
}

// chooseLayer is the layer policy of one video down-track: cur is its
// current target, avail the layers it may have (present, sending, within
// its display cap), budget what the allocation order left it.
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
		// Only the lowest layer, and only while it fits: video pauses
		// before audio suffers, whatever the preference.
		avail = [maxLayers]bool{}
		avail[lowest], highest = true, lowest
	}
	if !limited {
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
	if fit != noLayer || cur == noLayer {
		st.downSince = 0
	} else {
		if st.downSince == 0 {
			st.downSince = now
		}
		if now-st.downSince < int64(pauseHold) {
			st.upSince = 0
			return lowest
		}
	}
	if cur != noLayer && fit < cur || cur == noLayer && !st.paused {
		// Down at once (noLayer pauses video), or a start: no reason to
		// make a new subscriber wait.
		st.upSince, st.paused, st.downSince = 0, fit == noLayer, 0
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
	hold := upHold
	if cur == noLayer {
		hold = resumeHold
	}
	if now-st.upSince < int64(hold) {
		return cur
	}
	st.upSince, st.paused = 0, false
	return up
}
