// Package schedule owns sites, lectures and lecture series: where each
// institution is and in which time zone, when each lecture happens, who
// teaches it, which sites and student groups take part, whether it is
// scheduled, live, ended or cancelled, and the secret tokens of calendar
// feeds. Everything is kept in Redis.
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
	// NetworkNotes is free text about the site's link (up to 2,000 characters).
	NetworkNotes string `json:"networkNotes"`
	// DownlinkKbps is the downlink budget of the site's link in kbit/s,
	// shared by everyone receiving media there; 0 means no budget. Records
	// written before the field existed read as 0.
	DownlinkKbps int `json:"downlinkKbps"`
}

// State is where a lecture is in its life.
type State string

// Lecture states; a lecture only moves forward through them: scheduled →
// live → ended, or scheduled → cancelled.
const (
	StateScheduled State = "scheduled"
	StateLive      State = "live"
	StateEnded     State = "ended"
	StateCancelled State = "cancelled"
)

// Lecture is one scheduled lesson.
type Lecture struct {
	ID              string     `json:"id"`
	Title           string     `json:"title"`
	Topic           string     `json:"topic"`
	Start           time.Time  `json:"start"`
	DurationMinutes int        `json:"durationMinutes"`
	LecturerID      string     `json:"lecturerId"`
	SiteID          string     `json:"siteId"` // the origin site
	State           State      `json:"state"`
	StartedAt       *time.Time `json:"startedAt"`
	EndedAt         *time.Time `json:"endedAt"`
	CreatedAt       time.Time  `json:"createdAt"`

	SeriesID string   `json:"seriesId"` // "" for a one-off lecture
	Index    int      `json:"index"`    // 1-based position in the series; 0 for a one-off
	SiteIDs  []string `json:"siteIds"`  // participating sites besides the origin
	GroupIDs []string `json:"groupIds"` // student groups it is for; empty: see Visible
	// TimeZone is the zone the lecture was planned in (the series' zone or
	// the origin site's); calendars show it in this zone.
	TimeZone     string    `json:"timeZone"`
	Modified     bool      `json:"modified"` // edited individually; series edits pass it by
	CancelReason string    `json:"cancelReason"`
	Sequence     int       `json:"sequence"`  // bumped on every change, for iCalendar SEQUENCE
	UpdatedAt    time.Time `json:"updatedAt"` // last change; CreatedAt until the first
}

// Duration is the planned length of the lecture.
func (l Lecture) Duration() time.Duration { return time.Duration(l.DurationMinutes) * time.Minute }

// End is the planned end of the lecture.
func (l Lecture) End() time.Time { return l.Start.Add(l.Duration()) }

// Sites returns the origin site followed by the participating sites.
func (l Lecture) Sites() []string { return append([]string{l.SiteID}, l.SiteIDs...) }

// NewLecture is what an admin supplies to schedule a lecture.
type NewLecture struct {
	Title           string
	Topic           string
	Start           time.Time
	DurationMinutes int
	LecturerID      string
	SiteID          string
	SiteIDs         []string // optional participating sites
	GroupIDs        []string // optional student groups
}

// Errors callers can test with errors.Is.
var (
	ErrNotFound = errors.New("schedule: not found")
	ErrInvalid  = errors.New("schedule: invalid input")
	ErrEnded    = errors.New("schedule: lecture has ended")
	ErrNotLive  = errors.New("schedule: lecture is not live")
	// ErrCancelled is returned when starting a cancelled lecture.
	ErrCancelled = errors.New("schedule: lecture is cancelled")
	// ErrNotScheduled is returned when editing or cancelling a lecture
	// that is live, ended or (for edits) cancelled.
	ErrNotScheduled = errors.New("schedule: lecture is not scheduled")
	// ErrConflict matches a *ConflictError.
	ErrConflict = errors.New("schedule: conflicting booking")
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
