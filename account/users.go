package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Keys. Every account key carries the hash tag {accounts} so the user
// hashes and the username index live in one Redis Cluster slot and can be
// changed together by one script; the data is small, so one slot is fine.
const (
	keyUsernames  = "ll:{accounts}:usernames" // hash: lower(username) -> user id
	keyUserPrefix = "ll:{accounts}:user:"     // + id: hash of the user's fields
)

func userKey(id string) string { return keyUserPrefix + id }

// Fields of a user hash.
const (
	fID          = "id"
	fUsername    = "username"
	fDisplayName = "displayName"
	fRole        = "role"
	fSiteID      = "siteId"
	fGroupID     = "groupId"
	fActive      = "active"    // "1" or "0"
	fCreatedAt   = "createdAt" // RFC 3339, UTC, nanoseconds
	fPassword    = "password"  // argon2id PHC string
	fEpoch       = "epoch"     // bumped to revoke every session of the user
)

var (
	// ASCII only, so that case-insensitive means strings.ToLower and no
	// look-alike Unicode names can be registered.
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$`)
	siteIDRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Limits on user input.
const (
	minPasswordRunes   = 8
	maxDisplayNameRune = 100
)

// createScript claims the username and writes the user hash in one step,
// so two concurrent Creates of the same name cannot both succeed.
// KEYS: usernames index, user hash. ARGV: lower name, id, field/value pairs.
var createScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'collision' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
return 'ok'
`)

// setActiveScript changes the active flag of an existing user; deactivating
// also bumps the epoch so sessions issued before stay dead even if the user
// is reactivated later.
var setActiveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'active', ARGV[1])
if ARGV[1] == '0' then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
return 1
`)

// Create adds a user; the username is unique (case-insensitive).
func (s *Store) Create(ctx context.Context, nu NewUser) (User, error) {
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	if err := validateNewUser(nu); err != nil {
		return User{}, err
	}
	if err := s.checkSite(ctx, nu.SiteID); err != nil {
		return User{}, err
	}
	// Groups are never deleted nor moved, so checking before the write is enough.
	if err := s.checkGroup(ctx, nu.GroupID, nu.Role, nu.SiteID); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(nu.Password, s.params())
	if err != nil {
		return User{}, err
	}
	u := User{
		Username:    nu.Username,
		DisplayName: nu.DisplayName,
		Role:        nu.Role,
		SiteID:      nu.SiteID,
		GroupID:     nu.GroupID,
		Active:      true,
		CreatedAt:   s.opts.Now().UTC(),
	}
	// Retry only on an id collision, which 64 random bits make vanishingly rare.
	for range 3 {
		u.ID, err = newID("u_")
		if err != nil {
			return User{}, err
		}
		args := []any{strings.ToLower(u.Username), u.ID}
		args = append(args, encodeUser(u)...)
		args = append(args, fPassword, hash, fEpoch, "0")
		res, err := createScript.Run(ctx, s.rdb, []string{keyUsernames, userKey(u.ID)}, args...).Text()
		if err != nil {
			return User{}, fmt.Errorf("account: create user: %w", err)
		}
		switch res {
		case "ok":
			return u, nil
		case "exists":
			return User{}, fmt.Errorf("%w: %q", ErrExists, u.Username)
		}
	}
	return User{}, errors.New("account: create user: could not find a free id")
}

func validateNewUser(nu NewUser) error {
	if !usernameRE.MatchString(nu.Username) {
		return fieldErr("username", "must be 2-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if err := validatePassword(nu.Password); err != nil {
		return err
	}
	if reason := displayNameProblem(nu.DisplayName); reason != "" {
		return fieldErr("displayName", reason)
	}
	if !nu.Role.Valid() {
		return fieldErr("role", "must be admin, lecturer, operator or student")
	}
	if !siteIDRE.MatchString(nu.SiteID) {
		return fieldErr("siteId", "must be a site id such as \"osh\"")
	}
	return nil
}

// validatePassword enforces the password length limits.
func validatePassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < minPasswordRunes || len(pw) > maxPasswordBytes {
		return fieldErr("password", fmt.Sprintf("must be at least %d characters and at most %d bytes", minPasswordRunes, maxPasswordBytes))
	}
	return nil
}

// displayNameProblem says what is wrong with a (trimmed) display name, or "".
func displayNameProblem(name string) string {
	if n := utf8.RuneCountInString(name); n == 0 || n > maxDisplayNameRune || !utf8.ValidString(name) {
		return fmt.Sprintf("must be 1-%d characters", maxDisplayNameRune)
	}
	return ""
}

// Get returns the user with the given id.
func (s *Store) Get(ctx context.Context, id string) (User, error) {
	u, _, err := s.load(ctx, id)
	return u, err
}

// load returns the user and its stored fields (password hash, epoch).
func (s *Store) load(ctx context.Context, id string) (User, map[string]string, error) {
	if id == "" {
		return User{}, nil, ErrNotFound
	}
	m, err := s.rdb.HGetAll(ctx, userKey(id)).Result()
	if err != nil {
		return User{}, nil, fmt.Errorf("account: get user: %w", err)
	}
	if len(m) == 0 {
		return User{}, nil, ErrNotFound
	}
	u, err := decodeUser(m)
	return u, m, err
}

// ByUsername returns the user with the given username (case-insensitive).
func (s *Store) ByUsername(ctx context.Context, username string) (User, error) {
	u, _, err := s.loadByUsername(ctx, username)
	return u, err
}

func (s *Store) loadByUsername(ctx context.Context, username string) (User, map[string]string, error) {
	if !usernameRE.MatchString(username) {
		return User{}, nil, ErrNotFound
	}
	id, err := s.rdb.HGet(ctx, keyUsernames, strings.ToLower(username)).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, nil, ErrNotFound
	}
	if err != nil {
		return User{}, nil, fmt.Errorf("account: look up username: %w", err)
	}
	return s.load(ctx, id)
}

// List returns users ordered by display name; an empty role lists everyone.
func (s *Store) List(ctx context.Context, role Role) ([]User, error) {
	return s.Users(ctx, Filter{Role: role})
}

// SetActive activates or deactivates a user. A deactivated user cannot sign
// in, and every session the user had is revoked for good.
func (s *Store) SetActive(ctx context.Context, id string, active bool) error {
	v := "0"
	if active {
		v = "1"
	}
	n, err := setActiveScript.Run(ctx, s.rdb, []string{userKey(id)}, v).Int()
	if err != nil {
		return fmt.Errorf("account: set active: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Authenticate checks a username and password and returns the active user.
// Every failure (unknown user, wrong password, deactivated user) is
// ErrBadCredentials and costs one argon2 computation, so neither the answer
// nor its timing tells which usernames exist.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	if len(password) > maxPasswordBytes {
		return User{}, ErrBadCredentials
	}
	u, m, err := s.loadByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		_, _ = verifyPassword(password, s.dummy())
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, err := verifyPassword(password, m[fPassword])
	if err != nil {
		return User{}, fmt.Errorf("account: user %s: %w", u.ID, err)
	}
	if !ok || !u.Active {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

func encodeUser(u User) []any {
	active := "0"
	if u.Active {
		active = "1"
	}
	return []any{
		fID, u.ID,
		fUsername, u.Username,
		fDisplayName, u.DisplayName,
		fRole, string(u.Role),
		fSiteID, u.SiteID,
		fGroupID, u.GroupID,
		fActive, active,
		fCreatedAt, u.CreatedAt.Format(time.RFC3339Nano),
	}
}

func decodeUser(m map[string]string) (User, error) {
	created, err := time.Parse(time.RFC3339Nano, m[fCreatedAt])
	if err != nil {
		return User{}, fmt.Errorf("account: user %s: bad createdAt: %w", m[fID], err)
	}
	return User{
		ID:          m[fID],
		Username:    m[fUsername],
		DisplayName: m[fDisplayName],
		Role:        Role(m[fRole]),
		SiteID:      m[fSiteID],
		GroupID:     m[fGroupID],
		Active:      m[fActive] == "1",
		CreatedAt:   created,
	}, nil
}

func epochOf(m map[string]string) string {
	if e := m[fEpoch]; e != "" {
		return e
	}
	return "0"
}

// idEncoding is lower-case base32 without padding: short, URL- and
// key-safe, unambiguous to read aloud.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix followed by 64 random bits.
func newID(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("account: random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}
