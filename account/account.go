// Package account owns the people who use lecturelink: their roles, their
// argon2id password hashes and their sign-in sessions, all kept in Redis.
package account

import (
	"context"
	"errors"
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
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleLecturer, RoleStudent:
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
}

// Errors callers can test with errors.Is.
var (
	ErrNotFound       = errors.New("account: not found")
	ErrExists         = errors.New("account: username already taken")
	ErrBadCredentials = errors.New("account: wrong username or password")
	ErrInvalid        = errors.New("account: invalid input")
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
}

// Store keeps accounts and sessions in Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	panic("TODO")
}

// Create adds a user; the username is unique (case-insensitive).
func (s *Store) Create(ctx context.Context, nu NewUser) (User, error) { panic("TODO") }

// Get returns the user with the given id.
func (s *Store) Get(ctx context.Context, id string) (User, error) { panic("TODO") }

// ByUsername returns the user with the given username (case-insensitive).
func (s *Store) ByUsername(ctx context.Context, username string) (User, error) { panic("TODO") }

// List returns users ordered by display name; an empty role lists everyone.
func (s *Store) List(ctx context.Context, role Role) ([]User, error) { panic("TODO") }

// Authenticate checks a username and password and returns the active user.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	panic("TODO")
}

// CreateSession starts a session for userID and returns its secret token.
func (s *Store) CreateSession(ctx context.Context, userID string) (string, error) { panic("TODO") }

// SessionUser returns the active user behind a session token and extends the session.
func (s *Store) SessionUser(ctx context.Context, token string) (User, error) { panic("TODO") }

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, token string) error { panic("TODO") }
