// Package account owns the people who use lecturelink: their roles, the
// student groups (cohorts) of each site, their argon2id password hashes and
// their sign-in sessions, all kept in Redis. It also imports student
// rosters from CSV, all or nothing.
package account

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Role says what a user may do; the server checks it on every action.
type Role string

// The roles known in this version.
const (
	RoleAdmin    Role = "admin"
	RoleLecturer Role = "lecturer"
	RoleStudent  Role = "student"
	// RoleOperator runs a site's classroom computer (room camera, roll-call).
	RoleOperator Role = "operator"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleLecturer, RoleStudent, RoleOperator:
		return true
	}
	return false
}

// User is a person who can sign in. The password hash never leaves this package.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	Role        Role      `json:"role"`
	SiteID      string    `json:"siteId"`
	GroupID     string    `json:"groupId"` // students' cohort; empty otherwise
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"createdAt"`
}

// NewUser is what an admin (or the demo seed) supplies to create an account.
type NewUser struct {
	Username    string
	Password    string
	DisplayName string
	Role        Role
	SiteID      string
	// GroupID puts a student in a cohort of their site (optional; only
	// students may have one).
	GroupID string
}

// Errors callers can test with errors.Is.
var (
	ErrNotFound       = errors.New("account: not found")
	ErrExists         = errors.New("account: username already taken")
	ErrBadCredentials = errors.New("account: wrong username or password")
	ErrInvalid        = errors.New("account: invalid input")
	// ErrGroupExists means a group of that name already exists at the site.
	ErrGroupExists = errors.New("account: group name already taken at the site")
	// ErrNoSession means the token is unknown, expired, or belongs to a
	// user who was deactivated since: the caller must sign in again.
	ErrNoSession = errors.New("account: no valid session")
)

// Options tunes a Store. Zero values pick safe defaults.
type Options struct {
	// SessionTTL is how long a session lives after its last use (default 12h).
	SessionTTL time.Duration
	// Argon2 parameters (defaults: 2 passes, 19 MiB, 1 thread, the OWASP minimum).
	Argon2Time    uint32
	Argon2Memory  uint32 // KiB
	Argon2Threads uint8
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// SiteExists says whether a site id is known. Sites belong to the
	// schedule package, which account must not import, so the caller that
	// wires both (cmd/lecturelink) passes the schedule's answer. Nil
	// accepts every well-formed site id: for tests and tools only.
	SiteExists func(ctx context.Context, id string) (bool, error)
}

// FieldError is an ErrInvalid that names the input field at fault, using
// the API's field names (username, displayName, role, siteId, groupId,
// password, name), so callers can point at it.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "account: invalid " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) hold for every FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// Store keeps accounts and sessions in Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options

	// dummyOnce/dummyHash give Authenticate a real hash to verify against
	// when the username is unknown, so that case costs as much as a wrong
	// password. Computed lazily: the first such sign-in pays for it.
	dummyOnce sync.Once
	dummyHash string
}

// Defaults for Options.
const (
	DefaultSessionTTL    = 12 * time.Hour
	DefaultArgon2Time    = 2
	DefaultArgon2Memory  = 19 * 1024 // KiB
	DefaultArgon2Threads = 1
)

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Argon2Time == 0 {
		opts.Argon2Time = DefaultArgon2Time
	}
	if opts.Argon2Memory == 0 {
		opts.Argon2Memory = DefaultArgon2Memory
	}
	if opts.Argon2Threads == 0 {
		opts.Argon2Threads = DefaultArgon2Threads
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SiteExists == nil {
		opts.SiteExists = func(context.Context, string) (bool, error) { return true, nil }
	}
	return &Store{rdb: rdb, opts: opts}
}
