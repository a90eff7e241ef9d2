package sfu

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestSpeakerDecide(t *testing.T) {
	a, b := &Peer{id: "a"}, &Peer{id: "b"}
	var s speakerState
	ms := int64(time.Millisecond)
	now := int64(0)
	step := func(la, lb float64) *Peer {
		now += int64(speakerInterval)
		return s.decide(map[*Peer]float64{a: la, b: lb}, now)
	}
	// Silence: nobody.
	if got := step(0, 0); got != nil {
		t.Fatalf("silence: %s", got.id)
	}
	// a speaks: a, once it has held for speakerHold.
	start := now
	for step(90, 0) != a {
		if now-start > int64(speakerHold)+int64(speakerInterval) {
			t.Fatal("a never became the speaker")
		}
	}
	if now-start < int64(speakerHold) {
		t.Errorf("speaker after %d ms, want ≥ %v", (now-start)/ms, speakerHold)
	}
	// b a little louder (within the margin): a stays.
	for range 10 {
		if got := step(90, 90+speakerMargin-1); got != a {
			t.Fatalf("b only slightly louder took over")
		}
	}
	// b clearly louder, but not for long: a stays.
	step(70, 100)
	step(70, 100)
	if got := step(90, 80); got != a {
		t.Fatalf("a brief interruption took over")
	}
	// b clearly louder for speakerHold: b.
	start = now
	for step(60, 100) != b {
		if now-start > int64(speakerHold)+int64(speakerInterval) {
			t.Fatal("b never took over")
		}
	}
	// b pauses briefly: stays b. Then silence for speakerSilence: nobody.
	if got := step(0, 0); got != b {
		t.Fatal("a pause ended the speaker at once")
	}
	start = now
	for step(0, 0) != nil {
		if now-start > int64(speakerSilence)+int64(speakerInterval) {
			t.Fatal("speaker kept through silence")
		}
	}
	if now-start < int64(speakerSilence)-int64(speakerInterval) {
		t.Errorf("silence after %d ms, want about %v", (now-start)/ms, speakerSilence)
	}
	// The speaker leaving ends it at once.
	for step(90, 0) != a {
	}
	now += int64(speakerInterval)
	if got := s.decide(map[*Peer]float64{b: 0}, now); got != nil {
		t.Errorf("speaker who left still speaker")
	}
}

// pubSpec describes what publishWith sends.
type pubSpec struct {
	// level, if set, makes every audio packet carry the audio level
	// extension with this byte (V bit << 7 | -dBov).
	level *atomic.Uint32
	// videoID is the id of a VP8 video track to send ("" for none), with
	// width × height in its keyframes (0: no frame header).
	videoID       string
	width, height int
	// unknownExt is a header extension the SFU does not know, offered and
	// put on every packet.
	unknownExt string
}

const unknownExtURI = "urn:example:params:rtp-hdrext:frame-marking-x"

// publishWith makes c publish an Opus track and, if asked, a VP8 track,
// with the header extensions of spec, and starts sending every 10 ms.
func (c *testClient) publishWith(ctx context.Context, spec pubSpec) {
	t := c.t
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if spec.level != nil {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if spec.unknownExt != "" {
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: spec.unknownExt}, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	var err error
	if c.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "stream"); err != nil {
		t.Fatal(err)
	}
	as, err := c.pub.AddTrack(c.audio)
	if err != nil {
		t.Fatal(err)
	}
	senders := []*webrtc.RTPSender{as}
	var vs *webrtc.RTPSender
	if spec.videoID != "" {
		if c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, spec.videoID, "stream"); err != nil {
			t.Fatal(err)
		}
		if vs, err = c.pub.AddTrack(c.video); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, vs)
	}
	c.offerPub(ctx, t, senders...)
	extID := func(s *webrtc.RTPSender, uri string) uint8 {
		for _, e := range s.GetParameters().HeaderExtensions {
			if e.URI == uri {
				return uint8(e.ID)
			}
		}
		if uri == spec.unknownExt {
			// Not negotiated (the SFU refused it): a misbehaving
			// publisher sends it anyway.
			return 14
		}
		return 0
	}
	c.stopSend = make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
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
			ap := &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: n, Timestamp: uint32(n) * 480},
				Payload: testPayload('a', n),
			}
			if spec.level != nil {
				if id := extID(as, audioLevelURI); id != 0 {
					_ = ap.SetExtension(id, []byte{byte(spec.level.Load())})
				}
			}
			if spec.unknownExt != "" {
				if id := extID(as, spec.unknownExt); id != 0 {
					_ = ap.SetExtension(id, []byte{1, 2})
				}
			}
			_ = c.audio.WriteRTP(ap)
			if vs == nil {
				continue
			}
			key := n%10 == 1
			vp := &rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: n, Timestamp: uint32(n) * 900},
				Payload: simPayload('h', n, key),
			}
			if key && spec.width > 0 {
				vp8KeyframeHeader(vp.Payload[1:], spec.width, spec.height)
			}
			if spec.unknownExt != "" {
				if id := extID(vs, spec.unknownExt); id != 0 {
					_ = vp.SetExtension(id, []byte{3})
				}
			}
			_ = c.video.WriteRTP(vp)
		}
	}()
}

// speakerLog records a peer's OnActiveSpeaker calls.
type speakerLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *speakerLog) opts() clientOpts {
	return clientOpts{peer: func(o *PeerOptions) {
		o.OnActiveSpeaker = func(id string) {
			l.mu.Lock()
			l.ids = append(l.ids, id)
			l.mu.Unlock()
		}
	}}
}

func (l *speakerLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids)
}

func (l *speakerLog) last() (string, bool) {
	ids := l.get()
	if len(ids) == 0 {
		return "", false
	}
	return ids[len(ids)-1], true
}

const (
	loud  = 0x80 | 30 // voiced, -30 dBov
	quiet = 127       // silence, no voice
)

// TestActiveSpeaker: two publishers send audio levels; every peer of the
// room is told who speaks, on change only, and "" after silence.
func TestActiveSpeaker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("speaker")
	var lvLecturer, lvStudent atomic.Uint32
	lvLecturer.Store(quiet)
	lvStudent.Store(quiet)
	var logL, logS, logO speakerLog
	lecturer := joinWith(t, r, "lecturer", true, logL.opts())
	student := joinWith(t, r, "student", true, logS.opts())
	observer := joinWith(t, r, "observer", false, logO.opts())
	lecturer.publishWith(ctx, pubSpec{level: &lvLecturer})
	student.publishWith(ctx, pubSpec{level: &lvStudent})
	waitFor(ctx, t, "audio at the observer", func() bool { return observer.count(webrtc.RTPCodecTypeAudio) >= 100 })
	if _, ok := logO.last(); ok {
		t.Errorf("speaker reported during silence: %v", logO.get())
	}

	lvLecturer.Store(loud)
	start := time.Now()
	waitFor(ctx, t, "lecturer speaking", func() bool { id, _ := logO.last(); return id == "lecturer" })
	if d := time.Since(start); d < speakerHold-speakerInterval {
		t.Errorf("lecturer named after %v, before the hold", d)
	}
	// The student talking a little, more quietly, changes nothing.
	lvStudent.Store(0x80 | 50)
	time.Sleep(2 * time.Second)
	if id, _ := logO.last(); id != "lecturer" {
		t.Fatalf("quieter student took over: %v", logO.get())
	}
	// The student clearly louder, the lecturer silent: the student.
	lvStudent.Store(0x80 | 20)
	lvLecturer.Store(quiet)
	waitFor(ctx, t, "student speaking", func() bool { id, _ := logO.last(); return id == "student" })
	// Everyone silent: nobody, after the silence hold.
	lvStudent.Store(quiet)
	waitFor(ctx, t, "silence", func() bool { id, _ := logO.last(); return id == "" && len(logO.get()) == 3 })

	want := []string{"lecturer", "student", ""}
	for _, l := range []*speakerLog{&logL, &logS, &logO} {
		if got := l.get(); !slices.Equal(got, want) {
			t.Errorf("reported %q, want %q", got, want)
		}
	}
	// A late joiner is told the current speaker.
	lvLecturer.Store(loud)
	waitFor(ctx, t, "lecturer again", func() bool { id, _ := logO.last(); return id == "lecturer" })
	var logLate speakerLog
	joinWith(t, r, "late", false, logLate.opts())
	waitFor(ctx, t, "late joiner told", func() bool { id, _ := logLate.last(); return id == "lecturer" })
	if got := r.speaker.Load(); got == nil || got.id != "lecturer" {
		t.Errorf("room speaker for the allocator: %v", got)
	}
}

// BenchmarkHandlePacketAudioLevel is an audio packet's whole path with
// the audio level extension read on the way.
func BenchmarkHandlePacketAudioLevel(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			l := benchAudioTrack(n)
			pkt := audioPacket(b, func(h *rtp.Header) {
				h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
				_ = h.SetExtension(3, []byte{1, 2, 3}) // e.g. abs-send-time
				_ = h.SetExtension(1, []byte{0x80 | 30})
			})
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt) * n))
			var seq uint16
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				l.handlePacket(pkt, int64(seq)*int64(20*time.Millisecond))
			}
		})
	}
}

// benchAudioTrack is an Opus pubTrack whose audio level extension has id 1,
// fanning out to n bound down-tracks.
func benchAudioTrack(n int) *layer {
	t := &pubTrack{
		id: "audio", streamID: "lecturer", kind: webrtc.RTPCodecTypeAudio,
		codec:    webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}},
		st:       &counters{},
		done:     make(chan struct{}),
		levelExt: 1,
	}
	l := newLayer(t, 0, nil, nil)
	t.layers[0].Store(l)
	downs := make([]*downTrack, n)
	for i := range downs {
		d := newDownTrack(t)
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 111, w: &discardWriter{}})
		downs[i] = d
	}
	t.downs.Store(&downs)
	return l
}

func TestAudioLevelPathAllocatesNothing(t *testing.T) {
	l := benchAudioTrack(10)
	pkt := audioPacket(t, func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		_ = h.SetExtension(1, []byte{0x80 | 27})
	})
	l.handlePacket(pkt, 1)
	if n := testing.AllocsPerRun(1000, func() { l.handlePacket(pkt, 2) }); n != 0 {
		t.Errorf("audio packet with level: %.1f allocations", n)
	}
	if got := l.level.take(); got != 100 {
		t.Errorf("level read on the path: %v, want 100", got)
	}
}

// The detector starts with the first track that has levels and ends when
// the room empties, or when it closes (CloseRoom waits for it).
func TestSpeakerDetectorLifetime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	running := func(r *Room) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.speakerRunning
	}
	var lv atomic.Uint32
	lv.Store(loud)

	r := s.Room("lifetime")
	lecturer := join(t, r, "lecturer", true)
	if running(r) {
		t.Fatal("detector running before any track")
	}
	lecturer.publishWith(ctx, pubSpec{level: &lv})
	waitFor(ctx, t, "detector running", func() bool { return running(r) })
	waitFor(ctx, t, "speaker", func() bool { return r.speaker.Load() != nil })
	lecturer.leave()
	waitFor(ctx, t, "detector ended with the last peer", func() bool { return !running(r) })
	if r.speaker.Load() != nil {
		t.Error("speaker kept in an empty room")
	}

	r2 := s.Room("closing")
	lecturer2 := join(t, r2, "lecturer", true)
	lecturer2.publishWith(ctx, pubSpec{level: &lv})
	waitFor(ctx, t, "detector running", func() bool { return running(r2) })
	s.CloseRoom("closing")
	done := make(chan struct{})
	go func() {
		r2.speakerWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("detector still running after CloseRoom")
	}
}
