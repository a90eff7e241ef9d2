package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/pion/webrtc/v4"
)

// participant is one signaling connection in the lecture with its peer
// connections: `pub` (publishers only; the tool offers) and `sub` (the
// server offers, the tool answers), as docs/protocol.md describes.
type participant struct {
	api     *webrtc.API
	sig     *sigConn
	onTrack func(*webrtc.TrackRemote) // sub tracks; nil for publishers

	joined  chan message  // the "joined" reply (buffered)
	live    chan struct{} // closed when the lecture is (or becomes) live
	failed  chan error    // first fatal error (buffered)
	subUp   chan struct{} // closed when the sub connection is connected
	pubUp   chan struct{} // closed when the pub connection is connected
	subDown chan struct{} // closed when the sub connection fails or closes

	mu                                          sync.Mutex
	pub, sub                                    *webrtc.PeerConnection
	gates                                       map[string]*candGate
	liveOnce, subUpOnce, pubUpOnce, subDownOnce sync.Once

	// WHIP and WHEP (whip.go): the session's resource, to DELETE on
	// close, and how that went.
	resource  string
	client    *http.Client
	bearer    string
	deleteErr error
}

// candGate holds a connection's own candidates until its description has
// been sent, so the server never sees a candidate before the offer or
// answer it belongs to.
type candGate struct {
	open    bool
	pending []webrtc.ICECandidateInit
}

func newParticipant(api *webrtc.API, onTrack func(*webrtc.TrackRemote)) *participant {
	return &participant{api: api, onTrack: onTrack,
		joined: make(chan message, 1), live: make(chan struct{}), failed: make(chan error, 1),
		subUp: make(chan struct{}), pubUp: make(chan struct{}), subDown: make(chan struct{}),
		gates: map[string]*candGate{"pub": {}, "sub": {}}}
}

// connect opens the WebSocket and sends join; the replies arrive on the
// participant's channels.
func (p *participant) connect(ctx context.Context, base *url.URL, cookie, lectureID string) error {
	sig, err := dialSignaling(ctx, base, cookie, p.handle)
	if err != nil {
		return err
	}
	p.sig = sig
	go func() {
		<-sig.done
		p.fail(sig.closedErr())
	}()
	return sig.send(outMessage{Type: "join", LectureID: lectureID})
}

func (p *participant) fail(err error) {
	select {
	case p.failed <- err:
	default:
	}
}

// handle runs on the WebSocket reader, in message order.
func (p *participant) handle(m message) {
	switch m.Type {
	case "joined":
		select {
		case p.joined <- m:
		default:
		}
		if m.Lecture != nil && m.Lecture.State == "live" {
			p.liveOnce.Do(func() { close(p.live) })
		}
	case "lecture":
		if m.Lecture != nil && m.Lecture.State == "live" {
			p.liveOnce.Do(func() { close(p.live) })
		}
		if m.Lecture != nil && (m.Lecture.State == "ended" || m.Lecture.State == "cancelled") {
			p.fail(fmt.Errorf("the lecture is %s", m.Lecture.State))
		}
	case "offer":
		if m.PC == "sub" {
			if err := p.answerSub(m.SDP); err != nil {
				p.fail(err)
			}
		}
	case "answer":
		if m.PC == "pub" {
			p.mu.Lock()
			pc := p.pub
			p.mu.Unlock()
			if pc == nil {
				p.fail(errors.New("the server answered a pub offer that was never sent"))
				return
			}
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				p.fail(fmt.Errorf("applying the server's pub answer: %w", err))
			}
		}
	case "candidate":
		p.mu.Lock()
		pc := p.sub
		if m.PC == "pub" {
			pc = p.pub
		}
		p.mu.Unlock()
		if pc != nil && m.Candidate != nil {
			if err := pc.AddICECandidate(*m.Candidate); err != nil {
				p.fail(fmt.Errorf("adding the server's %s candidate: %w", m.PC, err))
			}
		}
	case "error":
		if m.Code == "rate_limited" {
			return // the message was dropped; trickle still completes without it
		}
		p.fail(fmt.Errorf("server error %s on %q: %s", m.Code, m.Ref, m.Message))
	}
}

// newPC creates a peer connection whose candidates trickle to the server
// as name ("pub" or "sub").
func (p *participant) newPC(name string) (*webrtc.PeerConnection, error) {
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("creating the %s peer connection: %w", name, err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || p.sig == nil { // WHIP/WHEP: the offer carries them
			return
		}
		init := c.ToJSON()
		p.mu.Lock()
		g := p.gates[name]
		if !g.open {
			g.pending = append(g.pending, init)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		_ = p.sig.send(outMessage{Type: "candidate", PC: name, Candidate: &init})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch {
		case s == webrtc.PeerConnectionStateConnected && name == "sub":
			p.subUpOnce.Do(func() { close(p.subUp) })
		case s == webrtc.PeerConnectionStateConnected && name == "pub":
			p.pubUpOnce.Do(func() { close(p.pubUp) })
		case s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed:
			if name == "sub" {
				p.subDownOnce.Do(func() { close(p.subDown) })
			}
			p.fail(fmt.Errorf("the %s connection is %s", name, s))
		}
	})
	return pc, nil
}

// sendDescription sends an offer or answer, then the candidates gathered
// meanwhile.
func (p *participant) sendDescription(typ, name, sdp string) error {
	if err := p.sig.send(outMessage{Type: typ, PC: name, SDP: sdp}); err != nil {
		return err
	}
	p.mu.Lock()
	g := p.gates[name]
	pending := g.pending
	g.pending, g.open = nil, true
	p.mu.Unlock()
	for i := range pending {
		if err := p.sig.send(outMessage{Type: "candidate", PC: name, Candidate: &pending[i]}); err != nil {
			return err
		}
	}
	return nil
}

// answerSub applies a sub offer (the first creates the connection) and answers it.
func (p *participant) answerSub(sdp string) error {
	p.mu.Lock()
	pc := p.sub
	p.mu.Unlock()
	if pc == nil {
		var err error
		if pc, err = p.newPC("sub"); err != nil {
			return err
		}
		if p.onTrack != nil {
			pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
				go drainRTCP(r)
				p.onTrack(t)
			})
		}
		p.mu.Lock()
		p.sub = pc
		p.mu.Unlock()
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("applying the server's sub offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("answering the sub offer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("applying the sub answer: %w", err)
	}
	return p.sendDescription("answer", "sub", answer.SDP)
}

// sigDone is closed when the signaling connection ends; nil (never) for
// WHIP and WHEP, which have none.
func (p *participant) sigDone() <-chan struct{} {
	if p.sig == nil {
		return nil
	}
	return p.sig.done
}

// close leaves: the WebSocket first (the server records the leave), then
// the peer connections.
func (p *participant) close() {
	if p.sig != nil {
		p.sig.close()
	}
	p.deleteResource()
	p.mu.Lock()
	pcs := []*webrtc.PeerConnection{p.pub, p.sub}
	p.mu.Unlock()
	for _, pc := range pcs {
		if pc != nil {
			_ = pc.Close()
		}
	}
}
