package loadgen

import (
	"fmt"
	"io"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtp"
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
		// First, so innermost: it parses each header once, in place.
		reg.Add(headerCacheFactory{})
		// Quiet: closing hundreds of connections makes the interceptors
		// log every write on a closed transport.
		quiet := &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}
		rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(quiet))
		if err != nil {
			return nil, fmt.Errorf("receiver reports: %w", err)
		}
		reg.Add(rr)
		nackGen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(quiet))
		if err != nil {
			return nil, fmt.Errorf("NACK generator: %w", err)
		}
		reg.Add(nackGen)
		if err := webrtc.ConfigureTWCCSenderWithOptions(m, reg, twcc.WithLoggerFactory(quiet)); err != nil {
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

// headerCache is the innermost interceptor of a subscriber's streams. Each
// of pion's report, NACK and TWCC interceptors asks the packet's
// interceptor.Attributes for the parsed RTP header, and when a packet
// comes without attributes the first of them allocates a map and a header
// for every packet. headerCache gives each remote stream one map and one
// header, reused: the header is parsed again in place for each packet (and
// rtp.Header.Unmarshal reuses its slices), so the interceptors above find
// it parsed and allocate nothing for it. None of them reads the header or
// the map after the packet (pion/interceptor v0.1.51: the TWCC sender
// passes the header's pointer to its goroutine in a field it never reads),
// and a stream is read by one goroutine.
type headerCache struct{ interceptor.NoOp }

type headerCacheFactory struct{}

func (headerCacheFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerCache{}, nil
}

// BindRemoteStream wraps one stream's reader.
func (*headerCache) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	attr := interceptor.Attributes{}
	var hdr *rtp.Header
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, got, err := reader.Read(b, a)
		if err != nil || len(got) > 0 {
			return n, got, err // attributes from below: leave them be
		}
		if hdr == nil {
			// The first packet: Attributes.GetRTPHeader allocates the
			// header and keeps it in the map under its own key.
			if hdr, err = attr.GetRTPHeader(b[:n]); err != nil {
				hdr = nil
				return 0, nil, err
			}
			return n, attr, nil
		}
		if _, err := hdr.Unmarshal(b[:n]); err != nil {
			return 0, nil, err
		}
		return n, attr, nil
	})
}

// drainRTCP reads the RTCP the server sends about a received track (its
// sender reports) until the connection closes, as a browser does: the
// receiver-report interceptor notes each sender report there, so the
// reports it sends back carry the delay since it (LSR/DLSR) from which
// the server computes the round-trip time; unread, they would also pile
// up in pion's buffer.
func drainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}
