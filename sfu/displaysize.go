package sfu

import (
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// Display size tuning.
const (
	// maxDisplayDim bounds a displayed width or height: nothing larger
	// exists (8K is 7680), and a bigger number is as good as "no cap".
	maxDisplayDim = 1 << 14
	// displaySlack: a layer covers the displayed size when upscaling it
	// by at most this factor fills the element. Browser simulcast layers
	// are a factor of 2 apart, so a layer slightly smaller than the
	// element (640 px shown at 700) looks the same, and the next one up
	// would cost about three times the bitrate.
	displaySlackNum, displaySlackDen = 5, 4
)

// displaySize is the size a subscriber shows a track at, width<<32 |
// height in device pixels (0: unknown). Written by SetDisplaySize, read by
// the allocation goroutine.
type displaySize struct{ v atomic.Uint64 }

func (d *displaySize) set(w, h int) {
	w, h = clampDim(w), clampDim(h)
	d.v.Store(uint64(w)<<32 | uint64(h))
}

func (d *displaySize) get() (w, h int) {
	v := d.v.Load()
	return int(v >> 32), int(v & 0xffffffff)
}

func clampDim(v int) int {
	return min(max(v, 0), maxDisplayDim)
}

// SetDisplaySize tells the SFU how large p shows the track trackID of the
// stream streamID (the ids p's client sees), in CSS pixels times the
// device pixel ratio; 0×0 means unknown (no cap). A layer larger than
// needed is not sent when a smaller one is enough. Negative sizes count as
// unknown and huge ones as "as large as possible"; ids p does not receive
// are ignored.
func (p *Peer) SetDisplaySize(streamID, trackID string, width, height int) {
	p.subT.mu.Lock()
	var found *downTrack
	for _, s := range p.downs {
		if s.down.streamID == streamID && s.down.id == trackID {
			found = s.down
			break
		}
	}
	p.subT.mu.Unlock()
	if found == nil || found.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	found.alloc.display.set(width, height)
	p.kickAlloc()
}

// displayCap returns the highest layer worth sending to a subscriber that
// shows the track at w×h: the smallest available layer that covers that
// size (with displaySlack), or the highest layer when the size or a
// layer's resolution is unknown or nothing covers it. res holds each
// layer's width<<16 | height (0: unknown).
//
// "Covers" follows how players fit video into an element (object-fit:
// contain): the picture is upscaled only if it is smaller than the element
// in both directions, so one dimension reaching the element is enough.
func displayCap(avail [maxLayers]bool, res [maxLayers]uint32, w, h int) int32 {
	if w <= 0 && h <= 0 {
		return maxLayers - 1
	}
	for i := range int32(maxLayers) {
		if !avail[i] {
			continue
		}
		r := res[i]
		if r == 0 {
			return maxLayers - 1 // cannot tell: no cap
		}
		lw, lh := int(r>>16), int(r&0xffff)
		if w > 0 && lw*displaySlackNum >= w*displaySlackDen || h > 0 && lh*displaySlackNum >= h*displaySlackDen {
			return i
		}
	}
	return maxLayers - 1
}
