// Package sfu owns media: rooms of peers, the tracks they publish, and the
// forwarding of every published RTP packet to each subscriber, with keyframe
// requests and retransmissions handled on the way. It knows nothing of HTTP,
// users or storage: the caller moves Signals between a Peer and its client
// and decides who may publish.
//
// Each peer has two peer connections. On "pub" the client offers and the SFU
// answers; on "sub" the SFU offers every track of the room and the client
// answers. Sub offers are serialized per peer: a change while an offer is
// unanswered is folded into one new offer sent after the answer.
//
// Per published track one goroutine reads packets into a reused buffer,
// stores them in the track's packet cache and writes them to each
// subscriber's down-track, rewriting SSRC and payload type in place (with
// Config.FanoutWriters, above 32 subscribers, sharing the writing with a
// few writer goroutines; see fanout.go). With Config.UDPMux every connection's packets leave through one
// UDP socket in sendmmsg batches (udpmux.go). The down-track list is an immutable slice behind an atomic pointer, so this
// path takes no lock and allocates nothing. Each down-track has a goroutine
// reading the subscriber's RTCP: NACKs are answered from the cache, PLI and
// FIR become keyframe requests, throttled per track. See docs/sfu.md.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Transport names one of a peer's two peer connections.
type Transport string

// A peer publishes on TransportPub (the client offers) and receives on
// TransportSub (the server offers), so neither side has offer collisions.
const (
	TransportPub Transport = "pub"
	TransportSub Transport = "sub"
)

// SignalKind says what a Signal carries.
type SignalKind string

// Signal kinds sent from the SFU to a client.
const (
	SignalOffer     SignalKind = "offer"
	SignalAnswer    SignalKind = "answer"
	SignalCandidate SignalKind = "candidate"
)

// Signal is a message the SFU needs delivered to the peer's client.
type Signal struct {
	Kind      SignalKind
	Transport Transport
	SDP       string                   // offer or answer
	Candidate *webrtc.ICECandidateInit // candidate
}

// PeerState is the media connectivity of a peer as a whole.
type PeerState string

// Peer states reported through PeerOptions.OnState.
const (
	PeerConnecting   PeerState = "connecting"
	PeerConnected    PeerState = "connected"
	PeerDisconnected PeerState = "disconnected" // ICE lost; may recover
	PeerFailed       PeerState = "failed"
	PeerClosed       PeerState = "closed"
)

// Errors callers can test with errors.Is.
var (
	ErrClosed = errors.New("sfu: closed")
	ErrBadSDP = errors.New("sfu: bad session description")
	// ErrUnsupported: a publisher offered only codecs the SFU cannot forward.
	ErrUnsupported = errors.New("sfu: unsupported codecs")
	ErrBadICE      = errors.New("sfu: bad ICE candidate")
	ErrNoPublish   = errors.New("sfu: peer may not publish")
	ErrDuplicate   = errors.New("sfu: peer id already in room")
	ErrWrongState  = errors.New("sfu: wrong negotiation state")
)

// Config is everything the SFU needs from outside.
type Config struct {
	Logger *slog.Logger
	// ICEServers are given to the server's peer connections (STUN/TURN).
	ICEServers []webrtc.ICEServer
	// IncludeLoopback gathers candidates on loopback (tests, single-machine demos).
	IncludeLoopback bool
	// UDPMux serves ICE for every peer connection on one UDP socket, on
	// UDPMuxPort (0: any free port) of every IPv4 address, with writes
	// batched (sendmmsg) every UDPBatchInterval or UDPBatchSize packets
	// (0: 500 µs and 64). Without it each peer connection gathers its own
	// ephemeral ports, bounded by UDPPortMin/Max, and writes each packet
	// with its own sendto. See docs/sfu.md, "One UDP socket".
	UDPMux           bool
	UDPMuxPort       uint16
	UDPBatchSize     int
	UDPBatchInterval time.Duration
	// FanoutWriters is the number of writer goroutines that share the
	// fan-out of a track with more than 32 subscribers with the track's
	// reader (0: none, the reader writes every subscriber; at most 8).
	// See docs/sfu.md, "Fan-out writers", for when they help.
	FanoutWriters int
	// UDPPortMin/Max bound the ephemeral UDP ports (0,0 = any) when
	// UDPMux is off.
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs are public addresses to advertise when behind 1:1 NAT.
	NAT1To1IPs []string
	// KeyframeInterval is the minimum time between two keyframe requests sent
	// to one publisher's track (default 500 ms).
	KeyframeInterval time.Duration
	// NetworkTypes restricts the candidate network types (nil = pion's
	// default, UDP4 and UDP6).
	NetworkTypes []webrtc.NetworkType
	// InterfaceFilter, if set, keeps only the network interfaces for which it
	// returns true (e.g. to skip container bridges, or to stay on "lo" in tests).
	InterfaceFilter func(name string) bool
}

// PeerOptions describe one participant joining a room.
type PeerOptions struct {
	// Publish gives the peer full publish rights (audio and video) from
	// the start; without it the peer may not publish until
	// Peer.SetPublishRights allows it (see rights.go).
	Publish bool
	// OnSignal delivers offers, answers and candidates to the client. It must
	// not block for long; it is called from the SFU's goroutines.
	OnSignal func(Signal)
	// OnState reports media connectivity changes (optional).
	OnState func(PeerState)
	// VideoPreference is the video the peer wants to receive from the
	// start (PreferAuto by default); SetVideoPreference changes it later.
	VideoPreference Preference
	// Site is the site the peer is at (its downlink shares the site's
	// budget, see SFU.SetSiteBudget); empty for none.
	Site string
	// Presenter marks the lecturer: its camera comes before other cameras
	// in the allocation order.
	Presenter bool
	// OnActiveSpeaker reports the peer id of the room's current speaker
	// ("" when nobody speaks), from the audio level header extension
	// (optional). Called from the SFU's goroutines, in order with OnSignal.
	OnActiveSpeaker func(peerID string)
	// OnQuality reports changes of the peer's link quality (optional).
	OnQuality func(Quality)
}

// Stats are counters for metrics, read atomically.
type Stats struct {
	Rooms            int
	Peers            int
	PublishedTracks  int
	PacketsIn        uint64
	PacketsForwarded uint64
	BytesForwarded   uint64
	KeyframeRequests uint64
	NACKsServed      uint64
	NACKsDropped     uint64 // NACKed packets not resent: over a subscriber's budget
	RTCPErrors       uint64 // malformed RTCP from subscribers, skipped
	// NACKsReceived counts the packets subscribers asked to be resent;
	// PLIsReceived their picture loss indications and FIRs; LayerSwitches
	// the allocator's changes of a subscriber's video layer (pauses and
	// resumes included).
	NACKsReceived uint64
	PLIsReceived  uint64
	LayerSwitches uint64
	ForwardDelay  ForwardDelay
}

// counters are the SFU-wide statistics, updated atomically from the media
// goroutines.
type counters struct {
	packetsIn        atomic.Uint64
	packetsForwarded atomic.Uint64
	bytesForwarded   atomic.Uint64
	keyframeRequests atomic.Uint64
	nacksServed      atomic.Uint64
	nacksDropped     atomic.Uint64
	rtcpErrors       atomic.Uint64
	nacksReceived    atomic.Uint64
	plisReceived     atomic.Uint64
	layerSwitches    atomic.Uint64
	delay            delayHist
}

// SFU is the media server: a set of rooms.
type SFU struct {
	cfg Config
	log *slog.Logger
	// pubAPI makes the connections the SFU receives on; sub those it only
	// sends on, one API per connection (newSubConnection).
	pubAPI *webrtc.API
	sub    subAPI
	st     *counters
	// raws holds the SRTP writers RTX is written to (rtx.go).
	raws *rawWriters
	// mux is the shared UDP socket (Config.UDPMux); nil without it.
	mux *udpMux

	mu    sync.Mutex
	rooms map[string]*Room
	// sites are the site groups: budgets (SetSiteBudget) and members.
	sites  map[string]*siteGroup
	closed bool

	// wg counts the peers' notifier goroutines, which may outlive Peer.Close
	// by a moment (Close may be called from inside OnState).
	wg sync.WaitGroup
}

// New builds an SFU from cfg.
func New(cfg Config) (*SFU, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = 500 * time.Millisecond
	}
	raws := &rawWriters{}
	var mux *udpMux
	if cfg.UDPMux {
		var err error
		if mux, err = newUDPMux(cfg); err != nil {
			return nil, err
		}
	}
	pubAPI, sub, err := newAPIs(cfg, raws, mux)
	if err != nil {
		if mux != nil {
			_ = mux.Close()
		}
		return nil, err
	}
	return &SFU{
		cfg:    cfg,
		log:    cfg.Logger,
		pubAPI: pubAPI,
		sub:    sub,
		raws:   raws,
		mux:    mux,
		st:     &counters{},
		rooms:  make(map[string]*Room),
	}, nil
}

// subAPI is what a sub connection's webrtc.API is made of. Each sub
// connection gets an API of its own (newSubConnection) whose read buffers
// come from that connection's rtcpTaps: pion's BufferFactory is told only
// an SSRC, and a subscriber's RTCP must reach its own down-tracks and
// never another connection's.
type subAPI struct {
	media    *webrtc.MediaEngine // copied by pion for each connection
	settings webrtc.SettingEngine
	reg      *interceptor.Registry // builds new interceptors per connection
}

// newSubConnection makes a sub connection whose subscriber's RTCP goes
// to taps.
func (s *SFU) newSubConnection(taps *rtcpTaps, cfg webrtc.Configuration) (*webrtc.PeerConnection, error) {
	se := s.sub.settings
	se.BufferFactory = taps.factory
	api := webrtc.NewAPI(webrtc.WithMediaEngine(s.sub.media), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(s.sub.reg))
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("sfu: new sub peer connection: %w", err)
	}
	return pc, nil
}

// newAPIs builds what every peer connection comes from: the pub API for
// the connections the SFU receives media on, and the parts of the API of
// each sub connection, which it only sends on. They share the codecs,
// header extensions and settings and differ in their interceptors, because
// each interceptor costs goroutines, memory and work per packet on every
// connection it is built for.
//
// Both leave out pion's NACK responder, which keeps up to 1,024 packet
// copies per outgoing stream: NACKs are answered from one packetCache per
// published track instead. Both keep sender reports, which receivers need
// for lip sync and RTT, and raws, the SRTP writers that keep RTX out of the
// sender reports (rtx.go).
//
// Only pub has the NACK generator (asking publishers to retransmit what the
// SFU lost), receiver reports and TWCC feedback on received streams (which
// lets the lecturer's browser ramp its bitrate up). On a sub connection
// nothing is received, so those would be a goroutine each and a parse of
// every RTCP packet for nothing: 3 goroutines less per subscriber.
//
// ConfigureTWCCSender also registers the transport-cc header extension and
// RTCP feedback for audio and video in both directions, which is all the
// sub connections need to offer them: the SFU stamps its own sequence
// numbers in the fan-out (twcc.go) instead of pion's
// HeaderExtensionInterceptor, which allocates per packet. A sub
// connection's read buffers come from its rtcpTaps (rtx.go), which hand its
// subscriber's RTCP to the down-tracks and the estimator as it arrives.
//
// SRTP protection profiles are listed explicitly, AES-GCM first: with AES-NI
// and carry-less multiply it encrypts and authenticates in one pass, cheaper
// per packet than AES-CM with a separate HMAC-SHA1, and browsers offer it.
// pion's default order prefers AES-256-GCM; AES-128-GCM is ample for live
// media and does fewer rounds, so it comes first.
func newAPIs(cfg Config, raws *rawWriters, mux *udpMux) (pub *webrtc.API, sub subAPI, err error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: register codecs: %w", err)
	}
	pubReg := &interceptor.Registry{}
	pubReg.Add(raws) // first: innermost, next to SRTP
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: nack generator: %w", err)
	}
	pubReg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(pubReg); err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: rtcp reports: %w", err)
	}
	// Publishers' simulcast encodings are told apart by their RID header
	// extension.
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: simulcast extensions: %w", err)
	}
	// Publishers' audio levels feed the active speaker detector.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverDirectionRecvonly); err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: audio level extension: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, pubReg); err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: twcc: %w", err)
	}

	subReg := &interceptor.Registry{}
	subReg.Add(raws)
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: sender reports: %w", err)
	}
	subReg.Add(sr)

	se := webrtc.SettingEngine{LoggerFactory: pionLogs{log: cfg.Logger}}
	// One view of the host's interfaces for every connection: otherwise
	// each ICE agent enumerates them over netlink when it is made and
	// keeps its own copy (~7 KiB a connection, and a burst of syscalls
	// when a lecture fills). The list is read once, at start.
	nw, err := stdnet.NewNet()
	if err != nil {
		return nil, subAPI{}, fmt.Errorf("sfu: network interfaces: %w", err)
	}
	se.SetNet(fixedNet{nw})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if mux != nil {
		se.SetICEUDPMux(mux.mux)
	} else if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, subAPI{}, fmt.Errorf("sfu: udp port range: %w", err)
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, subAPI{}, fmt.Errorf("sfu: nat 1:1 ips: %w", err)
		}
	}
	if len(cfg.NetworkTypes) > 0 {
		se.SetNetworkTypes(cfg.NetworkTypes)
	}
	if cfg.InterfaceFilter != nil {
		se.SetInterfaceFilter(cfg.InterfaceFilter)
	}
	pub = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(pubReg))
	return pub, subAPI{media: m, settings: se, reg: subReg}, nil
}

// Room returns the room with the given id, creating it if needed. After
// Close it returns a closed room, whose Join fails with ErrClosed.
func (s *SFU) Room(id string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rooms[id]; ok {
		return r
	}
	r := &Room{id: id, sfu: s, log: s.log.With("room", id), peers: make(map[string]*Peer)}
	if s.closed {
		r.closed = true
		return r
	}
	s.rooms[id] = r
	return r
}

// CloseRoom closes every peer of a room and forgets it.
func (s *SFU) CloseRoom(id string) {
	s.mu.Lock()
	r := s.rooms[id]
	delete(s.rooms, id)
	s.mu.Unlock()
	if r != nil {
		r.close()
	}
}

// Stats returns a snapshot of the counters.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	st := Stats{
		Rooms:            len(rooms),
		PacketsIn:        s.st.packetsIn.Load(),
		PacketsForwarded: s.st.packetsForwarded.Load(),
		BytesForwarded:   s.st.bytesForwarded.Load(),
		KeyframeRequests: s.st.keyframeRequests.Load(),
		NACKsServed:      s.st.nacksServed.Load(),
		NACKsDropped:     s.st.nacksDropped.Load(),
		RTCPErrors:       s.st.rtcpErrors.Load(),
		NACKsReceived:    s.st.nacksReceived.Load(),
		PLIsReceived:     s.st.plisReceived.Load(),
		LayerSwitches:    s.st.layerSwitches.Load(),
		ForwardDelay:     s.st.delay.snapshot(),
	}
	for _, r := range rooms {
		r.mu.Lock()
		st.Peers += len(r.peers)
		st.PublishedTracks += len(r.tracks)
		r.mu.Unlock()
	}
	return st
}

// Close closes every room and waits until every goroutine of the SFU has
// ended.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := s.rooms
	s.rooms = make(map[string]*Room)
	s.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
	s.wg.Wait()
	if s.mux != nil {
		return s.mux.Close()
	}
	return nil
}

// UDPPort is the port of the shared UDP socket (Config.UDPMux), or 0
// without one.
func (s *SFU) UDPPort() int {
	if s.mux == nil {
		return 0
	}
	return s.mux.Port()
}

// fixedNet is a stdnet.Net shared by every connection. Being another type,
// it keeps ICE agents from refreshing the shared interface list (they do
// that only on a *stdnet.Net), which would race.
type fixedNet struct{ *stdnet.Net }
