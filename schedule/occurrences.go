package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// LecturePatch changes one scheduled lecture; nil fields stay as they are.
type LecturePatch struct {
	Title           *string
	Topic           *string
	Start           *time.Time
	DurationMinutes *int
	LecturerID      *string
}

// editLua changes a lecture hash only while it is scheduled (and, with
// ARGV[1] == "unmodified", only if it was not edited individually), bumps
// its sequence, and replies {status, HGETALL}.
const editLua = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'missing', {}} end
if st ~= 'scheduled' then return {st, redis.call('HGETALL', KEYS[1])} end
if ARGV[1] == 'unmodified' and redis.call('HGET', KEYS[1], 'modified') == '1' then
  return {'modified', redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('HINCRBY', KEYS[1], 'sequence', 1)
return {'ok', redis.call('HGETALL', KEYS[1])}
`

// cancelLua cancels a scheduled lecture; cancelling a cancelled one
// changes nothing. It replies {status, HGETALL}.
const cancelLua = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {'missing', {}} end
if st == 'cancelled' then return {'ok', redis.call('HGETALL', KEYS[1])} end
if st ~= 'scheduled' then return {st, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'cancelReason', ARGV[1], 'updatedAt', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'sequence', 1)
return {'ok', redis.call('HGETALL', KEYS[1])}
`

// UpdateLecture edits one scheduled lecture (an occurrence or a one-off)
// and marks it Modified, so later series edits pass it by. A new time or
// lecturer is checked for conflicts with every other lecture.
func (s *Store) UpdateLecture(ctx context.Context, id string, p LecturePatch) (Lecture, error) {
	old, err := s.Lecture(ctx, id)
	if err != nil {
		return Lecture{}, err
	}
	if old.State != StateScheduled {
		return old, fmt.Errorf("%w: %s is %s", ErrNotScheduled, id, old.State)
	}
	l := old
	if p.Title != nil {
		l.Title = strings.TrimSpace(*p.Title)
	}
	if p.Topic != nil {
		l.Topic = strings.TrimSpace(*p.Topic)
	}
	if p.Start != nil {
		l.Start = p.Start.UTC().Truncate(time.Millisecond)
	}
	if p.DurationMinutes != nil {
		l.DurationMinutes = *p.DurationMinutes
	}
	if p.LecturerID != nil {
		l.LecturerID = strings.TrimSpace(*p.LecturerID)
	}
	nl := NewLecture{Title: l.Title, Topic: l.Topic, Start: l.Start, DurationMinutes: l.DurationMinutes, LecturerID: l.LecturerID, SiteID: l.SiteID}
	if err := validateLecture(nl, s.opts.Now()); err != nil {
		return Lecture{}, err
	}
	l.Modified = true
	out, err := s.edit(ctx, []Lecture{old}, []Lecture{l}, "any", nil)
	if err != nil {
		return Lecture{}, err
	}
	if len(out) == 0 {
		cur, _ := s.Lecture(ctx, id)
		return cur, fmt.Errorf("%w: %s is %s", ErrNotScheduled, id, cur.State)
	}
	return out[0], nil
}

// edit writes the changed lectures and moves their index entries, after a
// conflict check of the new versions against every other lecture; the
// check and the index change are one WATCHed transaction, as in
// commitNew. mode "unmodified" passes by lectures edited individually.
// It returns the lectures as written; ones whose state changed meanwhile
// (started, cancelled) are left alone and not returned.
func (s *Store) edit(ctx context.Context, olds, news []Lecture, mode string, extra func(redis.Pipeliner)) ([]Lecture, error) {
	var watch []string
	skip := map[string]bool{}
	for i := range news {
		watch = append(watch, resourceKeys(news[i])...)
		watch = append(watch, indexKeys(olds[i])...)
		skip[news[i].ID] = true
	}
	watch = uniq(watch)
	now := s.opts.Now().UTC()
	var written []Lecture
	var writtenOld []Lecture
	done := false
	var refused error
	for range maxCommitTries {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cs, err := s.conflicts(ctx, news, skip)
			if err != nil {
				return err
			}
			if len(cs) > 0 {
				refused = &ConflictError{Conflicts: cs}
				return refused
			}
			if !done {
				if written, writtenOld, err = s.writeEdits(ctx, olds, news, mode, now); err != nil {
					return err
				}
				done = true
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				for i := range written {
					reindex(ctx, pipe, writtenOld[i], written[i])
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
		if refused != nil {
			return nil, refused
		}
		if err != nil {
			return nil, fmt.Errorf("schedule: edit lectures: %w", err)
		}
		return written, nil
	}
	return nil, fmt.Errorf("schedule: edit lectures: indexes kept changing, try again")
}

// writeEdits runs editLua for each lecture in one pipeline.
func (s *Store) writeEdits(ctx context.Context, olds, news []Lecture, mode string, now time.Time) ([]Lecture, []Lecture, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(news))
	for i, l := range news {
		args := []any{mode,
			fTitle, l.Title, fTopic, l.Topic, fStart, l.Start.UTC().Format(time.RFC3339Nano),
			fDuration, strconv.Itoa(l.DurationMinutes), fLecturer, l.LecturerID,
			fSites, strings.Join(l.SiteIDs, ","), fGroups, strings.Join(l.GroupIDs, ","),
			fModified, flag(l.Modified), fUpdatedAt, now.Format(time.RFC3339Nano)}
		cmds[i] = pipe.Eval(ctx, editLua, []string{lectureKey(l.ID)}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("schedule: write lectures: %w", err)
	}
	var out, outOld []Lecture
	for i, c := range cmds {
		status, l, err := scriptReply(c)
		if err != nil {
			return nil, nil, err
		}
		if status == "ok" {
			out = append(out, l)
			outOld = append(outOld, olds[i])
		}
	}
	return out, outOld, nil
}

// scriptReply decodes a {status, HGETALL} script reply.
func scriptReply(c *redis.Cmd) (string, Lecture, error) {
	reply, err := c.Slice()
	if err != nil || len(reply) != 2 {
		return "", Lecture{}, fmt.Errorf("schedule: unexpected script reply %v: %w", reply, err)
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

// CancelLecture cancels a scheduled lecture, keeping it (and its index
// entries) so timetables and calendars show it as cancelled. Cancelling a
// live or ended lecture fails with ErrNotScheduled.
func (s *Store) CancelLecture(ctx context.Context, id, reason string) (Lecture, error) {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n > maxTopicRunes || !utf8.ValidString(reason) {
		return Lecture{}, invalid("reason", "reason must be at most %d characters", maxTopicRunes)
	}
	if id == "" || len(id) > maxIDBytes {
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
	now := s.opts.Now().UTC().Format(time.RFC3339Nano)
	cmd := s.rdb.Eval(ctx, cancelLua, []string{lectureKey(id)}, reason, now)
	status, l, err := scriptReply(cmd)
	if err != nil {
		return Lecture{}, fmt.Errorf("schedule: cancel lecture: %w", err)
	}
	switch status {
	case "ok":
		return l, nil
	case "missing":
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	default:
		return l, fmt.Errorf("%w: %s is %s", ErrNotScheduled, id, status)
	}
}

// SeriesPatch changes a series; nil fields stay as they are.
type SeriesPatch struct {
	Title       *string
	Description *string
	Topics      *[]string
	LecturerIDs *[]string
	SiteIDs     *[]string
	GroupIDs    *[]string
}

// UpdateSeries changes a series and applies the change to its future,
// scheduled occurrences that were not edited individually; past, live,
// ended, cancelled and individually modified ones keep their values. A
// new lecturer or site is checked for conflicts first.
func (s *Store) UpdateSeries(ctx context.Context, id string, p SeriesPatch) (Series, error) {
	ser, err := s.Series(ctx, id)
	if err != nil {
		return Series{}, err
	}
	if ser.Cancelled {
		return Series{}, invalid("id", "series %s is cancelled", id)
	}
	if p.Title != nil {
		ser.Title = strings.TrimSpace(*p.Title)
		if n := utf8.RuneCountInString(ser.Title); n == 0 || n > maxTitleRunes || !utf8.ValidString(ser.Title) || hasControl(ser.Title) {
			return Series{}, invalid("title", "title must be 1-%d characters", maxTitleRunes)
		}
	}
	if p.Description != nil {
		ser.Description = strings.TrimSpace(*p.Description)
		if n := utf8.RuneCountInString(ser.Description); n > maxDescriptionRunes || !utf8.ValidString(ser.Description) {
			return Series{}, invalid("description", "description must be at most %d characters", maxDescriptionRunes)
		}
	}
	if p.Topics != nil {
		if err := validTopics(*p.Topics); err != nil {
			return Series{}, err
		}
		ser.Topics = nonNil(*p.Topics)
	}
	if p.LecturerIDs != nil {
		if err := validLecturers(*p.LecturerIDs); err != nil {
			return Series{}, err
		}
		ser.LecturerIDs = *p.LecturerIDs
	}
	if p.SiteIDs != nil {
		sites, err := s.siteMap(ctx)
		if err != nil {
			return Series{}, err
		}
		if ser.SiteIDs, err = participating(sites, ser.OriginSiteID, *p.SiteIDs, "siteIds"); err != nil {
			return Series{}, err
		}
	}
	if p.GroupIDs != nil {
		if ser.GroupIDs, err = validGroups(*p.GroupIDs, "groupIds"); err != nil {
			return Series{}, err
		}
	}
	ls, err := s.SeriesLectures(ctx, id)
	if err != nil {
		return Series{}, err
	}
	now := s.opts.Now()
	var olds, news []Lecture
	for _, l := range ls {
		if l.State != StateScheduled || l.Modified || !l.Start.After(now) {
			continue
		}
		n := l
		n.Title, n.Topic, n.LecturerID = ser.Title, topicAt(ser.Topics, l.Index), ser.LecturerIDs[0]
		n.SiteIDs, n.GroupIDs = ser.SiteIDs, ser.GroupIDs
		olds, news = append(olds, l), append(news, n)
	}
	js, err := json.Marshal(ser)
	if err != nil {
		return Series{}, fmt.Errorf("schedule: encode series: %w", err)
	}
	// The series record is written in the same transaction as the index
	// changes, so a refused change leaves it as it was.
	if _, err := s.edit(ctx, olds, news, "unmodified", func(pipe redis.Pipeliner) {
		pipe.Set(ctx, seriesKey(id), js, 0)
	}); err != nil {
		return Series{}, err
	}
	return ser, nil
}

// DeleteSeries cancels a series: its future scheduled occurrences are
// cancelled; past ones and their attendance stay.
func (s *Store) DeleteSeries(ctx context.Context, id string) (Series, error) {
	ser, err := s.Series(ctx, id)
	if err != nil {
		return Series{}, err
	}
	ls, err := s.SeriesLectures(ctx, id)
	if err != nil {
		return Series{}, err
	}
	now := s.opts.Now()
	pipe := s.rdb.Pipeline()
	stamp := now.UTC().Format(time.RFC3339Nano)
	for _, l := range ls {
		if l.State == StateScheduled && l.Start.After(now) {
			pipe.Eval(ctx, cancelLua, []string{lectureKey(l.ID)}, "series cancelled", stamp)
		}
	}
	ser.Cancelled = true
	js, err := json.Marshal(ser)
	if err != nil {
		return Series{}, fmt.Errorf("schedule: encode series: %w", err)
	}
	pipe.Set(ctx, seriesKey(id), js, 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return Series{}, fmt.Errorf("schedule: cancel series: %w", err)
	}
	return ser, nil
}
