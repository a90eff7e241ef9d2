package schedule

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxLectureLength bounds how long a lecture may last (maxDuration
// minutes). An overlap search for [start, end) must look at lectures that
// started up to this long before start.
const maxLectureLength = maxDuration * time.Minute

// Conflict is one clash between a proposed lecture and an existing one.
type Conflict struct {
	Index        int       `json:"index"` // the proposal's occurrence (1-based; 0 for a one-off)
	Start        time.Time `json:"start"` // the proposal's start
	Kind         string    `json:"kind"`  // "lecturer" or "site"
	ResourceID   string    `json:"resourceId"`
	LectureID    string    `json:"lectureId"` // "" when two proposals clash with each other
	LectureTitle string    `json:"lectureTitle"`
}

// ConflictError refuses a booking that overlaps existing ones. It matches
// ErrConflict with errors.Is.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	c := e.Conflicts[0]
	return fmt.Sprintf("%s: %d conflict(s), first: %s %s already booked by %q", ErrConflict, len(e.Conflicts), c.Kind, c.ResourceID, c.LectureTitle)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// conflicts finds the clashes of the proposals with stored lectures that
// are not cancelled and not in skip, and among the proposals themselves.
// All index ranges go in one pipeline and all candidate lectures in a
// second, so a 400-occurrence series costs two round trips.
func (s *Store) conflicts(ctx context.Context, proposals []Lecture, skip map[string]bool) ([]Conflict, error) {
	type query struct {
		p   int
		key string
		cmd *redis.StringSliceCmd
	}
	var queries []query
	pipe := s.rdb.Pipeline()
	for i, p := range proposals {
		for _, key := range resourceKeys(p) {
			cmd := pipe.ZRangeByScore(ctx, key, &redis.ZRangeBy{
				Min: strconv.FormatInt(p.Start.Add(-maxLectureLength).UnixMilli(), 10),
				Max: "(" + strconv.FormatInt(p.End().UnixMilli(), 10),
			})
			queries = append(queries, query{p: i, key: key, cmd: cmd})
		}
	}
	if len(queries) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("schedule: conflict check: %w", err)
		}
	}
	var ids []string
	seen := map[string]bool{}
	for _, q := range queries {
		for _, id := range q.cmd.Val() {
			if !seen[id] && !skip[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	loaded, err := s.lectures(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Lecture, len(ids))
	for i, l := range loaded {
		if l != nil {
			byID[ids[i]] = l
		}
	}
	var out []Conflict
	reported := map[[2]string]bool{} // proposal id + other id: one conflict per pair
	for _, q := range queries {
		p := proposals[q.p]
		for _, id := range q.cmd.Val() {
			o := byID[id]
			if o == nil || o.State == StateCancelled || reported[[2]string{p.ID, id}] || !overlaps(p, *o) {
				continue
			}
			if c, ok := clash(p, *o); ok {
				reported[[2]string{p.ID, id}] = true
				out = append(out, c)
			}
		}
	}
	out = append(out, selfConflicts(proposals)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

func overlaps(a, b Lecture) bool {
	return a.Start.Before(b.End()) && b.Start.Before(a.End())
}

// clash says why overlapping p and o conflict, if they share a resource.
func clash(p, o Lecture) (Conflict, bool) {
	c := Conflict{Index: p.Index, Start: p.Start, LectureID: o.ID, LectureTitle: o.Title}
	if p.LecturerID == o.LecturerID {
		c.Kind, c.ResourceID = "lecturer", p.LecturerID
		return c, true
	}
	for _, site := range p.Sites() {
		if slices.Contains(o.Sites(), site) {
			c.Kind, c.ResourceID = "site", site
			return c, true
		}
	}
	return Conflict{}, false
}

// selfConflicts finds proposals that overlap each other. Occurrences of
// one rule rarely do (only a duration longer than the rule's spacing), so
// a sort and a sweep over neighbours is enough.
func selfConflicts(ps []Lecture) []Conflict {
	sorted := slices.Clone(ps)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	var out []Conflict
	for i := 1; i < len(sorted); i++ {
		for j := i - 1; j >= 0 && sorted[j].End().After(sorted[i].Start); j-- {
			if c, ok := clash(sorted[i], sorted[j]); ok {
				c.LectureID = ""
				c.LectureTitle = strings.TrimSpace(fmt.Sprintf("%s (occurrence %d)", sorted[j].Title, sorted[j].Index))
				out = append(out, c)
			}
		}
	}
	return out
}
