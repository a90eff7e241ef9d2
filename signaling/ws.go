package signaling

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// WebSocket limits, documented in docs/protocol.md.
const (
	maxMessageBytes  = 64 << 10 // larger messages are answered with too_large
	hardMessageBytes = 1 << 20  // larger messages close the connection
	sendQueue        = 256      // queued outgoing messages before a client counts as stuck
	writeTimeout     = 10 * time.Second
	msgRate          = 20 // messages per second
	msgBurst         = 60
	maxDropped       = 200 // rate-limited messages before the connection is closed
)

// handleWebSocket authenticates the cookie, checks the origin and runs one client.
func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	u, err := s.sessionUser(r)
	if err != nil {
		if !noSession(err) {
			s.internalError(w, "could not check the session", err)
			return
		}
		writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return
	}
	if !s.originAllowed(r) {
		s.log.Info("WebSocket origin refused", "origin", r.Header.Get("Origin"), "host", r.Host)
		writeError(w, http.StatusForbidden, "forbidden", "this origin may not connect")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
		return
	}
	s.nextConn++
	connID := fmt.Sprintf("c_%d_%d", s.cfg.Now().UnixMilli(), s.nextConn)
	s.mu.Unlock()

	up := websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		WriteBufferPool: &s.wsWriteBuffers,
		// The origin was checked above against the host and the allow-list.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Info("WebSocket upgrade failed", "err", err)
		return // the upgrader has answered
	}
	c := &client{
		s:       s,
		id:      connID,
		user:    u,
		conn:    conn,
		send:    make(chan []byte, sendQueue),
		quit:    make(chan struct{}),
		limiter: rate.NewLimiter(msgRate, msgBurst),
		log:     s.log.With("conn", connID, "user", u.ID),
	}
	c.seen(s.cfg.Now())

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.clients[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	s.metrics.connections.Inc()

	go func() { defer s.wg.Done(); c.writeLoop() }()
	go func() {
		defer s.wg.Done()
		c.readLoop()
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
		s.metrics.connections.Dec()
	}()
}

// originAllowed accepts a missing Origin (non-browser clients carry the
// cookie only if a script put it there), the serving host, and the allow-list.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// closeRequest is how a client's connection is to be closed.
type closeRequest struct {
	code   int
	reason string
}

// quitOnce guards the quit channel and the close request.
type quitOnce struct {
	once sync.Once
	req  closeRequest
}
