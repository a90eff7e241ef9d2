package sfu

import "time"

// Retransmission budget of one down-track. A subscriber's NACKs are answered
// from the publisher's packet cache, which costs the SFU a copy, an SRTP
// encryption and a sendto per packet and costs the subscriber's link the
// bytes: a subscriber asking for everything, again and again (a NACK storm,
// buggy or hostile), must not be able to turn that into an amplifier that
// eats the CPU other subscribers' forwarding needs. Real repair needs about
// loss × stream rate: 128 KiB/s (about 1 Mbit/s) with a burst of 256 KiB (a
// full second of the 1.5 Mbit/s layer lost at once) is several times what
// a lossy link's repair takes; beyond it NACKed packets are not resent.
const (
	nackRateBytes  = 128 << 10
	nackBurstBytes = 256 << 10
)

// nackBudget is a token bucket of retransmitted bytes. It is owned by the
// down-track's RTCP goroutine: no lock, no allocation.
type nackBudget struct {
	tokens  float64
	last    time.Time
	dropped uint64 // NACKed packets not resent for lack of budget
}

func newNACKBudget(now time.Time) nackBudget {
	return nackBudget{tokens: nackBurstBytes, last: now}
}

// refill adds the tokens earned since the last call.
func (b *nackBudget) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(nackBurstBytes, b.tokens+d.Seconds()*nackRateBytes)
		b.last = now
	}
}

// take spends n bytes if the budget allows it; otherwise it counts a drop
// and reports whether this is the down-track's first one (to log once).
func (b *nackBudget) take(n int) (ok, first bool) {
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return true, false
	}
	b.dropped++
	return false, b.dropped == 1
}
