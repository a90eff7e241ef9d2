package sfu

import "sync"

// notifier delivers a peer's signals and state changes to the caller's
// callbacks, in order, from one goroutine of its own. Doing this off the
// SFU's goroutines means a slow OnSignal (a congested WebSocket) never
// stalls negotiation or media, and a callback may call back into the Peer
// (even Close) without deadlocking on a lock the SFU holds.
type notifier struct {
	onSignal  func(Signal)
	onState   func(PeerState)
	onQuality func(Quality)
	onSpeaker func(string)

	mu     sync.Mutex
	queue  []event
	closed bool
	wake   chan struct{} // capacity 1
}

type event struct {
	kind    eventKind
	sig     Signal
	state   PeerState
	quality Quality
	speaker string
}

type eventKind int

const (
	evSignal eventKind = iota
	evState
	evQuality
	evSpeaker
)

func newNotifier(opts PeerOptions) *notifier {
	n := &notifier{onSignal: opts.OnSignal, onState: opts.OnState, onQuality: opts.OnQuality,
		onSpeaker: opts.OnActiveSpeaker, wake: make(chan struct{}, 1)}
	if n.onSignal == nil {
		n.onSignal = func(Signal) {}
	}
	if n.onState == nil {
		n.onState = func(PeerState) {}
	}
	if n.onQuality == nil {
		n.onQuality = func(Quality) {}
	}
	if n.onSpeaker == nil {
		n.onSpeaker = func(string) {}
	}
	return n
}

func (n *notifier) push(e event) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.queue = append(n.queue, e)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) signal(s Signal) { n.push(event{kind: evSignal, sig: s}) }

func (n *notifier) state(s PeerState) { n.push(event{kind: evState, state: s}) }

func (n *notifier) quality(q Quality) { n.push(event{kind: evQuality, quality: q}) }

func (n *notifier) speaker(id string) { n.push(event{kind: evSpeaker, speaker: id}) }

// close lets run return once everything queued so far is delivered.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	for range n.wake {
		n.mu.Lock()
		q, closed := n.queue, n.closed
		n.queue = nil
		n.mu.Unlock()
		for _, e := range q {
			switch e.kind {
			case evSignal:
				n.onSignal(e.sig)
			case evState:
				n.onState(e.state)
			case evQuality:
				n.onQuality(e.quality)
			case evSpeaker:
				n.onSpeaker(e.speaker)
			}
		}
		if closed {
			n.mu.Lock()
			empty := len(n.queue) == 0
			n.mu.Unlock()
			if empty {
				return
			}
		}
	}
}
