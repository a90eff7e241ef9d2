package sfu

import (
	"errors"

	"github.com/pion/webrtc/v4"
)

// RestartICE sends a new TransportSub offer with fresh ICE credentials, for
// a client whose receiving connection lost its path (a network change, a
// long outage): the DTLS session, the transceivers and every subscription
// stay, only connectivity is re-established. If an offer is outstanding the
// restart is made in the offer that follows its answer. A peer that has
// not been offered anything yet has nothing to restart.
//
// TransportPub needs nothing here: the client restarts it with an offer
// carrying new credentials, which HandleOffer answers as any other.
func (p *Peer) RestartICE() error {
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if !p.offered {
		return nil
	}
	p.iceRestart = true
	if p.offering {
		p.renegotiate = true
		return nil
	}
	p.negotiateLocked()
	if p.iceRestart {
		return errors.New("sfu: ICE restart offer could not be made")
	}
	return nil
}

// subOfferOptions are the options of the next sub offer: an ICE restart if
// one was asked for. Local candidates of the new generation are held back
// until the offer carrying their credentials has been signaled, as on the
// first offer. p.subT.mu must be held.
func (p *Peer) subOfferOptions() *webrtc.OfferOptions {
	if !p.iceRestart {
		return nil
	}
	p.subT.sigMu.Lock()
	p.subT.described = false
	p.subT.sigMu.Unlock()
	return &webrtc.OfferOptions{ICERestart: true}
}
