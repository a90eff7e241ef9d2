package sfu

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkMedia asserts that c received at least min packets of kind, each on
// its own down-track SSRC (not the publisher's) and with the payload the
// publisher sent for that sequence number.
func checkMedia(t *testing.T, c *testClient, kind webrtc.RTPCodecType, min int, pubSSRC uint32) {
	t.Helper()
	pkts := c.received(kind)
	if len(pkts) < min {
		t.Fatalf("%s: %d %s packets, want >= %d", c.name, len(pkts), kind, min)
	}
	tag := byte('v')
	if kind == webrtc.RTPCodecTypeAudio {
		tag = 'a'
	}
	for _, p := range pkts {
		if p.ssrc != p.trackSSR {
			t.Fatalf("%s: packet SSRC %d, negotiated track SSRC %d", c.name, p.ssrc, p.trackSSR)
		}
		if p.ssrc == pubSSRC {
			t.Fatalf("%s: packet kept the publisher's SSRC %d", c.name, p.ssrc)
		}
		if !bytes.Equal(p.payload, testPayload(tag, p.seq)) {
			t.Fatalf("%s: %s seq %d: payload differs from what was published", c.name, kind, p.seq)
		}
	}
}

func noSignalErrors(t *testing.T, cs ...*testClient) {
	t.Helper()
	for _, c := range cs {
		for _, err := range c.errors() {
			t.Errorf("%s: signaling: %v", c.name, err)
		}
	}
}

func TestForwardToSubscribers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-1")

	lecturer := join(t, r, "lecturer", true)
	var subs []*testClient
	for _, id := range []string{"s1", "s2", "s3"} {
		subs = append(subs, join(t, r, id, false))
	}
	lecturer.publish(ctx)

	for _, c := range subs {
		waitFor(ctx, t, c.name+" media", func() bool {
			return c.count(webrtc.RTPCodecTypeVideo) >= 20 && c.count(webrtc.RTPCodecTypeAudio) >= 20
		})
	}
	for _, c := range subs {
		checkMedia(t, c, webrtc.RTPCodecTypeVideo, 20, lecturer.videoSSRC)
		checkMedia(t, c, webrtc.RTPCodecTypeAudio, 20, lecturer.audioSSRC)
	}
	// The lecturer does not receive its own media.
	if n := lecturer.count(webrtc.RTPCodecTypeVideo); n != 0 {
		t.Errorf("lecturer received %d of its own video packets", n)
	}
	st := s.Stats()
	if st.Rooms != 1 || st.Peers != 4 || st.PublishedTracks != 2 {
		t.Errorf("stats = %+v, want 1 room, 4 peers, 2 tracks", st)
	}
	if st.PacketsIn == 0 || st.PacketsForwarded < 6*20 || st.BytesForwarded == 0 {
		t.Errorf("stats counters = %+v", st)
	}
	noSignalErrors(t, append(subs, lecturer)...)

	// Every peer reported itself connected.
	for _, c := range append(subs, lecturer) {
		waitFor(ctx, t, c.name+" connected state", func() bool { return c.hasState(PeerConnected) })
	}
}

func TestLateJoinerGetsKeyframeAndPLIsAreThrottled(t *testing.T) {
	const interval = 400 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, interval)
	r := s.Room("lecture-2")
	lecturer := join(t, r, "lecturer", true)
	early := join(t, r, "early", false)
	lecturer.publish(ctx)
	waitFor(ctx, t, "early media", func() bool { return early.count(webrtc.RTPCodecTypeVideo) >= 10 })

	// Let the keyframe requests of the first join die down.
	waitFor(ctx, t, "a quiet interval", func() bool {
		return time.Since(lecturer.lastPLI()) > 2*interval
	})

	joinedAt := time.Now()
	late := join(t, r, "late", false)
	waitFor(ctx, t, "PLI at the publisher after the late join", func() bool {
		return lecturer.plisSince(joinedAt) > 0
	})
	if d := time.Since(joinedAt); d > 2*time.Second {
		t.Errorf("first PLI %v after the join", d)
	}
	waitFor(ctx, t, "late media", func() bool { return late.count(webrtc.RTPCodecTypeVideo) >= 10 })
	checkMedia(t, late, webrtc.RTPCodecTypeVideo, 10, lecturer.videoSSRC)

	// Throttling: a burst of subscriber PLIs within one interval reaches
	// the publisher as one PLI at once and at most one more at the end of
	// the interval.
	waitFor(ctx, t, "a quiet interval", func() bool {
		return time.Since(lecturer.lastPLI()) > 2*interval
	})
	late.mu.Lock()
	track := late.tracks[webrtc.RTPCodecTypeVideo]
	late.mu.Unlock()
	burstAt := time.Now()
	for i := 0; i < 30; i++ {
		for _, c := range []*testClient{early, late} {
			if err := c.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}}); err != nil {
				t.Fatalf("WriteRTCP: %v", err)
			}
		}
	}
	waitFor(ctx, t, "PLI after the burst", func() bool { return lecturer.plisSince(burstAt) > 0 })
	// The upper bound needs an observation window: one interval plus slack
	// for the trailing PLI. PLIs are counted by arrival time, so a late
	// wake-up of this goroutine cannot widen the window.
	windowEnd := burstAt.Add(interval + 300*time.Millisecond)
	waitFor(ctx, t, "the end of the observation window", func() bool { return time.Now().After(windowEnd) })
	if n := lecturer.plisSince(burstAt) - lecturer.plisSince(windowEnd); n < 1 || n > 2 {
		t.Errorf("60 subscriber PLIs in one interval gave %d PLIs at the publisher, want 1 or 2", n)
	}
	if s.Stats().KeyframeRequests == 0 {
		t.Error("KeyframeRequests counter is 0")
	}
	noSignalErrors(t, lecturer, early, late)
}

func TestNACKServedFromCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-3")
	lecturer := join(t, r, "lecturer", true)
	sub := join(t, r, "student", false)
	lecturer.publish(ctx)
	waitFor(ctx, t, "media", func() bool { return sub.count(webrtc.RTPCodecTypeVideo) >= 20 })

	pkts := sub.received(webrtc.RTPCodecTypeVideo)
	want := pkts[len(pkts)-5] // recent enough to be cached, already forwarded
	seen := func() int {
		n := 0
		for _, p := range sub.received(webrtc.RTPCodecTypeVideo) {
			if p.seq == want.seq {
				n++
			}
		}
		return n
	}
	if n := seen(); n != 1 {
		t.Fatalf("seq %d seen %d times before the NACK", want.seq, n)
	}
	nack := &rtcp.TransportLayerNack{
		MediaSSRC: want.trackSSR,
		Nacks:     rtcp.NackPairsFromSequenceNumbers([]uint16{want.seq}),
	}
	if err := sub.sub.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatalf("WriteRTCP: %v", err)
	}
	// The test publisher has no NACK responder, so a second copy can only
	// come from the SFU's cache.
	waitFor(ctx, t, "retransmission", func() bool { return seen() == 2 })
	for _, p := range sub.received(webrtc.RTPCodecTypeVideo) {
		if p.seq == want.seq && (!bytes.Equal(p.payload, want.payload) || p.ssrc != want.trackSSR) {
			t.Fatalf("retransmitted packet differs: ssrc %d payload ok %v", p.ssrc, bytes.Equal(p.payload, want.payload))
		}
	}
	if n := s.Stats().NACKsServed; n != 1 {
		t.Errorf("NACKsServed = %d, want 1", n)
	}
	noSignalErrors(t, lecturer, sub)
}

// sendingMedia counts the m-sections of sdp that send media.
func sendingMedia(sdp string) int {
	n := 0
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		if line == "a=sendonly" || line == "a=sendrecv" {
			n++
		}
	}
	return n
}

func TestPeersLeaving(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-4")
	lecturer := join(t, r, "lecturer", true)
	s1 := join(t, r, "s1", false)
	s2 := join(t, r, "s2", false)
	s3 := join(t, r, "s3", false)
	lecturer.publish(ctx)
	for _, c := range []*testClient{s1, s2, s3} {
		waitFor(ctx, t, c.name+" media", func() bool { return c.count(webrtc.RTPCodecTypeVideo) >= 10 })
	}

	s1.leave()
	if got := r.Peers(); got != 3 {
		t.Fatalf("Peers = %d after a leave, want 3", got)
	}
	n2, n3 := s2.count(webrtc.RTPCodecTypeVideo), s3.count(webrtc.RTPCodecTypeAudio)
	waitFor(ctx, t, "media after s1 left", func() bool {
		return s2.count(webrtc.RTPCodecTypeVideo) >= n2+20 && s3.count(webrtc.RTPCodecTypeAudio) >= n3+20
	})

	waitFor(ctx, t, "s1 closed state", func() bool { return s1.hasState(PeerClosed) })
	offers := (*testClient).offerList
	before := len(offers(s2))
	if got := sendingMedia(offers(s2)[before-1]); got != 2 {
		t.Fatalf("last offer before the lecturer left sends %d tracks, want 2", got)
	}
	lecturer.leave()
	for _, c := range []*testClient{s2, s3} {
		waitFor(ctx, t, c.name+" renegotiation without the tracks", func() bool {
			o := offers(c)
			return len(o) > before && sendingMedia(o[len(o)-1]) == 0
		})
	}
	if st := s.Stats(); st.PublishedTracks != 0 || st.Peers != 2 {
		t.Errorf("stats after the lecturer left: %+v", st)
	}
	noSignalErrors(t, s2, s3)

	s2.leave()
	s3.leave()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Room("lecture-4").Join(ctx, "x", PeerOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close: %v, want ErrClosed", err)
	}
	goleak.VerifyNone(t)
}

func TestBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-5")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)

	if _, err := r.Join(ctx, "student", PeerOptions{}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate Join: %v, want ErrDuplicate", err)
	}
	if err := student.peer.HandleOffer(ctx, TransportPub, "v=0"); !errors.Is(err, ErrNoPublish) {
		t.Errorf("student HandleOffer: %v, want ErrNoPublish", err)
	}
	if err := student.peer.AddCandidate(TransportPub, &webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}); !errors.Is(err, ErrNoPublish) {
		t.Errorf("student pub candidate: %v, want ErrNoPublish", err)
	}
	if err := student.peer.HandleAnswer(ctx, TransportSub, "v=0\r\n"); !errors.Is(err, ErrWrongState) {
		t.Errorf("answer without an offer: %v, want ErrWrongState", err)
	}
	if err := lecturer.peer.HandleOffer(ctx, TransportSub, "v=0"); !errors.Is(err, ErrWrongState) {
		t.Errorf("offer on sub: %v, want ErrWrongState", err)
	}
	for _, bad := range []string{"", "garbage", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"} {
		if err := lecturer.peer.HandleOffer(ctx, TransportPub, bad); !errors.Is(err, ErrBadSDP) {
			t.Errorf("HandleOffer(%q): %v, want ErrBadSDP", bad, err)
		}
	}
	for _, bad := range []string{"candidate:garbage", "candidate:1 1 udp 1 999.1.1.1 9 typ host", "candidate:1 1 udp 1 127.0.0.1 9 typ nonsense"} {
		for _, tr := range []Transport{TransportPub, TransportSub} {
			if err := lecturer.peer.AddCandidate(tr, &webrtc.ICECandidateInit{Candidate: bad}); !errors.Is(err, ErrBadICE) {
				t.Errorf("AddCandidate(%s, %q): %v, want ErrBadICE", tr, bad, err)
			}
		}
	}
	if err := lecturer.peer.AddCandidate(TransportSub, nil); err != nil {
		t.Errorf("end-of-candidates: %v", err)
	}

	// A garbage answer to a real offer is refused; the offer stays open and
	// the real answer still works.
	student.mu.Lock()
	student.skipAnswerOnce = true
	student.mu.Unlock()
	lecturer.publish(ctx) // also proves the pub side still works after the bad offers
	var offer string
	waitFor(ctx, t, "sub offer", func() bool {
		student.mu.Lock()
		defer student.mu.Unlock()
		if len(student.offers) == 0 {
			return false
		}
		offer = student.offers[0]
		return true
	})
	if err := student.peer.HandleAnswer(ctx, TransportSub, "garbage"); !errors.Is(err, ErrBadSDP) {
		t.Errorf("garbage answer: %v, want ErrBadSDP", err)
	}
	if err := student.peer.AddCandidate(TransportSub, &webrtc.ICECandidateInit{Candidate: "candidate:garbage"}); !errors.Is(err, ErrBadICE) {
		t.Errorf("bad sub candidate: %v, want ErrBadICE", err)
	}
	if err := student.answer(offer); err != nil {
		t.Fatalf("real answer after a bad one: %v", err)
	}
	waitFor(ctx, t, "media after bad input", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 10 && student.count(webrtc.RTPCodecTypeAudio) >= 10
	})
	checkMedia(t, student, webrtc.RTPCodecTypeVideo, 10, lecturer.videoSSRC)
	noSignalErrors(t, lecturer, student)
}

// A change of tracks while an offer is unanswered must not produce a second
// offer (the client could not tell which one its answer belongs to); it is
// sent once the answer arrives.
func TestRenegotiationIsSerialized(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-6")
	lecturer := join(t, r, "lecturer", true)
	student := join(t, r, "student", false)
	student.mu.Lock()
	student.skipAnswerOnce = true
	student.mu.Unlock()
	// Video and audio start within milliseconds: one coalesced offer.
	lecturer.publish(ctx)
	waitFor(ctx, t, "first offer", func() bool { return len(student.offerList()) > 0 })
	offers := student.offerList()
	if n := sendingMedia(offers[0]); n != 2 {
		t.Fatalf("first offer sends %d tracks, want both of the lecturer's", n)
	}

	// A second publisher while the first offer is unanswered: deferred.
	guest := join(t, r, "guest", true)
	guest.publish(ctx)
	subscribed := func() int {
		student.peer.subT.mu.Lock()
		defer student.peer.subT.mu.Unlock()
		return len(student.peer.downs)
	}
	waitFor(ctx, t, "guest's tracks subscribed and their offer deferred", func() bool {
		student.peer.subT.mu.Lock()
		deferred := student.peer.offering && student.peer.renegotiate
		student.peer.subT.mu.Unlock()
		return subscribed() == 4 && deferred
	})
	if n := len(student.offerList()); n != 1 {
		t.Fatalf("%d offers while the first is unanswered, want 1", n)
	}
	if err := student.answer(offers[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "second offer", func() bool { return len(student.offerList()) == 2 })
	if n := sendingMedia(student.offerList()[1]); n != 4 {
		t.Fatalf("second offer sends %d tracks, want 4", n)
	}
	waitFor(ctx, t, "media on both kinds", func() bool {
		return student.count(webrtc.RTPCodecTypeVideo) >= 10 && student.count(webrtc.RTPCodecTypeAudio) >= 10
	})
	noSignalErrors(t, lecturer, guest, student)
}

func TestCombineStates(t *testing.T) {
	const (
		nw   = webrtc.PeerConnectionStateNew
		cing = webrtc.PeerConnectionStateConnecting
		ced  = webrtc.PeerConnectionStateConnected
		dis  = webrtc.PeerConnectionStateDisconnected
		fail = webrtc.PeerConnectionStateFailed
	)
	for _, tc := range []struct {
		pub, sub webrtc.PeerConnectionState
		want     PeerState
	}{
		{nw, nw, PeerConnecting},
		{nw, cing, PeerConnecting},
		{nw, ced, PeerConnected}, // a student: pub unused
		{ced, nw, PeerConnected}, // a lecturer alone: sub unused
		{ced, cing, PeerConnecting},
		{ced, dis, PeerDisconnected},
		{dis, fail, PeerFailed},
		{fail, ced, PeerFailed},
	} {
		if got := combineStates(tc.pub, tc.sub); got != tc.want {
			t.Errorf("combineStates(%s, %s) = %s, want %s", tc.pub, tc.sub, got, tc.want)
		}
	}
}
