package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashes are stored as PHC strings,
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash>, with salt
// and hash in unpadded standard base64, so the parameters travel with each
// hash and can be raised later without breaking existing accounts.
const (
	saltLen = 16
	keyLen  = 32

	// Bounds on parameters read back from a stored hash: a corrupted or
	// hostile value must not make one sign-in allocate gigabytes.
	maxArgon2Memory  = 1 << 20 // KiB (1 GiB)
	maxArgon2Time    = 64
	maxPasswordBytes = 1024
)

var errBadHash = errors.New("account: malformed password hash")

type argonParams struct {
	time    uint32
	memory  uint32
	threads uint8
}

func (s *Store) params() argonParams {
	return argonParams{time: s.opts.Argon2Time, memory: s.opts.Argon2Memory, threads: s.opts.Argon2Threads}
}

// hashPassword returns the PHC string of password under p with a fresh salt.
func hashPassword(password string, p argonParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the PHC string encoded.
func verifyPassword(password, encoded string) (bool, error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(encoded string) (argonParams, []byte, []byte, error) {
	var p argonParams
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.memory == 0 || p.memory > maxArgon2Memory || p.time == 0 || p.time > maxArgon2Time || threads == 0 || threads > 255 {
		return p, nil, nil, errBadHash
	}
	p.threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// dummy returns a hash of a random password under the store's parameters,
// verified against when a username is unknown.
func (s *Store) dummy() string {
	s.dummyOnce.Do(func() {
		var pw [16]byte
		_, _ = rand.Read(pw[:])
		h, err := hashPassword(base64.RawStdEncoding.EncodeToString(pw[:]), s.params())
		if err == nil {
			s.dummyHash = h
		}
	})
	return s.dummyHash
}
