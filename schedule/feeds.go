package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Calendar feed keys share the tag {calendar}, so a rotation (drop the old
// token, add the new one, point the owner at it) is one script on one slot.
const (
	keyFeedPrefix  = "ll:{calendar}:feed:"  // + token: string "user:<id>" or "series:<id>"
	keyOwnerPrefix = "ll:{calendar}:owner:" // + "user:<id>" / "series:<id>": string, the current token
)

// FeedKind says what a calendar feed lists.
type FeedKind string

// Feed kinds.
const (
	FeedUser   FeedKind = "user"   // the lectures a user may see
	FeedSeries FeedKind = "series" // a series' occurrences
)

// FeedOwner is what a calendar feed token stands for.
type FeedOwner struct {
	Kind FeedKind
	ID   string
}

func (o FeedOwner) String() string { return string(o.Kind) + ":" + o.ID }

// feedTokenRE is the shape of tokens: 32 random bytes, unpadded base64url.
var feedTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// feedLua sets the owner's token. ARGV[1] is a fresh token, ARGV[2] the
// owner, ARGV[3] "rotate" to replace an existing token (which stops
// working at once) or "get" to keep it. It replies with the token in force.
const feedLua = `
local old = redis.call('GET', KEYS[1])
if old and ARGV[3] == 'get' then return old end
if old then redis.call('DEL', KEYS[2] .. old) end
redis.call('SET', KEYS[2] .. ARGV[1], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`

// FeedToken returns the owner's calendar token, creating one on first use.
func (s *Store) FeedToken(ctx context.Context, o FeedOwner) (string, error) {
	return s.feed(ctx, o, "get")
}

// RotateFeedToken gives the owner a new calendar token; the old one stops
// working at once.
func (s *Store) RotateFeedToken(ctx context.Context, o FeedOwner) (string, error) {
	return s.feed(ctx, o, "rotate")
}

func (s *Store) feed(ctx context.Context, o FeedOwner, mode string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("schedule: random token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	// The key prefix goes in as a key so that the script declares the
	// slot it touches; the token key is built from it inside the script,
	// which is safe because every such key has the same {calendar} tag.
	got, err := s.rdb.Eval(ctx, feedLua, []string{keyOwnerPrefix + o.String(), keyFeedPrefix}, token, o.String(), mode).Text()
	if err != nil {
		return "", fmt.Errorf("schedule: calendar token: %w", err)
	}
	return got, nil
}

// FeedOwnerOf returns what a calendar token stands for, or ErrNotFound.
func (s *Store) FeedOwnerOf(ctx context.Context, token string) (FeedOwner, error) {
	if !feedTokenRE.MatchString(token) {
		return FeedOwner{}, fmt.Errorf("%w: calendar token", ErrNotFound)
	}
	v, err := s.rdb.Get(ctx, keyFeedPrefix+token).Result()
	if errors.Is(err, redis.Nil) {
		return FeedOwner{}, fmt.Errorf("%w: calendar token", ErrNotFound)
	}
	if err != nil {
		return FeedOwner{}, fmt.Errorf("schedule: calendar token: %w", err)
	}
	kind, id, _ := strings.Cut(v, ":")
	return FeedOwner{Kind: FeedKind(kind), ID: id}, nil
}
