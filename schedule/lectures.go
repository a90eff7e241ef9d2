package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Keys. A lecture's hash is tagged with its id ({lec_…}) so that it shares
// a Redis Cluster slot with the lecture's attendance keys
// (ll:lecture:{lec_…}:events, …:open); the indexes are in keys.go.
const (
	keyLecturePrefix = "ll:lecture:"      // + "{id}": hash of the lecture's fields
	keyLive          = "ll:lectures:live" // set: ids of lectures that may be live (superset)
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
	fSeries    = "seriesId"
	fIndex     = "index"
	fSites     = "siteIds"  // comma-separated; ids never contain commas
	fGroups    = "groupIds" // comma-separated
	fZone      = "timeZone"
	fModified  = "modified" // "1" or ""
	fReason    = "cancelReason"
	fSequence  = "sequence"
	fUpdatedAt = "updatedAt"
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
const createLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`

// CreateLecture schedules a one-off lecture after validating it (the sites
// must exist; the caller checks the lecturer and the groups). A lecture
// that overlaps another with the same lecturer or a common site is refused
// with a *ConflictError.
func (s *Store) CreateLecture(ctx context.Context, nl NewLecture) (Lecture, error) {
	now := s.opts.Now()
	nl.Title = strings.TrimSpace(nl.Title)
	nl.Topic = strings.TrimSpace(nl.Topic)
	if err := validateLecture(nl, now); err != nil {
		return Lecture{}, err
	}
	sites, err := s.siteMap(ctx)
	if err != nil {
		return Lecture{}, err
	}
	origin, ok := sites[nl.SiteID]
	if !ok {
		return Lecture{}, invalid("siteId", "siteId %q is not a known site", nl.SiteID)
	}
	siteIDs, err := participating(sites, nl.SiteID, nl.SiteIDs, "siteIds")
	if err != nil {
		return Lecture{}, err
	}
	groupIDs, err := validGroups(nl.GroupIDs, "groupIds")
	if err != nil {
		return Lecture{}, err
	}
	id, err := newID("lec_")
	if err != nil {
		return Lecture{}, err
	}
	l := Lecture{
		ID:              id,
		Title:           nl.Title,
		Topic:           nl.Topic,
		Start:           nl.Start.UTC().Truncate(time.Millisecond), // the index scores in ms
		DurationMinutes: nl.DurationMinutes,
		LecturerID:      nl.LecturerID,
		SiteID:          nl.SiteID,
		State:           StateScheduled,
		CreatedAt:       now.UTC(),
		UpdatedAt:       now.UTC(),
		SiteIDs:         siteIDs,
		GroupIDs:        groupIDs,
		TimeZone:        origin.TimeZone,
	}
	if err := s.commitNew(ctx, []Lecture{l}, nil); err != nil {
		return Lecture{}, err
	}
	return l, nil
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
	return s.rangeUnion(ctx, from, to, []string{keyByStart}, nil)
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
		fSeries, l.SeriesID,
		fIndex, strconv.Itoa(l.Index),
		fSites, strings.Join(l.SiteIDs, ","),
		fGroups, strings.Join(l.GroupIDs, ","),
		fZone, l.TimeZone,
		fModified, flag(l.Modified),
		fReason, l.CancelReason,
		fSequence, strconv.Itoa(l.Sequence),
		fUpdatedAt, l.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// splitIDs reverses strings.Join(ids, ","), giving an empty, non-nil slice
// for "" so that JSON shows [] rather than null.
func splitIDs(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
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

		SeriesID:     m[fSeries],
		SiteIDs:      splitIDs(m[fSites]),
		GroupIDs:     splitIDs(m[fGroups]),
		TimeZone:     m[fZone],
		Modified:     m[fModified] == "1",
		CancelReason: m[fReason],
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
	// Lectures written before series existed lack the fields below.
	if v := m[fIndex]; v != "" {
		if l.Index, err = strconv.Atoi(v); err != nil {
			return bad(fIndex, err)
		}
	}
	if v := m[fSequence]; v != "" {
		if l.Sequence, err = strconv.Atoi(v); err != nil {
			return bad(fSequence, err)
		}
	}
	l.UpdatedAt = l.CreatedAt
	if u, err := parseOpt(m[fUpdatedAt]); err != nil {
		return bad(fUpdatedAt, err)
	} else if u != nil {
		l.UpdatedAt = *u
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
