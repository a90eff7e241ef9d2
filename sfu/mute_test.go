package sfu

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestMuteStopsAudioOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("mute-1")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	lecturer.publish(ctx)
	grows(ctx, t, student, webrtc.RTPCodecTypeAudio, 20)

	lecturer.peer.SetMuted(true)
	if !lecturer.peer.Muted() {
		t.Fatal("Muted() = false after SetMuted(true)")
	}
	stopsReceiving(t, student, webrtc.RTPCodecTypeAudio)
	// Video goes on, and nothing was renegotiated away.
	grows(ctx, t, student, webrtc.RTPCodecTypeVideo, 20)
	if n := publishedTracks(s); n != 2 {
		t.Fatalf("%d tracks published while muted, want 2", n)
	}

	lecturer.peer.SetMuted(false)
	grows(ctx, t, student, webrtc.RTPCodecTypeAudio, 20)
	checkMedia(t, student, webrtc.RTPCodecTypeAudio, 20, lecturer.audioSSRC)
	// Muting leaves the publish rights alone.
	if got := lecturer.peer.PublishRights(); !got.Audio || !got.Video {
		t.Fatalf("rights after unmute = %+v", got)
	}
	noSignalErrors(t, lecturer, student)
}

// benchGatedAudio is an Opus pubTrack gated like a publisher's, fanning out
// to n bound down-tracks.
func benchGatedAudio(n int, gate uint32) *layer {
	t := &pubTrack{
		id: "audio", streamID: "lecturer", kind: webrtc.RTPCodecTypeAudio,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}},
		st:    &counters{},
		done:  make(chan struct{}),
	}
	p := &Peer{}
	p.gate.Store(gate)
	p.gateTrack(t)
	l := newLayer(t, 0, nil, nil)
	t.layers[0].Store(l)
	downs := make([]*downTrack, n)
	for i := range downs {
		d := newDownTrack(t)
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 111, w: &discardWriter{}})
		downs[i] = d
	}
	t.downs.Store(&downs)
	return l
}

// BenchmarkHandlePacketAudioGate is the audio path with the publish
// rights and mute check: allowed (forwarded) and muted (dropped).
func BenchmarkHandlePacketAudioGate(b *testing.B) {
	for _, tc := range []struct {
		name string
		gate uint32
	}{{"allowed", gateAudio | gateVideo}, {"muted", gateAudio | gateVideo | gateMuted}} {
		b.Run(fmt.Sprintf("%s/downtracks=10", tc.name), func(b *testing.B) {
			l := benchGatedAudio(10, tc.gate)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, Timestamp: 960, SSRC: 7}, Payload: make([]byte, 120)}
			pkt, err := p.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var seq uint16
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				l.handlePacket(pkt, int64(seq)*20e6)
			}
		})
	}
}
