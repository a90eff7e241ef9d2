package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// setPasswordScript replaces a user's password hash and bumps the epoch,
// which ends every session issued before. With an expected hash it only
// writes if the stored hash is still that one, so a password checked by
// ChangePassword cannot have been reset in between.
// KEYS: user hash. ARGV: new hash, expected old hash ("" for any).
var setPasswordScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'password') ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], 'password', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return 'ok'
`)

// ResetPassword sets a new password for the user (an admin's action) and
// ends all of the user's sessions.
func (s *Store) ResetPassword(ctx context.Context, id, newPassword string) error {
	if err := validatePassword(newPassword); err != nil {
		return err
	}
	hash, err := hashPassword(newPassword, s.params())
	if err != nil {
		return err
	}
	return s.setPassword(ctx, id, hash, "")
}

// ChangePassword is a user changing their own password: current must be
// right (else ErrBadCredentials). Every session of the user ends,
// including the one in use, so the caller issues a fresh one.
func (s *Store) ChangePassword(ctx context.Context, id, current, newPassword string) error {
	if err := validatePassword(newPassword); err != nil {
		return err
	}
	if len(current) > maxPasswordBytes {
		return ErrBadCredentials
	}
	_, m, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	ok, err := verifyPassword(current, m[fPassword])
	if err != nil {
		return fmt.Errorf("account: user %s: %w", id, err)
	}
	if !ok {
		return ErrBadCredentials
	}
	hash, err := hashPassword(newPassword, s.params())
	if err != nil {
		return err
	}
	err = s.setPassword(ctx, id, hash, m[fPassword])
	if errors.Is(err, errPasswordChanged) {
		// Reset by an admin since we checked: the current password the
		// user gave is no longer current.
		return ErrBadCredentials
	}
	return err
}

var errPasswordChanged = errors.New("account: password changed concurrently")

func (s *Store) setPassword(ctx context.Context, id, hash, expected string) error {
	res, err := setPasswordScript.Run(ctx, s.rdb, []string{userKey(id)}, hash, expected).Text()
	if err != nil {
		return fmt.Errorf("account: set password: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "missing":
		return ErrNotFound
	default:
		return errPasswordChanged
	}
}

// readableAlphabet leaves out look-alikes (0/o, 1/l/i) so a generated
// password survives being read out or copied from paper.
const readableAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// GeneratePassword returns a random password of three groups of four
// characters, e.g. "k7mq-x3vp-9tdr": about 59 bits, easy to type.
func GeneratePassword() (string, error) {
	// Bytes at or above the largest multiple of the alphabet's size are
	// dropped, so every character is equally likely.
	limit := byte(256 / len(readableAlphabet) * len(readableAlphabet))
	out := make([]byte, 0, 14)
	var buf [32]byte
	for n := 0; n < 12; {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("account: random password: %w", err)
		}
		for _, b := range buf {
			if b >= limit || n == 12 {
				continue
			}
			if n > 0 && n%4 == 0 {
				out = append(out, '-')
			}
			out = append(out, readableAlphabet[int(b)%len(readableAlphabet)])
			n++
		}
	}
	return string(out), nil
}
