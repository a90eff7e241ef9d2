package sfu

import (
	"testing"
	"time"
)

func TestNACKBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newNACKBudget(t0)
	// The burst is available at once, then nothing.
	sent := 0
	for {
		ok, first := b.take(1000)
		if !ok {
			if !first {
				t.Error("first refusal not reported as first")
			}
			break
		}
		sent++
	}
	if want := nackBurstBytes / 1000; sent != want {
		t.Errorf("burst: %d packets of 1000 bytes, want %d", sent, want)
	}
	if ok, first := b.take(1000); ok || first {
		t.Errorf("second refusal: ok=%v first=%v, want false false", ok, first)
	}
	// Half a second refills half the rate; the bucket never exceeds the burst.
	b.refill(t0.Add(500 * time.Millisecond))
	if want := float64(nackRateBytes) / 2; b.tokens < want-1000 || b.tokens > want+1000 {
		t.Errorf("after 500 ms: %.0f tokens, want about %.0f", b.tokens, want)
	}
	b.refill(t0.Add(time.Hour))
	if b.tokens != nackBurstBytes {
		t.Errorf("after an hour: %.0f tokens, want the burst %d", b.tokens, nackBurstBytes)
	}
	// Time going backwards (it cannot with a monotonic clock, but) adds nothing.
	b.refill(t0)
	if b.tokens != nackBurstBytes {
		t.Errorf("refill with an earlier time changed tokens to %.0f", b.tokens)
	}
	if b.dropped != 2 {
		t.Errorf("dropped = %d, want 2", b.dropped)
	}
	allocs := testing.AllocsPerRun(100, func() {
		b.refill(time.Now())
		b.take(100)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per NACKed packet, want 0", allocs)
	}
}
