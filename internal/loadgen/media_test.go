package loadgen

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// pairForTest connects a publisher peer of pubAPI to a subscriber peer of
// subAPI in this process, with one VP8 track, and returns the track to
// write and the subscriber's received track.
func pairForTest(t *testing.T, pubAPI, subAPI *webrtc.API) (*webrtc.TrackLocalStaticRTP, *webrtc.TrackRemote, uint8) {
	t.Helper()
	pub, err := pubAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := subAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close(); _ = sub.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pub.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	remote := make(chan *webrtc.TrackRemote, 1)
	sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { remote <- tr })
	for _, step := range []func() error{
		func() error {
			offer, err := pub.CreateOffer(nil)
			if err != nil {
				return err
			}
			done := webrtc.GatheringCompletePromise(pub)
			if err := pub.SetLocalDescription(offer); err != nil {
				return err
			}
			<-done
			return sub.SetRemoteDescription(*pub.LocalDescription())
		},
		func() error {
			answer, err := sub.CreateAnswer(nil)
			if err != nil {
				return err
			}
			done := webrtc.GatheringCompletePromise(sub)
			if err := sub.SetLocalDescription(answer); err != nil {
				return err
			}
			<-done
			return pub.SetRemoteDescription(*sub.LocalDescription())
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1000)}
	for seq := uint16(0); ; seq++ {
		pkt.SequenceNumber = seq
		_ = track.WriteRTP(&pkt)
		select {
		case tr := <-remote:
			var twccID uint8
			for _, e := range sender.GetParameters().HeaderExtensions {
				if e.URI == sdp.TransportCCURI {
					twccID = uint8(e.ID)
				}
			}
			return track, tr, twccID
		case <-ctx.Done():
			t.Fatal("no track at the subscriber")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// serverLikeAPI is a sending peer that negotiates what an SFU does: NACK
// and transport-cc on VP8. It has no interceptors, so that it allocates
// nothing per packet itself; the test stamps the transport-wide sequence
// numbers by hand.
func serverLikeAPI(t *testing.T) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: webrtc.TypeRTCPFBTransportCC}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
}

// TestSubscriberReadAllocations: -sub-rtcp's interceptors add well under
// one allocation per received packet to a subscriber's read path (pion
// allocates about 4 without headerCache). The figures are the whole
// process's, the sending side and timers included, so the test compares
// the two; under -race, sync.Pool drops items at random and both are
// higher.
func TestSubscriberReadAllocations(t *testing.T) {
	var perPacket [2]float64
	for i, rtcp := range []bool{false, true} {
		pubAPI := serverLikeAPI(t)
		subAPI, err := newAPI(true, rtcp)
		if err != nil {
			t.Fatal(err)
		}
		track, remote, twccID := pairForTest(t, pubAPI, subAPI)
		if rtcp && twccID == 0 {
			t.Fatal("transport-cc was not negotiated")
		}
		const n = 2000
		got := make(chan int)
		go func() {
			var ts trackStats
			var first atomic.Int64
			buf := make([]byte, 1500)
			count := 0
			deadline := time.Now().Add(20 * time.Second)
			_ = remote.SetReadDeadline(deadline)
			for count < n {
				k, _, err := remote.Read(buf)
				if err != nil {
					break
				}
				ts.packet(buf[:k], 1, true, &first)
				count++
			}
			got <- count
		}()
		payload := make([]byte, 1000)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: payload}
		twccSeq := make([]byte, 2)
		if twccID != 0 {
			if err := pkt.SetExtension(twccID, twccSeq); err != nil {
				t.Fatal(err)
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var received int
		for seq := uint32(1); ; seq++ {
			pkt.SequenceNumber = uint16(seq + 100)
			putStamp(payload, stamp{stream: 3, seq: seq, sent: 0})
			binary.BigEndian.PutUint16(twccSeq, uint16(seq))
			_ = track.WriteRTP(&pkt)
			if seq%2 == 0 {
				time.Sleep(time.Millisecond) // 2,000 packets/s: TWCC feedback (every 100 ms) stays under the MTU
			}
			select {
			case received = <-got:
			default:
				continue
			}
			break
		}
		runtime.ReadMemStats(&after)
		per := float64(after.Mallocs-before.Mallocs) / float64(received)
		t.Logf("sub-rtcp %v: %d packets received, %.2f allocations per packet", rtcp, received, per)
		if received < n {
			t.Fatalf("sub-rtcp %v: %d of %d packets", rtcp, received, n)
		}
		perPacket[i] = per
	}
	if d := perPacket[1] - perPacket[0]; d > 0.6 {
		t.Errorf("-sub-rtcp adds %.2f allocations per received packet, want at most 0.6", d)
	}
}
