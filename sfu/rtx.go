package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
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
