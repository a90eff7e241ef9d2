package floor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a Store.
type Options struct {
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Store keeps lectures' floors in Redis.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{rdb: rdb, now: opts.Now}
}

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func check(lec, user string) error {
	if err := checkID("lecture id", lec); err != nil {
		return err
	}
	return checkID("user id", user)
}

// raiseScript queues a hand unless its owner was removed; a hand already
// raised keeps its place. It returns the 0-based position, or -1 if removed.
var raiseScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -1 end
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
return redis.call('ZRANK', KEYS[1], ARGV[1])
`)

// RaiseHand puts user's hand in the lecture's queue and returns its
// position (0 = next). Raising again keeps the original place.
func (s *Store) RaiseHand(ctx context.Context, lec, user string) (int, error) {
	if err := check(lec, user); err != nil {
		return 0, err
	}
	pos, err := raiseScript.Run(ctx, s.rdb, []string{handsKey(lec), removedKey(lec)}, user, s.stamp().UnixMilli()).Int()
	if err != nil {
		return 0, fmt.Errorf("floor: raise hand in %s: %w", lec, err)
	}
	if pos < 0 {
		return 0, ErrRemoved
	}
	return pos, nil
}

// LowerHand takes user's hand out of the queue; it reports whether it was
// raised.
func (s *Store) LowerHand(ctx context.Context, lec, user string) (bool, error) {
	if err := check(lec, user); err != nil {
		return false, err
	}
	n, err := s.rdb.ZRem(ctx, handsKey(lec), user).Result()
	if err != nil {
		return false, fmt.Errorf("floor: lower hand in %s: %w", lec, err)
	}
	return n > 0, nil
}

// grantScript gives the floor to one user, taking it from whoever held it
// and lowering the new holder's hand, unless the user was removed. It
// returns the previous grant's JSON ("" for none), or false if removed.
var grantScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return false end
local prev = redis.call('HGET', KEYS[1], 'grant') or ''
redis.call('HSET', KEYS[1], 'grant', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return prev
`)

// Grant gives user the floor (audio, and video if camera), on behalf of
// by. Whoever held the floor loses it: prev is their grant (nil if nobody
// held it).
func (s *Store) Grant(ctx context.Context, lec, user, by string, camera bool) (g Grant, prev *Grant, err error) {
	if err := check(lec, user); err != nil {
		return Grant{}, nil, err
	}
	g = Grant{UserID: user, Camera: camera, By: by, At: s.stamp()}
	raw, err := json.Marshal(g)
	if err != nil {
		return Grant{}, nil, fmt.Errorf("floor: grant: %w", err)
	}
	res, err := grantScript.Run(ctx, s.rdb, []string{stateKey(lec), handsKey(lec), removedKey(lec)}, user, raw).Result()
	if errors.Is(err, redis.Nil) {
		return Grant{}, nil, ErrRemoved
	}
	if err != nil {
		return Grant{}, nil, fmt.Errorf("floor: grant in %s: %w", lec, err)
	}
	prev, err = decodeGrant(res)
	return g, prev, err
}

// revokeScript takes the floor back if it is held (by ARGV[1], or by
// anyone when ARGV[1] is empty) and returns the grant taken ("" if none).
var revokeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'grant')
if not cur then return '' end
if ARGV[1] ~= '' and cjson.decode(cur).userId ~= ARGV[1] then return '' end
redis.call('HDEL', KEYS[1], 'grant')
return cur
`)

// Revoke takes the floor back from user ("" = whoever holds it) and
// returns the grant taken, nil if user did not hold it.
func (s *Store) Revoke(ctx context.Context, lec, user string) (*Grant, error) {
	if err := checkID("lecture id", lec); err != nil {
		return nil, err
	}
	res, err := revokeScript.Run(ctx, s.rdb, []string{stateKey(lec)}, user).Result()
	if err != nil {
		return nil, fmt.Errorf("floor: revoke in %s: %w", lec, err)
	}
	return decodeGrant(res)
}

func decodeGrant(res any) (*Grant, error) {
	raw, _ := res.(string)
	if raw == "" {
		return nil, nil
	}
	var g Grant
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return nil, fmt.Errorf("floor: stored grant: %w", err)
	}
	return &g, nil
}

// Holder returns the current floor grant, nil if nobody holds it.
func (s *Store) Holder(ctx context.Context, lec string) (*Grant, error) {
	if err := checkID("lecture id", lec); err != nil {
		return nil, err
	}
	raw, err := s.rdb.HGet(ctx, stateKey(lec), "grant").Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("floor: holder in %s: %w", lec, err)
	}
	return decodeGrant(raw)
}

// SetMuted records (or lifts) the lecturer's mute of user.
func (s *Store) SetMuted(ctx context.Context, lec, user, by string, muted bool) error {
	if err := check(lec, user); err != nil {
		return err
	}
	var err error
	if muted {
		raw, _ := json.Marshal(Sanction{UserID: user, By: by, At: s.stamp()})
		err = s.rdb.HSet(ctx, mutedKey(lec), user, raw).Err()
	} else {
		err = s.rdb.HDel(ctx, mutedKey(lec), user).Err()
	}
	if err != nil {
		return fmt.Errorf("floor: mute in %s: %w", lec, err)
	}
	return nil
}

// removeScript records a removal and takes from the user everything the
// floor gave them: a raised hand, the floor itself, a mute (moot now). It
// returns the grant taken ("" if they did not hold the floor).
var removeScript = redis.NewScript(`
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
local cur = redis.call('HGET', KEYS[1], 'grant')
if cur and cjson.decode(cur).userId == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'grant')
  return cur
end
return ''
`)

// Remove records that by removed user from the lecture, with a reason
// shown to them; they cannot rejoin until Readmit. If they held the floor,
// prev is the grant taken.
func (s *Store) Remove(ctx context.Context, lec, user, by, reason string) (prev *Grant, err error) {
	if err := check(lec, user); err != nil {
		return nil, err
	}
	reason, err = cleanReason(reason)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(Sanction{UserID: user, By: by, Reason: reason, At: s.stamp()})
	res, err := removeScript.Run(ctx, s.rdb, []string{stateKey(lec), handsKey(lec), removedKey(lec), mutedKey(lec)}, user, raw).Result()
	if err != nil {
		return nil, fmt.Errorf("floor: remove in %s: %w", lec, err)
	}
	return decodeGrant(res)
}

// Readmit lets a removed user join again; it reports whether they were
// removed.
func (s *Store) Readmit(ctx context.Context, lec, user string) (bool, error) {
	if err := check(lec, user); err != nil {
		return false, err
	}
	n, err := s.rdb.HDel(ctx, removedKey(lec), user).Result()
	if err != nil {
		return false, fmt.Errorf("floor: readmit in %s: %w", lec, err)
	}
	return n > 0, nil
}

// SetLocked locks or unlocks the lecture against new participants.
func (s *Store) SetLocked(ctx context.Context, lec string, locked bool) error {
	if err := checkID("lecture id", lec); err != nil {
		return err
	}
	v := "0"
	if locked {
		v = "1"
	}
	if err := s.rdb.HSet(ctx, stateKey(lec), "locked", v).Err(); err != nil {
		return fmt.Errorf("floor: lock %s: %w", lec, err)
	}
	return nil
}

// CheckJoin says whether user may join the lecture now: not if removed
// (ErrRemoved, with the reason), and not while it is locked unless
// returning is set (they were in it before and are coming back).
func (s *Store) CheckJoin(ctx context.Context, lec, user string, returning bool) (*Sanction, error) {
	if err := check(lec, user); err != nil {
		return nil, err
	}
	var removed *redis.StringCmd
	var locked *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		removed = p.HGet(ctx, removedKey(lec), user)
		locked = p.HGet(ctx, stateKey(lec), "locked")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("floor: check join %s: %w", lec, err)
	}
	if raw, err := removed.Result(); err == nil {
		var sn Sanction
		if err := json.Unmarshal([]byte(raw), &sn); err != nil {
			return nil, fmt.Errorf("floor: stored removal: %w", err)
		}
		return &sn, ErrRemoved
	}
	if v, _ := locked.Result(); v == "1" && !returning {
		return nil, ErrLocked
	}
	return nil, nil
}

// State returns the lecture's whole floor.
func (s *Store) State(ctx context.Context, lec string) (State, error) {
	if err := checkID("lecture id", lec); err != nil {
		return State{}, err
	}
	var st *redis.MapStringStringCmd
	var hands *redis.ZSliceCmd
	var muted, removed *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		st = p.HGetAll(ctx, stateKey(lec))
		hands = p.ZRangeWithScores(ctx, handsKey(lec), 0, -1)
		muted = p.HGetAll(ctx, mutedKey(lec))
		removed = p.HGetAll(ctx, removedKey(lec))
		return nil
	})
	if err != nil {
		return State{}, fmt.Errorf("floor: state of %s: %w", lec, err)
	}
	out := State{Locked: st.Val()["locked"] == "1", Hands: []Hand{}}
	if raw := st.Val()["grant"]; raw != "" {
		if out.Floor, err = decodeGrant(raw); err != nil {
			return State{}, err
		}
	}
	for _, z := range hands.Val() {
		u, _ := z.Member.(string)
		out.Hands = append(out.Hands, Hand{UserID: u, At: time.UnixMilli(int64(z.Score)).UTC()})
	}
	if out.Muted, err = sanctions(muted.Val()); err != nil {
		return State{}, err
	}
	if out.Removed, err = sanctions(removed.Val()); err != nil {
		return State{}, err
	}
	return out, nil
}

func sanctions(m map[string]string) ([]Sanction, error) {
	out := make([]Sanction, 0, len(m))
	for _, raw := range m {
		var sn Sanction
		if err := json.Unmarshal([]byte(raw), &sn); err != nil {
			return nil, fmt.Errorf("floor: stored sanction: %w", err)
		}
		out = append(out, sn)
	}
	slices.SortFunc(out, func(a, b Sanction) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.UserID, b.UserID)) })
	return out, nil
}

// End clears what only makes sense while the lecture is live (hands, the
// floor, mutes, the lock); removals stay on record.
func (s *Store) End(ctx context.Context, lec string) error {
	if err := checkID("lecture id", lec); err != nil {
		return err
	}
	// One DEL: the keys share a slot.
	if err := s.rdb.Del(ctx, stateKey(lec), handsKey(lec), mutedKey(lec)).Err(); err != nil {
		return fmt.Errorf("floor: end %s: %w", lec, err)
	}
	return nil
}
