package sfu

import (
	"testing"
	"time"
)

func TestVP8Keyframe(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"short descriptor keyframe", []byte{0x10, 0x00}, true},
		{"short descriptor inter frame", []byte{0x10, 0x01}, false},
		{"not partition start", []byte{0x00, 0x00}, false},
		{"partition 1", []byte{0x11, 0x00}, false},
		{"7-bit picture id keyframe", []byte{0x90, 0x80, 0x05, 0x00}, true},
		{"15-bit picture id keyframe", []byte{0x90, 0x80, 0x85, 0x05, 0x00}, true},
		{"15-bit picture id inter", []byte{0x90, 0x80, 0x85, 0x05, 0x01}, false},
		{"picture id, tl0picidx, tid", []byte{0x90, 0xe0, 0x85, 0x05, 0x07, 0x20, 0x00}, true},
		{"truncated", []byte{0x90, 0x80, 0x85}, false},
		{"empty", nil, false},
	} {
		if got := isVP8Keyframe(tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestH264Keyframe(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"IDR", []byte{0x65}, true},
		{"non-IDR slice", []byte{0x41}, false},
		{"STAP-A with SPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42}, true},
		{"STAP-A with slice", []byte{0x78, 0x00, 0x02, 0x41, 0x42}, false},
		{"FU-A IDR start", []byte{0x7c, 0x85}, true},
		{"FU-A IDR middle", []byte{0x7c, 0x05}, false},
	} {
		if got := isH264Keyframe(tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestForwarderSwitch drives a forwarder through a start, a switch, a pause
// and a resume, and checks the output numbering and the NACK mapping.
func TestForwarderSwitch(t *testing.T) {
	var f forwarder
	f.init(90000)
	ms := int64(time.Millisecond)
	type out struct {
		seq uint16
		ts  uint32
	}
	var got []out
	send := func(l int32, seq uint16, ts uint32, key bool, now int64) bool {
		s, o, ok := f.rewrite(l, seq, ts, key, now)
		if ok {
			got = append(got, out{s, o})
		}
		return ok
	}
	f.setTarget(0)
	if send(1, 500, 0, true, 0) {
		t.Fatal("forwarded a layer not asked for")
	}
	for i := range uint16(5) {
		send(0, 65533+i, 1000+uint32(i)*3000, i == 0, int64(i)*33*ms) // across the wrap
	}
	if !f.setTarget(2) {
		t.Fatal("switch did not ask for a keyframe")
	}
	send(2, 100, 7e6, false, 5*33*ms) // not a keyframe: still on layer 0
	send(0, 2, 16000, false, 5*33*ms)
	send(2, 101, 7e6+3000, true, 6*33*ms) // switch
	send(0, 3, 19000, false, 6*33*ms)     // old layer: dropped
	send(2, 100, 7e6, false, 6*33*ms)     // before the switch point: dropped
	send(2, 102, 7e6+6000, false, 7*33*ms)
	f.setTarget(noLayer)
	send(2, 103, 7e6+9000, true, 8*33*ms) // paused
	f.setTarget(2)
	send(2, 110, 7e6+30000, false, 20*33*ms) // resume waits for a keyframe
	send(2, 111, 7e6+33000, true, 21*33*ms)

	if len(got) != 9 {
		t.Fatalf("forwarded %d packets: %v", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].seq != got[i-1].seq+1 {
			t.Errorf("packet %d: seq %d after %d", i, got[i].seq, got[i-1].seq)
		}
		if int32(got[i].ts-got[i-1].ts) <= 0 {
			t.Errorf("packet %d: ts %d after %d", i, got[i].ts, got[i-1].ts)
		}
	}
	// The switch advanced the timestamp by the wall-clock gap (33 ms).
	if d := got[6].ts - got[5].ts; d != 2970 {
		t.Errorf("timestamp step at the switch = %d, want 2970", d)
	}
	// NACKs map back to the layer and input number each packet came from.
	for _, tc := range []struct {
		out   uint16
		layer int32
		in    uint16
	}{
		{got[0].seq, 0, 65533}, {got[5].seq, 0, 2}, {got[6].seq, 2, 101}, {got[7].seq, 2, 102}, {got[8].seq, 2, 111},
	} {
		l, in, _, ok := f.lookup(tc.out)
		if !ok || l != tc.layer || in != tc.in {
			t.Errorf("lookup(%d) = %d/%d/%v, want %d/%d", tc.out, l, in, ok, tc.layer, tc.in)
		}
	}
	if _, _, _, ok := f.lookup(got[8].seq + 1); ok {
		t.Error("lookup of a number not sent yet succeeded")
	}
}

func TestChooseLayerHysteresis(t *testing.T) {
	all := [maxLayers]bool{true, true, true}
	rates := [maxLayers]uint64{150e3, 500e3, 1500e3}
	var st allocState
	s := int64(time.Second)
	choose := func(cur int32, budget uint64, now int64) int32 {
		return chooseLayer(PreferAuto, cur, all, rates, true, budget, &st, now)
	}
	if got := choose(noLayer, 600e3, 0); got != 1 {
		t.Fatalf("start with 600 kbit/s: layer %d, want 1", got)
	}
	if got := choose(1, 400e3, 1*s); got != 0 {
		t.Fatalf("estimate below layer 1: layer %d, want 0 at once", got)
	}
	// Up needs the next layer's rate plus the margin, held for upHold.
	if got := choose(0, 600e3, 2*s); got != 0 {
		t.Fatalf("600 kbit/s < 500 kbit/s × margin: layer %d, want 0", got)
	}
	if got := choose(0, 700e3, 3*s); got != 0 {
		t.Fatalf("up at once: layer %d", got)
	}
	if got := choose(0, 700e3, 3*s+int64(upHold)-1); got != 0 {
		t.Fatalf("up before upHold: layer %d", got)
	}
	if got := choose(0, 700e3, 3*s+int64(upHold)); got != 1 {
		t.Fatalf("after upHold: layer %d, want 1", got)
	}
	// Nothing fits: the lowest layer for pauseHold, then video pauses,
	// and resumes only after resumeHold.
	if got := choose(1, 100e3, 10*s); got != 0 {
		t.Fatalf("100 kbit/s, before the pause hold: layer %d, want 0", got)
	}
	if got := choose(0, 100e3, 10*s+int64(pauseHold)); got != noLayer {
		t.Fatalf("100 kbit/s for pauseHold: layer %d, want paused", got)
	}
	if got := choose(noLayer, 200e3, 11*s+int64(pauseHold)); got != noLayer {
		t.Fatalf("resumed at once: layer %d", got)
	}
	if got := choose(noLayer, 200e3, 11*s+int64(pauseHold+resumeHold)); got != 0 {
		t.Fatalf("not resumed after the hold: layer %d", got)
	}
	// A dip shorter than pauseHold does not pause.
	if got := choose(0, 100e3, 20*s); got != 0 {
		t.Fatalf("dip: layer %d, want 0", got)
	}
	if got := choose(0, 200e3, 20*s+int64(pauseHold)/2); got != 0 {
		t.Fatalf("after the dip: layer %d, want 0", got)
	}
	if got := choose(0, 100e3, 20*s+int64(pauseHold)); got != 0 {
		t.Fatalf("second dip restarted the hold: layer %d, want 0", got)
	}
	// Preferences override the estimate; missing layers are skipped.
	some := [maxLayers]bool{false, true, true}
	if got := chooseLayer(PreferLow, 2, some, rates, false, 0, &st, 0); got != 1 {
		t.Errorf("low with q missing: layer %d, want 1", got)
	}
	if got := chooseLayer(PreferAudioOnly, 2, all, rates, false, 0, &st, 0); got != noLayer {
		t.Errorf("audio-only: layer %d", got)
	}
	if got := chooseLayer(PreferAuto, 0, all, rates, false, 0, &st, 0); got != 2 {
		t.Errorf("no estimate: layer %d, want the highest", got)
	}
}

func TestRateMeter(t *testing.T) {
	var m rateMeter
	b := int64(rateBucket)
	for i := range int64(40) { // 1,000 bytes every 50 ms = 160 kbit/s
		m.add(i*b/5, 1000)
	}
	if got := m.bps(40 * b / 5); got < 150e3 || got > 170e3 {
		t.Errorf("rate %d bit/s, want ~160k", got)
	}
	if got := m.bps(40*b/5 + 10*b); got != 0 {
		t.Errorf("rate after silence %d, want 0", got)
	}
}
