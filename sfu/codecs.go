package sfu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// mediaCodecs are the media codecs the SFU's MediaEngine accepts from a
// publisher (pion's default codecs; RTX, RED and FEC are not media on their
// own). Keep in step with newAPI.
var mediaCodecs = map[string]bool{
	"opus": true, "g722": true, "pcmu": true, "pcma": true,
	"vp8": true, "vp9": true, "h264": true, "h265": true, "av1": true,
}

// checkCodecs refuses a publisher's offer in which no audio or video section
// that sends media carries a codec the SFU can forward: pion would answer
// with every section rejected, and the client would wait for media that can
// never flow. An offer with at least one usable section is accepted; pion
// rejects the others, so the publisher still gets what can be forwarded.
func checkCodecs(offer string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	var offered []string
	sending := 0
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := m.Attribute("recvonly"); ok {
			continue
		}
		if _, ok := m.Attribute("inactive"); ok {
			continue
		}
		sending++
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			// "96 VP8/90000"
			_, enc, _ := strings.Cut(a.Value, " ")
			name, _, _ := strings.Cut(enc, "/")
			if mediaCodecs[strings.ToLower(name)] {
				return nil
			}
			if len(offered) < 8 && !slices.Contains(offered, name) {
				offered = append(offered, name)
			}
		}
	}
	if sending == 0 {
		return nil // nothing to publish (yet): not a codec problem
	}
	return fmt.Errorf("%w: no supported audio or video codec offered (got %s)", ErrUnsupported, strings.Join(offered, ", "))
}
