package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// noLayer is the forwarder's "nothing": no layer forwarded (not started, or
// paused) or none wanted (audio-only, or no layer fits the estimate).
const noLayer = -1

// segHistory is how many layer switches a down-track remembers for mapping
// NACKed sequence numbers back to a layer. The packet caches hold ~3 s; a
// subscriber switches at most every few seconds, so a handful suffices.
const segHistory = 8

// forwarder is a video down-track's layer selection and rewriting state.
//
// The layers of a track arrive on one reader goroutine each, so the state
// that decides what a subscriber sees is behind a mutex of this down-track
// alone: it is only taken for packets of the layer the subscriber receives
// or is switching to (cur and target are mirrored in atomics so the other
// layers' packets are skipped without it), it is never shared between
// subscribers and it is only contended for the instant of a switch.
type forwarder struct {
	cur    atomic.Int32 // layer being forwarded, or noLayer; written under mu
	target atomic.Int32 // layer wanted, or noLayer; written under mu

	mu      sync.Mutex
	clock   uint32 // RTP clock rate of the codec
	started bool   // something was sent: last* are valid
	inStart uint16 // first input sequence number of the current segment
	seqOff  uint16 // output seq = input seq + seqOff
	tsOff   uint32 // output timestamp = input timestamp + tsOff
	lastSeq uint16 // highest output sequence number sent
	lastTS  uint32 // its timestamp
	lastAt  int64  // when it was sent (Unix ns)
	segs    [segHistory]segment
	nsegs   int // segments ever started; segs is a ring indexed by nsegs
}

// segment is a run of output sequence numbers taken from one layer with one
// set of offsets, kept to answer NACKs.
type segment struct {
	outStart uint16
	seqOff   uint16
	tsOff    uint32
	layer    int32
}

func (f *forwarder) init(clock uint32) {
	if clock == 0 {
		clock = 90000
	}
	f.clock = clock
	f.cur.Store(noLayer)
	f.target.Store(noLayer)
}

// rewrite decides whether the packet (seq, ts) of layer l goes to this
// subscriber and with which sequence number and timestamp. A switch to the
// target layer (or a resume) happens at its first keyframe packet:
// the output sequence number continues at last+1 and the timestamp advances
// by the wall-clock time since the last packet sent, so the subscriber sees
// one continuous stream.
func (f *forwarder) rewrite(l int32, seq uint16, ts uint32, key bool, now int64) (uint16, uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l != f.cur.Load() {
		// The very first packet may be any: the subscriber has asked for
		// a keyframe (at Bind) and its decoder waits for it, as it would
		// without an SFU. A switch or a resume must start on a keyframe.
		if l != f.target.Load() || !key && f.started {
			return 0, 0, false
		}
		if f.started {
			f.seqOff = f.lastSeq + 1 - seq
			gap := uint32(1)
			if el := now - f.lastAt; el > 0 {
				gap = max(1, uint32(uint64(el)*uint64(f.clock)/1e9))
			}
			f.tsOff = f.lastTS + gap - ts
		}
		f.inStart = seq
		f.cur.Store(l)
		f.segs[f.nsegs%segHistory] = segment{outStart: seq + f.seqOff, seqOff: f.seqOff, tsOff: f.tsOff, layer: l}
		f.nsegs++
	} else if d := seq - f.inStart; int16(d) < 0 {
		// Sent before the switch point: its output number is taken.
		return 0, 0, false
	} else if d > 0x4000 {
		// Keep the switch point within int16 reach across the wrap.
		f.inStart = seq - 0x4000
	}
	out, outTS := seq+f.seqOff, ts+f.tsOff
	if !f.started || int16(out-f.lastSeq) > 0 {
		f.lastSeq, f.lastTS, f.lastAt = out, outTS, now
	}
	f.started = true
	return out, outTS, true
}

// setTarget changes the wanted layer and reports whether a keyframe is
// needed on it. Pausing takes effect at once; any other change waits for
// the new layer's keyframe in rewrite.
func (f *forwarder) setTarget(l int32) (needKeyframe bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.target.Load() == l {
		return false
	}
	f.target.Store(l)
	if l == noLayer {
		f.cur.Store(noLayer)
		return false
	}
	return l != f.cur.Load()
}

// lookup maps an output sequence number back to the layer and input
// sequence number it was sent from, and the timestamp offset it was sent
// with.
func (f *forwarder) lookup(out uint16) (l int32, in uint16, tsOff uint32, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started || int16(out-f.lastSeq) > 0 {
		return 0, 0, 0, false
	}
	for i := 1; i <= segHistory && i <= f.nsegs; i++ {
		s := &f.segs[(f.nsegs-i)%segHistory]
		if int16(out-s.outStart) >= 0 {
			return s.layer, out - s.seqOff, s.tsOff, true
		}
	}
	return 0, 0, 0, false
}

// source returns where to find the packet a subscriber NACKed as seq.
func (d *downTrack) source(seq uint16) (l *layer, in uint16, tsOff uint32, ok bool) {
	if d.kind != webrtc.RTPCodecTypeVideo {
		l = d.src.layer(0)
		return l, seq, 0, l != nil
	}
	idx, in, tsOff, ok := d.fw.lookup(seq)
	if !ok {
		return nil, 0, 0, false
	}
	l = d.src.layer(idx)
	return l, in, tsOff, l != nil
}

// requestKeyframe asks the publisher for a keyframe on the layer this
// subscriber is receiving or switching to.
func (d *downTrack) requestKeyframe() {
	t := d.fw.target.Load()
	if t == noLayer {
		t = d.fw.cur.Load()
	}
	if l := d.src.layer(t); l != nil {
		l.requestKeyframe()
	}
}

// setLayer points d at layer l (noLayer pauses its video) and asks the
// publisher for the keyframe the switch waits for.
func (d *downTrack) setLayer(l int32) {
	if d.fw.setTarget(l) {
		if pl := d.src.layer(l); pl != nil {
			pl.requestKeyframe()
		}
	}
}

// forward writes one packet of layer l to every bound down-track that
// receives l, rewriting hdr in place for each (SSRC and payload type; for
// video also sequence number and timestamp) and restoring the original
// sequence number and timestamp afterwards. It is the innermost loop of the
// SFU: no shared lock, no map, no allocation, no logging. Write errors are
// ignored: a subscriber whose transport is gone is removed by its own close
// path, and a lost packet is what NACK is for. It returns the number of
// packets written.
//
// With parts > 1 only the down-tracks of the given part of the fan-out are
// written (fanout.go); ext is scratch for the transport-cc extension,
// owned by the calling goroutine.
func forward(downs []*downTrack, l *layer, hdr *rtp.Header, payload []byte, key bool, now int64, part, parts int, ext *[2]byte) int {
	seq, ts := hdr.SequenceNumber, hdr.Timestamp
	idx := int32(l.idx)
	n := 0
	// Send times for the transport-wide history: the packet's arrival,
	// taken once (a clock read per subscriber would cost more than the
	// rest of the loop); each subscriber's position in the fan-out is
	// stable, so its offset cancels out of the delay trend.
	ccNow := now / 1e3
	// Bytes each stamped copy puts on the wire (before SRTP): the header
	// has no extension but the one stamped.
	ccSize := 12 + 4*len(hdr.CSRC) + twccExtBytes + len(payload)
	for _, d := range downs {
		if parts > 1 && d.part != part {
			continue
		}
		b := d.bound.Load()
		if b == nil {
			continue
		}
		if d.kind == webrtc.RTPCodecTypeVideo {
			if d.fw.cur.Load() != idx && d.fw.target.Load() != idx {
				continue
			}
			var ok bool
			hdr.SequenceNumber, hdr.Timestamp, ok = d.fw.rewrite(idx, seq, ts, key, now)
			if !ok {
				continue
			}
		} else if idx != 0 {
			continue
		}
		hdr.SSRC = b.ssrc
		hdr.PayloadType = b.pt
		if d.probe.on.Load() {
			d.padBefore(b, hdr.Timestamp, now)
		}
		if b.twccID != 0 && d.cc != nil {
			setTWCC(hdr, b.twccID, d.cc.stamp(ccSize, ccNow), ext[:])
		}
		if _, err := b.w.WriteRTP(hdr, payload); err == nil {
			n++
		}
		if hdr.Extension {
			clearExtensions(hdr)
		}
	}
	hdr.SequenceNumber, hdr.Timestamp = seq, ts
	return n
}
