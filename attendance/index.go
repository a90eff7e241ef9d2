package attendance

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The open-lectures index lives in its own slot, so it cannot be updated in
// the same script as a lecture's open hash. It is kept correct this way:
//
//   - Its score is a stamp from a sequence kept in the same key (member
//     seqMember), not a time: every stamp is new, so a removed and re-added
//     member never gets an old score back (no ABA). Every join stamps its
//     lecture before its script, so the member exists before a connection
//     opens, and again after, to restore it if a prune removed it meanwhile.
//   - A member is only removed by pruning, which reads the stamp, then finds
//     the lecture's open hash empty, then removes the member only if the
//     stamp is unchanged (compare-and-delete on the index key alone). A join
//     that raced with it has stamped it anew, so it survives.
//
// So a lecture with an open connection is always in the index; a lecture
// without one may linger until the next prune, and readers filter those.

// seqMember holds the stamp sequence; braces cannot occur in lecture ids.
const seqMember = "{seq}"

// stampScript gives a lecture a fresh stamp. KEYS: index. ARGV: lecture id.
var stampScript = redis.NewScript(`
local v = redis.call('ZINCRBY', KEYS[1], 1, '` + seqMember + `')
redis.call('ZADD', KEYS[1], v, ARGV[1])
return v
`)

// pruneScript removes a member only if its score is still ARGV[2].
var pruneScript = redis.NewScript(`
local v = redis.call('ZSCORE', KEYS[1], ARGV[1])
if v and tonumber(v) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`)

func (s *Store) touchIndex(ctx context.Context, lectureID string) error {
	if err := stampScript.Run(ctx, s.rdb, []string{keyOpenLectures}, lectureID).Err(); err != nil {
		return fmt.Errorf("attendance: index open lecture: %w", err)
	}
	return nil
}

// pruneIndex removes lectureID from the index if it has no open connection.
func (s *Store) pruneIndex(ctx context.Context, lectureID string) error {
	score, err := s.rdb.ZScore(ctx, keyOpenLectures, lectureID).Result()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("attendance: read open-lectures index: %w", err)
	}
	n, err := s.rdb.HLen(ctx, openKey(lectureID)).Result()
	if err != nil {
		return fmt.Errorf("attendance: count open connections: %w", err)
	}
	if n > 0 {
		return nil
	}
	return s.removeIfUnchanged(ctx, lectureID, score)
}

func (s *Store) removeIfUnchanged(ctx context.Context, lectureID string, score float64) error {
	err := pruneScript.Run(ctx, s.rdb, []string{keyOpenLectures}, lectureID, strconv.FormatFloat(score, 'f', -1, 64)).Err()
	if err != nil {
		return fmt.Errorf("attendance: prune open-lectures index: %w", err)
	}
	return nil
}

// OpenLectures returns the ids of lectures that have open connections,
// sorted. It drops lectures whose connections have all closed from the index.
func (s *Store) OpenLectures(ctx context.Context) ([]string, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, keyOpenLectures, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("attendance: read open-lectures index: %w", err)
	}
	zs = slices.DeleteFunc(zs, func(z redis.Z) bool { return z.Member == seqMember })
	out := []string{}
	if len(zs) == 0 {
		return out, nil
	}
	// The counts are read after the scores, as pruneIndex requires.
	pipe := s.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(zs))
	for i, z := range zs {
		counts[i] = pipe.HLen(ctx, openKey(z.Member.(string)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("attendance: count open connections: %w", err)
	}
	for i, z := range zs {
		id := z.Member.(string)
		if counts[i].Val() > 0 {
			out = append(out, id)
			continue
		}
		if err := s.removeIfUnchanged(ctx, id, z.Score); err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
