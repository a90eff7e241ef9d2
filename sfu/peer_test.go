package sfu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Helpers for tests with real pion peers over loopback: a testClient is the
// browser side of one participant, wired to its sfu.Peer in process.

const testTimeout = 10 * time.Second

// newTestSFU returns an SFU that only uses UDP4 on loopback.
func newTestSFU(t testing.TB, kf time.Duration) *SFU {
	t.Helper()
	s, err := New(Config{
		IncludeLoopback:  true,
		UDPMux:           true,
		NetworkTypes:     []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		InterfaceFilter:  func(name string) bool { return name == "lo" },
		KeyframeInterval: kf,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newClientAPI builds the pion API of a test client: default codecs, no
// interceptors (so every NACK and PLI seen is one the test sent or the SFU
// produced), loopback only, and no SRTP replay protection so that a
// retransmitted packet the client already has is still delivered to it.
func newClientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableSRTPReplayProtection(true)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// rxPacket is one packet a client received.
type rxPacket struct {
	ssrc     uint32 // SSRC in the packet
	trackSSR uint32 // SSRC the client's track was negotiated with
	seq      uint16
	ts       uint32
	payload  []byte
}

type testClient struct {
	t    testing.TB
	name string
	opts clientOpts
	api  *webrtc.API
	peer *Peer

	pub *webrtc.PeerConnection // only for publishers
	sub *webrtc.PeerConnection

	sigs  chan Signal
	ready chan struct{} // closed once peer is set
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	rx      map[webrtc.RTPCodecType][]rxPacket
	tracks  map[webrtc.RTPCodecType]*webrtc.TrackRemote
	offers  []string // sub offers received, in order
	answers int      // sub answers sent
	states  []PeerState
	plis    []time.Time // PLIs received by the publisher's video sender
	sigErrs []error

	// publisher side
	video, audio   *webrtc.TrackLocalStaticRTP
	videoSSRC      uint32
	audioSSRC      uint32
	pubSenders     []*webrtc.RTPSender
	stopSend       chan struct{}
	skipAnswerOnce bool // don't answer the next sub offer automatically
	deferred       bool // an offer was left for the test to answer
	heldCands      []webrtc.ICECandidateInit
}

// clientOpts change how a test client connects (see impair_test.go).
type clientOpts struct {
	// api replaces newClientAPI (e.g. one with a NACK generator).
	api *webrtc.API
	// subCandidate rewrites (or, returning false, drops) each sub
	// candidate of the SFU before the client adds it: the way a client's
	// sub path is sent through a netem relay.
	subCandidate func(webrtc.ICECandidateInit) (webrtc.ICECandidateInit, bool)
	// hideSubCandidates keeps the client's own sub candidates from the SFU
	// (trickled or in answers) and the SFU's from the client (in re-offers):
	// each side only reaches the other through what subCandidate allows.
	hideSubCandidates bool
	// pref is the video preference the client joins with.
	pref Preference
	// peer, if set, adjusts the PeerOptions the client joins with.
	peer func(*PeerOptions)
}

// join creates a client and joins it to room as peerID.
func join(t testing.TB, r *Room, peerID string, publish bool) *testClient {
	t.Helper()
	return joinWith(t, r, peerID, publish, clientOpts{})
}

// joinWith is join with options.
func joinWith(t testing.TB, r *Room, peerID string, publish bool, opts clientOpts) *testClient {
	t.Helper()
	api := opts.api
	if api == nil {
		api = newClientAPI(t)
	}
	c := &testClient{
		t:      t,
		name:   peerID,
		opts:   opts,
		api:    api,
		sigs:   make(chan Signal, 1024),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		rx:     make(map[webrtc.RTPCodecType][]rxPacket),
		tracks: make(map[webrtc.RTPCodecType]*webrtc.TrackRemote),
	}
	var err error
	c.sub, err = c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c.sub.OnTrack(c.onTrack)
	c.sub.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		<-c.ready
		if c.opts.hideSubCandidates {
			return
		}
		init := ic.ToJSON()
		if err := c.peer.AddCandidate(TransportSub, &init); err != nil && !errors.Is(err, ErrClosed) {
			c.sigErr(fmt.Errorf("sub AddCandidate: %w", err))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	popts := PeerOptions{
		Publish:         publish,
		VideoPreference: opts.pref,
		OnSignal: func(s Signal) {
			select {
			case c.sigs <- s:
			case <-c.done:
			}
		},
		OnState: func(s PeerState) {
			c.mu.Lock()
			c.states = append(c.states, s)
			c.mu.Unlock()
		},
	}
	if opts.peer != nil {
		opts.peer(&popts)
	}
	p, err := r.Join(ctx, peerID, popts)
	if err != nil {
		_ = c.sub.Close()
		t.Fatalf("Join %s: %v", peerID, err)
	}
	c.peer = p
	close(c.ready)
	c.wg.Add(1)
	go c.signalLoop()
	t.Cleanup(c.close)
	return c
}

func (c *testClient) sigErr(err error) {
	c.mu.Lock()
	c.sigErrs = append(c.sigErrs, err)
	c.mu.Unlock()
}

// signalLoop plays the browser's side of the signaling.
func (c *testClient) signalLoop() {
	defer c.wg.Done()
	for {
		var s Signal
		select {
		case s = <-c.sigs:
		case <-c.done:
			return
		}
		switch {
		case s.Kind == SignalOffer && s.Transport == TransportSub:
			c.mu.Lock()
			c.offers = append(c.offers, s.SDP)
			skip := c.skipAnswerOnce
			c.skipAnswerOnce = false
			c.deferred = c.deferred || skip
			c.mu.Unlock()
			if skip {
				continue
			}
			if err := c.answer(s.SDP); err != nil {
				c.sigErr(err)
			}
		case s.Kind == SignalAnswer && s.Transport == TransportPub:
			if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
				c.sigErr(fmt.Errorf("pub SetRemoteDescription: %w", err))
			}
		case s.Kind == SignalCandidate:
			pc := c.sub
			if s.Transport == TransportPub {
				pc = c.pub
			} else if c.opts.subCandidate != nil {
				ic, ok := c.opts.subCandidate(*s.Candidate)
				if !ok {
					continue
				}
				s.Candidate = &ic
			}
			// The SFU promises the description comes first.
			if pc.RemoteDescription() == nil {
				c.mu.Lock()
				deferred := c.deferred
				if deferred {
					c.heldCands = append(c.heldCands, *s.Candidate)
				}
				c.mu.Unlock()
				if !deferred {
					c.sigErr(fmt.Errorf("%s candidate before description", s.Transport))
				}
				continue
			}
			if err := pc.AddICECandidate(*s.Candidate); err != nil {
				c.sigErr(fmt.Errorf("%s AddICECandidate: %w", s.Transport, err))
			}
		default:
			c.sigErr(fmt.Errorf("unexpected signal %s on %s", s.Kind, s.Transport))
		}
	}
}

// answer applies a sub offer and sends the answer to the SFU.
func (c *testClient) answer(sdp string) error {
	if c.opts.hideSubCandidates {
		// A re-offer carries the SFU's real candidates: the client must only
		// know the ones subCandidate gave it.
		sdp = stripCandidates(sdp)
	}
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("sub SetRemoteDescription: %w", err)
	}
	ans, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("sub CreateAnswer: %w", err)
	}
	if err := c.sub.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("sub SetLocalDescription: %w", err)
	}
	c.mu.Lock()
	held := c.heldCands
	c.heldCands = nil
	c.mu.Unlock()
	for _, ic := range held {
		if err := c.sub.AddICECandidate(ic); err != nil {
			return fmt.Errorf("sub AddICECandidate: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if c.opts.hideSubCandidates {
		// A re-answer carries the candidates gathered so far.
		ans.SDP = stripCandidates(ans.SDP)
	}
	if err := c.peer.HandleAnswer(ctx, TransportSub, ans.SDP); err != nil {
		return fmt.Errorf("HandleAnswer: %w", err)
	}
	c.mu.Lock()
	c.answers++
	c.mu.Unlock()
	return nil
}

// stripCandidates removes the candidate lines of an SDP.
func stripCandidates(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func (c *testClient) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	c.mu.Lock()
	c.tracks[tr.Kind()] = tr
	c.mu.Unlock()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.rx[tr.Kind()] = append(c.rx[tr.Kind()], rxPacket{
			ssrc: pkt.SSRC, trackSSR: uint32(tr.SSRC()), seq: pkt.SequenceNumber, ts: pkt.Timestamp, payload: pkt.Payload,
		})
		c.mu.Unlock()
	}
}

// received returns a copy of the packets of kind received so far.
func (c *testClient) received(kind webrtc.RTPCodecType) []rxPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rxPacket(nil), c.rx[kind]...)
}

func (c *testClient) count(kind webrtc.RTPCodecType) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rx[kind])
}

// publish adds a VP8 and an Opus track, negotiates the pub connection and
// starts sending synthetic packets every 10 ms. The client's candidates are
// all sent before the offer, so the SFU has to queue them.
func (c *testClient) publish(ctx context.Context) {
	t := c.t
	t.Helper()
	var err error
	c.pub, err = c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "lecture")
	if err != nil {
		t.Fatal(err)
	}
	c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "lecture")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.pub.AddTrack(c.video)
	if err != nil {
		t.Fatal(err)
	}
	as, err := c.pub.AddTrack(c.audio)
	if err != nil {
		t.Fatal(err)
	}
	c.pubSenders = []*webrtc.RTPSender{vs, as}
	c.videoSSRC = uint32(vs.GetParameters().Encodings[0].SSRC)
	c.audioSSRC = uint32(as.GetParameters().Encodings[0].SSRC)
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.readPLIs(vs)
	}()
	go func() {
		defer c.wg.Done()
		for {
			if _, _, err := as.Read(make([]byte, 1500)); err != nil {
				return
			}
		}
	}()

	var cands []webrtc.ICECandidateInit
	var cmu sync.Mutex
	c.pub.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		cmu.Lock()
		cands = append(cands, ic.ToJSON())
		cmu.Unlock()
	})
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pub)
	if err := c.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("gathering timed out")
	}
	cmu.Lock()
	defer cmu.Unlock()
	if len(cands) == 0 {
		t.Fatal("publisher gathered no candidates")
	}
	for i := range cands {
		if err := c.peer.AddCandidate(TransportPub, &cands[i]); err != nil {
			t.Fatalf("AddCandidate before offer: %v", err)
		}
	}
	// offer.SDP carries no candidates: they only reach the SFU trickled.
	if err := c.peer.HandleOffer(ctx, TransportPub, offer.SDP); err != nil {
		t.Fatalf("HandleOffer: %v", err)
	}
	c.stopSend = make(chan struct{})
	c.wg.Add(1)
	go c.sendLoop()
}

// testPayload is the payload of the packet with sequence number seq, so a
// receiver can check it got the right bytes.
func testPayload(kind byte, seq uint16) []byte {
	b := make([]byte, 160)
	b[0] = kind
	for i := 1; i < len(b); i++ {
		b[i] = byte(int(seq) + i)
	}
	return b
}

func (c *testClient) sendLoop() {
	defer c.wg.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq uint16 = 1000
	var ts uint32
	for {
		select {
		case <-c.stopSend:
			return
		case <-c.done:
			return
		case <-tick.C:
		}
		seq++
		ts += 900
		_ = c.video.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: ts},
			Payload: testPayload('v', seq),
		})
		_ = c.audio.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts},
			Payload: testPayload('a', seq),
		})
	}
}

func (c *testClient) readPLIs(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == c.videoSSRC {
				c.mu.Lock()
				c.plis = append(c.plis, time.Now())
				c.mu.Unlock()
			}
		}
	}
}

// plisSince counts the PLIs the publisher received at or after t0.
func (c *testClient) plisSince(t0 time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, at := range c.plis {
		if !at.Before(t0) {
			n++
		}
	}
	return n
}

func (c *testClient) lastPLI() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.plis) == 0 {
		return time.Time{}
	}
	return c.plis[len(c.plis)-1]
}

func (c *testClient) hasState(want PeerState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.states {
		if s == want {
			return true
		}
	}
	return false
}

func (c *testClient) offerList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.offers...)
}

func (c *testClient) errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.sigErrs...)
}

// leave closes the SFU peer, then the client.
func (c *testClient) leave() {
	if err := c.peer.Close(); err != nil {
		c.t.Errorf("%s: Peer.Close: %v", c.name, err)
	}
	c.close()
}

func (c *testClient) close() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	if c.pub != nil {
		_ = c.pub.Close()
	}
	_ = c.sub.Close()
	c.wg.Wait()
	_ = c.peer.Close()
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
