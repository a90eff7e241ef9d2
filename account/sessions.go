package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A session token is 32 random bytes in unpadded base64url (43 characters).
// Redis only ever sees its SHA-256, so a copy of the database (a backup, a
// replica, an AOF file) does not hold usable tokens.
const (
	tokenBytes       = 32
	keySessionPrefix = "ll:session:" // + hex(sha256(token)): string "<userID> <epoch>", TTL = SessionTTL
)

func sessionKey(token string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	return keySessionPrefix + hex.EncodeToString(sum[:]), true
}

// CreateSession starts a session for userID and returns its secret token.
func (s *Store) CreateSession(ctx context.Context, userID string) (string, error) {
	u, m, err := s.load(ctx, userID)
	if err != nil {
		return "", err
	}
	if !u.Active {
		return "", fmt.Errorf("%w: user %s is deactivated", ErrInvalid, u.ID)
	}
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("account: session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	key, _ := sessionKey(token)
	// The epoch ties the session to the user's state now: deactivating the
	// user bumps it and so kills the session even after a reactivation.
	if err := s.rdb.Set(ctx, key, u.ID+" "+epochOf(m), s.opts.SessionTTL).Err(); err != nil {
		return "", fmt.Errorf("account: store session: %w", err)
	}
	return token, nil
}

// SessionUser returns the active user behind a session token and extends the session.
func (s *Store) SessionUser(ctx context.Context, token string) (User, error) {
	key, ok := sessionKey(token)
	if !ok {
		return User{}, ErrNoSession
	}
	// GETEX reads and slides the expiry in one step.
	v, err := s.rdb.GetEx(ctx, key, s.opts.SessionTTL).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("account: read session: %w", err)
	}
	userID, epoch, _ := strings.Cut(v, " ")
	u, m, err := s.load(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && (!u.Active || epochOf(m) != epoch)) {
		// Dead for good: drop it now rather than keep extending it.
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			return User{}, fmt.Errorf("account: drop session: %w", err)
		}
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// DeleteSession ends a session. Ending an unknown or expired session is not
// an error: the outcome, no session, is the same.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	key, ok := sessionKey(token)
	if !ok {
		return nil
	}
	if err := s.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("account: delete session: %w", err)
	}
	return nil
}
