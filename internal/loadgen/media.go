package loadgen

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// newAPI builds the webrtc.API of the tool's peers. Only VP8 and Opus are
// registered, with the MID and RID header extensions so publishers can
// send simulcast. Without rtcp the interceptor registry is empty: no NACK
// buffers, no reports, no TWCC, so a peer costs a socket, DTLS/SRTP state
// and its track readers; publishers always use it that way. With rtcp (the
// subscribers' default, -sub-rtcp) the API sends what a browser's receiver
// sends: receiver reports, transport-wide congestion control feedback (the
// transport-cc header extension and RTCP feedback on VP8 and Opus, as
// webrtc.ConfigureTWCCSender sets up) and NACKs for lost video packets
// (the generator only: a subscriber sends no media to resend).
func newAPI(loopback, rtcp bool) (*webrtc.API, error) {
	videoFB := []webrtc.RTCPFeedback{{Type: "nack", Parameter: "pli"}}
	if rtcp {
		videoFB = append(videoFB, webrtc.RTCPFeedback{Type: "nack"})
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("registering VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("registering Opus: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, fmt.Errorf("registering simulcast header extensions: %w", err)
	}
	reg := &interceptor.Registry{}
	if rtcp {
		rr, err := report.NewReceiverInterceptor()
		if err != nil {
			return nil, fmt.Errorf("receiver reports: %w", err)
		}
		reg.Add(rr)
		nackGen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, fmt.Errorf("NACK generator: %w", err)
		}
		reg.Add(nackGen)
		if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
			return nil, fmt.Errorf("TWCC feedback: %w", err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	if loopback {
		// The server is on this machine: one host candidate per peer.
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(reg)), nil
}
