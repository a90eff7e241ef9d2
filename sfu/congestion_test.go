package sfu

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/netem"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Congestion control, probing and RTX with real pion subscribers that
// behave as browsers do: they send transport-wide CC feedback and NACKs,
// and accept RTX.

// newCCClientAPI is newNACKClientAPI with pion's TWCC feedback sender as
// well: a browser's receive side.
func newCCClientAPI(t testing.TB) *webrtc.API { return newBrowserLikeAPI(t, true) }

// watchVideo polls c's video for d: the longest time without a new video
// packet (the test publisher sends one per frame, every 10 ms) and the
// layers of the packets received meanwhile.
func watchVideo(ctx context.Context, c *testClient, d time.Duration) (maxGap time.Duration, rids map[byte]int) {
	start := c.count(webrtc.RTPCodecTypeVideo)
	n, last := start, time.Now()
	end := last.Add(d)
	for now := time.Now(); now.Before(end) && ctx.Err() == nil; now = time.Now() {
		if m := c.count(webrtc.RTPCodecTypeVideo); m != n {
			n, last = m, now
		}
		maxGap = max(maxGap, now.Sub(last))
		time.Sleep(10 * time.Millisecond)
	}
	return maxGap, ridsOf(c.received(webrtc.RTPCodecTypeVideo)[start:])
}

// TestSubOfferNegotiatesCC: the sub offer carries the transport-cc header
// extension and feedback for audio and video, and RTX for video; a
// subscriber that accepts them gets a binding with all three.
func TestSubOfferNegotiatesCC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("cc-offer")
	lecturer := join(t, r, "lecturer", true)
	student := joinWith(t, r, "student", false, clientOpts{api: newCCClientAPI(t)})
	lecturer.publish(ctx)
	waitFor(ctx, t, "media", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 20 && student.count(webrtc.RTPCodecTypeAudio) >= 20
	})
	offers := student.offerList()
	offer := offers[len(offers)-1]
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		has := func(key, sub string) bool {
			for _, a := range m.Attributes {
				if a.Key == key && strings.Contains(a.Value, sub) {
					return true
				}
			}
			return false
		}
		if !has("extmap", sdp.TransportCCURI) || !has("rtcp-fb", "transport-cc") {
			t.Errorf("%s section without transport-cc:\n%s", kind, offer)
		}
		if kind == "video" && (!has("rtpmap", "rtx/90000") || !has("fmtp", "apt=") || !has("ssrc-group", "FID")) {
			t.Errorf("video section without RTX:\n%s", offer)
		}
	}
	student.peer.subT.mu.Lock()
	defer student.peer.subT.mu.Unlock()
	for _, sub := range student.peer.downs {
		b := sub.down.bound.Load()
		if b == nil || b.twccID == 0 {
			t.Errorf("%s down-track: binding %+v without transport-cc", sub.down.kind, b)
			continue
		}
		if sub.down.kind == webrtc.RTPCodecTypeVideo && (b.rtxSSRC == 0 || b.rtxPT == 0) {
			t.Errorf("video down-track: binding %+v without RTX", b)
		}
	}
}

// TestCongestedSubscriber: one subscriber's downlink is a bottleneck (~500
// ms of queue), another's is unlimited; both receive the same three-layer
// simulcast (~90, ~250, ~730 kbit/s) and ~140 kbit/s of audio. The
// constrained one settles below the high layer, from TWCC feedback alone,
// and its video never stops for a second; the other keeps the high layer.
// Once the limit is lifted the constrained one climbs back to the high
// layer within 10 s (probes lift its estimate; the allocator climbs one
// layer per hold).
//
// At 400 kbit/s the middle layer and the audio together take ~410 kbit/s
// on the wire; the allocator sets the audio aside first, so the low layer
// is what fits. (Lower still, the low layer and this test's heavy audio
// fill the link, and video pauses before audio suffers: see
// TestVideoPausesBeforeAudioAndResumes.)
func TestCongestedSubscriber(t *testing.T) {
	for _, tc := range []struct {
		rate   int64
		queue  int
		layers string // layers it may settle on
	}{
		{400_000, 25_000, "q"},
	} {
		t.Run(fmt.Sprintf("%dkbps", tc.rate/1000), func(t *testing.T) {
			congestedSubscriber(t, netem.Impairment{RateBits: tc.rate, QueueBytes: tc.queue}, tc.layers)
		})
	}
}

func congestedSubscriber(t *testing.T, limited netem.Impairment, layers string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("cc-narrow")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitLayers(ctx, t, r, 3)
	time.Sleep(2 * time.Second) // let the layers' rates be measured

	free := joinWith(t, r, "free", false, clientOpts{api: newCCClientAPI(t)})
	rs := newRelayedSub(t)
	rs.down = limited
	narrow := joinWith(t, r, "narrow", false, rs.opts(newCCClientAPI(t)))
	relay := rs.get(ctx, t)

	waitFor(ctx, t, "video for both", func() bool {
		return free.count(webrtc.RTPCodecTypeVideo) >= 50 && narrow.count(webrtc.RTPCodecTypeVideo) >= 20
	})
	waitFor(ctx, t, "the narrow subscriber's estimate", func() bool { return narrow.peer.est.bps.Load() > 0 })
	waitFor(ctx, t, "the narrow subscriber below the high layer", func() bool {
		return strings.IndexByte(layers, lastRID(narrow)) >= 0
	})
	time.Sleep(3 * time.Second) // settle
	st0 := relay.Stats(netem.Down)
	gap, rids := watchVideo(ctx, narrow, 10*time.Second)
	st1 := relay.Stats(netem.Down)
	narrow.peer.cc.mu.Lock()
	b := &narrow.peer.cc.bwe
	t.Logf("under %d kbit/s for 10 s: layers %v, longest gap %v, estimate %.0f bit/s; relay in %d out %d queue-lost %d; probes %d, failed %d",
		limited.RateBits/1000, rids, gap, b.est, st1.In-st0.In, st1.Out-st0.Out, st1.LostQueue-st0.LostQueue, b.probes, b.probesFailed)
	narrow.peer.cc.mu.Unlock()
	n := 0
	for rid, k := range rids {
		if strings.IndexByte(layers, rid) < 0 {
			t.Errorf("constrained subscriber got %d packets of layer %c (want only %s)", k, rid, layers)
		}
		n += k
	}
	if n < 500 {
		t.Errorf("constrained subscriber got only %v in 10 s", rids)
	}
	if gap > time.Second {
		t.Errorf("constrained subscriber's video stopped for %v", gap)
	}
	fv := free.received(webrtc.RTPCodecTypeVideo)
	if got := ridsOf(fv[len(fv)-500:]); got['f'] != 500 {
		t.Errorf("unconstrained subscriber's last 500 packets: %v, want all f", got)
	}

	relay.Set(netem.Down, netem.Impairment{})
	lifted := time.Now()
	waitFor(ctx, t, "the narrow subscriber back on the high layer", func() bool {
		return lastRID(narrow) == 'f' || time.Since(lifted) > 20*time.Second
	})
	climb := time.Since(lifted)
	t.Logf("back on f %v after the limit was lifted; estimate %d bit/s", climb, narrow.peer.est.bps.Load())
	if climb > 10*time.Second {
		t.Errorf("climbed back in %v, want within 10 s", climb)
	}
}

// TestNACKRepairedOnRTX: with 5 % loss on the subscriber's path and RTX
// negotiated, NACKed video packets are resent on the RTX SSRC (the
// subscriber's pion unwraps them and marks them with the RTX SSRC), and
// none is resent on the media SSRC. They are written beneath pion's
// interceptors (rawWriters).
func TestNACKRepairedOnRTX(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("rtx")
	lecturer := join(t, r, "lecturer", true)
	rs := newRelayedSub(t)
	rs.down = netem.Impairment{Loss: 0.05, Delay: 20 * time.Millisecond}
	student := joinWith(t, r, "student", false, rs.opts(newCCClientAPI(t)))

	// Read the video track here to see the RTX attributes pion sets on
	// repaired packets.
	var mu sync.Mutex
	var viaRTX, dup int
	var rtxSSRC uint32
	seen := map[uint16]bool{}
	student.sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			student.onTrack(tr, nil)
			return
		}
		for {
			pkt, attr, err := tr.ReadRTP()
			if err != nil {
				return
			}
			mu.Lock()
			if ssrc, ok := attr.Get(webrtc.AttributeRtxSsrc).(uint32); ok {
				viaRTX++
				rtxSSRC = ssrc
			} else if seen[pkt.SequenceNumber] {
				dup++ // the same number again, not via RTX
			}
			seen[pkt.SequenceNumber] = true
			mu.Unlock()
			student.mu.Lock()
			student.rx[webrtc.RTPCodecTypeVideo] = append(student.rx[webrtc.RTPCodecTypeVideo], rxPacket{ssrc: pkt.SSRC, seq: pkt.SequenceNumber, payload: pkt.Payload})
			student.mu.Unlock()
		}
	})
	lecturer.publish(ctx)
	relay := rs.get(ctx, t)
	waitFor(ctx, t, "repairs on RTX", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return viaRTX >= 10
	})
	mu.Lock()
	defer mu.Unlock()
	var b *binding
	var raw *rawEntry
	student.peer.subT.mu.Lock()
	for _, sub := range student.peer.downs {
		if sub.down.kind == webrtc.RTPCodecTypeVideo {
			b = sub.down.bound.Load()
			raw = sub.down.raw.Load()
		}
	}
	student.peer.subT.mu.Unlock()
	// Written beneath the interceptors, so the sender reports stay the
	// media's own.
	if raw == nil || b == nil || raw.ssrc != b.ssrc {
		t.Errorf("RTX not written through the stream's SRTP writer (%+v)", raw)
	}
	t.Logf("%d packets repaired via RTX SSRC %d, %d resent on the media SSRC; NACKs served %d; relay %+v",
		viaRTX, rtxSSRC, dup, s.Stats().NACKsServed, relay.Stats(netem.Down))
	if b == nil || rtxSSRC != b.rtxSSRC {
		t.Errorf("repairs came on SSRC %d, the down-track's RTX SSRC is %+v", rtxSSRC, b)
	}
	if dup > 0 {
		t.Errorf("%d packets resent on the media SSRC", dup)
	}
}
