package sfu

import (
	"testing"

	"github.com/pion/rtp"
)

// vp8KeyframeHeader writes a VP8 keyframe's frame header of the given size
// (frame tag, start code, dimensions) into b, which needs 10 bytes.
func vp8KeyframeHeader(b []byte, w, h int) {
	b[0], b[1], b[2] = 0x10, 0x00, 0x00 // key frame, version 0, show_frame
	b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
	b[6], b[7] = byte(w), byte(w>>8)&0x3f
	b[8], b[9] = byte(h), byte(h>>8)&0x3f
}

func TestVP8Resolution(t *testing.T) {
	frame := make([]byte, 10)
	vp8KeyframeHeader(frame, 1280, 720)
	cases := []struct {
		name string
		p    []byte
		w, h int
		ok   bool
	}{
		{"plain descriptor", append([]byte{0x10}, frame...), 1280, 720, true},
		{"15-bit picture id", append([]byte{0x90, 0x80, 0x81, 0x23}, frame...), 1280, 720, true},
		{"picture id, tl0picidx, tid", append([]byte{0x90, 0xe0, 0x05, 0x07, 0x40}, frame...), 1280, 720, true},
		{"scaling bits ignored", append([]byte{0x10}, 0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0xc2, 0x40, 0x41), 640, 320, true},
		{"inter frame", append([]byte{0x10}, append([]byte{0x11}, frame[1:]...)...), 0, 0, false},
		{"not the start of a partition", append([]byte{0x00}, frame...), 0, 0, false},
		{"bad start code", append([]byte{0x10}, 0x10, 0, 0, 0x9d, 0x01, 0x2b, 0, 5, 0, 5), 0, 0, false},
		{"truncated", append([]byte{0x10}, frame[:8]...), 0, 0, false},
		{"truncated descriptor", []byte{0x90, 0x80}, 0, 0, false},
		{"zero size", append([]byte{0x10}, 0x10, 0, 0, 0x9d, 0x01, 0x2a, 0, 0, 0, 0), 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, c := range cases {
		w, h, ok := vp8Resolution(c.p)
		if w != c.w || h != c.h || ok != c.ok {
			t.Errorf("%s: %d×%d %v, want %d×%d %v", c.name, w, h, ok, c.w, c.h, c.ok)
		}
	}
}

// handlePacket learns a layer's resolution from its keyframes only.
func TestLayerLearnsResolution(t *testing.T) {
	_, l := benchTrack(1)
	key := benchPacket(5, true)
	vp8KeyframeHeader(key[len(key)-1100+1:], 640, 360)
	l.handlePacket(key, 2)
	if got := l.res.Load(); got != 640<<16|360 {
		t.Fatalf("resolution %d×%d after a keyframe", got>>16, got&0xffff)
	}
	// An inter frame with the same bytes after the tag is not read.
	inter := benchPacket(6, false)
	copy(inter[len(inter)-1100+2:], []byte{0, 0, 0x9d, 0x01, 0x2a, 1, 1, 1, 1})
	l.handlePacket(inter, 3)
	if got := l.res.Load(); got != 640<<16|360 {
		t.Errorf("resolution changed by an inter frame: %x", got)
	}
}

func TestDisplaySizeClamp(t *testing.T) {
	var d displaySize
	for _, c := range []struct{ w, h, gw, gh int }{
		{640, 360, 640, 360}, {-1, -7, 0, 0}, {1 << 40, 5, maxDisplayDim, 5}, {0, 0, 0, 0},
	} {
		d.set(c.w, c.h)
		if w, h := d.get(); w != c.gw || h != c.gh {
			t.Errorf("set(%d, %d): %d×%d, want %d×%d", c.w, c.h, w, h, c.gw, c.gh)
		}
	}
}

func audioPacket(t testing.TB, ext func(*rtp.Header)) []byte {
	t.Helper()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1, SSRC: 7, CSRC: []uint32{9}}, Payload: make([]byte, 60)}
	if ext != nil {
		ext(&p.Header)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAudioLevel(t *testing.T) {
	oneByte := func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		_ = h.SetExtension(3, []byte{1, 2, 3})
		_ = h.SetExtension(1, []byte{0x80 | 42})
	}
	twoByte := func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileTwoByte
		_ = h.SetExtension(20, make([]byte, 17))
		_ = h.SetExtension(1, []byte{33})
	}
	other := func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		_ = h.SetExtension(4, []byte{0x80 | 10})
	}
	for _, c := range []struct {
		name  string
		pkt   []byte
		level uint8
		voice bool
		ok    bool
	}{
		{"one-byte", audioPacket(t, oneByte), 42, true, true},
		{"two-byte", audioPacket(t, twoByte), 33, false, true},
		{"other extension only", audioPacket(t, other), 0, false, false},
		{"no extension", audioPacket(t, nil), 0, false, false},
		{"truncated", audioPacket(t, oneByte)[:18], 0, false, false},
		{"short", []byte{0x90, 0}, 0, false, false},
	} {
		level, voice, ok := audioLevel(c.pkt, 1)
		if level != c.level || voice != c.voice || ok != c.ok {
			t.Errorf("%s: %d %v %v, want %d %v %v", c.name, level, voice, ok, c.level, c.voice, c.ok)
		}
	}
	// A length running past the packet is not followed.
	bad := audioPacket(t, oneByte)
	bad[12+4+2] = 0xff // extension length in words
	if _, _, ok := audioLevel(bad, 1); ok {
		t.Error("extension longer than the packet parsed")
	}
	// Nothing allocates.
	pkt := audioPacket(t, oneByte)
	if n := testing.AllocsPerRun(100, func() { audioLevel(pkt, 1) }); n != 0 {
		t.Errorf("audioLevel allocates %.0f times", n)
	}
}

func TestLevelMeter(t *testing.T) {
	var m levelMeter
	voiced := audioPacket(t, func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		_ = h.SetExtension(1, []byte{0x80 | 27}) // loudness 100
	})
	unvoiced := audioPacket(t, func(h *rtp.Header) {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		_ = h.SetExtension(1, []byte{27})
	})
	for range 30 {
		m.add(voiced, 1)
	}
	if got := m.take(); got != 100 {
		t.Errorf("30 voiced packets: %v, want 100", got)
	}
	if got := m.take(); got != 0 {
		t.Errorf("after take: %v", got)
	}
	// DTX: a few packets in an interval count as a mostly silent one.
	for range 3 {
		m.add(voiced, 1)
	}
	if got, want := m.take(), 300.0/float64(framesPerInterval); got != want {
		t.Errorf("3 voiced packets: %v, want %v", got, want)
	}
	for range 30 {
		m.add(unvoiced, 1)
	}
	if got := m.take(); got != 0 {
		t.Errorf("unvoiced: %v", got)
	}
}
