package loadgen

import (
	"encoding/binary"
	"time"
)

// A stamp is the last stampLen bytes of every payload a publisher sends:
//
//	[0]    stampMagic
//	[1]    publisher index
//	[2]    stream: streamAudio, or 1 + simulcast layer index (1 = q, 2 = h, 3 = f)
//	[3]    flags (flagKeyStart: first packet of a keyframe)
//	[4:8]  sequence number of the stream (big endian), independent of RTP's,
//	       which the server rewrites
//	[8:16] send time, nanoseconds on the process clock (clock.now)
//
// It sits at the end so that it is found whatever VP8 descriptor or Opus
// TOC precedes it.
const (
	stampLen     = 16
	stampMagic   = 0xA5
	streamAudio  = 0
	flagKeyStart = 0x01
)

// stamp is a decoded stamp.
type stamp struct {
	pub    uint8
	stream uint8
	flags  uint8
	seq    uint32
	sent   int64
}

// putStamp writes s into the last stampLen bytes of p.
func putStamp(p []byte, s stamp) {
	b := p[len(p)-stampLen:]
	b[0] = stampMagic
	b[1] = s.pub
	b[2] = s.stream
	b[3] = s.flags
	binary.BigEndian.PutUint32(b[4:], s.seq)
	binary.BigEndian.PutUint64(b[8:], uint64(s.sent))
}

// readStamp decodes the stamp at the end of payload; ok is false if there
// is none (a packet not sent by this tool, or padding the server kept).
func readStamp(payload []byte) (s stamp, ok bool) {
	if len(payload) < stampLen {
		return s, false
	}
	b := payload[len(payload)-stampLen:]
	if b[0] != stampMagic {
		return s, false
	}
	return stamp{pub: b[1], stream: b[2], flags: b[3],
		seq: binary.BigEndian.Uint32(b[4:]), sent: int64(binary.BigEndian.Uint64(b[8:]))}, true
}

// clock is the one monotonic clock of the process: every send time and
// every receive time is nanoseconds since the same start, so delays need
// no clock synchronisation.
type clock struct{ start time.Time }

func newClock() clock { return clock{start: time.Now()} }

// now is nanoseconds since the clock's start, from the monotonic reading.
func (c clock) now() int64 { return int64(time.Since(c.start)) }

// rtpPayload returns the payload of the raw RTP packet pkt (header, CSRCs,
// extension and padding removed) without allocating; ok is false for a
// malformed packet.
func rtpPayload(pkt []byte) (payload []byte, ok bool) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil, false
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // extension: 4-byte header, then length in words
		if len(pkt) < n+4 {
			return nil, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 { // padding: the last byte counts it
		end -= int(pkt[end-1])
	}
	if n > end {
		return nil, false
	}
	return pkt[n:end], true
}
