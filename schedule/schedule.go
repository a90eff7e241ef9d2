// Package schedule owns sites and lectures: where each institution is and in
// which time zone, when each lecture happens, who teaches it, and whether it
// is scheduled, live or ended. Everything is kept in Redis.
package schedule

import (
	"context"
	"errors"
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
func NewStore(rdb redis.UniversalClient, opts Options) *Store { panic("TODO") }

// PutSite creates or replaces a site.
func (s *Store) PutSite(ctx context.Context, site Site) error { panic("TODO") }

// Site returns one site.
func (s *Store) Site(ctx context.Context, id string) (Site, error) { panic("TODO") }

// Sites returns all sites ordered by name.
func (s *Store) Sites(ctx context.Context) ([]Site, error) { panic("TODO") }

// CreateLecture schedules a lecture after validating it (the site must exist;
// the caller checks the lecturer).
func (s *Store) CreateLecture(ctx context.Context, nl NewLecture) (Lecture, error) { panic("TODO") }

// Lecture returns one lecture.
func (s *Store) Lecture(ctx context.Context, id string) (Lecture, error) { panic("TODO") }

// LecturesBetween returns lectures whose start is in [from, to), ordered by start.
func (s *Store) LecturesBetween(ctx context.Context, from, to time.Time) ([]Lecture, error) {
	panic("TODO")
}

// Start marks a lecture live (idempotent while live).
func (s *Store) Start(ctx context.Context, id string) (Lecture, error) { panic("TODO") }

// End marks a live lecture ended.
func (s *Store) End(ctx context.Context, id string) (Lecture, error) { panic("TODO") }

// Live returns the lectures that are live now.
func (s *Store) Live(ctx context.Context) ([]Lecture, error) { panic("TODO") }
