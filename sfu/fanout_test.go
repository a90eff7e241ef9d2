package sfu

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// seqWriter records the sequence numbers written to one subscriber; it is
// written by one fan-out part only, read by the test under mu.
type seqWriter struct {
	mu   sync.Mutex
	seqs []uint16
	ssrc uint32
	bad  int // packets with another subscriber's SSRC or a wrong payload
}

func (w *seqWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h.SSRC != w.ssrc || len(payload) != 1100 {
		w.bad++
	}
	w.seqs = append(w.seqs, h.SequenceNumber)
	return len(payload), nil
}

func (w *seqWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *seqWriter) snapshot() []uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint16(nil), w.seqs...)
}

// testFanoutParts is the split the fan-out tests use.
const testFanoutParts = 4

// fanTrack is benchTrack with its down-tracks added through addDown, so a
// track with more than fanoutThreshold of them starts its writers. The
// writers end with the test.
func fanTrack(t testing.TB, n int, w func(i int) webrtc.TrackLocalWriter) (*pubTrack, *layer) {
	t.Helper()
	tr, l := benchTrack(0)
	tr.parts = testFanoutParts
	for i := range n {
		d := newDownTrack(tr)
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 96, w: w(i)})
		d.fw.setTarget(0)
		if !tr.addDown(d) {
			t.Fatal("addDown refused")
		}
	}
	t.Cleanup(func() { tr.close() })
	return tr, l
}

// Above the threshold every subscriber still gets every packet exactly once,
// in order, with its own header, and the delay histogram counts each packet
// once, when its last part is written.
func TestFanoutWritersKeepOrder(t *testing.T) {
	const n, packets = 3 * fanoutThreshold, 600
	ws := make([]*seqWriter, n)
	tr, l := fanTrack(t, n, func(i int) webrtc.TrackLocalWriter {
		ws[i] = &seqWriter{ssrc: uint32(1000 + i)}
		return ws[i]
	})
	if tr.fan.Load() == nil {
		t.Fatalf("no fan-out writers with %d down-tracks", n)
	}
	parts := map[int]int{}
	for _, d := range *tr.downs.Load() {
		parts[d.part]++
	}
	if len(parts) != testFanoutParts {
		t.Errorf("down-tracks spread over %d parts, want %d", len(parts), testFanoutParts)
	}
	before := tr.st.delay.snapshot().Count()
	pkt := benchPacket(0, false)
	for seq := uint16(1); seq <= packets; seq++ {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, time.Now().UnixNano())
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	waitFor(ctx, t, "every packet written to every subscriber", func() bool {
		for _, w := range ws {
			if len(w.snapshot()) < packets {
				return false
			}
		}
		return true
	})
	for i, w := range ws {
		seqs := w.snapshot()
		if len(seqs) != packets || w.bad != 0 {
			t.Fatalf("subscriber %d: %d packets (%d bad), want %d", i, len(seqs), w.bad, packets)
		}
		for j := 1; j < len(seqs); j++ {
			if seqs[j] != seqs[j-1]+1 {
				t.Fatalf("subscriber %d: seq %d after %d", i, seqs[j], seqs[j-1])
			}
		}
	}
	waitFor(ctx, t, "delay histogram", func() bool { return tr.st.delay.snapshot().Count()-before == packets })
	if got := tr.st.packetsForwarded.Load(); got < packets*n {
		t.Errorf("packetsForwarded = %d, want at least %d", got, packets*n)
	}
}

// Below the threshold the reader writes every subscriber itself.
func TestSmallFanoutStaysInline(t *testing.T) {
	tr, l := fanTrack(t, fanoutThreshold, func(int) webrtc.TrackLocalWriter { return &discardWriter{} })
	if tr.fan.Load() != nil {
		t.Fatalf("fan-out writers started at %d down-tracks", fanoutThreshold)
	}
	before := tr.st.packetsForwarded.Load()
	l.handlePacket(benchPacket(9, false), time.Now().UnixNano())
	if got := tr.st.packetsForwarded.Load() - before; got != fanoutThreshold {
		t.Errorf("forwarded %d, want %d on the reader", got, fanoutThreshold)
	}
}

func TestFanoutAllocatesNothing(t *testing.T) {
	tr, l := fanTrack(t, 4*fanoutThreshold, func(int) webrtc.TrackLocalWriter { return &discardWriter{} })
	if tr.fan.Load() == nil {
		t.Fatal("no fan-out writers")
	}
	pkt := benchPacket(1, false)
	l.handlePacket(pkt, 2)
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		l.handlePacket(pkt, time.Now().UnixNano())
	})
	if allocs != 0 {
		t.Errorf("handlePacket with fan-out writers allocates %.1f times per packet", allocs)
	}
}

func TestDelayHistogram(t *testing.T) {
	var h delayHist
	for _, us := range []int64{0, 50, 51, 4000, 5000, 5001, 1e6} {
		h.record(us * 1e3)
	}
	d := h.snapshot()
	want := map[int]uint64{0: 2, 1: 1, 7: 2, 8: 1, len(d.BoundsMicros): 1}
	for i, c := range d.Counts {
		if c != want[i] {
			t.Errorf("bucket %d (≤ %v µs) = %d, want %d", i, d.BoundsMicros[min(i, len(d.BoundsMicros)-1)], c, want[i])
		}
	}
	if d.Count() != 7 || d.SumMicros != 50+51+4000+5000+5001+1e6 {
		t.Errorf("count %d sum %d", d.Count(), d.SumMicros)
	}
}

// BenchmarkHandlePacketFanout is the reader's side of a split fan-out: the
// packet is cached, handed to the writers (which write their parts
// concurrently) and the reader's own part is written. ns/op is the
// reader's time per packet, the figure that bounds a layer's packet rate.
func BenchmarkHandlePacketFanout(b *testing.B) {
	for _, n := range []int{100, 200} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			_, l := fanTrack(b, n, func(int) webrtc.TrackLocalWriter { return &discardWriter{} })
			pkt := benchPacket(1, false)
			b.ReportAllocs()
			var seq uint16
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				l.handlePacket(pkt, time.Now().UnixNano())
			}
		})
	}
}
