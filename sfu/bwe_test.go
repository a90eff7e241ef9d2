package sfu

import (
	"math/rand/v2"
	"testing"
)

// simLink is a bottleneck for the estimator tests: packets leave at rate
// bit/s (0: unlimited) through a FIFO of queue bytes (tail drop), plus a
// fixed delay and random loss.
type simLink struct {
	rate  float64
	queue int
	delay int64 // µs
	loss  float64
	free  int64 // when the link is next free, µs
	rng   *rand.Rand
}

func (l *simLink) send(at int64, size int) (arr int64, ok bool) {
	if l.loss > 0 && l.rng.Float64() < l.loss {
		return 0, false
	}
	if l.rate == 0 {
		return at + l.delay, true
	}
	start := max(at, l.free)
	backlog := float64(start-at) * l.rate / 8e6
	if int(backlog)+size > l.queue {
		return 0, false
	}
	l.free = start + int64(float64(size)*8e6/l.rate)
	return l.free + l.delay, true
}

// bweSim drives an estimator: a sender sends 1,000-byte packets at
// sendRate (plus probe padding when the estimator asks), feedback for each
// 100 ms of packets arrives 100 ms later.
type bweSim struct {
	b       bwe
	link    *simLink
	now     int64
	want    float64
	probes  int
	pending []pktResult
	nextFB  int64
}

func newBWESim(link *simLink, want float64) *bweSim {
	if link.rng == nil {
		link.rng = rand.New(rand.NewPCG(1, 2))
	}
	return &bweSim{link: link, want: want, now: 1_000_000_000, nextFB: 1_000_000_000 + 100_000}
}

// run sends at rate (bit/s) for d µs.
func (s *bweSim) run(rate float64, d int64) {
	end := s.now + d
	const size = 1000
	gap := int64(size * 8e6 / rate)
	var padUntil int64
	var padRate float64
	var padNext int64
	next := s.now
	for s.now < end {
		s.now += 1000 // 1 ms steps
		for next <= s.now {
			s.sendOne(next, size)
			next += gap
		}
		if s.now < padUntil {
			for padNext <= s.now {
				s.sendOne(padNext, 275)
				padNext += int64(275 * 8e6 / padRate)
			}
		}
		if s.now >= s.nextFB {
			// Feedback for what was sent up to 100 ms ago.
			var fb []pktResult
			rest := s.pending[:0]
			for _, r := range s.pending {
				if r.send <= s.now-100_000 {
					fb = append(fb, r)
				} else {
					rest = append(rest, r)
				}
			}
			s.pending = rest
			s.nextFB += 100_000
			if len(fb) == 0 {
				continue
			}
			if s.b.update(fb, s.now, s.want) {
				target := s.b.probeRate(s.want)
				s.b.startProbe(s.now, s.now+probeDuration, target)
				s.probes++
				padRate = max(target-rate, 1)
				padUntil, padNext = s.now+probeDuration, s.now
			}
		}
	}
}

func (s *bweSim) sendOne(at int64, size int) {
	arr, ok := s.link.send(at, size)
	s.pending = append(s.pending, pktResult{send: at, arr: arr + 5_000_000_000, size: int32(size), recv: ok})
}

func TestBWEOveruseDecreases(t *testing.T) {
	s := newBWESim(&simLink{rate: 500_000, queue: 30_000, delay: 20_000}, 0)
	s.run(1_000_000, 3_000_000)
	if s.b.est < 300_000 || s.b.est > 500_000 {
		t.Errorf("1 Mbit/s into a 500 kbit/s link: estimate %.0f, want 300-500 kbit/s", s.b.est)
	}
	// Sending what the estimate allows, it stays under the link rate.
	s.run(s.b.est, 5_000_000)
	if s.b.est > 550_000 {
		t.Errorf("estimate %.0f above the 500 kbit/s link", s.b.est)
	}
}

func TestBWECleanIncreaseIsBounded(t *testing.T) {
	s := newBWESim(&simLink{delay: 20_000}, 0)
	s.run(400_000, 10_000_000)
	if s.b.limited {
		t.Error("a clean path counts as limited")
	}
	// Without a probe the estimate never exceeds 1.5 × what is sent.
	if s.b.est < 400_000 || s.b.est > 1.5*400_000*1.05 {
		t.Errorf("400 kbit/s on a clean path: estimate %.0f, want 400-630 kbit/s", s.b.est)
	}
}

func TestBWELoss(t *testing.T) {
	// Moderate random loss (a noisy radio link) holds the estimate.
	s := newBWESim(&simLink{delay: 20_000, loss: 0.05}, 0)
	s.run(400_000, 2_000_000)
	held := s.b.est
	if held == 0 {
		t.Fatal("no estimate")
	}
	s.run(400_000, 5_000_000)
	// A window that happened to lose less may grow it a little; none
	// cuts it.
	if s.b.est < held || s.b.est > 1.25*held {
		t.Errorf("5%% loss: estimate moved from %.0f to %.0f, want held", held, s.b.est)
	}
	// Heavy loss cuts it below what is delivered.
	h := newBWESim(&simLink{delay: 20_000, loss: 0.25}, 0)
	h.run(400_000, 3_000_000)
	if h.b.est > 0.85*400_000 {
		t.Errorf("25%% loss: estimate %.0f, want below 0.85 × the delivered rate", h.b.est)
	}
}

func TestBWEProbeSucceeds(t *testing.T) {
	// 200 kbit/s sent over a 3 Mbit/s path, 1.5 Mbit/s wanted: without
	// probes the estimate stops at 300 kbit/s; probes lift it to what is
	// wanted.
	s := newBWESim(&simLink{rate: 3_000_000, queue: 60_000, delay: 20_000}, 1_500_000)
	s.b.limited = true // as after congestion
	s.run(200_000, 15_000_000)
	if s.probes == 0 {
		t.Fatal("no probe")
	}
	if s.b.est < 1_500_000 {
		t.Errorf("estimate %.0f after %d probes, want >= 1.5 Mbit/s", s.b.est, s.probes)
	}
	if s.b.est > 1_500_000*probeWantMargin*1.01 {
		t.Errorf("estimate %.0f beyond what was wanted", s.b.est)
	}
}

func TestBWEProbeFailsAndBacksOff(t *testing.T) {
	// 300 kbit/s over a 400 kbit/s path, 2 Mbit/s wanted: every probe
	// fails, the estimate is not raised beyond the path, and probes
	// become rarer.
	s := newBWESim(&simLink{rate: 400_000, queue: 25_000, delay: 20_000}, 2_000_000)
	s.b.limited = true
	s.run(300_000, 20_000_000)
	if s.probes == 0 {
		t.Fatal("no probe")
	}
	if s.b.probesFailed == 0 || s.b.lastProbeOK {
		t.Errorf("probes over a full path succeeded (%d failed)", s.b.probesFailed)
	}
	if s.b.est > bweMaxOverRate*400_000 {
		t.Errorf("estimate %.0f, want at most 1.5 × the 400 kbit/s path", s.b.est)
	}
	if s.b.pGap != probeMaxGap {
		t.Errorf("probe gap %d µs after %d failures, want backed off to %d", s.b.pGap, s.b.probesFailed, probeMaxGap)
	}
	// 20 s with a gap doubling from 1 s to 2 s (plus the time each takes): far fewer than 20 probes.
	if s.probes > 12 {
		t.Errorf("%d probes in 20 s", s.probes)
	}
}

func TestBWENoProbeWhileCongested(t *testing.T) {
	// 600 kbit/s into a 300 kbit/s link the whole time: the path is never
	// clean, so however much more is wanted, no probe starts.
	s := newBWESim(&simLink{rate: 300_000, queue: 20_000, delay: 20_000}, 2_000_000)
	s.run(600_000, 10_000_000)
	if !s.b.limited {
		t.Fatal("congestion not seen")
	}
	if s.probes != 0 {
		t.Errorf("%d probes on a congested path", s.probes)
	}
}
