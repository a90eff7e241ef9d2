package sfu

import (
	"fmt"

	"github.com/pion/sdp/v3"
)

// checkSDP rejects descriptions that pion would only refuse after it has
// already moved its signaling state (a missing mid, ICE credentials or DTLS
// fingerprint), which would leave the connection stuck half-negotiated. A
// refused description must leave the peer as it was, so the client can try
// again.
func checkSDP(s string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	if len(d.MediaDescriptions) == 0 {
		return fmt.Errorf("%w: no media", ErrBadSDP)
	}
	_, sessUfrag := d.Attribute("ice-ufrag")
	_, sessPwd := d.Attribute("ice-pwd")
	_, sessFP := d.Attribute("fingerprint")
	for i, m := range d.MediaDescriptions {
		if mid, ok := m.Attribute("mid"); !ok || mid == "" {
			return fmt.Errorf("%w: media %d has no mid", ErrBadSDP, i)
		}
		if _, rejected := m.Attribute("rejected"); rejected || m.MediaName.Port.Value == 0 {
			continue // a rejected section needs no transport
		}
		_, ufrag := m.Attribute("ice-ufrag")
		_, pwd := m.Attribute("ice-pwd")
		_, fp := m.Attribute("fingerprint")
		if !(ufrag || sessUfrag) || !(pwd || sessPwd) {
			return fmt.Errorf("%w: media %d has no ICE credentials", ErrBadSDP, i)
		}
		if !(fp || sessFP) {
			return fmt.Errorf("%w: media %d has no DTLS fingerprint", ErrBadSDP, i)
		}
	}
	return nil
}
