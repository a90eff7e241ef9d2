package sfu

// SetMuted stops (true) or resumes (false) forwarding the peer's audio,
// from the next packet on. The tracks stay negotiated with every
// subscriber, so unmuting needs no renegotiation; while muted the peer's
// audio is read and dropped and does not count for the speaker detector.
func (p *Peer) SetMuted(muted bool) {
	p.rightsMu.Lock()
	defer p.rightsMu.Unlock()
	g := p.gate.Load()
	if muted {
		g |= gateMuted
	} else {
		g &^= gateMuted
	}
	p.gate.Store(g)
}

// Muted reports whether the peer's audio is muted.
func (p *Peer) Muted() bool { return p.gate.Load()&gateMuted != 0 }
