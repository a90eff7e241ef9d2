package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// hist is a log-linear histogram of durations in microseconds: 32
// sub-buckets per power of two, so a percentile is within about 3% of the
// true value. It is written by one goroutine and merged after that
// goroutine has stopped, so it needs no lock; recording never allocates.
type hist struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64 // µs
}

const (
	histSub     = 32 // sub-buckets per power of two (a power of two itself)
	histSubBits = 5
	// histBuckets covers up to 2^31 µs (about 36 minutes).
	histBuckets = (32 - histSubBits + 1) * histSub
)

// histIndex maps v ≥ 0 µs to its bucket.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	if v >= 1<<31 {
		return histBuckets - 1
	}
	exp := bits.Len64(uint64(v)) - histSubBits // ≥ 1
	return exp*histSub + int(v>>(exp-1)) - histSub
}

// histValue is the lower bound, in µs, of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	exp := i / histSub
	return int64(i%histSub+histSub) << (exp - 1)
}

// record adds one duration.
func (h *hist) record(d time.Duration) {
	v := max(int64(d/time.Microsecond), 0)
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

// merge adds o's samples to h.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the q-quantile (0 < q ≤ 1) in milliseconds, NaN when empty.
// A value is reported as the middle of its bucket, and never above max.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank && c > 0 {
			lo := histValue(i)
			hi := histValue(i + 1)
			mid := float64(lo+hi) / 2
			return math.Min(mid, float64(h.max)) / 1000
		}
	}
	return float64(h.max) / 1000
}

// maxMS is the largest sample in milliseconds, NaN when empty.
func (h *hist) maxMS() float64 {
	if h.n == 0 {
		return math.NaN()
	}
	return float64(h.max) / 1000
}
