package signaling

import (
	"errors"
	"sync"
	"time"

	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/sfu"
	"github.com/gorilla/websocket"
)

// defaultMediaFailGrace is how long a failed media connection may take to
// come back (the client restarts ICE) before the socket is closed.
const defaultMediaFailGrace = 15 * time.Second

// iceWatch closes a client's socket with 1013 when its media connection
// stays failed for Config.MediaFailGrace. Until then the client may restart
// ICE on the connections it has (pub: a new offer with new credentials;
// sub: the iceRestart message), which is quicker than a new socket and
// keeps every subscription.
type iceWatch struct {
	mu    sync.Mutex
	timer *time.Timer
}

// state is the SFU's report of c's media connectivity.
func (w *iceWatch) state(c *client, st sfu.PeerState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch st {
	case sfu.PeerFailed:
		if w.timer != nil {
			return
		}
		c.log.Info("media connection failed; waiting for an ICE restart", "grace", c.s.cfg.MediaFailGrace)
		w.timer = time.AfterFunc(c.s.cfg.MediaFailGrace, func() {
			c.log.Info("media connection stayed failed; disconnecting client")
			c.close(websocket.CloseTryAgainLater, "media connection failed", attendance.ReasonDisconnected)
		})
	case sfu.PeerConnected, sfu.PeerClosed:
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
	}
}

// iceRestart asks the SFU for a new sub offer with fresh ICE credentials.
func (r *room) iceRestart(c *client, m inbound) {
	if m.PC != string(sfu.TransportSub) {
		c.sendError(codeBadRequest, `pc must be "sub"; restart "pub" with a new offer`, m.Type)
		return
	}
	peer := r.livePeer(c, m.Type)
	if peer == nil {
		return
	}
	switch err := peer.RestartICE(); {
	case err == nil:
		c.log.Info("ICE restart requested", "pc", m.PC)
	case errors.Is(err, sfu.ErrClosed):
		c.sendError(codeNotLive, "the lecture is not live", m.Type)
	default:
		r.s.log.Error("ICE restart failed", "conn", c.id, "err", err)
		c.sendError(codeInternal, "the ICE restart failed", m.Type)
	}
}
