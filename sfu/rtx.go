package sfu

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"
)

// RTX (RFC 4588) on the sub connection: video down-tracks offer video/rtx
// with apt = their codec. When the subscriber accepts it, NACKed packets
// are resent on the RTX SSRC (payload: the original sequence number, then
// the original payload; own sequence numbers), so the subscriber's
// statistics and its bandwidth estimate can tell repairs from media, and
// probe padding has a stream that carries no media.

// subCodecs is the codec list of a sub transceiver for a down-track of
// codec c: c with the feedback the SFU acts on and, for video, its RTX
// codec if the MediaEngine has one. engine is the transceiver's codec list
// before preferences are set (the MediaEngine's, with payload types).
func subCodecs(c webrtc.RTPCodecCapability, kind webrtc.RTPCodecType, engine []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	codec := webrtc.RTPCodecParameters{RTPCodecCapability: c}
	if kind != webrtc.RTPCodecTypeVideo {
		codec.RTCPFeedback = []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}
		return []webrtc.RTPCodecParameters{codec}
	}
	codec.RTCPFeedback = []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
		{Type: "goog-remb"}, {Type: webrtc.TypeRTCPFBTransportCC},
	}
	m, ok := matchCodec(c, engine)
	if !ok {
		return []webrtc.RTPCodecParameters{codec}
	}
	codec.PayloadType = m.PayloadType
	apt := fmt.Sprintf("apt=%d", m.PayloadType)
	for _, e := range engine {
		if strings.EqualFold(e.MimeType, webrtc.MimeTypeRTX) && e.SDPFmtpLine == apt {
			return []webrtc.RTPCodecParameters{codec, e}
		}
	}
	return []webrtc.RTPCodecParameters{codec}
}

// negotiated reads what Bind needs beyond the codec: the transport-cc
// extension id and, if the subscriber accepted RTX for codec, its SSRC and
// payload type.
func negotiated(ctx webrtc.TrackLocalContext, codec webrtc.RTPCodecParameters) (twccID uint8, rtxSSRC uint32, rtxPT uint8) {
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 15 {
			twccID = uint8(e.ID)
		}
	}
	if ssrc := uint32(ctx.SSRCRetransmission()); ssrc != 0 {
		apt := fmt.Sprintf("apt=%d", codec.PayloadType)
		for _, c := range ctx.CodecParameters() {
			if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.SDPFmtpLine == apt {
				rtxSSRC, rtxPT = ssrc, uint8(c.PayloadType)
			}
		}
	}
	return twccID, rtxSSRC, rtxPT
}

// rtcpTaps delivers the RTCP a subscriber sends on its sub connection to
// the down-tracks it names, on the connection's SRTCP reader. Each sub
// connection has its own (its API's BufferFactory is the taps' factory):
// pion tells the factory only an SSRC, and SSRCs are chosen per connection,
// so a subscriber's RTCP must never be looked up among other connections'.
// Every RTCP read buffer of the connection is a tapBuffer, which looks the
// SSRC up when a packet is written to it, hands the packet to the SSRC's
// sink and keeps nothing; a packet for an SSRC that has none is dropped.
//
//   - A down-track's media SSRC (registered at Bind): its onRTCP answers
//     NACKs and PLIs there and then. Reading RTCP through each RTPSender
//     instead would take a goroutine, a buffer and a copy per down-track,
//     two per subscriber.
//   - Its RTX SSRC: feedback names the SSRC of the last packet received,
//     which during a probe or a burst of repairs is often an RTX SSRC;
//     pion opens no RTCP reader for those and would drop what arrives. The
//     TWCC feedback goes to the subscriber's estimator.
//
// Looking up at each write, not when the buffer is made, keeps RTCP that
// arrives before Bind from leaving a buffer nobody reads, and a re-Bind
// from leaving a stale sink. A connection has one SRTCP reader, so each
// sink is called from one goroutine at a time.
type rtcpTaps struct {
	m sync.Map // uint32 SSRC -> rtcpSink
}

// rtcpSink takes the RTCP packets addressed to one SSRC, one at a time, on
// the connection's SRTCP reader; buf is only valid during the call.
type rtcpSink interface {
	onRTCP(buf []byte, now time.Time)
}

// rtpBufferLimit is pion's default read buffer limit (srtp's
// srtpBufferSize).
const rtpBufferLimit = 1000 * 1000

func (t *rtcpTaps) register(ssrc uint32, s rtcpSink) {
	if ssrc != 0 && s != nil {
		t.m.Store(ssrc, s)
	}
}

func (t *rtcpTaps) unregister(ssrc uint32, s rtcpSink) {
	if ssrc != 0 && s != nil {
		t.m.CompareAndDelete(ssrc, s)
	}
}

func (t *rtcpTaps) factory(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if kind == packetio.RTCPBufferPacket {
		return &tapBuffer{taps: t, ssrc: ssrc, done: make(chan struct{})}
	}
	// A subscriber sends no media on its sub connection; pion's usual
	// buffer for whatever arrives.
	b := &packetBuffer{Buffer: packetio.NewBuffer()}
	b.SetLimitSize(rtpBufferLimit)
	return b
}

// packetBuffer is srtp's default read buffer: a packetio.Buffer seen as an
// io.ReadWriteCloser, attributes passed through.
type packetBuffer struct {
	*packetio.Buffer
}

func (b *packetBuffer) Read(buf []byte) (int, error) {
	n, _, err := b.Buffer.Read(buf, nil)
	return n, err
}

func (b *packetBuffer) Write(buf []byte) (int, error) {
	return b.Buffer.Write(buf, nil)
}

func (b *packetBuffer) ReadWithAttributes(buf []byte, attrs packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(buf, attrs)
}

func (b *packetBuffer) WriteWithAttributes(buf []byte, attrs packetio.Attributes) (int, error) {
	return b.Buffer.Write(buf, attrs)
}

// tapBuffer is the read buffer of one SSRC's RTCP on a sub connection:
// writes go to the SSRC's sink, if it has one; nothing is kept; reads wait
// for Close.
type tapBuffer struct {
	taps *rtcpTaps
	ssrc uint32
	once sync.Once
	done chan struct{}
}

func (b *tapBuffer) Write(p []byte) (int, error) {
	if v, ok := b.taps.m.Load(b.ssrc); ok {
		v.(rtcpSink).onRTCP(p, time.Now())
	}
	return len(p), nil
}

func (b *tapBuffer) Read([]byte) (int, error) {
	<-b.done
	return 0, io.EOF
}

func (b *tapBuffer) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// rawWriters gives down-tracks the SRTP writer of their stream beneath
// pion's interceptors, for what they send on the RTX SSRC. Through the
// interceptor chain, pion's sender-report interceptor would count RTX
// packets as the media stream's (it keys on the stream, not the packet's
// SSRC) and, when an RTX sequence number happens to be "ahead" of the
// media's, take a retransmitted packet's old timestamp as the stream's
// latest, putting the sender report's RTP time (lip sync) off by the
// packet's age. rawWriters is registered first, so it is the innermost
// interceptor: it sees the SRTP writer itself, notes it and hands it on
// unchanged (no cost per packet).
type rawWriters struct {
	m sync.Map // rawKey -> *rawEntry
}

// rawKey names a local stream: pion's sender id (random, per sender) and
// the media SSRC.
type rawKey struct {
	id   string
	ssrc uint32
}

type rawEntry struct {
	ssrc uint32
	w    interceptor.RTPWriter
}

// NewInterceptor implements interceptor.Factory.
func (r *rawWriters) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rawInterceptor{w: r}, nil
}

type rawInterceptor struct {
	interceptor.NoOp
	w *rawWriters
}

func (i *rawInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission != 0 {
		i.w.m.Store(rawKey{info.ID, info.SSRC}, &rawEntry{ssrc: info.SSRC, w: writer})
	}
	return writer
}

func (i *rawInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	i.w.m.Delete(rawKey{info.ID, info.SSRC})
}

// writeRTX writes a packet on b's RTX SSRC: through the raw SRTP writer of
// the stream once pion has bound it (looked up once per binding), else
// through the track's writer.
func (d *downTrack) writeRTX(b *binding, hdr *rtp.Header, payload []byte) error {
	e := d.raw.Load()
	if (e == nil || e.ssrc != b.ssrc) && d.raws != nil {
		if v, ok := d.raws.m.Load(rawKey{b.senderID, b.ssrc}); ok {
			e = v.(*rawEntry)
			d.raw.Store(e)
		}
	}
	var err error
	if e != nil && e.ssrc == b.ssrc {
		_, err = e.w.Write(hdr, payload, nil)
	} else {
		_, err = b.w.WriteRTP(hdr, payload)
	}
	return err
}
