package sfu

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func (r *Room) videoTrack() *pubTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tracks {
		if t.kind == webrtc.RTPCodecTypeVideo {
			return t
		}
	}
	return nil
}

func remoteStreamID(c *testClient, kind webrtc.RTPCodecType) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tr := c.tracks[kind]; tr != nil {
		return tr.StreamID()
	}
	return ""
}

// A track declared as screen before the offer is seen by subscribers in
// the stream "<publisher>~screen"; the microphone keeps the publisher's id.
// Declared differently later, only its priority changes. The layer's
// resolution is learned from the publisher's keyframes.
func TestScreenTrackSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("slides")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	if err := lecturer.peer.SetTrackSource("slides", SourceScreen); err != nil {
		t.Fatal(err)
	}
	lecturer.publishWith(ctx, pubSpec{videoID: "slides", width: 1920, height: 1080})
	waitFor(ctx, t, "media", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 30 && student.count(webrtc.RTPCodecTypeAudio) >= 30
	})
	if got := remoteStreamID(student, webrtc.RTPCodecTypeVideo); got != "lecturer"+ScreenStreamSuffix {
		t.Errorf("screen track in stream %q", got)
	}
	if got := remoteStreamID(student, webrtc.RTPCodecTypeAudio); got != "lecturer" {
		t.Errorf("microphone in stream %q", got)
	}
	tr := r.videoTrack()
	if got := Source(tr.source.Load()); got != SourceScreen {
		t.Errorf("source %v", got)
	}
	waitFor(ctx, t, "resolution learned", func() bool { return tr.layer(0).res.Load() == 1920<<16|1080 })

	// Re-declared as a camera: priority only.
	if err := lecturer.peer.SetTrackSource("slides", SourceCamera); err != nil {
		t.Fatal(err)
	}
	if got := Source(tr.source.Load()); got != SourceCamera {
		t.Errorf("source after re-declaring: %v", got)
	}
	if tr.streamID != "lecturer"+ScreenStreamSuffix {
		t.Errorf("stream id changed to %q", tr.streamID)
	}
	// Undeclared tracks are cameras and microphones.
	r.mu.Lock()
	for _, x := range r.tracks {
		if x.kind == webrtc.RTPCodecTypeAudio && Source(x.source.Load()) != SourceMicrophone {
			t.Errorf("audio track source %v", Source(x.source.Load()))
		}
	}
	r.mu.Unlock()
}

// SetDisplaySize moves a subscriber to the smallest layer that covers what
// it shows, and back up when it shows the track large again.
func TestDisplaySizeWithPion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("display")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitLayers(ctx, t, r, 3)
	// The test publisher's frames carry no VP8 frame header: give the
	// layers the sizes a browser's keyframes would have told.
	tr := r.videoTrack()
	for i, res := range []uint32{320<<16 | 180, 640<<16 | 360, 1280<<16 | 720} {
		tr.layer(int32(i)).res.Store(res)
	}
	student := join(t, r, "student", false)
	waitFor(ctx, t, "student on f", func() bool { return student.count(webrtc.RTPCodecTypeVideo) >= 30 && lastRID(student) == 'f' })

	student.peer.SetDisplaySize(tr.streamID, tr.id, 300, 170)
	waitFor(ctx, t, "thumbnail on q", func() bool { return lastRID(student) == 'q' })
	student.peer.SetDisplaySize(tr.streamID, tr.id, 700, 394)
	waitFor(ctx, t, "medium on h", func() bool { return lastRID(student) == 'h' })
	student.peer.SetDisplaySize(tr.streamID, tr.id, 0, 0)
	waitFor(ctx, t, "unknown size on f", func() bool { return lastRID(student) == 'f' })
	checkContinuous(t, "student", student.received(webrtc.RTPCodecTypeVideo))
	// Showing the picture smaller than asked for is the user's choice, not
	// a weak link.
	if got := student.peer.Quality(); got != QualityGood {
		t.Errorf("quality %v", got)
	}
}

func TestSetTrackSourceErrors(t *testing.T) {
	s := newTestSFU(t, 0)
	r := s.Room("sources")
	student := join(t, r, "student", false)
	if err := student.peer.SetTrackSource("cam", SourceCamera); !errors.Is(err, ErrNoPublish) {
		t.Errorf("non-publisher: %v, want ErrNoPublish", err)
	}
	lecturer := join(t, r, "lecturer", true)
	if err := lecturer.peer.SetTrackSource("cam", Source(42)); err == nil {
		t.Error("unknown source accepted")
	}
	for i := range maxDeclaredSources {
		if err := lecturer.peer.SetTrackSource(string(rune('a'+i%26))+string(rune('a'+i/26)), SourceCamera); err != nil {
			t.Fatalf("source %d: %v", i, err)
		}
	}
	if err := lecturer.peer.SetTrackSource("one-too-many", SourceCamera); err == nil {
		t.Error("unbounded declarations")
	}
	if err := lecturer.peer.SetTrackSource("aa", SourceScreen); err != nil {
		t.Errorf("re-declaring a known track: %v", err)
	}
	if _, err := ParseSource("slides"); err == nil {
		t.Error("ParseSource accepted an unknown name")
	}
}

// videoByStream counts the video packets c received per stream id.
func videoByStream(c *testClient) map[string]int {
	streams := map[uint32]string{}
	for _, r := range c.sub.GetReceivers() {
		if tr := r.Track(); tr != nil && tr.Kind() == webrtc.RTPCodecTypeVideo {
			streams[uint32(tr.SSRC())] = tr.StreamID()
		}
	}
	got := map[string]int{}
	for _, p := range c.received(webrtc.RTPCodecTypeVideo) {
		got[streams[p.trackSSR]]++
	}
	return got
}

// With room for only one camera next to the audio, a subscriber gets the
// presenter's camera, though the other publisher's id sorts first; when
// that publisher's track is re-declared as slides, the slides win.
func TestPresenterAndSlidesFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("priority")
	lecturer := joinWith(t, r, "lecturer", true, clientOpts{peer: func(o *PeerOptions) { o.Presenter = true }})
	student := join(t, r, "aaa-student", true)
	lecturer.publishWith(ctx, pubSpec{videoID: "cam"})
	student.publishWith(ctx, pubSpec{videoID: "cam"})
	waitFor(ctx, t, "four tracks", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.tracks) == 4
	})
	time.Sleep(rateBucket * rateBuckets) // let the rates be measured
	viewer := join(t, r, "viewer", false)
	// Room for the audio and one camera and a half.
	defer sendREMB(ctx, t, viewer, func() float32 {
		audio, v := measuredRates(r)
		return float32(audio + v[0]*3/2)
	})()

	var before map[string]int
	waitFor(ctx, t, "the presenter's camera", func() bool {
		before = videoByStream(viewer)
		return before["lecturer"] >= 100
	})
	// A camera that stops fitting keeps its lowest layer for pauseHold
	// before it pauses.
	time.Sleep(pauseHold + 500*time.Millisecond)
	before = videoByStream(viewer)
	time.Sleep(upHold + time.Second)
	after := videoByStream(viewer)
	if n := after["aaa-student"] - before["aaa-student"]; n > 0 {
		t.Errorf("the other camera got %d packets with room for one", n)
	}
	waitFor(ctx, t, "weak quality", func() bool { return viewer.peer.Quality() == QualityWeak })

	if err := student.peer.SetTrackSource("cam", SourceScreen); err != nil {
		t.Fatal(err)
	}
	declared := videoByStream(viewer)["aaa-student"]
	waitFor(ctx, t, "the slides", func() bool { return videoByStream(viewer)["aaa-student"] >= declared+100 })
	time.Sleep(pauseHold + 500*time.Millisecond)
	mid := videoByStream(viewer)
	time.Sleep(time.Second)
	if n := videoByStream(viewer)["lecturer"] - mid["lecturer"]; n > 0 {
		t.Errorf("the presenter's camera still got %d packets after the slides took its place", n)
	}
}
