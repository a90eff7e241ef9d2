// Package schedule owns sites and lectures: where each institution is and in
// which time zone, when each lecture happens, who teaches it, and whether it
// is scheduled, live or ended. Everything is kept in Redis.
package schedule

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Site is a participating institution's location.
type Site struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Institution string `json:"institution"`
	TimeZone    string `json:"timeZone"` // IANA name, e.g. Asia/Bishkek
}

// State is where a lecture is in its life.
type State string

// Lecture states; a lecture only moves forward through them.
const (
	StateScheduled State = "scheduled"
	StateLive      State = "live"
	StateEnded     State = "ended"
)

// Lecture is one scheduled lesson.
type Lecture struct {
	ID              string     `json:"id"`
	Title           string     `json:"title"`
	Topic           string     `json:"topic"`
	Start           time.Time  `json:"start"`
	DurationMinutes int        `json:"durationMinutes"`
	LecturerID      string     `json:"lecturerId"`
	SiteID          string     `json:"siteId"`
	State           State      `json:"state"`
	StartedAt       *time.Time `json:"startedAt"`
	EndedAt         *time.Time `json:"endedAt"`
	CreatedAt       time.Time  `json:"createdAt"`
}

// Duration is the planned length of the lecture.
func (l Lecture) Duration() time.Duration { return time.Duration(l.DurationMinutes) * time.Minute }

// NewLecture is what an admin supplies to schedule a lecture.
type NewLecture struct {
	Title           string
	Topic           string
	Start           time.Time
	DurationMinutes int
	LecturerID      string
	SiteID          string
}

// Errors callers can test with errors.Is.
var (
	ErrNotFound = errors.New("schedule: not found")
	ErrInvalid  = errors.New("schedule: invalid input")
	ErrEnded    = errors.New("schedule: lecture has ended")
	ErrNotLive  = errors.New("schedule: lecture is not live")
)

// Options tunes a Store.
type Options struct {
	Now func() time.Time // default time.Now
}

// Store keeps sites and lectures in Redis.
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

// InvalidError says which input field was refused and why. It matches
// ErrInvalid with errors.Is; errors.As gives the field for an API reply.
type InvalidError struct {
	Field  string // the JSON name of the field, e.g. "durationMinutes"
	Reason string // e.g. "durationMinutes must be 5-720"
}

func (e *InvalidError) Error() string { return ErrInvalid.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
