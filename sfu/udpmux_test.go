package sfu

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"
)

// Every connection's media goes through the one shared UDP socket: the
// SFU's candidates all name its port, media flows both ways over it, and
// the forwarding delay is recorded.
func TestMediaOverOneUDPPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	port := s.UDPPort()
	if port == 0 {
		t.Fatal("no shared UDP port")
	}
	r := s.Room("mux")
	var mu sync.Mutex
	var ports []int
	record := func(c webrtc.ICECandidateInit) (webrtc.ICECandidateInit, bool) {
		// candidate:… 1 udp PRIORITY ADDRESS PORT typ …
		f := strings.Fields(c.Candidate)
		if len(f) > 5 {
			if p, err := strconv.Atoi(f[5]); err == nil {
				mu.Lock()
				ports = append(ports, p)
				mu.Unlock()
			}
		}
		return c, true
	}
	lecturer := join(t, r, "lecturer", true)
	subs := []*testClient{
		joinWith(t, r, "s1", false, clientOpts{subCandidate: record}),
		joinWith(t, r, "s2", false, clientOpts{subCandidate: record}),
	}
	lecturer.publish(ctx)
	for _, c := range subs {
		waitFor(ctx, t, c.name+" media", func() bool {
			return c.count(webrtc.RTPCodecTypeVideo) >= 20 && c.count(webrtc.RTPCodecTypeAudio) >= 20
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ports) == 0 {
		t.Fatal("no SFU candidates seen")
	}
	for _, p := range ports {
		if p != port {
			t.Errorf("SFU candidate on port %d, want the shared %d (all: %v)", p, port, ports)
		}
	}
	if d := s.Stats().ForwardDelay; d.Count() == 0 || len(d.Counts) != len(d.BoundsMicros)+1 {
		t.Errorf("forward delay histogram = %+v, want packets counted", d)
	}
}

// A port that is taken is a clear error from New, not a silent fallback.
func TestUDPMuxPortTaken(t *testing.T) {
	a := newTestSFU(t, 0)
	_, err := New(Config{UDPMux: true, UDPMuxPort: uint16(a.UDPPort())})
	if err == nil || !strings.Contains(err.Error(), "udp mux on port") {
		t.Fatalf("New on a taken port: err = %v", err)
	}
}
