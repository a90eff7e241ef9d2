package attendance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// The status acronyms the automatic computation uses. Every rule set must
// contain P, L and A; E (excused) is only ever set by a person.
const (
	StatusPresent = "P"
	StatusLate    = "L"
	StatusExcused = "E"
	StatusAbsent  = "A"
)

// Status is one attendance status of a rule set, as in Moodle's
// mod_attendance: an acronym shown in reports and exports, a description
// and a grade.
type Status struct {
	Acronym     string  `json:"acronym"`
	Description string  `json:"description"`
	Grade       float64 `json:"grade"`
}

// Rules decide how presence turns into a status. Each series has its own;
// one-off lectures and series without stored rules use DefaultRules.
type Rules struct {
	Statuses []Status `json:"statuses"`
	// PresentShare is the share of the actual lecture (0 < share ≤ 1) a
	// student must be present for to be P (or L if late).
	PresentShare float64 `json:"presentShare"`
	// LateAfterMinutes: a first join later than this after the actual
	// start makes a student late.
	LateAfterMinutes int `json:"lateAfterMinutes"`
	// GraceSeconds: a gap between connections shorter than this (a
	// reconnect) does not break presence.
	GraceSeconds int `json:"graceSeconds"`
}

// DefaultRules are Moodle's default statuses (grades 2/1/1/0), 75% for
// present, late after 10 minutes and a 60-second reconnect grace.
func DefaultRules() Rules {
	return Rules{
		Statuses: []Status{
			{Acronym: StatusPresent, Description: "Present", Grade: 2},
			{Acronym: StatusLate, Description: "Late", Grade: 1},
			{Acronym: StatusExcused, Description: "Excused", Grade: 1},
			{Acronym: StatusAbsent, Description: "Absent", Grade: 0},
		},
		PresentShare:     0.75,
		LateAfterMinutes: 10,
		GraceSeconds:     60,
	}
}

// Grace is GraceSeconds as a duration.
func (r Rules) Grace() time.Duration { return time.Duration(r.GraceSeconds) * time.Second }

// Status returns the status with the acronym, if the set has it.
func (r Rules) Status(acronym string) (Status, bool) {
	for _, s := range r.Statuses {
		if s.Acronym == acronym {
			return s, true
		}
	}
	return Status{}, false
}

// Limits of a rule set.
const (
	maxStatuses           = 20
	maxAcronymBytes       = 4
	maxDescriptionRunes   = 100
	maxGrade              = 100
	maxLateAfterMinutes   = 720 // the longest lecture
	maxGraceSeconds       = 3600
	maxReasonRunes        = 500
	rulesKeyPrefix        = "ll:attendance:rules:"
	defaultRulesSeriesKey = "" // a one-off lecture's "series"
)

// FieldError says which input field was refused and why. It matches
// ErrInvalid with errors.Is.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return ErrInvalid.Error() + ": " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks a rule set; the error is a *FieldError naming the field
// at fault (statuses, presentShare, lateAfterMinutes, graceSeconds).
func (r Rules) Validate() error {
	if len(r.Statuses) == 0 || len(r.Statuses) > maxStatuses {
		return fieldErr("statuses", "there must be 1-%d statuses", maxStatuses)
	}
	seen := map[string]bool{}
	for i, s := range r.Statuses {
		if !validAcronym(s.Acronym) {
			return fieldErr("statuses", "status %d: acronym must be 1-%d upper-case letters or digits", i+1, maxAcronymBytes)
		}
		if seen[s.Acronym] {
			return fieldErr("statuses", "status %q appears twice", s.Acronym)
		}
		seen[s.Acronym] = true
		if n := utf8.RuneCountInString(s.Description); n == 0 || n > maxDescriptionRunes || !utf8.ValidString(s.Description) || hasControl(s.Description) {
			return fieldErr("statuses", "status %q: description must be 1-%d characters", s.Acronym, maxDescriptionRunes)
		}
		if math.IsNaN(s.Grade) || s.Grade < 0 || s.Grade > maxGrade {
			return fieldErr("statuses", "status %q: grade must be 0-%d", s.Acronym, maxGrade)
		}
	}
	for _, a := range []string{StatusPresent, StatusLate, StatusAbsent} {
		if !seen[a] {
			return fieldErr("statuses", "the statuses must include %s (the automatic computation uses P, L and A)", a)
		}
	}
	if math.IsNaN(r.PresentShare) || r.PresentShare <= 0 || r.PresentShare > 1 {
		return fieldErr("presentShare", "presentShare must be more than 0 and at most 1")
	}
	if r.LateAfterMinutes < 0 || r.LateAfterMinutes > maxLateAfterMinutes {
		return fieldErr("lateAfterMinutes", "lateAfterMinutes must be 0-%d", maxLateAfterMinutes)
	}
	if r.GraceSeconds < 0 || r.GraceSeconds > maxGraceSeconds {
		return fieldErr("graceSeconds", "graceSeconds must be 0-%d", maxGraceSeconds)
	}
	return nil
}

func validAcronym(a string) bool {
	if a == "" || len(a) > maxAcronymBytes {
		return false
	}
	for _, c := range a {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func rulesKey(seriesID string) string { return rulesKeyPrefix + seriesID }

// Rules returns a series' rules, or DefaultRules if it has none stored
// (and for seriesID "", a one-off lecture).
func (s *Store) Rules(ctx context.Context, seriesID string) (Rules, error) {
	m, err := s.RulesFor(ctx, []string{seriesID})
	if err != nil {
		return Rules{}, err
	}
	return m[seriesID], nil
}

// RulesFor returns the rules of several series in one round trip, keyed by
// series id; like Rules, missing ones are the defaults.
func (s *Store) RulesFor(ctx context.Context, seriesIDs []string) (map[string]Rules, error) {
	out := make(map[string]Rules, len(seriesIDs))
	var keys, ids []string
	for _, id := range seriesIDs {
		if id == defaultRulesSeriesKey {
			out[id] = DefaultRules()
			continue
		}
		if err := checkID("seriesId", id); err != nil {
			return nil, err
		}
		keys, ids = append(keys, rulesKey(id)), append(ids, id)
	}
	if len(keys) == 0 {
		return out, nil
	}
	// One MGET would cross cluster slots; a pipeline of GETs does not.
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("attendance: read rules: %w", err)
	}
	for i, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			out[ids[i]] = DefaultRules()
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("attendance: read rules of %s: %w", ids[i], err)
		}
		var r Rules
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("attendance: decode rules of %s: %w", ids[i], err)
		}
		out[ids[i]] = r
	}
	return out, nil
}

// PutRules validates and stores a series' rules, replacing any before.
// Statuses already given (overrides) keep their acronym even if a later
// rule set drops it; reports show them as they were set.
func (s *Store) PutRules(ctx context.Context, seriesID string, r Rules) (Rules, error) {
	if err := checkID("seriesId", seriesID); err != nil {
		return Rules{}, err
	}
	for i := range r.Statuses {
		r.Statuses[i].Acronym = strings.TrimSpace(r.Statuses[i].Acronym)
		r.Statuses[i].Description = strings.TrimSpace(r.Statuses[i].Description)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Rules{}, fmt.Errorf("attendance: encode rules: %w", err)
	}
	if err := s.rdb.Set(ctx, rulesKey(seriesID), b, 0).Err(); err != nil {
		return Rules{}, fmt.Errorf("attendance: store rules: %w", err)
	}
	return r, nil
}
