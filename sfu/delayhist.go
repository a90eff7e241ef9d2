package sfu

import "sync/atomic"

// forwardDelayBounds are the upper bounds, in microseconds, of the
// forwarding-delay histogram's buckets (a last, unbounded bucket follows).
// Fixed so that recording is a short scan and one atomic add: the interesting
// range is tens of microseconds (one subscriber) to the 5 ms target at a
// large lecture, with coarse buckets beyond to show how bad a bad moment was.
// It is a function returning an array (a value), not a package variable, so
// nothing can change it.
func forwardDelayBounds() [delayBuckets - 1]uint32 {
	return [delayBuckets - 1]uint32{50, 100, 250, 500, 1000, 2000, 3000, 5000, 10000, 25000, 50000, 100000}
}

// delayBuckets is the number of buckets, the unbounded one included.
const delayBuckets = 13

// delayHist counts packets by their forwarding delay inside the server:
// from the reader having the packet to its write to the last subscriber of
// its fan-out. Recording takes no lock and allocates nothing; readers see
// each counter atomically (a snapshot may be a few packets inconsistent
// between buckets, which a scrape does not mind).
type delayHist struct {
	counts [delayBuckets]atomic.Uint64
	sumUs  atomic.Uint64
}

// record adds one packet forwarded in ns nanoseconds.
func (h *delayHist) record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	us := uint64(ns / 1e3)
	b := forwardDelayBounds()
	i := 0
	for i < len(b) && us > uint64(b[i]) {
		i++
	}
	h.counts[i].Add(1)
	h.sumUs.Add(us)
}

// ForwardDelay is a histogram of the forwarding delay inside the server:
// from a published packet's arrival at its track's reader to its write to
// the last subscriber of its fan-out, one observation per packet that
// reached at least one subscriber.
type ForwardDelay struct {
	// BoundsMicros are the buckets' upper bounds (inclusive) in
	// microseconds; Counts has one more entry, for delays above the last
	// bound. Counts are per bucket, not cumulative.
	BoundsMicros []uint32
	Counts       []uint64
	SumMicros    uint64
}

// Count is the number of packets observed.
func (d ForwardDelay) Count() uint64 {
	var n uint64
	for _, c := range d.Counts {
		n += c
	}
	return n
}

func (h *delayHist) snapshot() ForwardDelay {
	b := forwardDelayBounds()
	d := ForwardDelay{
		BoundsMicros: b[:],
		Counts:       make([]uint64, len(h.counts)),
		SumMicros:    h.sumUs.Load(),
	}
	for i := range h.counts {
		d.Counts[i] = h.counts[i].Load()
	}
	return d
}
