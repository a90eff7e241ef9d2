package sfu

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one published track as sent to one subscriber. It implements
// webrtc.TrackLocal itself, instead of using TrackLocalStaticRTP, so that the
// fan-out loop is ours: the packet's header is rewritten in place (SSRC and
// payload type of this subscriber) and written straight to the writer pion
// hands us in Bind, without a lock or a copy per subscriber.
type downTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability
	src          *pubTrack
	// part is the down-track's part of a split fan-out (fanout.go), set
	// before it is added to the track's list.
	part int
	log  *slog.Logger // the subscriber's; nil in benchmarks

	// bound is nil until pion binds the track to the subscriber's transport
	// (after the subscriber's answer) and again after Unbind. The forwarding
	// loop loads it once per packet.
	bound atomic.Pointer[binding]

	// Video only: which layer this subscriber gets and how it is rewritten,
	// and the allocator's hysteresis state.
	fw    forwarder
	alloc allocState
	// est is the subscriber's bandwidth estimate, updated from its REMB
	// when no transport-wide feedback comes; nil in benchmarks.
	est *estimate
	// cc is the subscriber's transport-wide sequence and estimator; nil in
	// benchmarks.
	cc *congestion
	// rtxSeq numbers the packets sent on the RTX SSRC (retransmissions
	// and probe padding, from two goroutines).
	rtxSeq atomic.Uint32
	// probe is the padding of a running bandwidth probe (probe.go).
	probe prober
	// taps delivers the subscriber's RTCP for this track's SSRC (to
	// onRTCP) and its RTX SSRC (to cc), raws has the SRTP writers RTX
	// packets are written to; nil in benchmarks.
	taps *rtcpTaps
	raws *rawWriters
	raw  atomic.Pointer[rawEntry] // this down-track's, once looked up
	// st counts what the subscriber's RTCP asks for (set with taps); rs
	// is the retransmission state, nil until the first NACK. Both are
	// used only by onRTCP.
	st *counters
	rs *resender
}

// binding is what Bind negotiated: immutable, replaced as a whole.
type binding struct {
	ssrc uint32
	pt   uint8
	w    webrtc.TrackLocalWriter
	// twccID is the transport-cc header extension's id (0: not
	// negotiated); rtxSSRC and rtxPT are set if RTX was.
	twccID  uint8
	rtxPT   uint8
	rtxSSRC uint32
	// senderID is pion's id of the sender, naming its stream together
	// with ssrc (rawWriters).
	senderID string
}

func newDownTrack(src *pubTrack) *downTrack {
	d := &downTrack{
		id:       src.id,
		streamID: src.streamID,
		kind:     src.kind,
		codec:    src.codec.RTPCodecCapability,
		src:      src,
	}
	d.fw.init(src.codec.ClockRate)
	return d
}

// Bind implements webrtc.TrackLocal.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(d.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	twccID, rtxSSRC, rtxPT := negotiated(ctx, codec)
	if d.taps != nil {
		// Before the first packet is written, so the subscriber's first
		// RTCP about it finds the down-track (RTCP naming an SSRC that is
		// not registered is dropped).
		d.taps.register(uint32(ctx.SSRC()), d)
		if rtxPT != 0 {
			d.taps.register(rtxSSRC, d.cc)
		}
	}
	d.bound.Store(&binding{
		ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType), w: ctx.WriteStream(),
		twccID: twccID, rtxSSRC: rtxSSRC, rtxPT: rtxPT, senderID: ctx.ID(),
	})
	// The subscriber can decode nothing until the next keyframe.
	if d.kind == webrtc.RTPCodecTypeVideo {
		d.requestKeyframe()
	}
	return codec, nil
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	if b := d.bound.Load(); b != nil && d.taps != nil {
		d.taps.unregister(b.ssrc, d)
		d.taps.unregister(b.rtxSSRC, d.cc)
	}
	d.bound.Store(nil)
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.id }

// StreamID implements webrtc.TrackLocal.
func (d *downTrack) StreamID() string { return d.streamID }

// RID implements webrtc.TrackLocal. A subscriber gets one encoding: the
// layer is chosen here, not by the subscriber.
func (d *downTrack) RID() string { return "" }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

// matchCodec picks the negotiated codec that carries the published one:
// same MIME type and format parameters if the subscriber offered them, else
// the same MIME type.
func matchCodec(want webrtc.RTPCodecCapability, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range have {
		if strings.EqualFold(c.MimeType, want.MimeType) && c.SDPFmtpLine == want.SDPFmtpLine {
			return c, true
		}
	}
	for _, c := range have {
		if strings.EqualFold(c.MimeType, want.MimeType) {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// maxResendAgeMs: video packets older than this (by RTP timestamp, against
// the newest sent) are not resent. A NACK for such a packet comes from a
// backlog of repairs on a congested link; browsers' jitter buffers have
// moved on by then.
const maxResendAgeMs = 1000

// onRTCP handles one RTCP packet the subscriber addressed to this track's
// SSRC: PLI/FIR become (throttled) keyframe requests to the publisher,
// NACKs are answered from the publisher's packet cache within the
// down-track's retransmission budget, receiver reports and REMB feed the
// link figures and the estimate. It runs on the subscriber connection's
// SRTCP reader, which hands each packet of a compound to the streams it
// names (rtcpTaps): there is no goroutine per down-track, and the packet
// is only valid during the call. Malformed RTCP is counted and skipped.
func (d *downTrack) onRTCP(buf []byte, now time.Time) {
	if d.cc != nil && d.cc.feedback(buf, now) > 0 {
		d.st.rtcpErrors.Add(1)
	}
	if onlyTWCC(buf) {
		return // the estimator's, read above without allocating
	}
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		d.st.rtcpErrors.Add(1)
		return
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.st.plisReceived.Add(1)
			d.requestKeyframe()
		case *rtcp.ReceiverReport:
			d.noteReports(p.Reports)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			// Transport-wide feedback, when it comes, is the better
			// estimate (browsers stop sending REMB once it is
			// negotiated).
			if d.est != nil && p.Bitrate > 0 && (d.cc == nil || !d.cc.active(now)) {
				d.est.bps.Store(uint64(p.Bitrate))
			}
		case *rtcp.TransportLayerNack:
			d.onNACK(p, now)
		}
	}
}

// onNACK resends what a NACK asks for. The retransmission state (~7 KiB)
// is made at the first NACK: most subscribers on a clean path never send
// one.
func (d *downTrack) onNACK(p *rtcp.TransportLayerNack, now time.Time) {
	rs := d.rs
	if rs == nil {
		rs = &resender{scratch: make([]byte, cacheSlotSize), budget: newNACKBudget(now)}
		d.rs = rs
	}
	rs.budget.refill(now)
	rs.now = now
	st := d.st
	// NackPair.Range would take a closure, which escapes: walk the pairs
	// by hand to stay allocation-free.
	for _, np := range p.Nacks {
		st.nacksReceived.Add(1)
		d.resend(np.PacketID, rs, st)
		for i := range uint16(16) {
			if np.LostPackets&(1<<i) != 0 {
				st.nacksReceived.Add(1)
				d.resend(np.PacketID+i+1, rs, st)
			}
		}
	}
}

// noteReports keeps the subscriber's report about this track's SSRC for
// the link metrics. A compound RTCP packet reaches every sender it reports
// on, so each down-track picks its own report out.
func (d *downTrack) noteReports(reports []rtcp.ReceptionReport) {
	b := d.bound.Load()
	if d.est == nil || b == nil {
		return
	}
	for i := range reports {
		if reports[i].SSRC == b.ssrc {
			d.est.link.note(&reports[i], time.Now())
			return
		}
	}
}

func (d *downTrack) logger() *slog.Logger {
	if d.log != nil {
		return d.log
	}
	return slog.New(slog.DiscardHandler)
}

// resender is the state of a down-track's retransmissions, owned by the
// subscriber connection's SRTCP reader (onRTCP).
type resender struct {
	scratch []byte
	hdr     rtp.Header
	ext     [2]byte // transport-cc extension payload
	budget  nackBudget
	now     time.Time
	// When each output sequence number was last resent (by seq %
	// len), so repeated NACKs for a packet already on its way are not
	// answered again.
	sentSeq [videoCacheSize]uint16
	sentAt  [videoCacheSize]int64
}

// resend writes the cached packet seq to this subscriber again, if the
// retransmission budgets allow and it was not just resent: on the RTX SSRC
// if negotiated, else on the media SSRC.
func (d *downTrack) resend(seq uint16, rs *resender, st *counters) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	scratch, hdr := rs.scratch, &rs.hdr
	slot := int(seq) % len(rs.sentSeq)
	now := rs.now.UnixNano()
	if d.cc != nil && rs.sentSeq[slot] == seq && rs.sentAt[slot] != 0 && now-rs.sentAt[slot] < int64(d.cc.resendGap()) {
		return
	}
	l, in, tsOff, ok := d.source(seq)
	if !ok {
		return
	}
	n, ok := l.cache.get(in, scratch)
	if !ok {
		return
	}
	if d.cc != nil && !d.cc.allowResend(n, rs.now) {
		st.nacksDropped.Add(1)
		return
	}
	if ok, first := rs.budget.take(n); !ok {
		st.nacksDropped.Add(1)
		if first {
			d.logger().Warn("NACK storm: retransmissions to this subscriber capped", "track", d.id,
				"bytes_per_s", nackRateBytes, "burst", nackBurstBytes)
		}
		return
	}
	payload, ok := parseForForward(hdr, scratch[:n])
	if !ok {
		return
	}
	// Sent under the number the subscriber knows it by.
	hdr.SequenceNumber = seq
	hdr.Timestamp += tsOff
	if d.kind == webrtc.RTPCodecTypeVideo && d.fw.lastTimestamp()-hdr.Timestamp > d.fw.clock*maxResendAgeMs/1000 {
		// The subscriber's jitter buffer has given up on it; the
		// bytes would only delay what it still waits for.
		return
	}
	hdr.SSRC = b.ssrc
	hdr.PayloadType = b.pt
	if b.rtxPT != 0 {
		// RFC 4588: the original sequence number, then the original
		// payload. The two bytes before the payload held the parsed
		// header, so the RTX payload is built in place.
		off := cap(scratch) - cap(payload)
		payload = scratch[off-2 : off+len(payload)]
		payload[0], payload[1] = byte(seq>>8), byte(seq)
		hdr.SSRC = b.rtxSSRC
		hdr.PayloadType = b.rtxPT
		hdr.SequenceNumber = uint16(d.rtxSeq.Add(1))
	}
	if b.twccID != 0 && d.cc != nil {
		setTWCC(hdr, b.twccID, d.cc.stamp(hdr.MarshalSize()+twccExtBytes+len(payload), micros(time.Now())), rs.ext[:])
	}
	var err error
	if b.rtxPT != 0 {
		err = d.writeRTX(b, hdr, payload)
	} else {
		_, err = b.w.WriteRTP(hdr, payload)
	}
	if err == nil {
		st.nacksServed.Add(1)
		rs.sentSeq[slot], rs.sentAt[slot] = seq, now
	}
}

// parseForForward parses pkt's header into hdr and returns the media payload,
// with header extensions and padding stripped: extension ids are negotiated
// per peer connection and would mean something else (or nothing) on the
// subscriber's, and padding-only packets are the publisher's bandwidth probes,
// useless to forward (ok is false for them).
func parseForForward(hdr *rtp.Header, pkt []byte) (payload []byte, ok bool) {
	hl, err := hdr.Unmarshal(pkt)
	if err != nil {
		return nil, false
	}
	end := len(pkt)
	if hdr.Padding {
		if end <= hl {
			return nil, false
		}
		pad := int(pkt[end-1])
		if pad == 0 || end-pad < hl {
			return nil, false
		}
		end -= pad
		hdr.Padding = false
	}
	hdr.PaddingSize = 0
	hdr.Extension = false
	hdr.ExtensionProfile = 0
	hdr.Extensions = hdr.Extensions[:0]
	if end == hl {
		return nil, false
	}
	return pkt[hl:end], true
}
