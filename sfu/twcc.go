package sfu

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Transport-wide congestion control on a subscriber's sub connection: every
// RTP packet the SFU sends the subscriber (media, retransmissions, probe
// padding, on any of its tracks) carries the next number of one
// per-subscriber sequence in the transport-cc header extension
// (draft-holmer-rmcat-transport-wide-cc-extensions-01), and its send time
// and size go into a fixed ring. The subscriber's TransportLayerCC feedback
// says which numbers arrived when; the estimator (bwe.go) turns that into
// Peer.est.bps.

// histSize is the send history of one subscriber: at 1,000 packets/s (a
// lecture's ~350 packets/s with probe padding on top) it covers 2 s, room
// for the feedback of a long link with a deep queue (feedback comes every
// 50-100 ms, after the queue and the return trip), in 16 KiB. A packet
// whose feedback comes later is not judged at all.
const histSize = 2048

// Send-history entries pack the 16-bit transport sequence number (a tag,
// so a stale slot is recognised), the size (12 bits) and the send time
// (36 bits of Unix µs, modulo 19 h: differences are taken modulo that) into one word, written and read with one atomic operation.
const (
	histSizeBits = 12
	histTimeBits = 36
	histTimeMask = 1<<histTimeBits - 1
)

// twccActive: REMB is ignored while TWCC feedback came within this long.
const twccActive = 2 * time.Second

// congestion is a subscriber's transport-wide sequence, send history,
// estimator and probe state. The sequence and history are lock-free (the
// fan-out goroutines of every track the subscriber receives write them);
// feedback handling is serialised by mu, off the media path.
type congestion struct {
	seq atomic.Uint32
	// hist is the send history, made at the first stamp: on its own it
	// is one 16 KiB allocation, inside the Peer it would take the Peer
	// to a larger size class.
	hist atomic.Pointer[[histSize]atomic.Uint64]

	// lastFeedback: when TWCC feedback last arrived (Unix ns); REMB is
	// only used while there is none.
	lastFeedback atomic.Int64
	// probeStop ends a running probe early (congestion seen).
	probeStop atomic.Bool
	// limited: the estimator has an estimate in use (bwe.limited).
	limited atomic.Bool
	// queueDelay is the latest queuing delay seen, µs.
	queueDelay atomic.Int64

	// est receives the estimate; want says what the allocator would
	// send; probe starts sending padding at rate bit/s for d on top of the
	// media and reports false if it cannot (no RTX). All set by init.
	est   *estimate
	want  func() uint64
	probe func(rate float64, d time.Duration) bool

	mu  sync.Mutex
	bwe bwe
	// Retransmissions share the estimate (rtxShare of it) once it is in
	// use: a token bucket of bytes.
	rtxTokens float64
	rtxLast   time.Time
	recent    [4]uint32 // last feedback ids, to skip a duplicate
	nrec      int
	rs        []pktResult // reused per feedback
}

func (c *congestion) init(est *estimate, want func() uint64, probe func(rate float64, d time.Duration) bool) {
	c.est, c.want, c.probe = est, want, probe
}

// micros is the clock of the send history and the estimator: Unix µs.
func micros(t time.Time) int64 { return t.UnixNano() / 1e3 }

// twccExtBytes is what the transport-cc extension adds to a packet: the
// 4-byte extension header and a one-byte-header element (1 + 2) padded to 4.
const twccExtBytes = 8

// stamp takes the next transport-wide sequence number for a packet of
// size bytes sent at now (Unix µs) and records it. It allocates
// nothing.
func (c *congestion) stamp(size int, now int64) uint16 {
	s := uint16(c.seq.Add(1) - 1)
	c.history()[s%histSize].Store(uint64(s) | uint64(min(size, 1<<histSizeBits-1))<<16 | uint64(now&histTimeMask)<<(16+histSizeBits))
	return s
}

// history is the send history, made by the first caller.
func (c *congestion) history() *[histSize]atomic.Uint64 {
	if h := c.hist.Load(); h != nil {
		return h
	}
	c.hist.CompareAndSwap(nil, new([histSize]atomic.Uint64))
	return c.hist.Load()
}

// sent looks up a stamped packet: its send time (µs, resolved near now)
// and size.
func (c *congestion) sent(s uint16, now int64) (at int64, size int, ok bool) {
	h := c.hist.Load()
	if h == nil {
		return 0, 0, false
	}
	v := h[s%histSize].Load()
	if v == 0 || uint16(v) != s {
		return 0, 0, false
	}
	size = int(v >> 16 & (1<<histSizeBits - 1))
	t := int64(v >> (16 + histSizeBits))
	at = now - (now-t)&histTimeMask
	return at, size, true
}

// setTWCC writes the transport-cc extension (id, seq) into hdr, replacing
// any extension it had, using buf (2 bytes, owned by the caller's
// goroutine) for its payload: nothing is allocated once hdr.Extensions has
// room for one element.
func setTWCC(hdr *rtp.Header, id uint8, seq uint16, buf []byte) {
	binary.BigEndian.PutUint16(buf, seq)
	hdr.Extension = false
	hdr.ExtensionProfile = 0
	hdr.Extensions = hdr.Extensions[:0]
	_ = hdr.SetExtension(id, buf[:2]) // cannot fail: id 1-14, 2 bytes
}

func clearExtensions(hdr *rtp.Header) {
	hdr.Extension = false
	hdr.ExtensionProfile = 0
	hdr.Extensions = hdr.Extensions[:0]
}

// isTWCC reports whether a compound RTCP packet holds transport-wide CC
// feedback (RTPFB, PT 205, FMT 15), so that only those are unmarshalled
// again here.
func isTWCC(buf []byte) bool {
	for len(buf) >= 4 {
		if rtcp.PacketType(buf[1]) == rtcp.TypeTransportSpecificFeedback && buf[0]&0x1f == rtcp.FormatTCC {
			return true
		}
		n := (int(binary.BigEndian.Uint16(buf[2:])) + 1) * 4
		if n > len(buf) {
			return false
		}
		buf = buf[n:]
	}
	return false
}

// onlyTWCC reports whether buf is a single transport-wide feedback packet,
// as pion's SRTCP reader hands them over (it splits compound packets).
func onlyTWCC(buf []byte) bool {
	return len(buf) >= 4 && rtcp.PacketType(buf[1]) == rtcp.TypeTransportSpecificFeedback &&
		buf[0]&0x1f == rtcp.FormatTCC && (int(binary.BigEndian.Uint16(buf[2:]))+1)*4 >= len(buf)
}

// onRTCP handles the TWCC feedback in an RTCP packet from the subscriber.
// It is called for every down-track the feedback names (rtcpTaps: its
// media or RTX SSRC), from the subscriber connection's SRTCP reader, and
// the probe and retransmission paths read the estimator too, so it takes
// c.mu. Nothing is allocated per feedback.
func (c *congestion) onRTCP(buf []byte, now time.Time) { c.feedback(buf, now) }

// feedback is onRTCP, returning how many feedback packets in buf could not
// be read.
func (c *congestion) feedback(buf []byte, now time.Time) (malformed int) {
	if !isTWCC(buf) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(buf) >= 4 {
		n := (int(binary.BigEndian.Uint16(buf[2:])) + 1) * 4
		if n > len(buf) {
			break
		}
		pkt := buf[:n]
		buf = buf[n:]
		if rtcp.PacketType(pkt[1]) != rtcp.TypeTransportSpecificFeedback || pkt[0]&0x1f != rtcp.FormatTCC {
			continue
		}
		fb, err := parseTWCC(pkt)
		if err != nil {
			malformed++
			continue
		}
		c.handle(&fb, now)
	}
	return malformed
}

// handle processes one feedback packet; c.mu is held. It allocates
// nothing once c.rs has grown to a feedback's size.
func (c *congestion) handle(fb *twccFeedback, now time.Time) {
	// A compound packet naming several SSRCs reaches several down-tracks;
	// the feedback counter and base sequence tell a copy.
	id := uint32(fb.fbCount)<<24 | uint32(fb.baseSeq)<<8 | uint32(fb.count&0xff)
	for i := range min(c.nrec, len(c.recent)) {
		if c.recent[i] == id {
			return
		}
	}
	c.recent[c.nrec%len(c.recent)] = id
	c.nrec++
	c.lastFeedback.Store(now.UnixNano())

	nowUs := micros(now)
	c.rs = c.rs[:0]
	it := fb.packets()
	for {
		seq, arr, recv, ok := it.next()
		if !ok {
			break
		}
		if at, size, ok := c.sent(seq, nowUs); ok {
			c.rs = append(c.rs, pktResult{send: at, arr: arr, size: int32(size), recv: recv})
		}
	}
	if len(c.rs) == 0 {
		return
	}
	var want float64
	if c.want != nil {
		want = float64(c.want())
	}
	wasProbing := c.bwe.probing
	probe := c.bwe.update(c.rs, nowUs, want)
	c.queueDelay.Store(c.bwe.queue)
	if wasProbing && !c.bwe.probing {
		c.probeStop.Store(true) // judged (early, if the queue grew)
	}
	if probe {
		target := c.bwe.probeRate(want)
		pad := target - c.bwe.sendRate()
		if pad > 0 && c.probe != nil {
			c.probeStop.Store(false)
			if c.probe(pad, probeDuration*time.Microsecond) {
				c.bwe.startProbe(nowUs, nowUs+probeDuration, target)
			} else {
				c.bwe.skipProbe(nowUs, want)
			}
		}
	}
	if c.est != nil && c.bwe.limited {
		c.limited.Store(true)
		c.est.bps.Store(uint64(c.bwe.est))
	}
}

// rtxShare is the part of a limited estimate retransmissions may use:
// repair matters, but on a saturated link every resent packet pushes out a
// new one, and NACKs for packets lost to that make a spiral.
const rtxShare = 0.25

// allowResend reports whether n more bytes of retransmission fit the
// subscriber's estimate (always, while none is in use).
func (c *congestion) allowResend(n int, now time.Time) bool {
	if !c.limited.Load() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rate := c.bwe.est / 8 * rtxShare
	burst := rate / 2
	if c.rtxLast.IsZero() {
		c.rtxTokens = burst
	} else if d := now.Sub(c.rtxLast).Seconds(); d > 0 {
		c.rtxTokens = min(burst, c.rtxTokens+d*rate)
	}
	c.rtxLast = now
	if c.rtxTokens < float64(n) {
		return false
	}
	c.rtxTokens -= float64(n)
	return true
}

// resendGap is how long a packet is not resent again after a
// retransmission: the subscriber NACKs a missing packet every ~100 ms
// until it arrives, and over a queue of hundreds of ms each NACK would
// otherwise send another copy. It is the base (minRepeat) plus the
// queuing delay the estimator sees.
func (c *congestion) resendGap() time.Duration {
	const minRepeat = 150 * time.Millisecond
	return minRepeat + time.Duration(c.queueDelay.Load())*time.Microsecond
}

// active reports whether TWCC feedback is coming in and gives an estimate
// (then REMB is ignored).
func (c *congestion) active(now time.Time) bool {
	t := c.lastFeedback.Load()
	return c.limited.Load() && t != 0 && now.UnixNano()-t < int64(twccActive)
}
