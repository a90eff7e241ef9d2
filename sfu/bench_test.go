package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter stands in for a subscriber's transport: the benchmarks
// measure the SFU's own per-packet work, not SRTP or the syscall.
type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n += len(payload)
	return len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// benchTrack is a VP8 pubTrack with one layer fanning out to n bound
// down-tracks that have all selected that layer.
func benchTrack(n int) (*pubTrack, *layer) {
	t := &pubTrack{
		id: "video", streamID: "lecturer", kind: webrtc.RTPCodecTypeVideo,
		codec:     webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		codecKind: codecVP8,
		st:        &counters{},
		done:      make(chan struct{}),
	}
	l := newLayer(t, 0, nil, nil)
	t.layers[0].Store(l)
	downs := make([]*downTrack, n)
	for i := range downs {
		d := newDownTrack(t)
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 96, w: &discardWriter{}})
		d.fw.setTarget(0)
		downs[i] = d
	}
	t.downs.Store(&downs)
	// A keyframe starts every down-track on the layer.
	l.handlePacket(benchPacket(0, true), 1)
	return t, l
}

// benchPacket is a 1,100-byte VP8 packet (a keyframe's first packet if key,
// else an inter frame's) with one header extension, as browsers send them.
func benchPacket(seq uint16, key bool) []byte {
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 90000, SSRC: 42},
		Payload: make([]byte, 1100),
	}
	p.Payload[0] = 0x10 // S: start of partition 0
	if !key {
		p.Payload[1] = 0x01 // P: inter frame
	}
	if err := p.SetExtension(3, []byte{1, 2, 3}); err != nil {
		panic(err)
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkHandlePacket is the whole per-packet path of a published track:
// parse, cache, rewrite and write to every down-track.
func BenchmarkHandlePacket(b *testing.B) { benchHandlePacket(b, benchTrack) }

// benchHandlePacket runs handlePacket on tracks made by mk with 1, 10 and
// 100 down-tracks.
func benchHandlePacket(b *testing.B, mk func(n int) (*pubTrack, *layer)) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			_, l := mk(n)
			pkt := benchPacket(1, false)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt) * n))
			var seq uint16
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				l.handlePacket(pkt, int64(seq)*int64(time.Millisecond))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/downtrack")
		})
	}
}

// BenchmarkForward is the fan-out loop alone.
func BenchmarkForward(b *testing.B) { benchForward(b, benchTrack) }

// benchForward runs the fan-out loop over the down-tracks mk builds.
func benchForward(b *testing.B, mk func(n int) (*pubTrack, *layer)) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			t, l := mk(n)
			pkt := benchPacket(1, false)
			var hdr rtp.Header
			payload, ok := parseForForward(&hdr, pkt)
			if !ok {
				b.Fatal("parse")
			}
			downs := *t.downs.Load()
			b.ReportAllocs()
			var now int64
			for b.Loop() {
				hdr.SequenceNumber++
				now += int64(time.Millisecond)
				if forward(downs, l, &hdr, payload, false, now, 0, 1, &l.twccBuf) != n {
					b.Fatal("short forward")
				}
			}
		})
	}
}

func BenchmarkPacketCacheStore(b *testing.B) {
	c := newPacketCache(videoCacheSize)
	pkt := benchPacket(1, false)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	var seq uint16
	for b.Loop() {
		seq++
		c.store(seq, pkt)
	}
}

func BenchmarkPacketCacheGet(b *testing.B) {
	c := newPacketCache(videoCacheSize)
	pkt := benchPacket(1, false)
	for i := range videoCacheSize {
		c.store(uint16(i), pkt)
	}
	dst := make([]byte, cacheSlotSize)
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		if _, ok := c.get(seq%videoCacheSize, dst); !ok {
			b.Fatal("miss")
		}
	}
}

func TestHandlePacketAllocatesNothing(t *testing.T) {
	tr, l := benchTrack(10)
	pkt := benchPacket(1, false)
	l.handlePacket(pkt, 2) // first packet sizes the reused header's slices
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, int64(seq))
	})
	if allocs != 0 {
		t.Errorf("handlePacket allocates %.1f times per packet", allocs)
	}
	// benchTrack's keyframe, the warm-up packet, AllocsPerRun's own warm-up
	// call and its 1,000 runs.
	if got := tr.st.packetsForwarded.Load(); got != 1003*10 {
		t.Errorf("packetsForwarded = %d, want %d", got, 1003*10)
	}
}

func TestForwardRewritesPerSubscriber(t *testing.T) {
	tr, l := benchTrack(3)
	downs := *tr.downs.Load()
	writers := make([]*recordWriter, len(downs))
	for i, d := range downs {
		writers[i] = &recordWriter{}
		d.bound.Store(&binding{ssrc: uint32(500 + i), pt: uint8(100 + i), w: writers[i]})
	}
	// An unbound down-track (subscriber not answered yet) is skipped.
	all := append(downs, newDownTrack(tr))
	tr.downs.Store(&all)

	l.handlePacket(benchPacket(7, false), 3)
	for i, w := range writers {
		if len(w.hdrs) != 1 {
			t.Fatalf("down-track %d got %d packets", i, len(w.hdrs))
		}
		h := w.hdrs[0]
		if h.SSRC != uint32(500+i) || h.PayloadType != uint8(100+i) || h.SequenceNumber != 7 || h.Extension {
			t.Errorf("down-track %d header = %+v", i, h)
		}
		if len(w.payloads[0]) != 1100 {
			t.Errorf("down-track %d payload %d bytes", i, len(w.payloads[0]))
		}
	}
}

type recordWriter struct {
	hdrs     []rtp.Header
	payloads [][]byte
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.hdrs = append(w.hdrs, h.Clone())
	w.payloads = append(w.payloads, append([]byte(nil), payload...))
	return len(payload), nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

func TestPacketCache(t *testing.T) {
	const size = 16
	c := newPacketCache(size)
	dst := make([]byte, cacheSlotSize)
	if _, ok := c.get(1, dst); ok {
		t.Fatal("hit in an empty cache")
	}
	first, end := uint16(65500), uint16(10) // runs across the 16-bit wrap
	for seq := first; seq != end; seq++ {
		c.store(seq, []byte{byte(seq), byte(seq >> 8)})
	}
	oldestKept := end - uint16(size) // wraps around to 65530
	for seq := first; seq != end; seq++ {
		n, ok := c.get(seq, dst)
		if int16(seq-oldestKept) >= 0 {
			if !ok || n != 2 || dst[0] != byte(seq) || dst[1] != byte(seq>>8) {
				t.Errorf("seq %d: got %v %v", seq, ok, dst[:n])
			}
		} else if ok {
			t.Errorf("seq %d: still served after being overwritten", seq)
		}
	}
	// An oversized packet invalidates its slot rather than leave a stale one.
	c.store(3, make([]byte, cacheSlotSize+1))
	if _, ok := c.get(3, dst); ok {
		t.Error("oversized packet served")
	}
	// A short destination is a miss, not a truncated packet.
	if _, ok := c.get(4, make([]byte, 1)); ok {
		t.Error("packet truncated into a short buffer")
	}
}

func TestKeyframerCoalesces(t *testing.T) {
	const interval = 200 * time.Millisecond
	sent := make(chan time.Time, 100)
	k := newKeyframer(interval, func() { sent <- time.Now() })
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		k.run(done)
		close(finished)
	}()
	defer func() {
		close(done)
		<-finished
	}()

	recv := func(what string) time.Time {
		t.Helper()
		select {
		case at := <-sent:
			return at
		case <-time.After(5 * interval):
			t.Fatalf("no PLI: %s", what)
			return time.Time{}
		}
	}
	start := time.Now()
	k.request()
	first := recv("first request")
	if d := first.Sub(start); d > interval/2 {
		t.Errorf("first PLI after %v, want at once", d)
	}
	// Requests during the interval are coalesced into one, sent when the
	// interval ends.
	for range 100 {
		k.request()
	}
	second := recv("requests during the interval")
	if d := second.Sub(first); d < interval*9/10 {
		t.Errorf("second PLI %v after the first, want >= %v", d, interval)
	}
	// Nothing more was asked for, so nothing more is sent.
	select {
	case at := <-sent:
		t.Errorf("third PLI %v after the second", at.Sub(second))
	case <-time.After(2 * interval):
	}
}
