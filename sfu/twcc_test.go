package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

func TestSendHistory(t *testing.T) {
	var c congestion
	now := micros(time.Now())
	for i := range 70000 { // wraps the 16-bit sequence
		s := c.stamp(100+i%1000, now+int64(i))
		if s != uint16(i) {
			t.Fatalf("stamp %d gave seq %d", i, s)
		}
	}
	last := uint16(69999 % 65536)
	at, size, ok := c.sent(last, now+70000)
	if !ok || at != now+69999 || size != 100+69999%1000 {
		t.Errorf("sent(%d) = %d %d %v", last, at-now, size, ok)
	}
	// Overwritten by a newer number: not found.
	if _, _, ok := c.sent(last-histSize, now+70000); ok {
		t.Errorf("seq %d still in the history", last-histSize)
	}
	// Sizes saturate rather than wrap.
	c.stamp(100_000, now)
	if _, size, _ := c.sent(uint16(70000%65536), now); size != 1<<histSizeBits-1 {
		t.Errorf("size %d", size)
	}
}

func TestIsTWCC(t *testing.T) {
	rr := &rtcp.ReceiverReport{SSRC: 1}
	rec := twcc.NewRecorder(1)
	rec.Record(2, 7, 1000)
	tcc := rec.BuildFeedbackPacket()[0]
	nack := &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 1}}}
	for _, tc := range []struct {
		pkts []rtcp.Packet
		want bool
	}{
		{[]rtcp.Packet{rr}, false},
		{[]rtcp.Packet{nack}, false},
		{[]rtcp.Packet{tcc}, true},
		{[]rtcp.Packet{rr, tcc}, true},
	} {
		b, err := rtcp.Marshal(tc.pkts)
		if err != nil {
			t.Fatal(err)
		}
		if got := isTWCC(b); got != tc.want {
			t.Errorf("isTWCC(%T...) = %v", tc.pkts[len(tc.pkts)-1], got)
		}
	}
	if isTWCC([]byte{0x8f, 205, 0xff, 0xff}[:3]) || isTWCC([]byte{0x81, 201, 0x40, 0}) {
		t.Error("truncated packet taken for TWCC")
	}
}

// TestTWCCFeedback feeds the estimator feedback built by pion's TWCC
// recorder (what a pion or browser subscriber sends): packets stamped and
// "received" at the rate they were sent give an estimate near it, and a
// duplicate of the same feedback (a compound packet delivered to two
// down-tracks) is skipped.
func TestTWCCFeedback(t *testing.T) {
	var est estimate
	var c congestion
	c.init(&est, nil, nil)
	rec := twcc.NewRecorder(1)
	start := time.Now()
	// 100 packets/s of 1,000 bytes (800 kbit/s) for 2 s, 20 ms one way.
	var feedbacks int
	for i := range 200 {
		sent := start.Add(time.Duration(i) * 10 * time.Millisecond)
		s := c.stamp(1000, micros(sent))
		rec.Record(5, s, micros(sent.Add(20*time.Millisecond)))
		if i%10 == 9 {
			b, err := rtcp.Marshal(rec.BuildFeedbackPacket())
			if err != nil {
				t.Fatal(err)
			}
			now := sent.Add(40 * time.Millisecond)
			c.onRTCP(b, now)
			n := c.bwe.n
			c.onRTCP(b, now) // the same packet again
			if c.bwe.n != n {
				t.Fatal("duplicate feedback counted twice")
			}
			feedbacks++
		}
	}
	if est.bps.Load() != 0 || c.active(start.Add(2*time.Second)) {
		t.Errorf("estimate %d published from a path that showed no limit", est.bps.Load())
	}
	got := c.bwe.est
	if got < 800_000 || got > 1.5*800_000*1.05 {
		t.Errorf("estimate %.0f from %d feedbacks, want 0.8-1.2 Mbit/s", got, feedbacks)
	}
	c.limited.Store(true)
	if !c.active(start.Add(2 * time.Second)) {
		t.Error("TWCC not active after feedback")
	}
	if c.active(start.Add(10 * time.Second)) {
		t.Error("TWCC still active 8 s after the last feedback")
	}
}

// benchTrackTWCC is benchTrack with the transport-cc extension negotiated
// for every subscriber (each its own peer).
func benchTrackTWCC(n int) (*pubTrack, *layer) {
	t, l := benchTrack(n)
	for i, d := range *t.downs.Load() {
		d.cc = &congestion{}
		d.cc.history() // made at a subscriber's first packet, not per packet
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 96, w: &discardWriter{}, twccID: 3})
	}
	return t, l
}

// BenchmarkForwardTWCC is BenchmarkForward with every packet stamped with
// the subscriber's transport-wide sequence number and recorded.
func BenchmarkForwardTWCC(b *testing.B) { benchForward(b, benchTrackTWCC) }

// BenchmarkHandlePacketTWCC is BenchmarkHandlePacket with stamping.
func BenchmarkHandlePacketTWCC(b *testing.B) { benchHandlePacket(b, benchTrackTWCC) }

func TestForwardStampsTWCC(t *testing.T) {
	tr, l := benchTrack(2)
	downs := *tr.downs.Load()
	ws := []*recordWriter{{}, {}}
	ccs := []*congestion{{}, {}}
	for i, d := range downs {
		d.cc = ccs[i]
		d.bound.Store(&binding{ssrc: uint32(500 + i), pt: 96, w: ws[i], twccID: uint8(3 + i)})
	}
	ccs[1].stamp(1, 1) // the second subscriber's sequence is one ahead
	for seq := uint16(10); seq < 13; seq++ {
		l.handlePacket(benchPacket(seq, false), int64(seq)*1e6)
	}
	for i, w := range ws {
		if len(w.hdrs) != 3 {
			t.Fatalf("down-track %d got %d packets", i, len(w.hdrs))
		}
		for j, h := range w.hdrs {
			ext := h.GetExtension(uint8(3 + i))
			want := uint16(j + i)
			if len(ext) != 2 || uint16(ext[0])<<8|uint16(ext[1]) != want || len(h.Extensions) != 1 {
				t.Errorf("down-track %d packet %d: extensions %+v, want seq %d under id %d", i, j, h.Extensions, want, 3+i)
			}
			if at, size, ok := ccs[i].sent(want, int64(13)*1e3); !ok || at != int64(10+j)*1e3 || size != h.MarshalSize()+1100 {
				t.Errorf("down-track %d packet %d: history %d %d %v (header %d)", i, j, at, size, ok, h.MarshalSize())
			}
		}
	}
	// The shared header is left without extensions.
	if l.hdr.Extension || len(l.hdr.Extensions) != 0 {
		t.Errorf("layer header keeps extensions: %+v", l.hdr)
	}
}

func TestForwardTWCCAllocatesNothing(t *testing.T) {
	_, l := benchTrackTWCC(10)
	pkt := benchPacket(1, false)
	l.handlePacket(pkt, 2)
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, int64(seq))
	})
	if allocs != 0 {
		t.Errorf("handlePacket with TWCC allocates %.1f times per packet", allocs)
	}
}

// TestProbePadding: a probe pads the down-track's RTX SSRC ahead of its
// media packets, stamped, paced to the rate asked for, without allocating.
func TestProbePadding(t *testing.T) {
	tr, l := benchTrack(1)
	d := (*tr.downs.Load())[0]
	d.cc = &congestion{}
	w := &recordWriter{}
	d.bound.Store(&binding{ssrc: 500, pt: 96, w: w, twccID: 3, rtxSSRC: 501, rtxPT: 97})
	start := time.Now()
	d.probe.begin(2_000_000, 100*time.Millisecond, start)
	pkt := benchPacket(1, false)
	// Media every 10 ms for 200 ms of (simulated) time.
	for i := range 20 {
		seq := uint16(2 + i)
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, start.Add(time.Duration(i+1)*10*time.Millisecond).UnixNano())
	}
	var pad, media, bytes int
	for i, h := range w.hdrs {
		switch h.SSRC {
		case 501:
			pad++
			bytes += h.MarshalSize() + int(h.PaddingSize)
			if !h.Padding || h.PayloadType != 97 || len(w.payloads[i]) != 0 {
				t.Errorf("padding packet %+v", h)
			}
			if i+1 < len(w.hdrs) && w.hdrs[i+1].SSRC != 501 && w.hdrs[i+1].SSRC != 500 {
				t.Errorf("packet after padding on SSRC %d", w.hdrs[i+1].SSRC)
			}
		case 500:
			media++
		}
		if len(h.GetExtension(3)) != 2 {
			t.Errorf("packet %d not stamped", i)
		}
	}
	// 2 Mbit/s for 100 ms is 25 kB: ~90 packets of 280 bytes, but at
	// most maxPadBurst ahead of each of the ~10 media packets meanwhile.
	if pad == 0 || pad > 10*maxPadBurst+maxPadBurst || media != 20 {
		t.Errorf("%d padding packets (%d bytes), %d media", pad, bytes, media)
	}
	if w.hdrs[len(w.hdrs)-1].SSRC != 500 || d.probe.on.Load() {
		t.Error("padding after the probe's end")
	}

	// No allocation while padding.
	d.bound.Store(&binding{ssrc: 500, pt: 96, w: &discardWriter{}, twccID: 3, rtxSSRC: 501, rtxPT: 97})
	d.probe.begin(2_000_000, time.Hour, time.Now())
	seq := uint16(100)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, time.Now().UnixNano())
	})
	if allocs != 0 {
		t.Errorf("forwarding with a probe allocates %.1f times per packet", allocs)
	}
}
