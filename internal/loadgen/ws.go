package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// message is any server message the tool acts on; unused fields stay empty.
type message struct {
	Type       string                   `json:"type"`
	PC         string                   `json:"pc"`
	SDP        string                   `json:"sdp"`
	Candidate  *webrtc.ICECandidateInit `json:"candidate"`
	CanPublish bool                     `json:"canPublish"`
	Lecture    *lecture                 `json:"lecture"`
	Code       string                   `json:"code"`
	Message    string                   `json:"message"`
	Ref        string                   `json:"ref"`
}

// outMessage is any message the tool sends.
type outMessage struct {
	Type      string                   `json:"type"`
	LectureID string                   `json:"lectureId,omitempty"`
	PC        string                   `json:"pc,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Video     string                   `json:"video,omitempty"`
}

// sigConn is one signaling WebSocket. Its reader goroutine hands every
// message except the participant lists to handle, in order.
type sigConn struct {
	conn *websocket.Conn
	mu   sync.Mutex // serialises writes
	done chan struct{}
	err  error // why the reader stopped; read after done
}

// skipPrefix marks the participant list the server sends to everyone on
// every join and leave: with hundreds of subscribers it is most of the
// signaling traffic, and the tool has no use for it, so it is not decoded.
var skipPrefix = []byte(`{"type":"participants"`)

// dialSignaling opens the lecture WebSocket with the session cookie. The
// Origin is the server's own, as a browser page's would be.
func dialSignaling(ctx context.Context, base *url.URL, cookie string, handle func(message)) (*sigConn, error) {
	wsURL := *base
	wsURL.Scheme = strings.Replace(base.Scheme, "http", "ws", 1)
	wsURL.Path = "/ws"
	h := http.Header{}
	h.Set("Cookie", cookie)
	h.Set("Origin", base.Scheme+"://"+base.Host)
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 16 << 10, WriteBufferSize: 8 << 10}
	conn, resp, err := d.DialContext(ctx, wsURL.String(), h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("opening the lecture WebSocket: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("opening the lecture WebSocket: %w", err)
	}
	c := &sigConn{conn: conn, done: make(chan struct{})}
	go c.read(handle)
	return c, nil
}

func (c *sigConn) read(handle func(message)) {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		if bytes.HasPrefix(data, skipPrefix) {
			continue
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			c.err = fmt.Errorf("undecodable server message: %w", err)
			return
		}
		handle(m)
	}
}

// send writes one message.
func (c *sigConn) send(m outMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteJSON(m); err != nil {
		return fmt.Errorf("sending %s: %w", m.Type, err)
	}
	return nil
}

// close says goodbye (the server records the leave as "left") and waits
// briefly for the reader to stop.
func (c *sigConn) close() {
	c.mu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	c.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}

// closedErr describes why the server side of c went away.
func (c *sigConn) closedErr() error {
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return fmt.Errorf("the server closed the WebSocket (%d %s)", ce.Code, ce.Text)
	}
	return fmt.Errorf("the WebSocket failed: %w", c.err)
}
