package sfu

import "time"

// Quality is a subscriber's link quality as its users should see it.
type Quality int32

// Link qualities.
const (
	// QualityGood: the subscriber receives the best layer it asked for.
	QualityGood Quality = iota
	// QualityWeak: its bandwidth estimate, its site's budget or loss on
	// its link hold it below that.
	QualityWeak
	// QualityAudioOnly: it receives no video, by choice or because no
	// layer fits.
	QualityAudioOnly
)

func (q Quality) String() string {
	switch q {
	case QualityWeak:
		return "weak"
	case QualityAudioOnly:
		return "audio-only"
	}
	return "good"
}

// Quality returns p's current link quality.
func (p *Peer) Quality() Quality {
	return Quality(p.quality.Load())
}

// qualityHold is how long a new quality must last before it is reported,
// so a layer switch and its recovery a moment later do not make the
// indicator flicker. Dropping to audio-only is reported at once: the user
// sees the picture stop and should see why.
const qualityHold = 2 * time.Second

// qualityTally folds one allocation round into a Quality: for each video
// track, the layer it would get with unlimited bandwidth (best) and the
// layer it got.
type qualityTally struct {
	pref          Preference
	wanted, shown int // video tracks with a layer to want / given one
	held          bool
}

func newQualityTally(pref Preference) qualityTally { return qualityTally{pref: pref} }

func (q *qualityTally) add(best, got int32) {
	if best == noLayer {
		return // nothing asked for (audio-only) or nothing sent
	}
	q.wanted++
	if got != noLayer {
		q.shown++
	}
	if got < best {
		q.held = true
	}
}

func (q *qualityTally) result() Quality {
	switch {
	case q.pref == PreferAudioOnly || q.wanted > 0 && q.shown == 0:
		return QualityAudioOnly
	case q.held:
		return QualityWeak
	}
	return QualityGood
}

// qualityState is the reporting hysteresis; owned by the allocation
// goroutine.
type qualityState struct {
	waiting bool
	cand    Quality // the quality waiting to be reported
	since   int64   // when cand was first seen (Unix ns)
}

// next returns the quality to report now, given the reported one and the
// one just measured, and whether it changed.
func (s *qualityState) next(reported, measured Quality, now int64) (Quality, bool) {
	if measured == reported {
		s.waiting = false
		return reported, false
	}
	if measured == QualityAudioOnly {
		s.waiting = false
		return measured, true
	}
	if !s.waiting || s.cand != measured {
		s.waiting, s.cand, s.since = true, measured, now
	}
	if now-s.since < int64(qualityHold) {
		return reported, false
	}
	s.waiting = false
	return measured, true
}

// noteQuality records one round's measured quality and reports a change
// through the peer's notifier.
func (p *Peer) noteQuality(measured Quality, now int64) {
	q, changed := p.qstate.next(p.Quality(), measured, now)
	if !changed {
		return
	}
	p.quality.Store(int32(q))
	p.notify.quality(q)
}
