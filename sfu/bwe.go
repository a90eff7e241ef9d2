package sfu

// A subscriber's downlink estimate from transport-wide congestion control
// feedback. The estimator is pure: it is given, per reported packet, when
// the SFU sent it, how big it was and when (or whether) the subscriber
// received it, and keeps no clock of its own. twcc.go feeds it from the
// subscriber's RTCP and carries out the probes it asks for.
//
// Per feedback it looks at the packets sent in the last bweWindow:
//   - delivery rate: bytes received / arrival span, what the path carried;
//   - loss fraction;
//   - queuing delay: one-way delay (arrival - send, clocks unsynchronised,
//     so only differences mean anything) minus its running minimum over
//     ~10 s; its growth from the oldest to the newest tenth of a window is
//     the trend.
//
// AIMD on that: overuse (queue growing, or standing high) or heavy loss
// cuts the estimate to bweDecrease × the delivery rate; moderate loss holds
// it; otherwise it grows by bweGrowth per second, but never beyond
// bweMaxOverRate × the delivery rate: a subscriber that is sent 200 kbit/s
// proves nothing about 2 Mbit/s. Only a successful probe (padding sent on
// top of the media at a higher rate, delivered without queue growth) lifts
// the estimate beyond that.
//
// Until the first decrease the estimate is not used (the subscriber is
// sent the best layers, as with no estimate at all): a clean path has not
// shown any limit, and an estimate bounded by 1.5 × what a new subscriber
// happens to be sent would only hold it down.

// Estimator constants. Times are in microseconds, rates in bit/s.
const (
	// bweWindow: packets (by send time) evaluated per feedback. Long
	// enough to span several feedback intervals (browsers send one per
	// 50-100 ms) and ~50 video packets, short enough to react within an
	// RTT or two of a queue building up.
	bweWindow = 500_000
	// bweKeep: how long results are kept, so a probe can still be judged
	// when its last feedback arrives late.
	bweKeep = 1_500_000
	// bweMinSamples: fewer received packets than this in a window say
	// nothing; the estimate is left alone.
	bweMinSamples = 8
	// bweMinSpan: arrival span below which a delivery rate is not trusted.
	bweMinSpan = 100_000

	// bweDecrease: on congestion the estimate drops below what the path
	// just delivered, so the queue that built up can drain (as GCC's 0.85).
	bweDecrease = 0.85
	// bweDecreaseGap: one congestion episode is one decrease; the queue
	// needs this long to show that the previous cut worked.
	bweDecreaseGap = 400_000
	// Loss: above bweLossHigh the path is congested (tail drop); between
	// the two it is noisy (a lossy radio link) and the estimate holds;
	// below bweLossLow it is clean.
	bweLossHigh = 0.10
	bweLossLow  = 0.02
	// bweGrowth: multiplicative increase per second on a clean path (GCC
	// uses 8 %/s); bounded by bweMaxOverRate × the delivery rate.
	bweGrowth      = 0.08
	bweMaxOverRate = 1.5

	// Overuse: the queuing delay grew by more than bweQueueGrowth over a
	// window while above bweQueueMin, or stands above bweQueueStanding.
	// Loopback and LAN jitter stay well under the first two; a bottleneck
	// filling up crosses them within a feedback or two.
	bweQueueGrowth   = 20_000
	bweQueueMin      = 25_000
	bweQueueStanding = 200_000

	// The running minimum of the one-way delay is the minimum of
	// bweMinBuckets buckets of bweMinBucket: a route change or clock drift
	// is forgotten within ~10 s.
	bweMinBucket  = 2_000_000
	bweMinBuckets = 5

	// bweCapMargin: once congestion has shown the path's capacity (the
	// delivery rate at the last decrease, or what a probe delivered), the
	// estimate grows no further than this above it without a probe: at
	// saturation the delivery rate is the capacity, and 1.5 × it would
	// let the allocator pick a layer that cannot fit.
	bweCapMargin = 1.1

	bweMinRate = 50_000
	bweMaxRate = 50_000_000

	// Probing. A probe is due when the allocator wants more than the
	// estimate allows (want, which already carries the allocator's
	// up-switch margin, × probeWantMargin for some room), the path has been clean for probeClean and
	// probeGap has passed since the last one. It sends padding for
	// probeDuration so the total rate is the target: probeStep × the
	// estimate (about the next layer up, e.g. 90 → 250 kbit/s plus
	// audio), probeMaxFactor × after a success (climbing a recovered
	// link quickly), and at most probeMaxRate. Failure doubles probeGap, up
	// to probeMaxGap; success resets it. A failed probe of 1.5 × costs a
	// saturated link ~100 ms of queue, so probing every 1.5 s stays cheap
	// while a recovered link is found within ~2 s.
	probeWantMargin = 1.05
	probeClean      = 500_000
	probeBaseGap    = 500_000
	probeMaxGap     = 1_500_000
	probeDuration   = 400_000
	probeMaxFactor  = 2.0
	probeStep       = 1.5
	probeMaxRate    = 8_000_000
	// probeGrace: after a probe the queue it may have built drains; the
	// AIMD does not judge the path until then.
	probeGrace = 500_000
	// A probe succeeds if at least probeDelivered of its send rate came
	// through, with loss under probeLoss and no queue growth.
	probeDelivered = 0.9
	probeLoss      = 0.05
	// probeMinSpan: a probe may be judged on the packets of a single
	// feedback (~100 ms, 20+ packets) if the others were lost, and
	// stopped once twice that shows its queue growing.
	probeMinSpan = 40_000
	// noRTXStep: without RTX there is no padding to probe with; a due
	// probe then raises the estimate by this factor instead (the AIMD
	// undoes it if the path cannot carry it).
	noRTXStep = 1.15
)

// pktResult is one packet as the feedback reports it.
type pktResult struct {
	send int64 // sent, µs on the SFU's clock
	arr  int64 // received, µs on the subscriber's clock; valid if recv
	size int32 // RTP bytes
	recv bool
}

// bweRing is the capacity of the estimator's result history (24 bytes an
// entry, per subscriber): bweKeep of packets at up to 512 packets/s, about
// 4 Mbit/s of video, more than a lecture sends one subscriber (camera,
// slides and audio come to ~400 packets/s); the windows the estimator
// judges (bweWindow, and twice that for loss) hold up to 1,536 and 768
// packets/s. A subscriber receiving more is judged on its newest 768
// packets, still several feedback rounds.
const bweRing = 768

// bwe is the estimator state of one subscriber. Not safe for concurrent
// use; twcc.go serialises it.
type bwe struct {
	est float64 // bit/s; 0 until the first complete window
	// limited: the path has shown its limit (a decrease happened). Until
	// then the estimate is kept but not used: nothing says the subscriber
	// cannot take everything, and it is sent the best layers.
	limited bool

	res        [bweRing]pktResult
	head, n    int // res[head] is the oldest of n
	minOWD     [bweMinBuckets]int64
	minEpoch   [bweMinBuckets]int64
	lastUpdate int64 // now of the previous update
	lastDecr   int64
	congested  int64   // last time the path was seen congested or lossy
	capacity   float64 // delivery rate at the last decrease or successful probe
	queue      int64   // queuing delay of the newest packets, µs
	started    bool

	// Probe state: a probe covers the packets sent in [pStart, pEnd].
	probing      bool
	pStart, pEnd int64
	pTarget      float64
	pGap         int64
	nextProbe    int64
	graceUntil   int64 // send time until which the AIMD waits (after a probe)
	lastProbeOK  bool  // for tests and logs
	probes       int   // started
	probesFailed int
}

// bweStats is what one window shows.
type bweStats struct {
	rate     float64 // delivery rate, bit/s; 0 if unknown
	loss     float64
	qNew     int64 // queuing delay of the newest packets, µs
	growth   int64 // its growth over the window, µs
	received int
	newest   int64 // newest send time
}

func (b *bwe) push(r pktResult) {
	if b.n == bweRing {
		b.head = (b.head + 1) % bweRing
		b.n--
	}
	b.res[(b.head+b.n)%bweRing] = r
	b.n++
}

func (b *bwe) at(i int) *pktResult { return &b.res[(b.head+i)%bweRing] }

// noteOWD keeps the running minimum of the one-way delay.
func (b *bwe) noteOWD(owd, now int64) {
	e := now / bweMinBucket
	s := int(e % bweMinBuckets)
	if b.minEpoch[s] != e {
		b.minEpoch[s], b.minOWD[s] = e, owd
	} else if owd < b.minOWD[s] {
		b.minOWD[s] = owd
	}
}

func (b *bwe) baseOWD(now int64) int64 {
	e := now / bweMinBucket
	m, ok := int64(0), false
	for s := range bweMinBuckets {
		if d := e - b.minEpoch[s]; d >= 0 && d < bweMinBuckets && (!ok || b.minOWD[s] < m) {
			m, ok = b.minOWD[s], true
		}
	}
	return m
}

// stats evaluates the results sent in [from, to].
func (b *bwe) stats(from, to, now int64) bweStats {
	return b.statsSpan(from, to, now, bweMinSpan)
}

// statsSpan is stats with the shortest arrival span a rate is computed
// over.
func (b *bwe) statsSpan(from, to, now, minSpan int64) bweStats {
	var st bweStats
	base := b.baseOWD(now)
	var firstArr, lastArr int64
	firstSize, recvBytes, lost := 0, 0, 0
	// The oldest and newest tenth (at least 50 ms) of the span give the
	// queuing trend.
	edge := max((to-from)/10, 50_000)
	var qOld, qNew int64
	nOld, nNew := 0, 0
	for i := range b.n {
		r := b.at(i)
		if r.send < from || r.send > to {
			continue
		}
		st.newest = max(st.newest, r.send)
		if !r.recv {
			lost++
			continue
		}
		st.received++
		recvBytes += int(r.size)
		if st.received == 1 || r.arr < firstArr {
			firstArr, firstSize = r.arr, int(r.size)
		}
		if st.received == 1 || r.arr > lastArr {
			lastArr = r.arr
		}
		q := r.arr - r.send - base
		if r.send < from+edge {
			qOld += q
			nOld++
		}
		if r.send > to-edge {
			qNew += q
			nNew++
		}
	}
	if n := st.received + lost; n > 0 {
		st.loss = float64(lost) / float64(n)
	}
	if span := lastArr - firstArr; st.received > 1 && span >= minSpan {
		st.rate = float64(recvBytes-firstSize) * 8e6 / float64(span)
	}
	if nNew > 0 {
		st.qNew = qNew / int64(nNew)
	}
	if nOld > 0 && nNew > 0 {
		st.growth = st.qNew - qOld/int64(nOld)
	}
	return st
}

func (st bweStats) overuse() bool {
	return st.growth > bweQueueGrowth && st.qNew > bweQueueMin || st.qNew > bweQueueStanding
}

// update takes the results of one feedback packet (in sequence order) and
// updates the estimate. now is the SFU's clock (µs) and want what the
// allocator would send if bandwidth were no object (0: unknown). It
// reports whether a probe should start (see probeRate).
func (b *bwe) update(rs []pktResult, now int64, want float64) (probe bool) {
	for _, r := range rs {
		b.push(r)
		if r.recv {
			b.noteOWD(r.arr-r.send, r.send)
		}
	}
	var newest int64
	for i := range b.n {
		newest = max(newest, b.at(i).send)
	}
	for b.n > 0 && b.at(0).send < newest-bweKeep {
		b.head = (b.head + 1) % bweRing
		b.n--
	}
	dt := float64(now-b.lastUpdate) / 1e6
	if !b.started {
		dt = 0
	}
	b.lastUpdate = now
	b.started = true

	if b.probing {
		b.judgeProbe(newest, now)
		if b.probing {
			return false
		}
	}
	st := b.stats(newest-bweWindow, newest, newest)
	b.queue = max(st.qNew, 0)
	if st.received < bweMinSamples || st.rate == 0 {
		return false
	}
	// Loss is judged over twice the window: 500 ms of a few hundred
	// kbit/s holds too few packets to tell 1 % from 5 %.
	st.loss = b.stats(newest-2*bweWindow, newest, newest).loss
	if newest < b.graceUntil {
		return false
	}
	switch {
	case st.overuse() || st.loss > bweLossHigh:
		b.congested = now
		b.limited = true
		if b.est == 0 || now-b.lastDecr >= bweDecreaseGap {
			b.est = bweDecrease * st.rate
			b.capacity = st.rate
			b.lastDecr = now
		}
	case st.loss > bweLossLow:
		b.congested = now
		if b.est == 0 {
			b.est = st.rate
		}
	default:
		limit := bweMaxOverRate * st.rate
		if b.capacity > 0 {
			limit = min(limit, max(bweCapMargin*b.capacity, b.est))
		}
		switch {
		case b.est == 0:
			b.est = limit
		case b.est < limit:
			b.est = min(b.est*(1+bweGrowth*min(dt, 1)), limit)
		}
	}
	b.est = min(max(b.est, bweMinRate), bweMaxRate)

	if b.limited && want > 0 && b.est < want*probeWantMargin && now-b.congested >= probeClean && now >= b.nextProbe {
		return true
	}
	return false
}

// sendRate is the rate sent in the newest window (from the feedback
// seen so far), bit/s.
func (b *bwe) sendRate() float64 {
	var newest int64
	for i := range b.n {
		newest = max(newest, b.at(i).send)
	}
	sent := 0
	first := int64(-1)
	for i := range b.n {
		r := b.at(i)
		if r.send < newest-bweWindow {
			continue
		}
		sent += int(r.size)
		if first < 0 || r.send < first {
			first = r.send
		}
	}
	if first < 0 || newest <= first {
		return 0
	}
	return float64(sent) * 8e6 / float64(newest-first)
}

// probeRate is the total rate a probe due now should reach: a step of
// probeMaxFactor after a success, of probeStep otherwise (a failed probe
// costs queue, less for a smaller step).
func (b *bwe) probeRate(want float64) float64 {
	f := probeStep
	if b.lastProbeOK {
		f = probeMaxFactor
	}
	return min(want*probeWantMargin, b.est*f, probeMaxRate)
}

// startProbe records that padding is sent in [start, end] to reach
// target in total.
func (b *bwe) startProbe(start, end int64, target float64) {
	b.probing, b.pStart, b.pEnd, b.pTarget = true, start, end, target
	b.probes++
}

// skipProbe is for a due probe that cannot be sent (no RTX): the estimate
// takes a plain step up instead, and the AIMD judges it.
func (b *bwe) skipProbe(now int64, want float64) {
	b.est = min(b.est*noRTXStep, want*probeWantMargin, bweMaxRate)
	b.schedule(now, true)
}

func (b *bwe) schedule(now int64, ok bool) {
	if ok {
		b.pGap = probeBaseGap
	} else {
		b.pGap = min(max(b.pGap, probeBaseGap)*2, probeMaxGap)
		b.probesFailed++
	}
	b.lastProbeOK = ok
	b.nextProbe = now + b.pGap
}

// judgeProbe ends the probe once feedback covers packets sent after it
// (or at once if its packets already show the queue growing).
func (b *bwe) judgeProbe(newest, now int64) {
	// While it runs, judge what has been reported of it so far: queue
	// growth in its first 100 ms is enough to stop it.
	to := min(newest, b.pEnd)
	st := b.statsSpan(b.pStart, to, newest, probeMinSpan)
	done := newest > b.pEnd
	enough := st.received >= bweMinSamples && to-b.pStart >= 2*probeMinSpan
	failed := enough && (st.growth > bweQueueGrowth || st.loss > probeLoss)
	if !done && !failed {
		if newest > b.pEnd+bweKeep/2 {
			failed = true // feedback for it never came
		} else {
			return
		}
	}
	b.probing = false
	b.graceUntil = b.pEnd + probeGrace
	// The send rate the probe reached, media and padding together.
	var sent int
	first, last := int64(-1), int64(0)
	for i := range b.n {
		r := b.at(i)
		if r.send < b.pStart || r.send > b.pEnd {
			continue
		}
		sent += int(r.size)
		if first < 0 {
			first = r.send
		}
		last = max(last, r.send)
	}
	var sendRate float64
	if span := last - first; span > 0 {
		sendRate = float64(sent) * 8e6 / float64(span)
	}
	if !failed && (st.received < bweMinSamples || st.rate == 0) {
		// No feedback covered it: inconclusive, neither a success nor a
		// reason to back off.
		b.nextProbe = now + probeBaseGap
		return
	}
	ok := !failed && sendRate > 0 &&
		st.rate >= probeDelivered*sendRate && st.loss <= probeLoss && st.growth <= bweQueueGrowth
	if ok {
		b.est = min(max(b.est, min(st.rate, sendRate)), bweMaxRate)
		b.capacity = max(b.capacity, b.est)
	}
	b.schedule(now, ok)
}
