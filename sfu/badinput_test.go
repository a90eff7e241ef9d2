package sfu

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// rawRTCP is an rtcp.Packet that marshals to arbitrary bytes: how a test
// client sends malformed RTCP (encrypted like any other, so it reaches the
// SFU's RTCP path).
type rawRTCP []byte

func (r rawRTCP) Marshal() ([]byte, error)  { return r, nil }
func (r rawRTCP) Unmarshal([]byte) error    { return nil }
func (r rawRTCP) MarshalSize() int          { return len(r) }
func (r rawRTCP) DestinationSSRC() []uint32 { return nil }

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func trackSSRC(c *testClient, kind webrtc.RTPCodecType) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint32(c.tracks[kind].SSRC())
}

// A subscriber NACKing every cached packet over and over gets at most its
// retransmission budget, and another subscriber of the same track keeps
// receiving at the normal rate.
func TestNACKStormIsCapped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("storm")
	lecturer := join(t, r, "lecturer", true)
	stormer := join(t, r, "stormer", false)
	victim := join(t, r, "victim", false)
	lecturer.publish(ctx)
	for _, c := range []*testClient{stormer, victim} {
		waitFor(ctx, t, c.name+" media", func() bool { return c.count(webrtc.RTPCodecTypeVideo) >= 20 })
	}
	media := trackSSRC(stormer, webrtc.RTPCodecTypeVideo)

	const stormFor = 2 * time.Second
	st0 := s.Stats()
	v0 := victim.count(webrtc.RTPCodecTypeVideo)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seqs := make([]uint16, videoCacheSize)
		for time.Since(start) < stormFor {
			last := maxSeq(stormer.received(webrtc.RTPCodecTypeVideo))
			for i := range seqs {
				seqs[i] = last - uint16(len(seqs)-1-i) // ascending
			}
			_ = stormer.sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
				MediaSSRC: media,
				Nacks:     rtcp.NackPairsFromSequenceNumbers(seqs),
			}})
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	// Let the last retransmissions and the victim's packets land.
	time.Sleep(200 * time.Millisecond)
	st := s.Stats()
	during := victim.received(webrtc.RTPCodecTypeVideo)[v0:]
	got := len(during)
	served := st.NACKsServed - st0.NACKsServed
	dropped := st.NACKsDropped - st0.NACKsDropped
	// The smallest packet the test publishes is a 12-byte header and a
	// 160-byte payload: the budget in packets is at most this.
	const minPacket = 172
	capPkts := uint64((nackBurstBytes + (elapsed+300*time.Millisecond).Seconds()*nackRateBytes) / minPacket)
	// The victim must lose nothing: every sequence number between the first
	// and the last it received during the storm arrives. (Counting packets
	// against wall time would measure how fast a loaded test machine runs
	// the publisher, not whether the storm hurt the victim.)
	want := 0
	if got > 0 {
		want = int(uint16(maxSeq(during)-minSeq(during))) + 1
	}
	unique := map[uint16]bool{}
	for _, p := range during {
		unique[p.seq] = true
	}
	t.Logf("storm %v: served %d (cap %d), dropped %d; victim %d video packets, %d distinct of %d sent", elapsed, served, capPkts, dropped, got, len(unique), want)
	if served > capPkts {
		t.Errorf("served %d retransmissions, cap %d", served, capPkts)
	}
	if dropped == 0 {
		t.Error("no NACK was refused during the storm")
	}
	if want < 50 || len(unique) < want*98/100 {
		t.Errorf("victim received %d distinct video packets of %d sent during the storm", len(unique), want)
	}
	checkMedia(t, victim, webrtc.RTPCodecTypeVideo, 20, lecturer.videoSSRC)
}

// Malformed RTCP from a subscriber is skipped: the subscriber keeps
// receiving and its next valid NACK is still answered.
func TestGarbageRTCPIgnored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("garbage")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	lecturer.publish(ctx)
	waitFor(ctx, t, "media", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= 20 })
	media := trackSSRC(student, webrtc.RTPCodecTypeVideo)
	sender := be32(1)
	cat := func(parts ...[]byte) rawRTCP {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	garbage := []rawRTCP{
		// NACK whose length claims more FCI than there is.
		cat([]byte{0x81, 205, 0x00, 0x09}, sender, be32(media), []byte{0, 1}),
		// PLI with a payload-specific FMT that does not exist.
		cat([]byte{0x9f, 206, 0x00, 0x02}, sender, be32(media)),
		// Receiver report claiming 31 blocks with none.
		cat([]byte{0x9f, 201, 0x00, 0x01}, sender),
		// Transport-wide CC feedback, addressed to the track, with a body
		// too short to parse: it reaches the SFU's RTCP reader.
		cat([]byte{0x8f, 205, 0x00, 0x03}, sender, be32(media), []byte("junk")),
		// A valid NACK header followed by an unparseable packet.
		cat([]byte{0x81, 205, 0x00, 0x03}, sender, be32(media), []byte{0, 0, 0, 0}, []byte{0x80, 0, 0xff, 0xff}),
	}
	// The client's SRTCP layer refuses some forms itself; what it lets
	// through reaches the SFU.
	sent := 0
	for range 50 {
		for i, g := range garbage {
			if err := student.sub.WriteRTCP([]rtcp.Packet{g}); err != nil {
				t.Logf("garbage %d not sendable: %v", i, err)
				continue
			}
			sent++
		}
	}
	if sent < 100 {
		t.Fatalf("only %d garbage packets could be sent", sent)
	}
	n0 := student.count(webrtc.RTPCodecTypeVideo)
	waitFor(ctx, t, "media after garbage", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= n0+50 })

	// RTCP handling goes on: a real NACK is answered.
	served0 := s.Stats().NACKsServed
	seq := maxSeq(student.received(webrtc.RTPCodecTypeVideo)) - 5
	if err := student.sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: media, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{seq}),
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "NACK answered after garbage", func() bool { return s.Stats().NACKsServed > served0 })
	if n := s.Stats().RTCPErrors; n == 0 {
		t.Error("no malformed RTCP reached the SFU's RTCP handling: the test proves nothing")
	} else {
		t.Logf("%d malformed RTCP reads skipped", n)
	}
	checkMedia(t, student, webrtc.RTPCodecTypeVideo, 70, lecturer.videoSSRC)
	noSignalErrors(t, lecturer, student)
}

// A publisher offering only codecs the SFU cannot forward is told so at
// once; one with at least one usable codec is answered.
func TestUnsupportedCodecsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("codecs")
	lecturer := join(t, r, "lecturer", true)

	pc, err := lecturer.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	// The lecturer's signal loop applies the SFU's answer to c.pub.
	lecturer.pub = pc
	// Rename every codec to one nobody supports.
	unsupported := offer.SDP
	for _, c := range []string{"opus", "G722", "PCMU", "PCMA", "VP8", "VP9", "H264", "H265", "AV1", "rtx"} {
		unsupported = strings.ReplaceAll(unsupported, " "+c+"/", " X-"+c+"/")
	}
	start := time.Now()
	err = lecturer.peer.HandleOffer(ctx, TransportPub, unsupported)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("HandleOffer with unsupported codecs: %v, want ErrUnsupported", err)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)

	// Audio usable, video not: accepted, video rejected by the answer.
	partly := offer.SDP
	for _, c := range []string{"VP8", "VP9", "H264", "H265", "AV1", "rtx"} {
		partly = strings.ReplaceAll(partly, " "+c+"/", " X-"+c+"/")
	}
	if err := lecturer.peer.HandleOffer(ctx, TransportPub, partly); err != nil {
		t.Fatalf("HandleOffer with usable audio: %v", err)
	}
}

func minSeq(pkts []rxPacket) uint16 {
	var m uint16
	for i, p := range pkts {
		if i == 0 || int16(p.seq-m) < 0 {
			m = p.seq
		}
	}
	return m
}

// A publisher whose simulcast has only the middle layer: every subscriber
// still gets video, from the layer that exists.
func TestSimulcastOnlyMiddleLayer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("only-h")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, []string{"h"})
	waitLayers(ctx, t, r, 1)
	low := joinWith(t, r, "low", false, clientOpts{pref: PreferLow})
	auto := join(t, r, "auto", false)
	for _, c := range []*testClient{low, auto} {
		waitFor(ctx, t, c.name+" media", func() bool { return c.count(webrtc.RTPCodecTypeVideo) >= 50 })
		if got := ridsOf(c.received(webrtc.RTPCodecTypeVideo)); len(got) != 1 || got['h'] == 0 {
			t.Errorf("%s got layers %v, want only h", c.name, got)
		}
		checkContinuous(t, c.name, c.received(webrtc.RTPCodecTypeVideo))
	}
}

// With only q and f, an estimate between them gives q: auto picks among
// the layers that exist.
func TestSimulcastGapUnderEstimate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("gap")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, []string{"q", "f"})
	waitLayers(ctx, t, r, 2)
	time.Sleep(rateBucket * rateBuckets) // let the layers' rates be measured
	student := join(t, r, "student", false)
	// Audio and q fit, audio and f do not.
	defer sendREMB(ctx, t, student, func() float32 {
		audio, v := measuredRates(r)
		return float32(audio + (v[0]+v[2])/2)
	})()
	waitFor(ctx, t, "q", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= 30 && lastRID(student) == 'q' })
	n := student.count(webrtc.RTPCodecTypeVideo)
	time.Sleep(upHold + time.Second)
	if got := ridsOf(student.received(webrtc.RTPCodecTypeVideo)[n:]); len(got) != 1 || got['q'] == 0 {
		t.Errorf("with room for q, not f: %v, want q", got)
	}
}

// A publisher offering header extensions the SFU does not know (and
// putting them on every packet): they are not negotiated, not forwarded,
// and media flows.
func TestUnknownHeaderExtensionIgnored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("ext")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	lecturer.publishWith(ctx, pubSpec{videoID: "cam", unknownExt: unknownExtURI})
	waitFor(ctx, t, "media", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 50 && student.count(webrtc.RTPCodecTypeAudio) >= 50
	})
	if strings.Contains(lecturer.pub.RemoteDescription().SDP, unknownExtURI) {
		t.Error("the SFU's answer accepted the unknown extension")
	}
	for _, p := range student.received(webrtc.RTPCodecTypeAudio)[:50] {
		if p.payload[0] != 'a' {
			t.Fatalf("audio payload damaged: %x", p.payload[:4])
		}
	}
}

// Without the audio level extension there is no speaker, and nothing
// breaks.
func TestNoAudioLevelNoSpeaker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("no-levels")
	var logS speakerLog
	lecturer := join(t, r, "lecturer", true)
	student := joinWith(t, r, "student", false, logS.opts())
	lecturer.publish(ctx)
	waitFor(ctx, t, "audio", func() bool { return student.count(webrtc.RTPCodecTypeAudio) >= 100 })
	time.Sleep(speakerHold + 2*speakerInterval)
	if ids := logS.get(); len(ids) != 0 {
		t.Errorf("speakers reported without levels: %q", ids)
	}
	r.mu.Lock()
	running := r.speakerRunning
	r.mu.Unlock()
	if running {
		t.Error("speaker detector running with no levels to read")
	}
}

// Absurd display sizes and ids the subscriber does not receive change
// nothing harmful: video keeps flowing, on some layer.
func TestSetDisplaySizeBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("display-bad")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitLayers(ctx, t, r, 3)
	student := join(t, r, "student", false)
	waitFor(ctx, t, "video", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= 30 })
	tr := r.videoTrack()
	for _, c := range []struct {
		stream, track string
		w, h          int
	}{
		{tr.streamID, tr.id, -1, -1},
		{tr.streamID, tr.id, 1 << 62, 1 << 62},
		{tr.streamID, tr.id, -1 << 62, 5},
		{tr.streamID, tr.id, 0, 1},
		{"nobody", tr.id, 10, 10},
		{tr.streamID, "nothing", 10, 10},
		{"", "", 0, 0},
		{tr.streamID, "audio", 10, 10}, // an audio track: no layers to cap
	} {
		student.peer.SetDisplaySize(c.stream, c.track, c.w, c.h)
	}
	n := student.count(webrtc.RTPCodecTypeVideo)
	waitFor(ctx, t, "video after bad sizes", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= n+50 })
	checkContinuous(t, "student", student.received(webrtc.RTPCodecTypeVideo))
}
