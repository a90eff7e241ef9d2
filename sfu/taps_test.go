package sfu

import (
	"context"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// RTCP a subscriber sends on its own connection naming another
// subscriber's SSRC reaches nobody: SSRCs are per connection, and the SFU
// looks them up among that connection's down-tracks only. Otherwise one
// student could make the SFU resend to another, or ask the lecturer for
// keyframes in its name.
func TestRTCPStaysOnItsConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("taps")
	lecturer := join(t, r, "lecturer", true)
	a := join(t, r, "a", false)
	b := join(t, r, "b", false)
	lecturer.publish(ctx)
	waitFor(ctx, t, "media to both", func() bool {
		return a.count(webrtc.RTPCodecTypeVideo) >= 20 && b.count(webrtc.RTPCodecTypeVideo) >= 20
	})
	aSSRC, bSSRC := trackSSRC(a, webrtc.RTPCodecTypeVideo), trackSSRC(b, webrtc.RTPCodecTypeVideo)
	if aSSRC == bSSRC {
		t.Fatal("the two subscribers' SSRCs collide (1 in 4 billion): run again")
	}
	before := s.Stats()
	foreign := maxSeq(a.received(webrtc.RTPCodecTypeVideo)) - 5
	const bogus = 20
	for range bogus {
		if err := b.sub.WriteRTCP([]rtcp.Packet{
			&rtcp.TransportLayerNack{MediaSSRC: aSSRC, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{foreign})},
			&rtcp.PictureLossIndication{MediaSSRC: aSSRC},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Then one NACK of B's own: its connection's RTCP is handled in order,
	// so once this one is served the bogus ones have been handled too.
	own := maxSeq(b.received(webrtc.RTPCodecTypeVideo)) - 5
	if err := b.sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: bSSRC, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{own}),
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "B's own NACK served", func() bool { return s.Stats().NACKsServed > before.NACKsServed })
	after := s.Stats()
	if got := after.NACKsReceived - before.NACKsReceived; got != 1 {
		t.Errorf("%d NACKed packets counted, want 1 (B's own; %d named A's SSRC)", got, bogus)
	}
	if got := after.PLIsReceived - before.PLIsReceived; got != 0 {
		t.Errorf("%d PLIs counted from RTCP naming another connection's SSRC", got)
	}
	if got := after.NACKsServed - before.NACKsServed; got != 1 {
		t.Errorf("%d packets resent, want 1", got)
	}
}

// FuzzParseTWCC: whatever a subscriber sends as transport-wide feedback,
// the parser neither panics nor reports more packets than the packet's
// status count, and the walk ends.
func FuzzParseTWCC(f *testing.F) {
	f.Add([]byte{0x8f, 205, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0, 3, 0, 0, 1, 7, 0x20, 0x03, 4, 0})
	f.Add([]byte{0x8f, 205, 0x00, 0x01, 0, 0, 0, 1})
	f.Add([]byte("00\x00\x01" + "0123456789abcdef"))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		fb, err := parseTWCC(pkt)
		if err != nil {
			return
		}
		it, n := fb.packets(), 0
		for {
			_, _, _, ok := it.next()
			if !ok {
				break
			}
			if n++; n > int(fb.count) {
				t.Fatalf("%d packets reported, the status count is %d", n, fb.count)
			}
		}
	})
}
