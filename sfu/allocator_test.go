package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Unit tests of the allocation order, without pion: tracks whose layers
// have measured rates, down-tracks of one subscriber, and allocate run at
// chosen times.

// allocNow is a time far enough from zero for the rate meters' windows.
const allocNow = int64(1000 * time.Second)

// fillRate makes l's meter read bps at now, and l fresh.
func fillRate(l *layer, bps uint64, now int64) {
	b := int64(rateBucket)
	for e := now/b - (rateBuckets - 1); e < now/b; e++ {
		s := e % rateBuckets
		l.rate.bytes[s].Store(bps * uint64(rateBucket) / uint64(time.Second) / 8)
		l.rate.epoch[s].Store(e)
	}
	l.lastAt.Store(now)
}

// rig remembers the rates of fake tracks' layers, to measure them again
// at a later time.
type rig map[*layer]uint64

// at runs p's allocation at now, with every layer's rate as it was given.
func (r rig) at(p *Peer, now int64) {
	for l, bps := range r {
		fillRate(l, bps, now)
	}
	p.allocate(now)
}

func (r rig) track(pub *Peer, id string, kind webrtc.RTPCodecType, src Source, rates []uint64, res ...uint32) *pubTrack {
	t := fakeTrack(pub, id, kind, src, rates, res...)
	for i := range rates {
		r[t.layer(int32(i))] = rates[i]
	}
	return t
}

// fakeTrack is a track of pub with one layer per rate (res[i] its
// resolution, if given).
func fakeTrack(pub *Peer, id string, kind webrtc.RTPCodecType, src Source, rates []uint64, res ...uint32) *pubTrack {
	t := &pubTrack{
		id: id, streamID: pub.id, kind: kind,
		codec:     webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		codecKind: codecVP8,
		st:        &counters{},
		done:      make(chan struct{}),
	}
	if kind == webrtc.RTPCodecTypeAudio {
		t.codec.MimeType, t.codec.ClockRate, t.codecKind = webrtc.MimeTypeOpus, 48000, codecOther
	}
	t.source.Store(int32(src))
	for i, r := range rates {
		l := newLayer(t, i, nil, nil) // t.pub still nil: no keyframer
		fillRate(l, r, allocNow)
		if i < len(res) {
			l.res.Store(res[i])
		}
		t.layers[i].Store(l)
	}
	t.pub = pub
	empty := []*downTrack{}
	t.downs.Store(&empty)
	return t
}

// fakeSubscriber is a subscriber receiving ts, with no room or site.
func fakeSubscriber(ts ...*pubTrack) (*Peer, map[*pubTrack]*downTrack) {
	p := &Peer{id: "student", notify: newNotifier(PeerOptions{}), downs: map[*pubTrack]*subscription{}, allocKick: make(chan struct{}, 1)}
	ds := map[*pubTrack]*downTrack{}
	for _, t := range ts {
		d := newDownTrack(t)
		d.est = &p.est
		p.downs[t] = &subscription{down: d}
		ds[t] = d
	}
	return p, ds
}

var camRates = []uint64{150e3, 500e3, 1500e3}

func TestAllocationOrder(t *testing.T) {
	lecturer := &Peer{id: "lecturer", presenter: true}
	// "aaa" sorts before "lecturer": the order must come from the
	// classes, not from the ids.
	student := &Peer{id: "aaa"}
	r := rig{}
	micL := r.track(lecturer, "mic", webrtc.RTPCodecTypeAudio, SourceMicrophone, []uint64{40e3})
	micS := r.track(student, "mic", webrtc.RTPCodecTypeAudio, SourceMicrophone, []uint64{40e3})
	screen := r.track(lecturer, "screen", webrtc.RTPCodecTypeVideo, SourceScreen, []uint64{100e3, 300e3, 900e3})
	camL := r.track(lecturer, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, camRates)
	camS := r.track(student, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, camRates)

	cases := []struct {
		name               string
		bps                uint64
		screen, camL, camS int32
		quality            Quality
	}{
		// Audio (80k) is taken first; then each video track's lowest
		// layer in order; then better layers in the same order.
		{"audio only fits", 150e3, noLayer, noLayer, noLayer, QualityAudioOnly},
		{"less than audio", 30e3, noLayer, noLayer, noLayer, QualityAudioOnly},
		{"slides low", 80e3 + 100e3 + 50e3, 0, noLayer, noLayer, QualityWeak},
		{"slides and lecturer low", 80e3 + 100e3 + 150e3 + 100e3, 0, 0, noLayer, QualityWeak},
		{"everyone low", 80e3 + 100e3 + 150e3 + 150e3, 0, 0, 0, QualityWeak},
		// Slides climb first, but not at the price of a camera's q.
		{"slides mid before lecturer mid", 80e3 + 300e3 + 150e3 + 150e3 + 300e3, 1, 0, 0, QualityWeak},
		{"slides high, others low", 80e3 + 900e3 + 150e3 + 150e3, 2, 0, 0, QualityWeak},
		{"slides high, lecturer mid", 80e3 + 900e3 + 500e3 + 150e3, 2, 1, 0, QualityWeak},
		{"all high", 80e3 + 900e3 + 1500e3 + 1500e3, 2, 2, 2, QualityGood},
		{"no estimate", 0, 2, 2, 2, QualityGood},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ds := fakeSubscriber(micL, micS, screen, camL, camS)
			p.est.bps.Store(c.bps)
			r.at(p, allocNow)
			for _, x := range []struct {
				name string
				tr   *pubTrack
				want int32
			}{{"screen", screen, c.screen}, {"lecturer camera", camL, c.camL}, {"student camera", camS, c.camS}} {
				if got := ds[x.tr].fw.target.Load(); got != x.want {
					t.Errorf("%s: layer %d, want %d", x.name, got, x.want)
				}
			}
			// Audio is reported at once when it is audio-only; the
			// others need qualityHold.
			r.at(p, allocNow+int64(time.Second))
			r.at(p, allocNow+int64(qualityHold))
			if got := p.Quality(); got != c.quality {
				t.Errorf("quality %v, want %v", got, c.quality)
			}
			// What the allocator would send with no limit: all audio
			// and every best layer, with the climbing margin.
			want := uint64(80e3 + float64(900e3+1500e3+1500e3)*upMargin)
			if got := p.est.want.Load(); !near(got, want) {
				t.Errorf("want %d, expected about %d", got, want)
			}
		})
	}
}

func near(a, b uint64) bool {
	d := float64(a) - float64(b)
	return d < 0.02*float64(b) && -d < 0.02*float64(b)
}

// The speaker's audio is first in the order, a presenter's camera comes
// before other cameras, slides before both; a source changed later moves
// the track.
func TestAllocClass(t *testing.T) {
	lecturer := &Peer{id: "lecturer", presenter: true}
	student := &Peer{id: "student"}
	mic := newDownTrack(fakeTrack(student, "mic", webrtc.RTPCodecTypeAudio, SourceMicrophone, []uint64{1}))
	cam := newDownTrack(fakeTrack(student, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, []uint64{1}))
	camL := newDownTrack(fakeTrack(lecturer, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, []uint64{1}))
	if got := allocClass(mic, nil); got != classAudio {
		t.Errorf("mic, no speaker: %d", got)
	}
	if got := allocClass(mic, student); got != classSpeakerAudio {
		t.Errorf("mic of the speaker: %d", got)
	}
	if got := allocClass(mic, lecturer); got != classAudio {
		t.Errorf("mic, someone else speaking: %d", got)
	}
	if got := allocClass(camL, nil); got != classPresenterCamera {
		t.Errorf("presenter camera: %d", got)
	}
	if got := allocClass(cam, nil); got != classCamera {
		t.Errorf("camera: %d", got)
	}
	cam.src.source.Store(int32(SourceScreen))
	if got := allocClass(cam, nil); got != classScreen {
		t.Errorf("camera re-declared as screen: %d", got)
	}
	items := []allocItem{{d: cam, class: classCamera}, {d: camL, class: classPresenterCamera}, {d: mic, class: classAudio}, {d: mic, class: classSpeakerAudio}}
	sortAlloc(items)
	for i := 1; i < len(items); i++ {
		if items[i-1].class > items[i].class {
			t.Errorf("order %v", items)
		}
	}
}

// Video pauses when the estimate drops below what audio and the lowest
// layer need, and resumes after the hold once it recovers.
func TestVideoPausesBeforeAudioAndResumes(t *testing.T) {
	lecturer := &Peer{id: "lecturer", presenter: true}
	r := rig{}
	mic := r.track(lecturer, "mic", webrtc.RTPCodecTypeAudio, SourceMicrophone, []uint64{40e3})
	cam := r.track(lecturer, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, camRates)
	p, ds := fakeSubscriber(mic, cam)
	d := ds[cam]
	s := int64(time.Second)
	p.est.bps.Store(700e3)
	r.at(p, allocNow)
	if got := d.fw.target.Load(); got != 1 {
		t.Fatalf("700k: layer %d, want 1", got)
	}
	p.est.bps.Store(170e3) // audio fits, audio + q does not
	r.at(p, allocNow+s)
	if got := d.fw.target.Load(); got != 0 {
		t.Fatalf("170k, before the pause hold: layer %d, want the lowest", got)
	}
	r.at(p, allocNow+s+int64(pauseHold))
	if got := d.fw.target.Load(); got != noLayer {
		t.Fatalf("170k: layer %d, want paused", got)
	}
	if got := p.Quality(); got != QualityAudioOnly {
		t.Errorf("paused: quality %v, reported at once", got)
	}
	back := allocNow + 2*s + int64(pauseHold)
	p.est.bps.Store(400e3)
	r.at(p, back)
	if got := d.fw.target.Load(); got != noLayer {
		t.Fatalf("resumed before the hold: %d", got)
	}
	r.at(p, back+int64(resumeHold))
	if got := d.fw.target.Load(); got != 0 {
		t.Fatalf("not resumed after the hold: %d", got)
	}
	// weak (held below h by the estimate) only after qualityHold.
	r.at(p, back+int64(resumeHold)+s/2)
	if got := p.Quality(); got != QualityAudioOnly {
		t.Errorf("quality %v before the hold, want still audio-only", got)
	}
	r.at(p, back+int64(resumeHold)+int64(qualityHold))
	if got := p.Quality(); got != QualityWeak {
		t.Errorf("quality %v, want weak", got)
	}
}

// A Low subscriber gets the lowest layer whatever the estimate, but it
// too pauses when even that does not fit next to the audio.
func TestLowPreferenceStillPauses(t *testing.T) {
	lecturer := &Peer{id: "lecturer", presenter: true}
	r := rig{}
	mic := r.track(lecturer, "mic", webrtc.RTPCodecTypeAudio, SourceMicrophone, []uint64{40e3})
	cam := r.track(lecturer, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, camRates)
	p, ds := fakeSubscriber(mic, cam)
	p.pref.Store(int32(PreferLow))
	s := int64(time.Second)
	p.est.bps.Store(5e6)
	r.at(p, allocNow)
	if got := ds[cam].fw.target.Load(); got != 0 {
		t.Fatalf("5 Mbit/s: layer %d, want 0", got)
	}
	p.est.bps.Store(100e3)
	r.at(p, allocNow+s)
	r.at(p, allocNow+s+int64(pauseHold))
	if got := ds[cam].fw.target.Load(); got != noLayer {
		t.Fatalf("100 kbit/s: layer %d, want paused", got)
	}
	back := allocNow + 2*s + int64(pauseHold)
	p.est.bps.Store(5e6)
	r.at(p, back)
	r.at(p, back+int64(resumeHold))
	if got := ds[cam].fw.target.Load(); got != 0 {
		t.Fatalf("recovered: layer %d, want 0", got)
	}
	r.at(p, back+int64(resumeHold)+int64(qualityHold))
	if got := p.Quality(); got != QualityGood {
		t.Errorf("low and getting it: quality %v", got)
	}
}

func TestDisplaySizeCapsLayer(t *testing.T) {
	lecturer := &Peer{id: "lecturer", presenter: true}
	res := []uint32{320<<16 | 180, 640<<16 | 360, 1280<<16 | 720}
	r := rig{}
	cam := r.track(lecturer, "cam", webrtc.RTPCodecTypeVideo, SourceCamera, camRates, res...)
	p, ds := fakeSubscriber(cam)
	d := ds[cam]
	for _, c := range []struct {
		w, h int
		bps  uint64
		want int32
	}{
		{0, 0, 0, 2},             // unknown size: no cap
		{300, 170, 0, 0},         // thumbnail
		{700, 394, 0, 1},         // 640 upscaled by < 25 %
		{900, 506, 0, 2},         // needs f
		{400, 900, 0, 0},         // portrait element: width binds
		{1920, 1080, 0, 2},       // larger than the largest
		{300, 170, 5e6, 0},       // cap holds with plenty of bandwidth
		{900, 506, 600e3, 1},     // and the estimate still limits
		{-5, -5, 0, 2},           // nonsense: unknown
		{1 << 30, 1 << 30, 0, 2}, // absurdly large
		{0, 240, 0, 1},           // only a height: 180 × 1.25 < 240
	} {
		*d = *newDownTrack(cam) // fresh hysteresis for each case
		p.downs[cam].down = d
		p.est.bps.Store(c.bps)
		d.alloc.display.set(c.w, c.h)
		p.allocate(allocNow)
		if got := d.fw.target.Load(); got != c.want {
			t.Errorf("display %d×%d, estimate %d: layer %d, want %d", c.w, c.h, c.bps, got, c.want)
		}
	}
	// The cap also lowers what the subscriber asks the estimator for.
	d.alloc.display.set(300, 170)
	p.allocate(allocNow)
	if got, want := p.est.want.Load(), uint64(150e3*upMargin); !near(got, want) {
		t.Errorf("want %d with a thumbnail, expected about %d", got, want)
	}
	// Unknown resolution of a layer: no cap.
	if got := displayCap([maxLayers]bool{true, true, true}, [maxLayers]uint32{}, 300, 170); got != 2 {
		t.Errorf("unknown resolutions: cap %d", got)
	}
}

func TestQualityHysteresis(t *testing.T) {
	var s qualityState
	sec := int64(time.Second)
	q := QualityGood
	step := func(m Quality, now int64) bool {
		var changed bool
		q, changed = s.next(q, m, now)
		return changed
	}
	if step(QualityWeak, 0) || step(QualityWeak, sec) {
		t.Fatal("weak reported before the hold")
	}
	if !step(QualityWeak, 2*sec) || q != QualityWeak {
		t.Fatal("weak not reported after the hold")
	}
	// A flap back for a moment resets the wait.
	step(QualityGood, 3*sec)
	step(QualityWeak, 4*sec)
	if step(QualityGood, 5*sec) || step(QualityGood, 6*sec) || q != QualityWeak {
		t.Fatal("good reported too early")
	}
	if !step(QualityGood, 7*sec) || q != QualityGood {
		t.Fatal("good not reported")
	}
	if !step(QualityAudioOnly, 8*sec) || q != QualityAudioOnly {
		t.Fatal("audio-only not reported at once")
	}
}

func TestBestLayer(t *testing.T) {
	some := [maxLayers]bool{false, true, true}
	if got := bestLayer(PreferAuto, some); got != 2 {
		t.Errorf("auto: %d", got)
	}
	if got := bestLayer(PreferLow, some); got != 1 {
		t.Errorf("low: %d", got)
	}
	if got := bestLayer(PreferAudioOnly, some); got != noLayer {
		t.Errorf("audio-only: %d", got)
	}
	if got := bestLayer(PreferAuto, [maxLayers]bool{}); got != noLayer {
		t.Errorf("nothing: %d", got)
	}
}
