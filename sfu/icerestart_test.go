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
	"github.com/pion/webrtc/v4"
)

// relaySet sends a client's sub path through one netem relay per SFU host
// candidate, including the candidates an ICE restart gathers, and cuts or
// restores all of them at once.
type relaySet struct {
	t      testing.TB
	mu     sync.Mutex
	relays []*netem.Relay
	loss   float64
}

func (rs *relaySet) rewrite(c webrtc.ICECandidateInit) (webrtc.ICECandidateInit, bool) {
	cand, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:"))
	if err != nil || cand.Type() != ice.CandidateTypeHost || cand.NetworkType() != ice.NetworkTypeUDP4 {
		return c, false
	}
	r, err := netem.New(&net.UDPAddr{IP: net.ParseIP(cand.Address()), Port: cand.Port()})
	if err != nil {
		rs.t.Errorf("netem.New: %v", err)
		return c, false
	}
	rs.mu.Lock()
	rs.relays = append(rs.relays, r)
	r.Set(netem.Up, netem.Impairment{Loss: rs.loss})
	r.Set(netem.Down, netem.Impairment{Loss: rs.loss})
	rs.mu.Unlock()
	a := r.ClientAddr()
	c.Candidate = fmt.Sprintf("candidate:1 1 udp 2130706431 %s %d typ host", a.IP, a.Port)
	return c, true
}

// setLoss sets the loss of every relay, both ways (1: the path is gone).
func (rs *relaySet) setLoss(loss float64) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.loss = loss
	for _, r := range rs.relays {
		r.Set(netem.Up, netem.Impairment{Loss: loss})
		r.Set(netem.Down, netem.Impairment{Loss: loss})
	}
}

func (rs *relaySet) close() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.relays {
		_ = r.Close()
	}
}

// newFastICEClientAPI is newClientAPI with a browser's quick failure
// detection: disconnected after 1 s of silence, failed after 2 s more.
func newFastICEClientAPI(t testing.TB) *webrtc.API {
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
	se.SetICETimeouts(time.Second, 2*time.Second, 200*time.Millisecond)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// iceUfrag is the first ice-ufrag of an SDP.
func iceUfrag(sdp string) string {
	for l := range strings.SplitSeq(sdp, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}

// TestRestartICE: a subscriber whose path is lost until its connection
// fails gets media again after the path returns and RestartICE sends an
// offer with new credentials; a publisher restarting ICE with its own offer
// keeps publishing. Nothing is renegotiated beyond the credentials.
func TestRestartICE(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-1")
	lecturer := join(t, r, "lecturer", true)
	rs := &relaySet{t: t}
	t.Cleanup(rs.close)
	sub := joinWith(t, r, "s1", false, clientOpts{api: newFastICEClientAPI(t), subCandidate: rs.rewrite, hideSubCandidates: true})

	// Nothing offered yet: nothing to restart.
	if err := sub.peer.RestartICE(); err != nil {
		t.Fatalf("RestartICE before any offer: %v", err)
	}
	lecturer.publish(ctx)
	waitFor(ctx, t, "media through the relay", func() bool {
		return sub.count(webrtc.RTPCodecTypeVideo) >= 20 && sub.count(webrtc.RTPCodecTypeAudio) >= 20
	})

	rs.setLoss(1)
	waitFor(ctx, t, "the client sees its connection fail", func() bool {
		return sub.sub.ICEConnectionState() == webrtc.ICEConnectionStateFailed
	})
	offers := len(sub.offerList())
	oldUfrag := iceUfrag(sub.offerList()[offers-1])

	rs.setLoss(0)
	restored := time.Now()
	if err := sub.peer.RestartICE(); err != nil {
		t.Fatalf("RestartICE: %v", err)
	}
	v0 := sub.count(webrtc.RTPCodecTypeVideo)
	waitFor(ctx, t, "media after the restart", func() bool { return sub.count(webrtc.RTPCodecTypeVideo) >= v0+20 })
	if d := time.Since(restored); d > 5*time.Second {
		t.Fatalf("media flowed again %v after the path returned, want within 5 s", d)
	}
	t.Logf("media flowing again %v after the path returned", time.Since(restored))
	list := sub.offerList()
	if len(list) != offers+1 {
		t.Fatalf("%d offers after the restart, want exactly one more than %d", len(list), offers)
	}
	if u := iceUfrag(list[offers]); u == "" || u == oldUfrag {
		t.Fatalf("restart offer has ice-ufrag %q, want a new one (was %q)", u, oldUfrag)
	}

	// The publisher restarts ICE on pub by itself: a new offer, answered
	// with new credentials; its media keeps reaching the subscriber.
	oldAnswer := iceUfrag(lecturer.pub.RemoteDescription().SDP)
	offer, err := lecturer.pub.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(lecturer.pub)
	if err := lecturer.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("gathering timed out")
	}
	if err := lecturer.peer.HandleOffer(ctx, TransportPub, lecturer.pub.LocalDescription().SDP); err != nil {
		t.Fatalf("HandleOffer with an ICE restart: %v", err)
	}
	waitFor(ctx, t, "the restarted pub answer", func() bool {
		rd := lecturer.pub.RemoteDescription()
		return rd != nil && iceUfrag(rd.SDP) != oldAnswer
	})
	v0 = sub.count(webrtc.RTPCodecTypeVideo)
	waitFor(ctx, t, "media after the pub restart", func() bool { return sub.count(webrtc.RTPCodecTypeVideo) >= v0+20 })
	if len(sub.offerList()) != offers+1 {
		t.Fatalf("the pub restart renegotiated the subscriber: %d offers", len(sub.offerList()))
	}
	noSignalErrors(t, lecturer, sub)

	sub.peer.Close()
	if err := sub.peer.RestartICE(); err != ErrClosed {
		t.Fatalf("RestartICE after Close: %v, want ErrClosed", err)
	}
}
