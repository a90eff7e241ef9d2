package sfu

import (
	"encoding/binary"
	"errors"
)

// twccFeedback is one transport-wide congestion control feedback packet
// (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01),
// read in place: every subscriber sends one every 50-100 ms, and pion's
// rtcp.TransportLayerCC allocates a chunk per status chunk and one per
// received packet to hold it.
type twccFeedback struct {
	baseSeq uint16
	count   uint16 // packet status count
	refTime uint32 // 24 bits, 64 ms units
	fbCount uint8
	chunks  []byte // the packet status chunks, 2 bytes each
	deltas  []byte // the receive deltas that follow them
}

var errTWCCShort = errors.New("sfu: transport-wide feedback truncated")

// parseTWCC reads the fixed part of a feedback packet and finds where its
// chunks end and its deltas begin. pkt is one RTCP packet, header
// included; nothing is copied.
func parseTWCC(pkt []byte) (twccFeedback, error) {
	const fixed = 20 // RTCP header 4, sender and media SSRC 8, base 2, count 2, ref 3, fb count 1
	var f twccFeedback
	if len(pkt) < fixed {
		return f, errTWCCShort
	}
	if n := (int(binary.BigEndian.Uint16(pkt[2:])) + 1) * 4; n <= len(pkt) {
		pkt = pkt[:n] // what follows is another packet's
	}
	if len(pkt) < fixed {
		return f, errTWCCShort // the packet's own length says it is too short
	}
	f.baseSeq = binary.BigEndian.Uint16(pkt[12:])
	f.count = binary.BigEndian.Uint16(pkt[14:])
	f.refTime = uint32(pkt[16])<<16 | uint32(pkt[17])<<8 | uint32(pkt[18])
	f.fbCount = pkt[19]
	body := pkt[fixed:]
	covered, i := 0, 0
	for covered < int(f.count) {
		if i+2 > len(body) {
			return f, errTWCCShort
		}
		covered += chunkLen(binary.BigEndian.Uint16(body[i:]))
		i += 2
	}
	f.chunks, f.deltas = body[:i], body[i:]
	return f, nil
}

// chunkLen is how many packets a status chunk covers.
func chunkLen(ch uint16) int {
	switch {
	case ch&0x8000 == 0: // run length: symbol in bits 1-2, length in 3-15
		return int(ch & 0x1fff)
	case ch&0x4000 == 0: // status vector of 14 one-bit symbols
		return 14
	default: // status vector of 7 two-bit symbols
		return 7
	}
}

// TWCC packet status symbols.
const (
	twccNotReceived = 0
	twccSmallDelta  = 1 // received, 1-byte delta
	twccLargeDelta  = 2 // received, 2-byte signed delta
)

// twccIter walks the packets a feedback reports, in sequence order.
type twccIter struct {
	f      *twccFeedback
	seq    uint16
	left   int // packets still to report
	chunk  int // byte offset of the current chunk in f.chunks
	inRun  int // packets of the current chunk already reported
	delta  int // byte offset of the next delta in f.deltas
	arrive int64
}

func (f *twccFeedback) packets() twccIter {
	return twccIter{f: f, seq: f.baseSeq, left: int(f.count), arrive: int64(f.refTime) * 64_000}
}

// next returns the next packet's transport sequence number and, if it
// was received, its arrival time (µs on the subscriber's clock); ok is
// false at the end. A received packet whose delta is missing from a
// truncated packet counts as not received.
func (it *twccIter) next() (seq uint16, arrive int64, received, ok bool) {
	for it.left > 0 && it.chunk+2 <= len(it.f.chunks) {
		ch := binary.BigEndian.Uint16(it.f.chunks[it.chunk:])
		n := chunkLen(ch)
		if it.inRun >= n {
			it.chunk += 2
			it.inRun = 0
			continue
		}
		var sym uint16
		switch {
		case ch&0x8000 == 0:
			sym = ch >> 13 & 0x3
		case ch&0x4000 == 0:
			sym = ch >> (13 - it.inRun) & 0x1
		default:
			sym = ch >> (12 - 2*it.inRun) & 0x3
		}
		it.inRun++
		seq = it.seq
		it.seq++
		it.left--
		switch sym {
		case twccSmallDelta:
			if it.delta+1 <= len(it.f.deltas) {
				it.arrive += int64(it.f.deltas[it.delta]) * 250
				it.delta++
				return seq, it.arrive, true, true
			}
		case twccLargeDelta:
			if it.delta+2 <= len(it.f.deltas) {
				it.arrive += int64(int16(binary.BigEndian.Uint16(it.f.deltas[it.delta:]))) * 250
				it.delta += 2
				return seq, it.arrive, true, true
			}
		}
		return seq, 0, false, true
	}
	return 0, 0, false, false
}
