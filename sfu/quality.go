package sfu

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
