// Package sfu owns media: rooms of peers, the tracks they publish, and the
// forwarding of every published RTP packet to each subscriber, with keyframe
// requests and retransmissions handled on the way. It knows nothing of HTTP,
// users or storage.
package sfu

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"
)

// Transport names one of a peer's two peer connections.
type Transport string

// A peer publishes on TransportPub (the client offers) and receives on
// TransportSub (the server offers), so neither side has offer collisions.
const (
	TransportPub Transport = "pub"
	TransportSub Transport = "sub"
)

// SignalKind says what a Signal carries.
type SignalKind string

// Signal kinds sent from the SFU to a client.
const (
	SignalOffer     SignalKind = "offer"
	SignalAnswer    SignalKind = "answer"
	SignalCandidate SignalKind = "candidate"
)

// Signal is a message the SFU needs delivered to the peer's client.
type Signal struct {
	Kind      SignalKind
	Transport Transport
	SDP       string                   // offer or answer
	Candidate *webrtc.ICECandidateInit // candidate
}

// PeerState is the media connectivity of a peer as a whole.
type PeerState string

// Peer states reported through PeerOptions.OnState.
const (
	PeerConnecting   PeerState = "connecting"
	PeerConnected    PeerState = "connected"
	PeerDisconnected PeerState = "disconnected" // ICE lost; may recover
	PeerFailed       PeerState = "failed"
	PeerClosed       PeerState = "closed"
)

// Errors callers can test with errors.Is.
var (
	ErrClosed     = errors.New("sfu: closed")
	ErrBadSDP     = errors.New("sfu: bad session description")
	ErrBadICE     = errors.New("sfu: bad ICE candidate")
	ErrNoPublish  = errors.New("sfu: peer may not publish")
	ErrDuplicate  = errors.New("sfu: peer id already in room")
	ErrWrongState = errors.New("sfu: wrong negotiation state")
)

// Config is everything the SFU needs from outside.
type Config struct {
	Logger *slog.Logger
	// ICEServers are given to the server's peer connections (STUN/TURN).
	ICEServers []webrtc.ICEServer
	// IncludeLoopback gathers candidates on loopback (tests, single-machine demos).
	IncludeLoopback bool
	// UDPPortMin/Max bound the ephemeral UDP ports (0,0 = any).
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs are public addresses to advertise when behind 1:1 NAT.
	NAT1To1IPs []string
	// KeyframeInterval is the minimum time between two keyframe requests sent
	// to one publisher's track (default 500 ms).
	KeyframeInterval time.Duration
}

// PeerOptions describe one participant joining a room.
type PeerOptions struct {
	// Publish allows the peer to publish media on TransportPub.
	Publish bool
	// OnSignal delivers offers, answers and candidates to the client. It must
	// not block for long; it is called from the SFU's goroutines.
	OnSignal func(Signal)
	// OnState reports media connectivity changes (optional).
	OnState func(PeerState)
}

// Stats are counters for metrics, read atomically.
type Stats struct {
	Rooms            int
	Peers            int
	PublishedTracks  int
	PacketsIn        uint64
	PacketsForwarded uint64
	BytesForwarded   uint64
	KeyframeRequests uint64
	NACKsServed      uint64
}

// SFU is the media server: a set of rooms.
type SFU struct{}

// New builds an SFU from cfg.
func New(cfg Config) (*SFU, error) { panic("TODO") }

// Room returns the room with the given id, creating it if needed.
func (s *SFU) Room(id string) *Room { panic("TODO") }

// CloseRoom closes every peer of a room and forgets it.
func (s *SFU) CloseRoom(id string) { panic("TODO") }

// Stats returns a snapshot of the counters.
func (s *SFU) Stats() Stats { panic("TODO") }

// Close closes every room.
func (s *SFU) Close() error { panic("TODO") }

// Room is the media of one lecture.
type Room struct{}

// Join adds a peer. Every peer subscribes to every track published in the
// room; the SFU sends a TransportSub offer through OnSignal whenever there
// are tracks to send or the set of tracks changes.
func (r *Room) Join(ctx context.Context, peerID string, opts PeerOptions) (*Peer, error) {
	panic("TODO")
}

// Peers returns the number of peers in the room.
func (r *Room) Peers() int { panic("TODO") }

// Peer is one participant's media.
type Peer struct{}

// HandleOffer applies a client's offer on TransportPub and sends the answer
// through OnSignal.
func (p *Peer) HandleOffer(ctx context.Context, t Transport, sdp string) error { panic("TODO") }

// HandleAnswer applies a client's answer to the SFU's latest TransportSub offer.
func (p *Peer) HandleAnswer(ctx context.Context, t Transport, sdp string) error { panic("TODO") }

// AddCandidate adds a client's trickled ICE candidate; nil marks the end of gathering.
func (p *Peer) AddCandidate(t Transport, c *webrtc.ICECandidateInit) error { panic("TODO") }

// Close leaves the room: its published tracks are removed from every other
// peer (who are renegotiated) and all its resources are freed.
func (p *Peer) Close() error { panic("TODO") }
