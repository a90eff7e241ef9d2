// Package attendance owns the record of who was present at a lecture: join
// and leave events appended to a per-lecture Redis stream as they happen, and
// the per-person presence computed from them.
package attendance

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind is what happened to a connection.
type Kind string

// Event kinds.
const (
	KindJoin  Kind = "join"
	KindLeave Kind = "leave"
)

// Reasons a connection left.
const (
	ReasonLeft         = "left"
	ReasonDisconnected = "disconnected"
	ReasonTimeout      = "timeout"
	ReasonEnded        = "ended"
	ReasonShutdown     = "shutdown"
	ReasonRecovered    = "recovered" // closed after a server restart
	ReasonRemoved      = "removed"   // a moderator removed the participant
)

// Event is one join or leave of one connection.
type Event struct {
	ID        string    `json:"id"` // Redis stream id, set by Record
	LectureID string    `json:"lectureId"`
	Kind      Kind      `json:"kind"`
	UserID    string    `json:"userId"`
	Role      string    `json:"role"`
	SiteID    string    `json:"siteId"`
	ConnID    string    `json:"connId"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
	// ClientAt is the time the client's own clock reported with a join. It
	// is kept as information only: clocks are wrong or forged, so no
	// computation ever uses it; At, the server's time, decides.
	ClientAt *time.Time `json:"clientAt,omitempty"`
	// IdempotencyKey, if set, makes the event count at most once: recording
	// an event whose key was recorded before writes nothing and returns the
	// earlier result. The Recorder gives every event one, so that its outbox
	// may be replayed more than once (outbox.go). It is not in the stream.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// Presence is one person's attendance of one lecture.
type Presence struct {
	UserID         string     `json:"userId"`
	Role           string     `json:"role"`
	SiteID         string     `json:"siteId"`
	FirstJoin      time.Time  `json:"firstJoin"`
	LastLeave      *time.Time `json:"lastLeave"` // nil while connected
	PresentSeconds int64      `json:"presentSeconds"`
	Connected      bool       `json:"connected"`
	Connections    int        `json:"connections"`
}

// Errors callers can test with errors.Is.
var (
	ErrInvalid = errors.New("attendance: invalid event")
)

// Options tunes a Store.
type Options struct {
	Now func() time.Time // default time.Now
}

// Store records attendance events in Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{rdb: rdb, opts: opts}
}
