package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestHistIndexIsMonotonicAndInverse(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v += 1 + v/64 {
		i := histIndex(v)
		if i < prev {
			t.Fatalf("index of %d is %d, below %d", v, i, prev)
		}
		if lo, hi := histValue(i), histValue(i+1); v < lo || v >= hi {
			t.Fatalf("%d µs in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		prev = i
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {1, 1000}} {
		if got := h.quantile(c.q); math.Abs(got-c.want) > c.want*0.04 {
			t.Errorf("q%.2f = %.1f ms, want about %.0f", c.q, got, c.want)
		}
	}
	if h.maxMS() != 1000 {
		t.Errorf("max = %v", h.maxMS())
	}
	var empty hist
	if !math.IsNaN(empty.quantile(0.5)) {
		t.Error("empty histogram has a median")
	}
	var m hist
	m.merge(&h)
	m.merge(&h)
	if m.n != 2000 || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merged: n %d median %v", m.n, m.quantile(0.5))
	}
}
