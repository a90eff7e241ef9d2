package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// client is one WebSocket connection: one browser tab in at most one lecture.
// readLoop owns the connection's protocol state; writeLoop owns the socket's
// write side; everything else reaches the client through send and close.
type client struct {
	s       *Server
	id      string
	user    account.User
	conn    *websocket.Conn
	send    chan []byte
	quit    chan struct{}
	closer  quitOnce
	limiter *rate.Limiter
	log     *slog.Logger

	lastSeen atomic.Int64 // unix nanoseconds of the last message or pong
	dropped  int          // rate-limited messages; readLoop only
	room     *room        // readLoop only
	leaving  atomic.Value // string: the attendance reason chosen by close
	ice      iceWatch     // media failure timer (resume_ice.go)
	// chatLimiter bounds this connection's chat messages (readLoop only;
	// made on the first one).
	chatLimiter *rate.Limiter
}

func (c *client) seen(t time.Time) { c.lastSeen.Store(t.UnixNano()) }

func (c *client) lastSign() time.Time { return time.Unix(0, c.lastSeen.Load()) }

// close asks writeLoop to send a close frame and drop the connection; the
// reason is recorded in attendance when the client leaves its lecture.
func (c *client) close(code int, text, attendanceReason string) {
	c.closer.once.Do(func() {
		c.closer.req = closeRequest{code: code, reason: text}
		c.leaving.Store(attendanceReason)
		close(c.quit)
	})
}

// shutdown disconnects the client because the server is stopping.
func (c *client) shutdown() {
	c.close(websocket.CloseGoingAway, "server shutting down", attendance.ReasonShutdown)
}

// sendJSON queues a message; a client whose queue is full is stuck and is
// disconnected rather than allowed to hold up the lecture.
func (c *client) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("encoding a message failed", "err", err)
		return
	}
	select {
	case <-c.quit:
	case c.send <- b:
		c.s.metrics.sent.WithLabelValues(sentType(b)).Inc()
	default:
		c.log.Warn("client is not reading its messages; disconnecting")
		c.close(websocket.ClosePolicyViolation, "not reading messages", attendance.ReasonDisconnected)
	}
}

// sendError tells the client its message was refused, and logs it once.
func (c *client) sendError(code, message, ref string) {
	c.s.metrics.errors.WithLabelValues(code).Inc()
	c.log.Info("message refused", "code", code, "ref", ref, "msg", message)
	c.sendJSON(errorMsg{Type: msgError, Code: code, Message: message, Ref: ref})
}

func (c *client) writeLoop() {
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	defer c.conn.Close()
	for {
		select {
		case b := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close(websocket.CloseAbnormalClosure, "", attendance.ReasonDisconnected)
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "", attendance.ReasonDisconnected)
				return
			}
		case <-c.quit:
			req := c.closer.req
			if req.code != websocket.CloseAbnormalClosure {
				// Flush what is queued (e.g. the final "ended" message) before closing.
				c.drain()
				msg := websocket.FormatCloseMessage(req.code, req.reason)
				c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return
		}
	}
}

// drain writes the messages already queued, without waiting for more.
func (c *client) drain() {
	for {
		select {
		case b := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if c.conn.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		default:
			return
		}
	}
}

func (c *client) readLoop() {
	timeout := 3 * c.s.cfg.PingInterval
	c.conn.SetReadLimit(hardMessageBytes)
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	c.conn.SetPongHandler(func(string) error {
		c.seen(c.s.cfg.Now())
		c.touch()
		return c.conn.SetReadDeadline(time.Now().Add(timeout))
	})
	c.sendJSON(helloMsg{Type: msgHello, V: ProtocolVersion, User: c.user, ConnID: c.id})

	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			c.close(websocket.CloseAbnormalClosure, "", c.readErrorReason(err))
			break
		}
		c.seen(c.s.cfg.Now())
		c.conn.SetReadDeadline(time.Now().Add(timeout))
		if !c.limiter.Allow() {
			c.dropped++
			if c.dropped > maxDropped {
				c.log.Warn("client flooding; disconnecting")
				c.close(websocket.ClosePolicyViolation, "too many messages", attendance.ReasonDisconnected)
				break
			}
			c.sendError(codeRateLimited, "too many messages; slow down", "")
			continue
		}
		if kind != websocket.TextMessage {
			c.sendError(codeBadJSON, "send JSON text frames", "")
			continue
		}
		if len(data) > maxMessageBytes {
			c.sendError(codeTooLarge, "messages are limited to 64 KiB", "")
			continue
		}
		c.handle(data)
		select {
		case <-c.quit:
		default:
			continue
		}
		break
	}
	if c.room != nil {
		reason, _ := c.leaving.Load().(string)
		at := c.s.cfg.Now()
		if reason == attendance.ReasonTimeout {
			at = c.lastSign()
		}
		c.room.leave(c, reason, at)
		c.room = nil
	}
	// Unblock writeLoop if it is still running (e.g. the read side failed first).
	c.close(websocket.CloseAbnormalClosure, "", attendance.ReasonDisconnected)
}

// readErrorReason classifies why reading stopped, for attendance.
func (c *client) readErrorReason(err error) string {
	var ne net.Error
	switch {
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
		return attendance.ReasonLeft
	case errors.As(err, &ne) && ne.Timeout():
		return attendance.ReasonTimeout
	case errors.Is(err, websocket.ErrReadLimit):
		c.log.Info("message over the hard limit; disconnecting")
		return attendance.ReasonDisconnected
	default:
		return attendance.ReasonDisconnected
	}
}

// touch records the sign of life in attendance, at most every TouchInterval.
func (c *client) touch() {
	if r := c.room; r != nil {
		r.touch(c)
	}
}

// handle decodes and dispatches one message.
func (c *client) handle(data []byte) {
	var m inbound
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil || !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		c.sendError(codeBadJSON, "messages must be JSON objects", "")
		return
	}
	c.s.metrics.messages.WithLabelValues(metricType(m.Type)).Inc()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch m.Type {
	case msgJoin:
		c.handleJoin(ctx, m)
	case msgStart:
		c.inRoom(m.Type, func(r *room) { r.start(ctx, c) })
	case msgEnd:
		c.inRoom(m.Type, func(r *room) { r.end(ctx, c) })
	case msgLeave:
		c.inRoom(m.Type, func(r *room) {
			r.leave(c, attendance.ReasonLeft, c.s.cfg.Now())
			c.room = nil
		})
	case msgOffer, msgAnswer, msgCandidate:
		c.inRoom(m.Type, func(r *room) { r.media(ctx, c, m) })
	case msgPreference:
		c.inRoom(m.Type, func(r *room) { r.preference(c, m) })
	case msgSource:
		c.inRoom(m.Type, func(r *room) { r.source(c, m) })
	case msgDisplaySize:
		c.inRoom(m.Type, func(r *room) { r.displaySize(c, m) })
	case msgResume:
		c.handleResume(ctx, m)
	case msgIceRestart:
		c.inRoom(m.Type, func(r *room) { r.iceRestart(c, m) })
	case msgChat:
		c.inRoom(m.Type, func(r *room) { r.postChat(ctx, c, m) })
	case msgDeleteChat:
		c.inRoom(m.Type, func(r *room) { r.deleteChat(ctx, c, m) })
	default:
		if floorMessage(m.Type) {
			c.inRoom(m.Type, func(r *room) { r.floorAction(ctx, c, m) })
			return
		}
		c.sendError(codeUnknownType, "unknown message type", m.Type)
	}
}

// metricType bounds the label values of the messages counter.
func metricType(t string) string {
	switch t {
	case msgJoin, msgStart, msgEnd, msgLeave, msgOffer, msgAnswer, msgCandidate, msgPreference, msgSource, msgDisplaySize,
		msgResume, msgIceRestart, msgChat, msgDeleteChat:
		return t
	}
	if floorMessage(t) {
		return t
	}
	return "unknown"
}

func (c *client) inRoom(ref string, f func(*room)) {
	if c.room == nil {
		c.sendError(codeNotJoined, "join a lecture first", ref)
		return
	}
	f(c.room)
}

func (c *client) handleJoin(ctx context.Context, m inbound) {
	if c.room != nil {
		c.sendError(codeAlreadyJoined, "this connection is already in a lecture", msgJoin)
		return
	}
	if m.LectureID == "" || len(m.LectureID) > 100 {
		c.sendError(codeBadRequest, "lectureId is required", msgJoin)
		return
	}
	// The client's clock is information only: a malformed value is dropped
	// rather than refusing the join, since nothing depends on it.
	var clientAt *time.Time
	if t, err := time.Parse(time.RFC3339Nano, m.ClientTime); err == nil {
		clientAt = &t
	}
	r, code, err := c.s.enterRoom(ctx, c, m.LectureID, clientAt)
	if err != nil {
		c.sendJoinError(code, err)
		return
	}
	c.room = r
}
