package sfu

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/netem"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// Tests of the SFU over impaired paths. A subscriber's sub connection is
// sent through a netem.Relay working as a NAT: the client is given the
// relay's address in place of the SFU's one host candidate, and its own
// candidates are kept from the SFU, which therefore only learns the relay's
// address (as a peer-reflexive candidate) from the client's connectivity
// checks. Every packet of that connection, both ways, goes through the
// relay; the publisher's connection stays direct.

// newNACKClientAPI is newClientAPI with pion's NACK generator, as a browser
// subscriber has.
func newNACKClientAPI(t testing.TB) *webrtc.API { return newBrowserLikeAPI(t, false) }

// newBrowserLikeAPI is a subscriber's API with default codecs (so RTX is
// accepted), pion's NACK generator and, if twcc, its TWCC feedback sender,
// on loopback with no SRTP replay protection (see newClientAPI).
func newBrowserLikeAPI(t testing.TB, twcc bool) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(gen)
	if twcc {
		if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableSRTPReplayProtection(true)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
}

// relayedSub holds the relay a client's sub path goes through; the relay is
// created when the SFU's first sub candidate arrives.
type relayedSub struct {
	t     testing.TB
	mu    sync.Mutex
	relay *netem.Relay
	up    netem.Impairment
	down  netem.Impairment
	ready chan struct{}
}

func newRelayedSub(t testing.TB) *relayedSub {
	rs := &relayedSub{t: t, ready: make(chan struct{})}
	t.Cleanup(func() {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if rs.relay != nil {
			_ = rs.relay.Close()
		}
	})
	return rs
}

func (rs *relayedSub) opts(api *webrtc.API) clientOpts {
	return clientOpts{api: api, subCandidate: rs.rewrite, hideSubCandidates: true}
}

// rewrite replaces the SFU's first UDP host candidate by the relay's
// address and drops every other one.
func (rs *relayedSub) rewrite(c webrtc.ICECandidateInit) (webrtc.ICECandidateInit, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.relay != nil {
		return c, false
	}
	cand, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:"))
	if err != nil || cand.Type() != ice.CandidateTypeHost || cand.NetworkType() != ice.NetworkTypeUDP4 {
		return c, false
	}
	r, err := netem.New(&net.UDPAddr{IP: net.ParseIP(cand.Address()), Port: cand.Port()})
	if err != nil {
		rs.t.Errorf("netem.New: %v", err)
		return c, false
	}
	r.Set(netem.Up, rs.up)
	r.Set(netem.Down, rs.down)
	rs.relay = r
	close(rs.ready)
	a := r.ClientAddr()
	c.Candidate = fmt.Sprintf("candidate:1 1 udp 2130706431 %s %d typ host", a.IP, a.Port)
	return c, true
}

func (rs *relayedSub) get(ctx context.Context, t testing.TB) *netem.Relay {
	t.Helper()
	select {
	case <-rs.ready:
	case <-ctx.Done():
		t.Fatal("no relay: the SFU sent no sub candidate")
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.relay
}

// seqSet summarizes the sequence numbers received, in the publisher's
// numbering (the SFU keeps it), from first onward.
func missingSeqs(pkts []rxPacket, first, last uint16) (missing []uint16, maxRun int) {
	have := make(map[uint16]bool, len(pkts))
	for _, p := range pkts {
		have[p.seq] = true
	}
	run := 0
	for s := first; s != last+1; s++ {
		if have[s] {
			run = 0
			continue
		}
		missing = append(missing, s)
		run++
		maxRun = max(maxRun, run)
	}
	return missing, maxRun
}

func maxSeq(pkts []rxPacket) uint16 {
	var m uint16
	for i, p := range pkts {
		if i == 0 || int16(p.seq-m) > 0 {
			m = p.seq
		}
	}
	return m
}

// TestRepairOverLossyPath: 5% random loss each way and 150 ms RTT on the
// subscriber's path. The subscriber NACKs (pion's generator, as a browser
// does) and the SFU answers from its cache: every video packet is received
// in the end, except those too recent to have been repaired yet. Audio is
// not NACKed (as in browsers); its gaps stay well under 200 ms.
func TestRepairOverLossyPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lossy")
	lecturer := join(t, r, "lecturer", true)
	rs := newRelayedSub(t)
	student := joinWith(t, r, "student", false, rs.opts(newNACKClientAPI(t)))
	lecturer.publish(ctx)
	relay := rs.get(ctx, t)
	waitFor(ctx, t, "media through the relay", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 20 && student.count(webrtc.RTPCodecTypeAudio) >= 20
	})
	if st := relay.Stats(netem.Down); st.Out < 40 {
		for _, tr := range student.sub.GetTransceivers() {
			pair, _ := tr.Receiver().Transport().ICETransport().GetSelectedCandidatePair()
			t.Logf("client pair %v", pair)
		}
		for _, tr := range student.peer.sub.GetTransceivers() {
			pair, _ := tr.Sender().Transport().ICETransport().GetSelectedCandidatePair()
			t.Logf("sfu pair %v", pair)
		}
		t.Fatalf("media did not go through the relay: %+v, relay %v %v", st, relay.ClientAddr(), relay.TargetSideAddr())
	}

	lossy := netem.Impairment{Delay: 75 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.05}
	relay.Set(netem.Up, lossy)
	relay.Set(netem.Down, lossy)
	nacks0 := s.Stats().NACKsServed
	startV := maxSeq(student.received(webrtc.RTPCodecTypeVideo)) + 1
	startA := maxSeq(student.received(webrtc.RTPCodecTypeAudio)) + 1
	const (
		duration = 4 * time.Second
		// Packets are sent every 10 ms; the last 600 ms may not be repaired
		// yet (a NACK round is up to 100 ms of NACK interval + 160 ms RTT,
		// and a retransmission can be lost too).
		window = 60
	)
	time.Sleep(duration)

	video := student.received(webrtc.RTPCodecTypeVideo)
	audio := student.received(webrtc.RTPCodecTypeAudio)
	endV := maxSeq(video) - window
	endA := maxSeq(audio)
	missV, _ := missingSeqs(video, startV, endV)
	missA, runA := missingSeqs(audio, startA, endA)
	down := relay.Stats(netem.Down)
	up := relay.Stats(netem.Up)
	served := s.Stats().NACKsServed - nacks0
	t.Logf("video seq %d..%d: %d unrepaired %v; NACKs served %d; relay down %+v, up %+v",
		startV, endV, len(missV), missV, served, down, up)
	t.Logf("audio seq %d..%d: %d lost, longest gap %d packets (%d ms)", startA, endA, len(missA), runA, runA*10)
	if n := int(uint16(endV - startV)); n < 200 {
		t.Fatalf("only %d video packets in the measured window", n)
	}
	if len(missV) > 0 {
		t.Errorf("%d video packets never repaired: %v", len(missV), missV)
	}
	if down.LostRandom == 0 || served == 0 {
		t.Errorf("no loss or no repair: lost %d, served %d", down.LostRandom, served)
	}
	if gap := (runA + 1) * 10; gap >= 200 {
		t.Errorf("audio gap %d ms, want < 200", gap)
	}
	checkMedia(t, student, webrtc.RTPCodecTypeVideo, 200, lecturer.videoSSRC)
	noSignalErrors(t, lecturer, student)
}
