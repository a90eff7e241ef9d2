package sfu

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// randomFeedback records n packets from base with random loss and arrival
// gaps (some large, some negative, so every chunk and delta form occurs)
// and returns pion's feedback packets for them.
func randomFeedback(t *testing.T, rng *rand.Rand, base uint16, n int) []rtcp.Packet {
	t.Helper()
	rec := twcc.NewRecorder(7)
	at := int64(1_000_000_000)
	lossRate := []float64{0, 0.02, 0.3, 0.9}[rng.IntN(4)]
	for i := range n {
		switch r := rng.IntN(20); {
		case r == 0:
			at += int64(rng.IntN(200_000)) // a 2-byte delta
		case r == 1:
			at -= int64(rng.IntN(5_000)) // reordered: a negative delta
		default:
			at += int64(rng.IntN(20_000))
		}
		if rng.Float64() < lossRate {
			continue
		}
		rec.Record(5, base+uint16(i), at)
	}
	return rec.BuildFeedbackPacket()
}

type reported struct {
	seq      uint16
	received bool
	arrive   int64
}

// pionPackets lists what pion's parser reads from a feedback packet, the
// way the estimator used to walk it.
func pionPackets(t *testing.T, raw []byte) []reported {
	t.Helper()
	var fb rtcp.TransportLayerCC
	if err := fb.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	var out []reported
	seq, left, deltas := fb.BaseSequenceNumber, int(fb.PacketStatusCount), fb.RecvDeltas
	arr := int64(fb.ReferenceTime) * 64_000
	add := func(sym uint16) {
		r := reported{seq: seq}
		if sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta {
			arr += deltas[0].Delta
			deltas = deltas[1:]
			r.received, r.arrive = true, arr
		}
		out = append(out, r)
		seq++
		left--
	}
	for _, ch := range fb.PacketChunks {
		switch ch := ch.(type) {
		case *rtcp.RunLengthChunk:
			for range min(int(ch.RunLength), left) {
				add(ch.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range ch.SymbolList {
				if left <= 0 {
					break
				}
				add(s)
			}
		}
	}
	return out
}

func ourPackets(t *testing.T, raw []byte) []reported {
	t.Helper()
	fb, err := parseTWCC(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out []reported
	it := fb.packets()
	for {
		seq, arr, recv, ok := it.next()
		if !ok {
			return out
		}
		out = append(out, reported{seq: seq, received: recv, arrive: arr})
	}
}

// TestParseTWCCMatchesPion checks the in-place parser against pion's on
// feedback built by pion's recorder, as browsers build theirs: run-length
// and both status-vector chunks, small, large and negative deltas, loss
// from none to 90 %, sequence numbers wrapping.
func TestParseTWCCMatchesPion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var packets, lost int
	for round := range 300 {
		base := uint16(rng.IntN(65536))
		for _, p := range randomFeedback(t, rng, base, 1+rng.IntN(400)) {
			raw, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want, got := pionPackets(t, raw), ourPackets(t, raw)
			if len(got) != len(want) {
				t.Fatalf("round %d: %d packets reported, pion reads %d", round, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("round %d, packet %d: got %+v, pion reads %+v", round, i, got[i], want[i])
				}
				if !want[i].received {
					lost++
				}
			}
			packets += len(want)
		}
	}
	if packets < 10_000 || lost == 0 || lost == packets {
		t.Fatalf("the random feedback covered too little: %d packets, %d lost", packets, lost)
	}
}

// TestParseTWCCTruncated: every prefix of a feedback packet either parses
// or is refused, without panicking, and never reports more packets than the
// whole one.
func TestParseTWCCTruncated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range randomFeedback(t, rng, 65500, 300) {
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		whole := len(ourPackets(t, raw))
		refused := 0
		for n := range len(raw) {
			fb, err := parseTWCC(raw[:n])
			if err != nil {
				refused++
				continue
			}
			it, count := fb.packets(), 0
			for {
				_, _, _, ok := it.next()
				if !ok {
					break
				}
				count++
			}
			if count > whole {
				t.Fatalf("prefix of %d bytes reports %d packets, the whole packet %d", n, count, whole)
			}
		}
		if refused == 0 {
			t.Fatal("no prefix was refused")
		}
	}
}

// TestTWCCFeedbackAllocatesNothing: a subscriber's feedback, every 50-100
// ms, costs the server no allocation once the result buffer has grown.
func TestTWCCFeedbackAllocatesNothing(t *testing.T) {
	var est estimate
	var c congestion
	c.init(&est, nil, nil)
	start := time.Now()
	var fbs [][]byte
	rec := twcc.NewRecorder(1)
	for i := range 400 {
		sent := start.Add(time.Duration(i) * 5 * time.Millisecond)
		s := c.stamp(1200, micros(sent))
		rec.Record(5, s, micros(sent.Add(20*time.Millisecond)))
		if i%20 == 19 {
			b, err := rtcp.Marshal(rec.BuildFeedbackPacket())
			if err != nil {
				t.Fatal(err)
			}
			fbs = append(fbs, b)
		}
	}
	now := start.Add(2 * time.Second)
	c.onRTCP(fbs[0], now) // grows c.rs
	i := 1
	allocs := testing.AllocsPerRun(len(fbs)-2, func() {
		c.onRTCP(fbs[i], now)
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per feedback, want 0", allocs)
	}
	if c.bwe.n == 0 {
		t.Fatal("the feedback reached no estimator")
	}
}
