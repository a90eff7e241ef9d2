package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// maxPendingCandidates bounds the candidates queued before a remote
// description arrives; a browser sends a handful, so more is abuse.
const maxPendingCandidates = 64

// Peer is one participant's media.
type Peer struct {
	id     string
	room   *Room
	sfu    *SFU
	log    *slog.Logger
	notify *notifier

	// pubPC is the publishing connection: created by the first offer the
	// peer's rights allow, dropped when its rights are taken away entirely
	// (see rights.go). Written under pubT.mu; read atomically by pion's
	// callbacks to tell the current connection from a retired one.
	pubPC atomic.Pointer[webrtc.PeerConnection]
	sub   *webrtc.PeerConnection
	// taps hands the RTCP arriving on sub to the down-tracks it names.
	taps rtcpTaps

	// gate holds the publish rights and the mute (gate* bits), loaded
	// once per received packet; rightsMu serializes its writers and the
	// placing of published tracks in the room (see rights.go).
	gate     atomic.Uint32
	rightsMu sync.Mutex

	pubT, subT transport

	// mu guards closed and the WaitGroup's Add, so no goroutine is started
	// once Close has begun waiting.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	// Sub negotiation state, guarded by subT.mu.
	downs       map[*pubTrack]*subscription
	offering    bool // an offer is out and not answered yet
	renegotiate bool // the track set changed while offering
	// negotiationScheduled: a coalesced offer is pending (subT.mu).
	negotiationScheduled bool
	offered              bool // at least one offer was sent
	iceRestart           bool // the next offer restarts ICE (RestartICE)
	allocating           bool // allocLoop started (with the first video down-track)

	// Video layer allocation for what p receives.
	pref      atomic.Int32 // Preference
	est       estimate
	cc        congestion // transport-wide CC of the sub connection
	allocKick chan struct{}
	stop      chan struct{} // closed by Close: ends allocLoop

	// Published tracks by receiver: the simulcast encodings of one track
	// arrive as separate OnTrack calls sharing the receiver. Guarded by mu.
	published map[*webrtc.RTPReceiver]*pubTrack
	// sources are the publisher's declared track sources by track id
	// (SetTrackSource). Guarded by mu.
	sources map[string]Source

	quality atomic.Int32 // Quality
	qstate  qualityState // owned by allocLoop

	presenter bool       // PeerOptions.Presenter
	site      *siteGroup // nil: no site

	stateMu            sync.Mutex
	pubState, subState webrtc.PeerConnectionState
	lastState          PeerState
	stateDone          bool
}

type subscription struct {
	down   *downTrack
	sender *webrtc.RTPSender
}

// transport is the negotiation state of one of the peer's connections.
type transport struct {
	name Transport
	// mu serializes descriptions and candidates on this connection.
	mu      sync.Mutex
	pending []webrtc.ICECandidateInit // remote candidates before a remote description

	// sigMu orders outgoing signals: local candidates gathered before our
	// description has been signaled are held back, because a client cannot
	// add a candidate before it has the description.
	sigMu     sync.Mutex
	described bool
	held      []webrtc.ICECandidateInit
}

func newPeer(r *Room, id string, opts PeerOptions) (*Peer, error) {
	s := r.sfu
	p := &Peer{
		id:     id,
		room:   r,
		sfu:    s,
		log:    r.log.With("peer", id),
		notify: newNotifier(opts),
		downs:  make(map[*pubTrack]*subscription),

		allocKick: make(chan struct{}, 1),
		stop:      make(chan struct{}),
		published: make(map[*webrtc.RTPReceiver]*pubTrack),
		pubT:      transport{name: TransportPub},
		subT:      transport{name: TransportSub},
	}
	p.pref.Store(int32(opts.VideoPreference))
	p.presenter = opts.Presenter
	p.cc.init(&p.est, p.wantRate, p.startProbe)
	cfg := webrtc.Configuration{ICEServers: s.cfg.ICEServers}
	var err error
	if p.sub, err = s.newSubConnection(&p.taps, cfg); err != nil {
		return nil, err
	}
	p.watch(p.sub, &p.subT)
	if opts.Publish {
		p.gate.Store(gateAudio | gateVideo)
	}
	if opts.Site != "" {
		p.site = s.joinSite(p, opts.Site)
	}
	return p, nil
}

// watch installs the candidate and state handlers of one connection.
func (p *Peer) watch(pc *webrtc.PeerConnection, t *transport) {
	// A retired pub connection (rights revoked) still reports its closing;
	// the client has forgotten it, so nothing of it is passed on.
	retired := func() bool { return t.name == TransportPub && p.pubPC.Load() != pc }
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || retired() {
			return // end of gathering; clients do not need to be told
		}
		init := c.ToJSON()
		t.sigMu.Lock()
		defer t.sigMu.Unlock()
		if !t.described {
			t.held = append(t.held, init)
			return
		}
		p.notify.signal(Signal{Kind: SignalCandidate, Transport: t.name, Candidate: &init})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if retired() {
			return
		}
		p.onPCState(t.name, s)
		if t.name == TransportSub && s == webrtc.PeerConnectionStateConnected {
			// Keyframes requested at Bind may have been sent before this
			// subscriber's SRTP was up and so never reached it.
			p.requestKeyframes()
		}
	})
}

// sendDescription signals an offer or answer and then any local candidates
// that were gathered before it.
func (p *Peer) sendDescription(t *transport, kind SignalKind, sdp string) {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	p.notify.signal(Signal{Kind: kind, Transport: t.name, SDP: sdp})
	t.described = true
	for i := range t.held {
		p.notify.signal(Signal{Kind: SignalCandidate, Transport: t.name, Candidate: &t.held[i]})
	}
	t.held = nil
}

func (p *Peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// goTracked runs f on a goroutine that Close waits for; false if closed.
func (p *Peer) goTracked(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

// HandleOffer applies a client's offer on TransportPub and sends the answer
// through OnSignal.
func (p *Peer) HandleOffer(ctx context.Context, t Transport, sdp string) error {
	if t != TransportPub {
		return fmt.Errorf("%w: offers are only accepted on %q", ErrWrongState, TransportPub)
	}
	if !p.PublishRights().any() {
		return ErrNoPublish
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sfu: offer: %w", err)
	}
	if err := checkSDP(sdp); err != nil {
		return err
	}
	if err := checkCodecs(sdp); err != nil {
		return err
	}
	p.pubT.mu.Lock()
	defer p.pubT.mu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	// Checked again under the lock: a revoke retires the connection
	// under it.
	if !p.PublishRights().any() {
		return ErrNoPublish
	}
	pc, err := p.pubConnLocked()
	if err != nil {
		return err
	}
	// An offer may restart ICE: candidates gathered for its new credentials
	// must not reach the client before the answer that carries them.
	p.pubT.sigMu.Lock()
	described := p.pubT.described
	p.pubT.described = false
	p.pubT.sigMu.Unlock()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		p.pubT.sigMu.Lock()
		p.pubT.described = described
		p.pubT.sigMu.Unlock()
		return fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	p.flushCandidates(pc, &p.pubT)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("sfu: create answer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("sfu: set local answer: %w", err)
	}
	p.sendDescription(&p.pubT, SignalAnswer, answer.SDP)
	return nil
}

// HandleAnswer applies a client's answer to the SFU's latest TransportSub offer.
func (p *Peer) HandleAnswer(ctx context.Context, t Transport, sdp string) error {
	if t != TransportSub {
		return fmt.Errorf("%w: answers are only accepted on %q", ErrWrongState, TransportSub)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sfu: answer: %w", err)
	}
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if !p.offering {
		return fmt.Errorf("%w: no offer outstanding", ErrWrongState)
	}
	if err := checkSDP(sdp); err != nil {
		return err
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		// The offer stays outstanding: a corrected answer can still be applied.
		return fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	p.offering = false
	p.flushCandidates(p.sub, &p.subT)
	if p.renegotiate {
		p.renegotiate = false
		p.scheduleNegotiationLocked()
	}
	return nil
}

// AddCandidate adds a client's trickled ICE candidate; nil marks the end of gathering.
func (p *Peer) AddCandidate(t Transport, c *webrtc.ICECandidateInit) error {
	var tr *transport
	switch t {
	case TransportPub:
		if !p.PublishRights().any() {
			return ErrNoPublish
		}
		tr = &p.pubT
	case TransportSub:
		tr = &p.subT
	default:
		return fmt.Errorf("%w: unknown transport %q", ErrBadICE, t)
	}
	if c == nil || c.Candidate == "" {
		// End of candidates: pion needs no marker, and an empty string is
		// how browsers spell it.
		return nil
	}
	// Validate now, not when the candidate is finally applied, so the
	// client hears about a bad one in reply to the message that carried it.
	if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
		return fmt.Errorf("%w: %w", ErrBadICE, err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	pc := p.sub
	if t == TransportPub {
		// Checked again under the lock, which a revoke takes: a candidate
		// of the connection it retired must not wait for the next one.
		if !p.PublishRights().any() {
			return ErrNoPublish
		}
		// Before the first offer of a grant there is no connection yet:
		// the candidate waits with the others for the description.
		pc = p.pubPC.Load()
	}
	if pc == nil || pc.RemoteDescription() == nil {
		if len(tr.pending) >= maxPendingCandidates {
			return fmt.Errorf("%w: too many candidates before the description", ErrBadICE)
		}
		tr.pending = append(tr.pending, *c)
		return nil
	}
	if err := pc.AddICECandidate(*c); err != nil {
		return fmt.Errorf("%w: %w", ErrBadICE, err)
	}
	return nil
}

// flushCandidates applies candidates that arrived before the remote
// description; tr.mu must be held.
func (p *Peer) flushCandidates(pc *webrtc.PeerConnection, tr *transport) {
	for _, c := range tr.pending {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Debug("queued candidate refused", "transport", string(tr.name), "err", err)
		}
	}
	tr.pending = nil
}

// onTrack is pion's OnTrack for the pub connection: a published track, or
// one simulcast encoding of it, has started (its first packet arrived). It
// runs on a goroutine of its own. The first encoding of a track publishes it
// to the room; later ones add layers to it.
func (p *Peer) onTrack(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	// Held until the track is placed, so that a change of rights cannot
	// miss it (rights.go).
	p.rightsMu.Lock()
	defer p.rightsMu.Unlock()
	if p.pubPC.Load() != pc {
		return // a retired connection's late track: it ends with it
	}
	p.mu.Lock()
	t, existing := p.published[receiver]
	if !existing {
		t = newPubTrack(p, remote, receiver)
		t.pc = pc
		p.gateTrack(t)
		p.setupTrackLocked(t, remote, receiver)
		p.published[receiver] = t
	}
	p.mu.Unlock()
	l := t.addLayer(remote, receiver)
	if l == nil {
		p.log.Warn("published encoding ignored", "track", t.id, "rid", remote.RID())
		return
	}
	started := p.goTracked(func() {
		defer func() {
			if t.readers.Add(-1) == 0 {
				p.mu.Lock()
				if p.published[receiver] == t {
					delete(p.published, receiver)
				}
				p.mu.Unlock()
				p.room.removeTrack(t)
			}
		}()
		l.readLoop()
	})
	if !started {
		return
	}
	p.goTracked(l.rtcpLoop)
	if l.kf != nil {
		p.goTracked(func() { l.kf.run(t.done) })
	}
	if existing {
		p.log.Debug("simulcast layer added", "track", t.id, "rid", l.rid, "layer", l.idx)
		return
	}
	p.placeTrackLocked(t)
}

// subscribe adds down-tracks for ts to the sub connection and renegotiates.
// Tracks already subscribed or already ended are skipped.
func (p *Peer) subscribe(ts ...*pubTrack) {
	if len(ts) == 0 {
		return
	}
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	changed := false
	for _, t := range ts {
		if p.isClosed() {
			return
		}
		if _, ok := p.downs[t]; ok {
			continue
		}
		d := newDownTrack(t)
		d.log = p.log
		d.est = &p.est
		d.cc = &p.cc
		d.taps, d.raws, d.st = &p.taps, p.sfu.raws, p.sfu.st
		if !t.addDown(d) {
			continue // ended meanwhile
		}
		sender, err := p.addSender(d)
		if err != nil {
			t.removeDown(d)
			p.log.Warn("cannot subscribe", "track", t.id, "err", err)
			continue
		}
		p.downs[t] = &subscription{down: d, sender: sender}
		changed = true
		if !p.allocating {
			p.allocating = p.goTracked(p.allocLoop)
		}
	}
	if changed {
		p.scheduleNegotiationLocked()
		p.kickAlloc()
	}
}

// addSender adds d on a send-only transceiver offering only the published
// codec, so the subscriber cannot pick one the publisher does not send.
func (p *Peer) addSender(d *downTrack) (*webrtc.RTPSender, error) {
	tr, err := p.sub.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("sfu: add transceiver: %w", err)
	}
	// Advertise the feedback this SFU acts on (and RTX), whatever the
	// publisher's connection negotiated.
	if err := tr.SetCodecPreferences(subCodecs(d.codec, d.kind, tr.Sender().GetParameters().Codecs)); err != nil {
		p.log.Debug("codec preferences refused; offering all codecs", "codec", d.codec.MimeType, "err", err)
	}
	return tr.Sender(), nil
}

// requestKeyframes asks for a keyframe on every video layer p receives.
func (p *Peer) requestKeyframes() {
	p.subT.mu.Lock()
	ds := make([]*downTrack, 0, len(p.downs))
	for _, s := range p.downs {
		if s.down.kind == webrtc.RTPCodecTypeVideo {
			ds = append(ds, s.down)
		}
	}
	p.subT.mu.Unlock()
	for _, d := range ds {
		d.requestKeyframe()
	}
}

// unsubscribe removes the down-tracks of ts and renegotiates.
func (p *Peer) unsubscribe(ts ...*pubTrack) {
	p.subT.mu.Lock()
	defer p.subT.mu.Unlock()
	changed := false
	for _, t := range ts {
		s, ok := p.downs[t]
		if !ok {
			continue
		}
		delete(p.downs, t)
		t.removeDown(s.down)
		if err := p.sub.RemoveTrack(s.sender); err != nil && !p.isClosed() {
			p.log.Debug("remove track", "track", t.id, "err", err)
		}
		changed = true
	}
	if changed {
		p.scheduleNegotiationLocked()
	}
}

// negotiationDelay gathers track changes that come together (a publisher's
// audio and video, which start within milliseconds of each other) into one
// sub offer. Renegotiating again while the first offer's ICE checks are
// still running has left pion's ICE agent stuck in "checking" on loopback;
// one offer per burst avoids that and halves the signaling.
const negotiationDelay = 80 * time.Millisecond

// maxChecksWait bounds how long a renegotiation waits for the sub
// connection's first ICE checks to finish.
const maxChecksWait = 5 * time.Second

// waitSubChecks waits while the sub connection's ICE is still checking its
// first candidate pairs (up to maxChecksWait), so that a new offer never
// lands in the middle of them.
func (p *Peer) waitSubChecks() {
	deadline := time.Now().Add(maxChecksWait)
	for time.Now().Before(deadline) {
		switch p.sub.ICEConnectionState() {
		case webrtc.ICEConnectionStateChecking:
		default:
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-p.stop:
			return
		}
	}
}

// scheduleNegotiationLocked sends a sub offer after negotiationDelay unless
// one is already scheduled. p.subT.mu must be held.
func (p *Peer) scheduleNegotiationLocked() {
	if p.negotiationScheduled {
		return
	}
	p.negotiationScheduled = p.goTracked(func() {
		t := time.NewTimer(negotiationDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.stop:
			return
		}
		p.waitSubChecks()
		p.subT.mu.Lock()
		defer p.subT.mu.Unlock()
		p.negotiationScheduled = false
		p.negotiateLocked()
	})
}

// negotiateLocked sends a new sub offer, or notes that one is needed once the
// outstanding offer is answered. p.subT.mu must be held.
func (p *Peer) negotiateLocked() {
	if p.isClosed() {
		return
	}
	if p.offering {
		p.renegotiate = true
		return
	}
	if len(p.downs) == 0 && !p.offered {
		return // nothing to send yet
	}
	offer, err := p.sub.CreateOffer(p.subOfferOptions())
	if err != nil {
		p.log.Warn("create sub offer", "err", err)
		return
	}
	if err := p.sub.SetLocalDescription(offer); err != nil {
		p.log.Warn("set sub offer", "err", err)
		return
	}
	p.offering, p.offered, p.iceRestart = true, true, false
	p.sendDescription(&p.subT, SignalOffer, offer.SDP)
}

// onPCState folds the two connections' states into one PeerState.
func (p *Peer) onPCState(t Transport, s webrtc.PeerConnectionState) {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	if p.stateDone {
		return
	}
	if t == TransportPub {
		p.pubState = s
	} else {
		p.subState = s
	}
	st := combineStates(p.pubState, p.subState)
	if st == p.lastState {
		return
	}
	p.lastState = st
	p.log.Debug("peer state", "state", string(st))
	p.notify.state(st)
}

// combineStates gives the worst state of the connections in use. A
// connection still "new" is not in use (a lecturer receives nothing until
// someone else publishes; a student never publishes).
func combineStates(states ...webrtc.PeerConnectionState) PeerState {
	has := func(want webrtc.PeerConnectionState) bool {
		for _, s := range states {
			if s == want {
				return true
			}
		}
		return false
	}
	switch {
	case has(webrtc.PeerConnectionStateFailed):
		return PeerFailed
	case has(webrtc.PeerConnectionStateClosed):
		return PeerClosed
	case has(webrtc.PeerConnectionStateDisconnected):
		return PeerDisconnected
	case has(webrtc.PeerConnectionStateConnecting):
		return PeerConnecting
	case has(webrtc.PeerConnectionStateConnected):
		return PeerConnected
	default:
		return PeerConnecting
	}
}

// Close leaves the room: its published tracks are removed from every other
// peer (who are renegotiated) and all its resources are freed.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	p.mu.Unlock()

	p.stateMu.Lock()
	p.stateDone = true
	p.stateMu.Unlock()

	p.room.removePeer(p)
	if p.site != nil {
		p.sfu.leaveSite(p, p.site)
	}

	p.subT.mu.Lock()
	downs := p.downs
	p.downs = map[*pubTrack]*subscription{}
	p.subT.mu.Unlock()
	for t, s := range downs {
		t.removeDown(s.down)
	}

	err := p.closePCs()
	// Readers, RTCP loops and keyframe loops all end once the connections
	// are closed and the published tracks are ended.
	p.wg.Wait()
	p.notify.state(PeerClosed)
	p.notify.close()
	return err
}

func (p *Peer) closePCs() error {
	var errs []error
	// Under pubT.mu: an offer being applied finishes first, and none
	// creates a connection after this (it sees the peer closed).
	p.pubT.mu.Lock()
	pub := p.pubPC.Swap(nil)
	p.pubT.mu.Unlock()
	if pub != nil {
		if err := pub.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sfu: close pub: %w", err))
		}
	}
	if err := p.sub.Close(); err != nil {
		errs = append(errs, fmt.Errorf("sfu: close sub: %w", err))
	}
	return errors.Join(errs...)
}
