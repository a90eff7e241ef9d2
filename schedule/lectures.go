package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Keys. A lecture's hash is tagged with its id ({lec_…}) so that it shares
// a Redis Cluster slot with the lecture's attendance keys
// (ll:lecture:{lec_…}:events, …:open); the indexes are single keys.
const (
	keyLecturePrefix = "ll:lecture:"          // + "{id}": hash of the lecture's fields
	keyByStart       = "ll:lectures:by-start" // zset: lecture id, score = start in Unix ms
	keyLive          = "ll:lectures:live"     // set: ids of lectures that may be live (superset)
)

func lectureKey(id string) string { return keyLecturePrefix + "{" + id + "}" }

// Fields of a lecture hash. Times are RFC 3339 in UTC; empty means unset.
const (
	fID        = "id"
	fTitle     = "title"
	fTopic     = "topic"
	fStart     = "start"
	fDuration  = "durationMinutes"
	fLecturer  = "lecturerId"
	fSite      = "siteId"
	fState     = "state"
	fStartedAt = "startedAt"
	fEndedAt   = "endedAt"
	fCreatedAt = "createdAt"
)

// Validation limits, from docs/api.md.
const (
	maxTitleRunes = 200
	maxTopicRunes = 500
	minDuration   = 5
	maxDuration   = 720
	maxPast       = 24 * time.Hour
	maxIDBytes    = 64
)

// createScript writes a new lecture hash unless the id is taken.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`)

// CreateLecture schedules a lecture after validating it (the site must exist;
// the caller checks the lecturer).
func (s *Store) CreateLecture(ctx context.Context, nl NewLecture) (Lecture, error) {
	now := s.opts.Now()
	nl.Title = strings.TrimSpace(nl.Title)
	nl.Topic = strings.TrimSpace(nl.Topic)
	if err := validateLecture(nl, now); err != nil {
		return Lecture{}, err
	}
	ok, err := s.rdb.HExists(ctx, keySites, nl.SiteID).Result()
	if err != nil {
		return Lecture{}, fmt.Errorf("schedule: check site: %w", err)
	}
	if !ok {
		return Lecture{}, invalid("siteId", "siteId %q is not a known site", nl.SiteID)
	}
	l := Lecture{
		Title:           nl.Title,
		Topic:           nl.Topic,
		Start:           nl.Start.UTC().Truncate(time.Millisecond), // the index scores in ms
		DurationMinutes: nl.DurationMinutes,
		LecturerID:      nl.LecturerID,
		SiteID:          nl.SiteID,
		State:           StateScheduled,
		CreatedAt:       now.UTC(),
	}
	for range 3 { // retry only on an id collision
		if l.ID, err = newID("lec_"); err != nil {
			return Lecture{}, err
		}
		created, err := createScript.Run(ctx, s.rdb, []string{lectureKey(l.ID)}, encodeLecture(l)...).Int()
		if err != nil {
			return Lecture{}, fmt.Errorf("schedule: create lecture: %w", err)
		}
		if created == 0 {
			continue
		}
		// Index after the hash exists: a crash in between leaves a lecture
		// nobody has the id of, never an index entry without a lecture.
		if err := s.rdb.ZAdd(ctx, keyByStart, redis.Z{Score: float64(l.Start.UnixMilli()), Member: l.ID}).Err(); err != nil {
			return Lecture{}, fmt.Errorf("schedule: index lecture: %w", err)
		}
		return l, nil
	}
	return Lecture{}, errors.New("schedule: create lecture: could not find a free id")
}

func validateLecture(nl NewLecture, now time.Time) error {
	if n := utf8.RuneCountInString(nl.Title); n == 0 || n > maxTitleRunes || !utf8.ValidString(nl.Title) || hasControl(nl.Title) {
		return invalid("title", "title must be 1-%d characters", maxTitleRunes)
	}
	if n := utf8.RuneCountInString(nl.Topic); n > maxTopicRunes || !utf8.ValidString(nl.Topic) {
		return invalid("topic", "topic must be at most %d characters", maxTopicRunes)
	}
	if nl.Start.IsZero() {
		return invalid("start", "start is required")
	}
	if nl.Start.Before(now.Add(-maxPast)) {
		return invalid("start", "start must be no more than a day in the past")
	}
	if nl.DurationMinutes < minDuration || nl.DurationMinutes > maxDuration {
		return invalid("durationMinutes", "durationMinutes must be %d-%d", minDuration, maxDuration)
	}
	if nl.LecturerID == "" || len(nl.LecturerID) > maxIDBytes {
		return invalid("lecturerId", "lecturerId is required")
	}
	if nl.SiteID == "" || len(nl.SiteID) > maxIDBytes {
		return invalid("siteId", "siteId is required")
	}
	return nil
}

// hasControl reports control characters, which have no place in a one-line
// title and can break logs and terminal output.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// Lecture returns one lecture.
func (s *Store) Lecture(ctx context.Context, id string) (Lecture, error) {
	if id == "" || len(id) > maxIDBytes {
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
	m, err := s.rdb.HGetAll(ctx, lectureKey(id)).Result()
	if err != nil {
		return Lecture{}, fmt.Errorf("schedule: get lecture: %w", err)
	}
	if len(m) == 0 {
		return Lecture{}, fmt.Errorf("%w: lecture %q", ErrNotFound, id)
	}
	return decodeLecture(m)
}

// LecturesBetween returns lectures whose start is in [from, to), ordered by start.
func (s *Store) LecturesBetween(ctx context.Context, from, to time.Time) ([]Lecture, error) {
	if !from.Before(to) {
		return []Lecture{}, nil
	}
	// Starts are whole milliseconds, so start >= from ⇔ start >= ceil(from),
	// and start < to ⇔ start < ceil(to).
	ids, err := s.rdb.ZRangeByScore(ctx, keyByStart, &redis.ZRangeBy{
		Min: strconv.FormatInt(ceilMilli(from), 10),
		Max: "(" + strconv.FormatInt(ceilMilli(to), 10),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("schedule: range lectures: %w", err)
	}
	ls, err := s.lectures(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Lecture, 0, len(ls))
	for _, l := range ls {
		if l != nil {
			out = append(out, *l)
		}
	}
	// The zset orders by score then id; keep that for equal starts.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// lectures loads many lectures in one round trip; a missing one is nil.
func (s *Store) lectures(ctx context.Context, ids []string) ([]*Lecture, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, lectureKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("schedule: load lectures: %w", err)
	}
	out := make([]*Lecture, len(ids))
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		l, err := decodeLecture(c.Val())
		if err != nil {
			return nil, err
		}
		out[i] = &l
	}
	return out, nil
}

func encodeLecture(l Lecture) []any {
	return []any{
		fID, l.ID,
		fTitle, l.Title,
		fTopic, l.Topic,
		fStart, l.Start.UTC().Format(time.RFC3339Nano),
		fDuration, strconv.Itoa(l.DurationMinutes),
		fLecturer, l.LecturerID,
		fSite, l.SiteID,
		fState, string(l.State),
		fStartedAt, formatOpt(l.StartedAt),
		fEndedAt, formatOpt(l.EndedAt),
		fCreatedAt, l.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
}

func formatOpt(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func decodeLecture(m map[string]string) (Lecture, error) {
	l := Lecture{
		ID:         m[fID],
		Title:      m[fTitle],
		Topic:      m[fTopic],
		LecturerID: m[fLecturer],
		SiteID:     m[fSite],
		State:      State(m[fState]),
	}
	var err error
	bad := func(field string, err error) (Lecture, error) {
		return Lecture{}, fmt.Errorf("schedule: lecture %s: bad %s: %w", l.ID, field, err)
	}
	if l.Start, err = time.Parse(time.RFC3339Nano, m[fStart]); err != nil {
		return bad(fStart, err)
	}
	if l.CreatedAt, err = time.Parse(time.RFC3339Nano, m[fCreatedAt]); err != nil {
		return bad(fCreatedAt, err)
	}
	if l.DurationMinutes, err = strconv.Atoi(m[fDuration]); err != nil {
		return bad(fDuration, err)
	}
	if l.StartedAt, err = parseOpt(m[fStartedAt]); err != nil {
		return bad(fStartedAt, err)
	}
	if l.EndedAt, err = parseOpt(m[fEndedAt]); err != nil {
		return bad(fEndedAt, err)
	}
	return l, nil
}

func parseOpt(v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// decodeFlat turns the flat [field, value, …] reply of HGETALL inside a
// script into a map.
func decodeFlat(v any) (map[string]string, error) {
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, fmt.Errorf("schedule: unexpected script reply %T", v)
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		m[k] = val
	}
	return m, nil
}

// idEncoding is lower-case base32 without padding: short, URL- and key-safe.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix followed by 64 random bits.
func newID(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("schedule: random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}
