package signaling

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// testAPI builds a pion API that connects over loopback only.
func testAPI(t *testing.T) *webrtc.API {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

type sdpIn struct {
	PC  string `json:"pc"`
	SDP string `json:"sdp"`
}

type candidateIn struct {
	PC        string                   `json:"pc"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// rtcClient is a pion browser stand-in speaking the lecturelink protocol.
type rtcClient struct {
	t   *testing.T
	ws  *wsClient
	api *webrtc.API

	mu  sync.Mutex
	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	videoPackets, audioPackets atomic.Int64
	offers                     atomic.Int64
	stop                       chan struct{}
	wg                         sync.WaitGroup
}

// newRTCClient wires a client's offers, answers and candidates to pion.
func newRTCClient(t *testing.T, ws *wsClient) *rtcClient {
	r := &rtcClient{t: t, ws: ws, api: testAPI(t), stop: make(chan struct{})}
	ws.handle("offer", r.onOffer)
	ws.handle("answer", r.onAnswer)
	ws.handle("candidate", r.onCandidate)
	t.Cleanup(r.close)
	return r
}

func (r *rtcClient) close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	// Closing the connections ends the RTCP readers, so close before waiting.
	r.mu.Lock()
	pcs := []*webrtc.PeerConnection{r.pub, r.sub}
	r.mu.Unlock()
	for _, pc := range pcs {
		if pc != nil {
			pc.Close()
		}
	}
	r.wg.Wait()
}

func (r *rtcClient) trickle(pc *webrtc.PeerConnection, name string) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		r.ws.send(map[string]any{"type": "candidate", "pc": name, "candidate": init})
	})
}

// onOffer answers the server's sub offers, creating the connection on the first.
func (r *rtcClient) onOffer(raw json.RawMessage) {
	var m sdpIn
	json.Unmarshal(raw, &m)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub == nil {
		pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			r.t.Errorf("sub pc: %v", err)
			return
		}
		r.trickle(pc, "sub")
		pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			counter := &r.audioPackets
			if track.Kind() == webrtc.RTPCodecTypeVideo {
				counter = &r.videoPackets
			}
			buf := make([]byte, 1500)
			for {
				if _, _, err := track.Read(buf); err != nil {
					return
				}
				counter.Add(1)
			}
		})
		r.sub = pc
	}
	if err := r.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		r.t.Errorf("sub remote: %v", err)
		return
	}
	answer, err := r.sub.CreateAnswer(nil)
	if err != nil {
		r.t.Errorf("sub answer: %v", err)
		return
	}
	if err := r.sub.SetLocalDescription(answer); err != nil {
		r.t.Errorf("sub local: %v", err)
		return
	}
	r.offers.Add(1)
	r.ws.send(map[string]any{"type": "answer", "pc": "sub", "sdp": answer.SDP})
}

func (r *rtcClient) onAnswer(raw json.RawMessage) {
	var m sdpIn
	json.Unmarshal(raw, &m)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pub == nil {
		r.t.Errorf("answer without a pub connection")
		return
	}
	if err := r.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
		r.t.Errorf("pub remote: %v", err)
	}
}

func (r *rtcClient) onCandidate(raw json.RawMessage) {
	var m candidateIn
	json.Unmarshal(raw, &m)
	if m.Candidate == nil {
		return
	}
	r.mu.Lock()
	pc := r.sub
	if m.PC == "pub" {
		pc = r.pub
	}
	r.mu.Unlock()
	if pc == nil {
		r.t.Errorf("candidate for %q before its connection exists", m.PC)
		return
	}
	if err := pc.AddICECandidate(*m.Candidate); err != nil {
		r.t.Errorf("add candidate: %v", err)
	}
}

// publish offers a VP8 and an Opus track and sends synthetic samples until close.
func (r *rtcClient) publish() {
	r.t.Helper()
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		r.t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "lecturer")
	if err != nil {
		r.t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "lecturer")
	if err != nil {
		r.t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			r.t.Fatal(err)
		}
		r.wg.Add(1)
		go func() { // RTCP must be read for interceptors (and PLIs) to work
			defer r.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	r.trickle(pc, "pub")
	r.mu.Lock()
	r.pub = pc
	r.mu.Unlock()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		r.t.Fatal(err)
	}
	r.ws.send(map[string]any{"type": "offer", "pc": "pub", "sdp": offer.SDP})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		// A VP8 keyframe starts with a clear P bit; the content need not decode.
		frame := make([]byte, 800)
		opus := []byte{0xfc, 0xff, 0xfe}
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
				video.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
				audio.WriteSample(media.Sample{Data: opus, Duration: 20 * time.Millisecond})
			}
		}
	}()
}

// waitMedia waits until at least n video and n audio packets have arrived.
func (r *rtcClient) waitMedia(n int64) {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r.videoPackets.Load() >= n && r.audioPackets.Load() >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("received %d video and %d audio packets, want at least %d of each",
		r.videoPackets.Load(), r.audioPackets.Load(), n)
}
