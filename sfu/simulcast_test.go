package sfu

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Simulcast tests: a pion publisher sends three VP8 encodings (RIDs q, h, f)
// of synthetic frames, one packet each, every tenth a keyframe. The payload
// says which layer and which input packet it is, so a subscriber can tell
// what the SFU chose for it.

var simRIDs = []string{"q", "h", "f"}

// simPayload is a VP8 payload: descriptor with S set and PID 0, then the
// payload header's first byte (P clear on a keyframe), then the layer's RID
// and the input sequence number.
func simPayload(rid byte, seq uint16, key bool) []byte {
	// Sizes give the layers distinct bitrates (~90, ~250, ~730 kbit/s at
	// 100 packets/s) for the allocator to choose from.
	size := map[byte]int{'q': 100, 'h': 300, 'f': 900}[rid]
	b := make([]byte, max(size, 100))
	b[0] = 0x10
	if !key {
		b[1] = 0x01
	}
	b[2] = rid
	binary.BigEndian.PutUint16(b[3:], seq)
	return b
}

func payloadKey(p []byte) bool { return len(p) > 1 && isVP8Keyframe(p) }

func payloadRID(p []byte) byte {
	if len(p) < 3 {
		return 0
	}
	return p[2]
}

// newSimulcastAPI is newClientAPI with the RID header extensions a
// simulcast sender needs.
func newSimulcastAPI(t testing.TB) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
}

// publishSimulcast makes c publish a VP8 track with the given RIDs and an
// Opus track, and starts sending every 10 ms on each.
func (c *testClient) publishSimulcast(ctx context.Context, rids []string) {
	t := c.t
	t.Helper()
	var err error
	c.pub, err = newSimulcastAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	layers := make([]*webrtc.TrackLocalStaticRTP, len(rids))
	for i, rid := range rids {
		layers[i], err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "lecture", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
	}
	c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "lecture")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.pub.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := vs.AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	as, err := c.pub.AddTrack(c.audio)
	if err != nil {
		t.Fatal(err)
	}
	c.offerPub(ctx, t, vs, as)
	c.stopSend = make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		// pion's TrackLocalStaticRTP does not add the MID and RID header
		// extensions the receiver needs to tell the encodings apart, so
		// this sender does, as browsers do.
		var midID, ridID uint8
		for _, e := range vs.GetParameters().HeaderExtensions {
			switch e.URI {
			case "urn:ietf:params:rtp-hdrext:sdes:mid":
				midID = uint8(e.ID)
			case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
				ridID = uint8(e.ID)
			}
		}
		var mid string
		for _, tr := range c.pub.GetTransceivers() {
			if tr.Sender() == vs {
				mid = tr.Mid()
			}
		}
		var n uint16
		for {
			select {
			case <-c.stopSend:
				return
			case <-c.done:
				return
			case <-tick.C:
			}
			n++
			for i, l := range layers {
				// Each layer has its own sequence space, timestamps and
				// keyframe phase, as separate encoders do.
				seq := n + uint16(i)*20000
				key := (int(n)+3*i)%10 == 0
				pkt := &rtp.Packet{
					Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(n)*900 + uint32(i)*1e6},
					Payload: simPayload(rids[i][0], seq, key),
				}
				if midID != 0 && ridID != 0 {
					_ = pkt.SetExtension(midID, []byte(mid))
					_ = pkt.SetExtension(ridID, []byte(rids[i]))
				}
				_ = l.WriteRTP(pkt)
			}
			_ = c.audio.WriteRTP(&rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: n, Timestamp: uint32(n) * 480},
				Payload: testPayload('a', n),
			})
		}
	}()
}

// checkContinuous checks that pkts (video as one subscriber received it)
// are numbered without gap or duplicate, that timestamps never go back,
// and that each change of layer starts on a keyframe. It returns the
// number of layer changes.
func checkContinuous(t *testing.T, name string, pkts []rxPacket) int {
	t.Helper()
	switches := 0
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.seq != a.seq+1 {
			t.Errorf("%s: seq %d follows %d", name, b.seq, a.seq)
		}
		if int32(b.ts-a.ts) < 0 {
			t.Errorf("%s: timestamp %d follows %d", name, b.ts, a.ts)
		}
		if payloadRID(b.payload) != payloadRID(a.payload) {
			switches++
			if !payloadKey(b.payload) {
				t.Errorf("%s: switch from %c to %c not on a keyframe", name, payloadRID(a.payload), payloadRID(b.payload))
			}
		}
	}
	return switches
}

// waitLayers waits until r's video track has n layers.
func waitLayers(ctx context.Context, t *testing.T, r *Room, n int) {
	t.Helper()
	waitFor(ctx, t, "simulcast layers", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, tr := range r.tracks {
			if tr.kind != webrtc.RTPCodecTypeVideo {
				continue
			}
			got := 0
			for i := range tr.layers {
				if tr.layers[i].Load() != nil {
					got++
				}
			}
			return got == n
		}
		return false
	})
}

func ridsOf(pkts []rxPacket) map[byte]int {
	m := map[byte]int{}
	for _, p := range pkts {
		m[payloadRID(p.payload)]++
	}
	return m
}

func TestSimulcastLayerSelection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("lecture-sim")

	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	// Encodings start one by one; with only h up yet, "low" would rightly
	// start on h. Subscribers join once all three are there.
	waitLayers(ctx, t, r, 3)
	low := joinWith(t, r, "low", false, clientOpts{pref: PreferLow})
	auto := join(t, r, "auto", false)
	climber := joinWith(t, r, "climber", false, clientOpts{pref: PreferLow})

	for _, c := range []*testClient{low, auto, climber} {
		waitFor(ctx, t, c.name+" media", func() bool {
			return c.count(webrtc.RTPCodecTypeVideo) >= 30 && c.count(webrtc.RTPCodecTypeAudio) >= 30
		})
	}
	// The climber asks for the best: it switches from q to f at a keyframe
	// of f, which the SFU asks for.
	climber.peer.SetVideoPreference(PreferAuto)
	waitFor(ctx, t, "climber on the high layer", func() bool {
		v := climber.received(webrtc.RTPCodecTypeVideo)
		return payloadRID(v[len(v)-1].payload) == 'f'
	})
	waitFor(ctx, t, "more media", func() bool {
		return low.count(webrtc.RTPCodecTypeVideo) >= 80 && auto.count(webrtc.RTPCodecTypeVideo) >= 80 &&
			climber.count(webrtc.RTPCodecTypeVideo) >= 80
	})

	if got := ridsOf(low.received(webrtc.RTPCodecTypeVideo)); len(got) != 1 || got['q'] == 0 {
		t.Errorf("low subscriber got layers %v, want only q", got)
	}
	av := auto.received(webrtc.RTPCodecTypeVideo)
	if got := payloadRID(av[len(av)-1].payload); got != 'f' {
		t.Errorf("auto subscriber ends on %c, want f", got)
	}
	lv := low.received(webrtc.RTPCodecTypeVideo)
	checkContinuous(t, "low", lv)
	checkContinuous(t, "auto", av)
	cv := climber.received(webrtc.RTPCodecTypeVideo)
	if n := checkContinuous(t, "climber", cv); n != 1 {
		t.Errorf("climber switched %d times, want 1", n)
	}
	if got := ridsOf(cv); got['q'] == 0 || got['f'] == 0 || got['h'] != 0 {
		t.Errorf("climber got layers %v, want q then f", got)
	}
	// One subscriber's choice is its own: the others still get one SSRC.
	for _, c := range []*testClient{low, auto, climber} {
		ssrcs := map[uint32]bool{}
		for _, p := range c.received(webrtc.RTPCodecTypeVideo) {
			ssrcs[p.ssrc] = true
		}
		if len(ssrcs) != 1 {
			t.Errorf("%s: video on %d SSRCs", c.name, len(ssrcs))
		}
	}
}

func TestAudioOnlyStopsVideo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("lecture-ao")

	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitFor(ctx, t, "media", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 30 && student.count(webrtc.RTPCodecTypeAudio) >= 30
	})

	student.peer.SetVideoPreference(PreferAudioOnly)
	time.Sleep(200 * time.Millisecond) // packets already on the wire
	video, audio := student.count(webrtc.RTPCodecTypeVideo), student.count(webrtc.RTPCodecTypeAudio)
	time.Sleep(time.Second)
	if got := student.count(webrtc.RTPCodecTypeVideo); got != video {
		t.Errorf("audio-only: %d video packets received after the switch", got-video)
	}
	if got := student.count(webrtc.RTPCodecTypeAudio); got < audio+50 {
		t.Errorf("audio-only: only %d audio packets in 1 s", got-audio)
	}

	// Back to video: it resumes on a keyframe, numbered on from where it
	// stopped.
	student.peer.SetVideoPreference(PreferAuto)
	waitFor(ctx, t, "video again", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= video+30 })
	v := student.received(webrtc.RTPCodecTypeVideo)
	if !payloadKey(v[video].payload) {
		t.Errorf("video resumed on a non-keyframe")
	}
	checkContinuous(t, "student", v)
}

// TestSimulcastMissingLayers: a publisher that sends only some RIDs (here
// q and f) still serves every preference.
func TestSimulcastMissingLayers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("lecture-missing")

	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, []string{"q", "f"})
	waitLayers(ctx, t, r, 2)
	low := joinWith(t, r, "low", false, clientOpts{pref: PreferLow})
	auto := join(t, r, "auto", false)
	for _, c := range []*testClient{low, auto} {
		waitFor(ctx, t, c.name+" media", func() bool { return c.count(webrtc.RTPCodecTypeVideo) >= 50 })
	}
	if got := ridsOf(low.received(webrtc.RTPCodecTypeVideo)); len(got) != 1 || got['q'] == 0 {
		t.Errorf("low subscriber got layers %v, want only q", got)
	}
	av := auto.received(webrtc.RTPCodecTypeVideo)
	if got := payloadRID(av[len(av)-1].payload); got != 'f' {
		t.Errorf("auto subscriber ends on %c, want f", got)
	}
}

// TestAutoFollowsREMB: an Auto subscriber whose REMB only allows the low
// layer next to the audio gets it, and climbs layer by layer once the
// estimate is raised.
func TestAutoFollowsREMB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("lecture-remb")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitLayers(ctx, t, r, 3)
	time.Sleep(2 * rateBucket * rateBuckets / 2) // let the layers' rates be measured
	student := join(t, r, "student", false)
	waitFor(ctx, t, "video track", func() bool {
		student.mu.Lock()
		defer student.mu.Unlock()
		return student.tracks[webrtc.RTPCodecTypeVideo] != nil
	})
	student.mu.Lock()
	ssrc := uint32(student.tracks[webrtc.RTPCodecTypeVideo].SSRC())
	student.mu.Unlock()
	var bitrate atomic.Uint64
	// Audio (~140 kbit/s here) is reserved first; what is left fits q
	// (~100 kbit/s) but not h (~260 kbit/s).
	audio, v := measuredRates(r)
	bitrate.Store(audio + (v[0]+v[1])/2)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = student.sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bitrate.Load()), SSRCs: []uint32{ssrc}}})
		}
	}()
	defer func() { close(stop); <-done }()

	last := func() byte {
		v := student.received(webrtc.RTPCodecTypeVideo)
		if len(v) == 0 {
			return 0
		}
		return payloadRID(v[len(v)-1].payload)
	}
	waitFor(ctx, t, "low layer under an estimate for q", func() bool { return last() == 'q' })
	time.Sleep(time.Second)
	if got := last(); got != 'q' {
		t.Fatalf("under an estimate for q: layer %c", got)
	}
	bitrate.Store(5e6)
	start := time.Now()
	waitFor(ctx, t, "high layer after the estimate rose", func() bool { return last() == 'f' })
	if d := time.Since(start); d < 2*upHold-time.Second || d > 10*time.Second {
		t.Errorf("climbed to f in %v, want about 2 × %v (one layer per hold)", d, upHold)
	}
	if got := ridsOf(student.received(webrtc.RTPCodecTypeVideo)); got['h'] == 0 {
		t.Errorf("climb skipped h: %v", got)
	}
	checkContinuous(t, "student", student.received(webrtc.RTPCodecTypeVideo))
}

// offerPub drains the RTCP of senders (so pion's interceptors see it) and
// offers c's pub connection to the SFU, trickling its candidates.
func (c *testClient) offerPub(ctx context.Context, t testing.TB, senders ...*webrtc.RTPSender) {
	t.Helper()
	for _, s := range senders {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	c.pub.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		init := ic.ToJSON()
		_ = c.peer.AddCandidate(TransportPub, &init)
	})
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := c.peer.HandleOffer(ctx, TransportPub, offer.SDP); err != nil {
		t.Fatalf("HandleOffer: %v", err)
	}
}
