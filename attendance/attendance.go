// Package attendance owns the record of who was present at a lecture: join
// and leave events appended to a per-lecture Redis stream as they happen, and
// the per-person presence computed from them.
package attendance

import (
	"context"
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
func NewStore(rdb redis.UniversalClient, opts Options) *Store { panic("TODO") }

// Record appends an event to the lecture's stream and updates the set of open
// connections. A zero At is set to now. It returns the event with its ID.
func (s *Store) Record(ctx context.Context, e Event) (Event, error) { panic("TODO") }

// Events returns a lecture's events in order.
func (s *Store) Events(ctx context.Context, lectureID string) ([]Event, error) { panic("TODO") }

// Open returns the join events of connections that have not left.
func (s *Store) Open(ctx context.Context, lectureID string) ([]Event, error) { panic("TODO") }

// Summary computes each person's presence; intervals still open are counted up to now.
func (s *Store) Summary(ctx context.Context, lectureID string) ([]Presence, error) { panic("TODO") }

// Touch records a sign of life of an open connection, so that a connection
// lost in a crash can later be closed at its last sign of life.
func (s *Store) Touch(ctx context.Context, lectureID, connID string, at time.Time) error {
	panic("TODO")
}

// CloseOpen records a leave (with reason) for every connection of the lecture
// still open, at each connection's last sign of life. It is used after a
// server restart and when a lecture ends.
func (s *Store) CloseOpen(ctx context.Context, lectureID, reason string) (int, error) {
	panic("TODO")
}

// OpenLectures returns the ids of lectures that have open connections.
func (s *Store) OpenLectures(ctx context.Context) ([]string, error) { panic("TODO") }
