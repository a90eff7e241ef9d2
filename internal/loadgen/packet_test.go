package loadgen

import (
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// TestVP8FramesAreRFC7741 packetises a keyframe and an inter frame and
// checks them with pion's VP8 depacketiser and by the bytes a decoder and
// the SFU's keyframe detection read.
func TestVP8FramesAreRFC7741(t *testing.T) {
	bufs := make([][]byte, 128)
	for i := range bufs {
		bufs[i] = make([]byte, maxPayload)
	}
	for _, key := range []bool{true, false} {
		n := vp8Frame(bufs, 20_000, key, 0x1234, 1280, 720)
		if n != 18 {
			t.Fatalf("key %v: %d packets for 20,000 bytes, want 18", key, n)
		}
		for i := range n {
			var vp codecs.VP8Packet
			body, err := vp.Unmarshal(bufs[i])
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			if len(bufs[i]) > maxPayload || vp.X != 1 || vp.I != 1 || vp.PictureID != 0x1234 || vp.PID != 0 {
				t.Fatalf("packet %d: descriptor %+v, length %d", i, vp, len(bufs[i]))
			}
			if (vp.S == 1) != (i == 0) {
				t.Fatalf("packet %d: S = %d", i, vp.S)
			}
			if i > 0 {
				continue
			}
			if got := body[0]&1 == 0; got != key {
				t.Fatalf("frame tag P bit says key = %v, want %v", got, key)
			}
			if !key {
				continue
			}
			if body[3] != 0x9d || body[4] != 0x01 || body[5] != 0x2a {
				t.Fatalf("no start code: % x", body[:10])
			}
			w := int(body[6]) | int(body[7]&0x3f)<<8
			h := int(body[8]) | int(body[9]&0x3f)<<8
			if w != 1280 || h != 720 {
				t.Fatalf("size %dx%d", w, h)
			}
		}
	}
}

// TestReceivePathAllocatesNothing runs a stamped packet through what a
// subscriber does per packet, and checks the figures it keeps.
func TestReceivePathAllocatesNothing(t *testing.T) {
	bufs := [][]byte{make([]byte, maxPayload)}
	vp8Frame(bufs, 1000, true, 1, 320, 180)
	payload := bufs[0]
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Timestamp: 9000, SSRC: 1, Padding: true, PaddingSize: 4}, Payload: payload}
	if err := pkt.SetExtension(3, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	// 1,001 packets (AllocsPerRun adds a warm-up run), ten lost after the 500th.
	var raws [][]byte
	for seq := uint32(1); len(raws) < 1001; seq++ {
		if seq > 500 && seq <= 510 {
			continue
		}
		putStamp(payload, stamp{stream: 3, flags: flagKeyStart, seq: seq, sent: 1_000_000})
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	var ts trackStats
	var first atomic.Int64
	i := 0
	if a := testing.AllocsPerRun(1000, func() { ts.packet(raws[i], 3_000_000, true, &first); i++ }); a != 0 {
		t.Fatalf("%v allocations per received packet", a)
	}
	ts.closeSegment()
	if first.Load() != 3_000_000 {
		t.Fatalf("first frame at %d", first.Load())
	}
	if ts.packets != 1001 || ts.recvd != 1001 || ts.expected != 1011 {
		t.Fatalf("packets %d, received %d, expected %d; want 1001, 1001, 1011", ts.packets, ts.recvd, ts.expected)
	}
	if d := ts.delay.quantile(0.5); d < 1.9 || d > 2.1 {
		t.Fatalf("median delay %v ms, want 2", d)
	}
}
