package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxCommitTries bounds the optimistic retries of a WATCHed index change
// when other writers keep changing the same indexes.
const maxCommitTries = 10

// commitNew stores new lectures and indexes them, refusing them all with
// a *ConflictError if any clashes with a stored lecture (or another of
// them). extra adds more writes (a series record) to the index
// transaction.
//
// The conflict check and the index writes are one optimistic transaction:
// WATCH on the lecturer and site indexes the check reads, then MULTI/EXEC.
// A concurrent booking of the same lecturer or site makes EXEC fail and the
// whole check runs again, so two admins cannot double-book a room. The
// hashes are written between the check and the EXEC (their keys are in
// other slots and cannot be in the transaction); until EXEC they are
// unreachable, and they are deleted again if the booking is refused.
func (s *Store) commitNew(ctx context.Context, ls []Lecture, extra func(redis.Pipeliner)) error {
	var watch []string
	for _, l := range ls {
		watch = append(watch, resourceKeys(l)...)
	}
	watch = uniq(watch)
	written := false
	var refused error
	for range maxCommitTries {
		refused = nil
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cs, err := s.conflicts(ctx, ls, nil)
			if err != nil {
				return err
			}
			if len(cs) > 0 {
				refused = &ConflictError{Conflicts: cs}
				return refused
			}
			if !written {
				if err := s.writeNewHashes(ctx, ls); err != nil {
					return err
				}
				written = true
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, l := range ls {
					addToIndexes(ctx, pipe, l)
				}
				if extra != nil {
					extra(pipe)
				}
				return nil
			})
			return err
		}, watch...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err == nil {
			return nil
		}
		if written {
			s.deleteHashes(ctx, ls)
		}
		if refused != nil {
			return refused
		}
		return fmt.Errorf("schedule: store lectures: %w", err)
	}
	if written {
		s.deleteHashes(ctx, ls)
	}
	return fmt.Errorf("schedule: store lectures: indexes kept changing, try again")
}

// writeNewHashes writes the lectures' hashes in one pipeline, refusing ids
// that are taken (64 random bits make that practically impossible, but an
// overwrite would destroy another lecture).
func (s *Store) writeNewHashes(ctx context.Context, ls []Lecture) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ls))
	for i, l := range ls {
		cmds[i] = pipe.Eval(ctx, createLua, []string{lectureKey(l.ID)}, encodeLecture(l)...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("schedule: write lectures: %w", err)
	}
	for i, c := range cmds {
		if n, _ := c.Int(); n != 1 {
			s.deleteHashes(ctx, ls[:i]) // the ones before were ours
			return fmt.Errorf("schedule: write lectures: id %s is taken", ls[i].ID)
		}
	}
	return nil
}

// deleteHashes removes hashes written for a refused booking. It is best
// effort: a leftover hash is unreachable and harmless.
func (s *Store) deleteHashes(ctx context.Context, ls []Lecture) {
	pipe := s.rdb.Pipeline()
	for _, l := range ls {
		pipe.Del(ctx, lectureKey(l.ID))
	}
	_, _ = pipe.Exec(ctx)
}

func addToIndexes(ctx context.Context, pipe redis.Pipeliner, l Lecture) {
	z := redis.Z{Score: float64(l.Start.UnixMilli()), Member: l.ID}
	for _, key := range indexKeys(l) {
		pipe.ZAdd(ctx, key, z)
	}
}

// reindex moves l from the indexes of old to those of l.
func reindex(ctx context.Context, pipe redis.Pipeliner, old, l Lecture) {
	now := indexKeys(l)
	for _, key := range indexKeys(old) {
		if !slices.Contains(now, key) {
			pipe.ZRem(ctx, key, l.ID)
		}
	}
	addToIndexes(ctx, pipe, l)
}

func uniq(xs []string) []string {
	out := make([]string, 0, len(xs))
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Filter narrows ListLectures; empty fields match everything. Several
// fields combine with AND.
type Filter struct {
	SiteID     string // origin or participating
	LecturerID string
	GroupID    string
}

// ListLectures returns the lectures starting in [from, to) that match f,
// ordered by start. It reads one index: the group's, the lecturer's, the
// site's (in that order of preference, the narrowest first) or the global
// one, so a site's week is one ZRANGEBYSCORE and one pipelined HGETALL.
func (s *Store) ListLectures(ctx context.Context, from, to time.Time, f Filter) ([]Lecture, error) {
	key := keyByStart
	switch {
	case f.GroupID != "":
		key = byGroupKey(f.GroupID)
	case f.LecturerID != "":
		key = byLecturerKey(f.LecturerID)
	case f.SiteID != "":
		key = bySiteKey(f.SiteID)
	}
	return s.rangeUnion(ctx, from, to, []string{key}, func(l Lecture) bool {
		return (f.GroupID == "" || slices.Contains(l.GroupIDs, f.GroupID)) &&
			(f.LecturerID == "" || l.LecturerID == f.LecturerID) &&
			(f.SiteID == "" || slices.Contains(l.Sites(), f.SiteID))
	})
}

// Audience is whose timetable Visible lists.
type Audience int

// Audiences, from the widest.
const (
	AudienceAll      Audience = iota // admins: every lecture
	AudienceLecturer                 // the lectures UserID teaches
	AudienceSite                     // the lectures SiteID takes part in (operators)
	AudienceStudent                  // see Visible
)

// Viewer is a person asking for their timetable.
type Viewer struct {
	Audience Audience
	UserID   string
	SiteID   string
	GroupID  string // students' group; may be empty
}

// Visible returns the lectures starting in [from, to) that v may see,
// ordered by start. A student sees the lectures for their group, the
// lectures without groups that their site takes part in, and open
// lectures (neither groups nor participating sites). That is the union of
// three indexes, read in one pipeline, then filtered.
func (s *Store) Visible(ctx context.Context, v Viewer, from, to time.Time) ([]Lecture, error) {
	switch v.Audience {
	case AudienceAll:
		return s.LecturesBetween(ctx, from, to)
	case AudienceLecturer:
		return s.ListLectures(ctx, from, to, Filter{LecturerID: v.UserID})
	case AudienceSite:
		return s.ListLectures(ctx, from, to, Filter{SiteID: v.SiteID})
	}
	keys := []string{keyOpen, bySiteKey(v.SiteID)}
	if v.GroupID != "" {
		keys = append(keys, byGroupKey(v.GroupID))
	}
	return s.rangeUnion(ctx, from, to, keys, func(l Lecture) bool { return StudentMay(l, v.SiteID, v.GroupID) })
}

// StudentMay reports whether a student of site and group may see l.
func StudentMay(l Lecture, site, group string) bool {
	if len(l.GroupIDs) > 0 {
		return group != "" && slices.Contains(l.GroupIDs, group)
	}
	return len(l.SiteIDs) == 0 || slices.Contains(l.Sites(), site)
}

// rangeUnion loads the lectures whose score in any of keys is in
// [from, to) and that keep accepts (nil: all), ordered by start then id.
func (s *Store) rangeUnion(ctx context.Context, from, to time.Time, keys []string, keep func(Lecture) bool) ([]Lecture, error) {
	if !from.Before(to) {
		return []Lecture{}, nil
	}
	// Starts are whole milliseconds, so start >= from ⇔ start >= ceil(from),
	// and start < to ⇔ start < ceil(to).
	by := &redis.ZRangeBy{
		Min: strconv.FormatInt(ceilMilli(from), 10),
		Max: "(" + strconv.FormatInt(ceilMilli(to), 10),
	}
	var ids []string
	if len(keys) == 1 {
		var err error
		if ids, err = s.rdb.ZRangeByScore(ctx, keys[0], by).Result(); err != nil {
			return nil, fmt.Errorf("schedule: range lectures: %w", err)
		}
	} else {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.ZRangeByScore(ctx, k, by)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("schedule: range lectures: %w", err)
		}
		for _, c := range cmds {
			ids = append(ids, c.Val()...)
		}
		ids = uniq(ids)
	}
	ls, err := s.lectures(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Lecture, 0, len(ls))
	for _, l := range ls {
		// A hash whose start no longer matches its score (an edit that
		// crashed half-way) is shown only in its true range.
		if l != nil && !l.Start.Before(from) && l.Start.Before(to) && (keep == nil || keep(*l)) {
			out = append(out, *l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
