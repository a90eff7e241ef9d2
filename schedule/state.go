package schedule

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// The state changes run as scripts on the lecture's own hash, so the check
// of the current state and the change are one step: of two concurrent
// Starts exactly one flips the lecture and sets StartedAt. Both reply
// {status, HGETALL of the lecture after the call}.
var (
	startScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'missing', {}} end
local res = 'ok'
if st == 'scheduled' then
  redis.call('HSET', KEYS[1], 'state', 'live', 'startedAt', ARGV[1])
elseif st == 'ended' or st == 'cancelled' then
  res = st
end
return {res, redis.call('HGETALL', KEYS[1])}
`)
	endScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'missing', {}} end
local res = 'ok'
if st == 'live' then
  redis.call('HSET', KEYS[1], 'state', 'ended', 'endedAt', ARGV[1])
elseif st == 'scheduled' or st == 'cancelled' then
  res = 'notlive'
else
  res = 'ended'
end
return {res, redis.call('HGETALL', KEYS[1])}
`)
)

// Start marks a lecture live (idempotent while live). Starting an ended
// lecture fails with ErrEnded, a cancelled one with ErrCancelled; the
// lecture as it is is returned with either.
func (s *Store) Start(ctx context.Context, id string) (Lecture, error) {
	if id == "" || len(id) > maxIDBytes {
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
	// The live index is kept a superset of the live lectures: add before the
	// flip, so a crash right after the flip cannot hide a live lecture.
	if err := s.rdb.SAdd(ctx, keyLive, id).Err(); err != nil {
		return Lecture{}, fmt.Errorf("schedule: index live lecture: %w", err)
	}
	status, l, err := s.transition(ctx, startScript, id)
	if err != nil {
		return Lecture{}, err
	}
	if status != "ok" {
		// Missing, ended or cancelled: none can ever become live, so dropping it
		// from the index cannot race with another Start.
		if err := s.rdb.SRem(ctx, keyLive, id).Err(); err != nil {
			return Lecture{}, fmt.Errorf("schedule: unindex lecture: %w", err)
		}
	}
	switch status {
	case "ok":
		return l, nil
	case "ended":
		return l, fmt.Errorf("%w: %s", ErrEnded, id)
	case "cancelled":
		return l, fmt.Errorf("%w: %s", ErrCancelled, id)
	default:
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
}

// End marks a live lecture ended. Ending a scheduled lecture fails with
// ErrNotLive, an ended one with ErrEnded; the lecture as it is is returned
// with either.
func (s *Store) End(ctx context.Context, id string) (Lecture, error) {
	if id == "" || len(id) > maxIDBytes {
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
	status, l, err := s.transition(ctx, endScript, id)
	if err != nil {
		return Lecture{}, err
	}
	switch status {
	case "ok", "ended":
		// Ended is final, so removal from the live index is always safe.
		if err := s.rdb.SRem(ctx, keyLive, id).Err(); err != nil {
			return Lecture{}, fmt.Errorf("schedule: unindex lecture: %w", err)
		}
		if status == "ended" {
			return l, fmt.Errorf("%w: %s", ErrEnded, id)
		}
		return l, nil
	case "notlive":
		return l, fmt.Errorf("%w: %s", ErrNotLive, id)
	default:
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
}

func (s *Store) transition(ctx context.Context, script *redis.Script, id string) (string, Lecture, error) {
	now := s.opts.Now().UTC().Format(time.RFC3339Nano)
	reply, err := script.Run(ctx, s.rdb, []string{lectureKey(id)}, now).Slice()
	if err != nil {
		return "", Lecture{}, fmt.Errorf("schedule: change lecture state: %w", err)
	}
	if len(reply) != 2 {
		return "", Lecture{}, fmt.Errorf("schedule: unexpected script reply %v", reply)
	}
	status, _ := reply[0].(string)
	if status == "missing" {
		return status, Lecture{}, nil
	}
	m, err := decodeFlat(reply[1])
	if err != nil {
		return "", Lecture{}, err
	}
	l, err := decodeLecture(m)
	return status, l, err
}

// Live returns the lectures that are live now, ordered by start.
func (s *Store) Live(ctx context.Context) ([]Lecture, error) {
	ids, err := s.rdb.SMembers(ctx, keyLive).Result()
	if err != nil {
		return nil, fmt.Errorf("schedule: list live lectures: %w", err)
	}
	ls, err := s.lectures(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Lecture{}
	var stale []any
	for i, l := range ls {
		switch {
		case l == nil || l.State == StateEnded:
			stale = append(stale, ids[i])
		case l.State == StateLive:
			out = append(out, *l)
		}
		// Scheduled entries stay: a Start may be between its two steps.
	}
	if len(stale) > 0 {
		if err := s.rdb.SRem(ctx, keyLive, stale...).Err(); err != nil {
			return nil, fmt.Errorf("schedule: prune live index: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
