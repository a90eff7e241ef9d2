package sfu

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// publishFresh is what a client does when it is given the floor (again):
// a new pub connection with its own VP8 and Opus tracks, candidates
// trickled before the offer, and packets sent every 10 ms until the client
// closes. It replaces c.pub; the caller has closed the previous one.
func (c *testClient) publishFresh(ctx context.Context) *webrtc.PeerConnection {
	t := c.t
	t.Helper()
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video2", "lecture")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio2", "lecture")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		s, err := pc.AddTrack(tr)
		if err != nil {
			t.Fatal(err)
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	var mu sync.Mutex
	var cands []webrtc.ICECandidateInit
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic != nil {
			mu.Lock()
			cands = append(cands, ic.ToJSON())
			mu.Unlock()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("gathering timed out")
	}
	// The answer comes through the signal loop, which applies it to c.pub;
	// it can only arrive after HandleOffer below.
	c.pub = pc
	mu.Lock()
	for i := range cands {
		if err := c.peer.AddCandidate(TransportPub, &cands[i]); err != nil {
			t.Fatalf("AddCandidate: %v", err)
		}
	}
	mu.Unlock()
	if err := c.peer.HandleOffer(ctx, TransportPub, offer.SDP); err != nil {
		t.Fatalf("HandleOffer: %v", err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var seq uint16 = 30000
		var ts uint32
		for {
			select {
			case <-c.done:
				return
			case <-tick.C:
			}
			seq++
			ts += 900
			_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: ts}, Payload: testPayload('v', seq)})
			_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: testPayload('a', seq)})
		}
	}()
	return pc
}

// anOffer returns a real pub offer with a VP8 and an Opus track.
func anOffer(t *testing.T) string {
	t.Helper()
	pc, err := newClientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeOpus} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime}, mime, "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

// stopsReceiving asserts that c's packet count of kind no longer grows:
// what was on the wire when forwarding stopped has 300 ms to arrive, then
// nothing more may come for a second.
func stopsReceiving(t *testing.T, c *testClient, kind webrtc.RTPCodecType) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	n := c.count(kind)
	time.Sleep(time.Second)
	if m := c.count(kind); m != n {
		t.Fatalf("%s: %d more %s packets after forwarding stopped", c.name, m-n, kind)
	}
}

// grows waits until c has received n more packets of kind than it had.
func grows(ctx context.Context, t *testing.T, c *testClient, kind webrtc.RTPCodecType, n int) {
	t.Helper()
	from := c.count(kind)
	waitFor(ctx, t, c.name+" "+kind.String()+" packets", func() bool { return c.count(kind) >= from+n })
}

func publishedTracks(s *SFU) int { return s.Stats().PublishedTracks }

func TestPublishRightsGrantRevokeRegrant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("floor-1")
	lecturer := join(t, r, "lecturer", false)
	student := join(t, r, "student", false)
	other := join(t, r, "other", false)

	// Without rights nothing on pub is accepted.
	if err := student.peer.HandleOffer(ctx, TransportPub, anOffer(t)); !errors.Is(err, ErrNoPublish) {
		t.Fatalf("offer without rights: %v, want ErrNoPublish", err)
	}
	cand := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}
	if err := student.peer.AddCandidate(TransportPub, &cand); !errors.Is(err, ErrNoPublish) {
		t.Fatalf("pub candidate without rights: %v, want ErrNoPublish", err)
	}
	if err := student.peer.SetTrackSource("video", SourceCamera); !errors.Is(err, ErrNoPublish) {
		t.Fatalf("source without rights: %v, want ErrNoPublish", err)
	}
	if got := student.peer.PublishRights(); got.any() {
		t.Fatalf("rights = %+v, want none", got)
	}

	// Granted: the next offer creates the pub connection and media flows.
	student.peer.SetPublishRights(PublishRights{Audio: true, Video: true})
	student.publishFresh(ctx)
	for _, c := range []*testClient{lecturer, other} {
		waitFor(ctx, t, c.name+" media", func() bool {
			return c.count(webrtc.RTPCodecTypeVideo) >= 20 && c.count(webrtc.RTPCodecTypeAudio) >= 20
		})
		checkMedia(t, c, webrtc.RTPCodecTypeVideo, 20, 0)
		checkMedia(t, c, webrtc.RTPCodecTypeAudio, 20, 0)
	}

	// Revoked: forwarding stops at once, the tracks leave the room and the
	// server's pub connection is gone, though the client still sends.
	student.peer.SetPublishRights(PublishRights{})
	if err := student.peer.AddCandidate(TransportPub, &cand); !errors.Is(err, ErrNoPublish) {
		t.Fatalf("pub candidate after revoke: %v, want ErrNoPublish", err)
	}
	waitFor(ctx, t, "tracks unpublished", func() bool { return publishedTracks(s) == 0 })
	for _, c := range []*testClient{lecturer, other} {
		stopsReceiving(t, c, webrtc.RTPCodecTypeVideo)
	}
	if n := other.count(webrtc.RTPCodecTypeAudio); n == 0 {
		t.Fatal("no audio before the revoke")
	}
	if student.peer.pubPC.Load() != nil {
		t.Fatal("the server kept the pub connection after a full revoke")
	}
	// The retired connection's closing is not the peer's: its sub
	// connection is fine.
	if student.hasState(PeerClosed) || student.hasState(PeerFailed) {
		t.Fatal("the peer reported itself closed or failed after the revoke")
	}

	// Granted again: the client starts over with a fresh connection.
	old := student.pub
	_ = old.Close()
	student.peer.SetPublishRights(PublishRights{Audio: true, Video: true})
	student.publishFresh(ctx)
	for _, c := range []*testClient{lecturer, other} {
		grows(ctx, t, c, webrtc.RTPCodecTypeVideo, 20)
		grows(ctx, t, c, webrtc.RTPCodecTypeAudio, 20)
	}
	checkMedia(t, other, webrtc.RTPCodecTypeAudio, 20, 0)
	noSignalErrors(t, lecturer, student, other)
}

func TestPublishRightsAudioOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("floor-2")
	lecturer := join(t, r, "lecturer", false)
	student := join(t, r, "student", false)

	// A microphone-only grant: the client offers its camera anyway.
	student.peer.SetPublishRights(PublishRights{Audio: true})
	student.publishFresh(ctx)
	grows(ctx, t, lecturer, webrtc.RTPCodecTypeAudio, 30)
	if n := lecturer.count(webrtc.RTPCodecTypeVideo); n != 0 {
		t.Fatalf("%d video packets forwarded under an audio-only grant", n)
	}
	if n := publishedTracks(s); n != 1 {
		t.Fatalf("%d tracks in the room, want the audio only", n)
	}

	// The camera allowed too: the video already arriving is put through.
	student.peer.SetPublishRights(PublishRights{Audio: true, Video: true})
	grows(ctx, t, lecturer, webrtc.RTPCodecTypeVideo, 20)
	checkMedia(t, lecturer, webrtc.RTPCodecTypeVideo, 20, 0)

	// Back to audio only: video stops (read and dropped), audio goes on
	// over the same connection.
	student.peer.SetPublishRights(PublishRights{Audio: true})
	waitFor(ctx, t, "video withdrawn", func() bool { return publishedTracks(s) == 1 })
	stopsReceiving(t, lecturer, webrtc.RTPCodecTypeVideo)
	grows(ctx, t, lecturer, webrtc.RTPCodecTypeAudio, 20)
	if student.peer.pubPC.Load() == nil {
		t.Fatal("a partial revoke closed the pub connection")
	}
	noSignalErrors(t, lecturer, student)
}

func TestPublishRightsRace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("floor-3")
	// No client behind it: the answers are dropped.
	peer, err := r.Join(ctx, "student", PeerOptions{OnSignal: func(Signal) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	student := struct{ peer *Peer }{peer}
	offer := anOffer(t)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				switch (g + i) % 3 {
				case 0:
					student.peer.SetPublishRights(PublishRights{Audio: i%2 == 0, Video: i%4 == 0})
				case 1:
					// Either refused or answered; never a crash or a race.
					err := student.peer.HandleOffer(ctx, TransportPub, offer)
					if err != nil && !errors.Is(err, ErrNoPublish) && !errors.Is(err, ErrBadSDP) {
						t.Errorf("offer: %v", err)
					}
				case 2:
					student.peer.SetMuted(i%2 == 0)
					c := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}
					_ = student.peer.AddCandidate(TransportPub, &c)
				}
			}
		}()
	}
	wg.Wait()
	student.peer.SetPublishRights(PublishRights{})
	if student.peer.pubPC.Load() != nil {
		t.Fatal("pub connection left after a full revoke")
	}
}
