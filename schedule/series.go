package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Series is a course: a recurrence of lectures with a topic plan. Its
// occurrences are stored as Lecture records when the series is created,
// so each can be moved, cancelled or given another topic on its own.
type Series struct {
	ID              string   `json:"id"`
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	LecturerIDs     []string `json:"lecturerIds"` // [0] teaches every occurrence
	OriginSiteID    string   `json:"originSiteId"`
	SiteIDs         []string `json:"siteIds"` // participating sites
	GroupIDs        []string `json:"groupIds"`
	TimeZone        string   `json:"timeZone"`   // default: the origin site's
	FirstStart      string   `json:"firstStart"` // local wall time in TimeZone, 2026-12-01T10:00
	RRule           string   `json:"rrule"`      // RFC 5545 RRULE without DTSTART
	Exdates         []string `json:"exdates"`    // local dates, 2026-12-24
	DurationMinutes int      `json:"durationMinutes"`
	Topics          []string `json:"topics"` // Topics[i] is occurrence i+1's topic

	Occurrences int       `json:"occurrences"` // how many were created
	Cancelled   bool      `json:"cancelled"`
	CreatedAt   time.Time `json:"createdAt"`
}

// plan validates ns (filling defaults) and expands it into lectures with
// fresh ids. Nothing is written.
func (s *Store) plan(ctx context.Context, ns Series) (Series, []Lecture, error) {
	now := s.opts.Now()
	ns.Title = strings.TrimSpace(ns.Title)
	ns.Description = strings.TrimSpace(ns.Description)
	if n := utf8.RuneCountInString(ns.Title); n == 0 || n > maxTitleRunes || !utf8.ValidString(ns.Title) || hasControl(ns.Title) {
		return Series{}, nil, invalid("title", "title must be 1-%d characters", maxTitleRunes)
	}
	if n := utf8.RuneCountInString(ns.Description); n > maxDescriptionRunes || !utf8.ValidString(ns.Description) {
		return Series{}, nil, invalid("description", "description must be at most %d characters", maxDescriptionRunes)
	}
	if err := validLecturers(ns.LecturerIDs); err != nil {
		return Series{}, nil, err
	}
	sites, err := s.siteMap(ctx)
	if err != nil {
		return Series{}, nil, err
	}
	origin, ok := sites[ns.OriginSiteID]
	if !ok {
		return Series{}, nil, invalid("originSiteId", "originSiteId %q is not a known site", ns.OriginSiteID)
	}
	if ns.SiteIDs, err = participating(sites, ns.OriginSiteID, ns.SiteIDs, "siteIds"); err != nil {
		return Series{}, nil, err
	}
	if ns.GroupIDs, err = validGroups(ns.GroupIDs, "groupIds"); err != nil {
		return Series{}, nil, err
	}
	if len(ns.SiteIDs) > maxSeriesGroupsSites || len(ns.GroupIDs) > maxSeriesGroupsSites {
		return Series{}, nil, invalid("groupIds", "at most %d sites and %d groups", maxSeriesGroupsSites, maxSeriesGroupsSites)
	}
	if ns.TimeZone == "" {
		ns.TimeZone = origin.TimeZone
	}
	loc, err := loadZone(ns.TimeZone)
	if err != nil {
		return Series{}, nil, err
	}
	first, err := parseLocal(ns.FirstStart, loc)
	if err != nil {
		return Series{}, nil, err
	}
	if first.Before(now.Add(-maxPast)) {
		return Series{}, nil, invalid("firstStart", "firstStart must be no more than a day in the past")
	}
	if ns.DurationMinutes < minDuration || ns.DurationMinutes > maxDuration {
		return Series{}, nil, invalid("durationMinutes", "durationMinutes must be %d-%d", minDuration, maxDuration)
	}
	if err := validTopics(ns.Topics); err != nil {
		return Series{}, nil, err
	}
	if len(ns.Exdates) > maxExdates {
		return Series{}, nil, invalid("exdates", "at most %d exdates", maxExdates)
	}
	occ, err := expand(ns.RRule, first, ns.Exdates)
	if err != nil {
		return Series{}, nil, err
	}
	if ns.ID, err = newID("ser_"); err != nil {
		return Series{}, nil, err
	}
	ns.Occurrences, ns.Cancelled, ns.CreatedAt = len(occ), false, now.UTC()
	ns.Exdates = nonNil(ns.Exdates)
	ns.Topics = nonNil(ns.Topics)
	ls := make([]Lecture, len(occ))
	for i, o := range occ {
		id, err := newID("lec_")
		if err != nil {
			return Series{}, nil, err
		}
		ls[i] = Lecture{
			ID: id, Title: ns.Title, Topic: topicAt(ns.Topics, o.Index),
			Start: o.Start.UTC().Truncate(time.Millisecond), DurationMinutes: ns.DurationMinutes,
			LecturerID: ns.LecturerIDs[0], SiteID: ns.OriginSiteID, State: StateScheduled,
			CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
			SeriesID: ns.ID, Index: o.Index, SiteIDs: ns.SiteIDs, GroupIDs: ns.GroupIDs, TimeZone: ns.TimeZone,
		}
	}
	return ns, ls, nil
}

func loadZone(name string) (*time.Location, error) {
	// "" and "Local" load too, but mean whatever the server's zone is.
	if name == "" || name == "Local" {
		return nil, invalid("timeZone", "timeZone must be an IANA time zone name such as Asia/Bishkek")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid("timeZone", "timeZone %q is not an IANA time zone name such as Asia/Bishkek", name)
	}
	return loc, nil
}

func validLecturers(ids []string) error {
	if len(ids) == 0 || len(ids) > maxSeriesLecturers {
		return invalid("lecturerIds", "lecturerIds must name 1-%d lecturers", maxSeriesLecturers)
	}
	for _, id := range ids {
		if id == "" || len(id) > maxIDBytes {
			return invalid("lecturerIds", "lecturerIds: %q is not a user id", id)
		}
	}
	return nil
}

func validTopics(topics []string) error {
	if len(topics) > maxTopics {
		return invalid("topics", "at most %d topics", maxTopics)
	}
	for i, t := range topics {
		if n := utf8.RuneCountInString(t); n > maxTopicRunes || !utf8.ValidString(t) {
			return invalid("topics", "topics[%d] must be at most %d characters", i, maxTopicRunes)
		}
	}
	return nil
}

func topicAt(topics []string, index int) string {
	if index >= 1 && index <= len(topics) {
		return strings.TrimSpace(topics[index-1])
	}
	return ""
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// PreviewSeries validates ns and returns the series it would create, its
// occurrences and their conflicts with stored lectures. Nothing is written.
func (s *Store) PreviewSeries(ctx context.Context, ns Series) (Series, []Lecture, []Conflict, error) {
	ser, ls, err := s.plan(ctx, ns)
	if err != nil {
		return Series{}, nil, nil, err
	}
	cs, err := s.conflicts(ctx, ls, nil)
	if err != nil {
		return Series{}, nil, nil, err
	}
	return ser, ls, cs, nil
}

// CreateSeries validates ns, expands it and stores the series with every
// occurrence, or nothing: a clash with a stored lecture is refused with a
// *ConflictError, bad input with an *InvalidError.
func (s *Store) CreateSeries(ctx context.Context, ns Series) (Series, []Lecture, error) {
	ser, ls, err := s.plan(ctx, ns)
	if err != nil {
		return Series{}, nil, err
	}
	js, err := json.Marshal(ser)
	if err != nil {
		return Series{}, nil, fmt.Errorf("schedule: encode series: %w", err)
	}
	err = s.commitNew(ctx, ls, func(pipe redis.Pipeliner) {
		pipe.Set(ctx, seriesKey(ser.ID), js, 0)
		pipe.SAdd(ctx, keySeriesAll, ser.ID)
		zs := make([]redis.Z, len(ls))
		for i, l := range ls {
			zs[i] = redis.Z{Score: float64(l.Index), Member: l.ID}
		}
		pipe.ZAdd(ctx, seriesLecturesKey(ser.ID), zs...)
	})
	if err != nil {
		return Series{}, nil, err
	}
	return ser, ls, nil
}

// Series returns one series.
func (s *Store) Series(ctx context.Context, id string) (Series, error) {
	if id == "" || len(id) > maxIDBytes || strings.Contains(id, ":") {
		return Series{}, fmt.Errorf("%w: series %q", ErrNotFound, id)
	}
	js, err := s.rdb.Get(ctx, seriesKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Series{}, fmt.Errorf("%w: series %q", ErrNotFound, id)
	}
	if err != nil {
		return Series{}, fmt.Errorf("schedule: get series: %w", err)
	}
	var ser Series
	if err := json.Unmarshal([]byte(js), &ser); err != nil {
		return Series{}, fmt.Errorf("schedule: decode series %q: %w", id, err)
	}
	return ser, nil
}

// ListSeries returns every series, newest first. Series are few (one per
// course and term), so they are read in one pipeline.
func (s *Store) ListSeries(ctx context.Context) ([]Series, error) {
	ids, err := s.rdb.SMembers(ctx, keySeriesAll).Result()
	if err != nil {
		return nil, fmt.Errorf("schedule: list series: %w", err)
	}
	out := []Series{}
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, seriesKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("schedule: list series: %w", err)
	}
	for i, c := range cmds {
		if c.Err() != nil {
			continue
		}
		var ser Series
		if err := json.Unmarshal([]byte(c.Val()), &ser); err != nil {
			return nil, fmt.Errorf("schedule: decode series %q: %w", ids[i], err)
		}
		out = append(out, ser)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SeriesLectures returns a series' occurrences in order.
func (s *Store) SeriesLectures(ctx context.Context, id string) ([]Lecture, error) {
	ids, err := s.rdb.ZRange(ctx, seriesLecturesKey(id), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("schedule: series lectures: %w", err)
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
	return out, nil
}
