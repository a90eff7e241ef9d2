package attendance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// The keys people's marks live in. They share the lecture's hash tag, so a
// mark and its audit entry are written in one transaction.
func rollCallKey(lectureID string) string  { return "ll:lecture:{" + lectureID + "}:rollcall" }  // hash userId -> JSON RollCall
func overridesKey(lectureID string) string { return "ll:lecture:{" + lectureID + "}:overrides" } // hash userId -> JSON Override
func auditKey(lectureID string) string     { return "ll:lecture:{" + lectureID + "}:audit" }     // stream of AuditEntry

// RollCall is a site operator's mark that a student was in the room at the
// site: presence for [From, To], by default the whole actual lecture.
type RollCall struct {
	SiteID string     `json:"siteId"`
	By     string     `json:"by"`
	At     time.Time  `json:"at"`
	From   *time.Time `json:"from"`
	To     *time.Time `json:"to"`
}

// Override is a status set by a lecturer or admin; it wins over the rules.
type Override struct {
	Status string    `json:"status"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Kinds of audit entries.
const (
	AuditOverride = "override"
	AuditRollCall = "rollcall"
)

// AuditEntry is one change a person made to a lecture's attendance. For an
// override, Old is the status before it (the previous override or the
// automatic status) and New the one set. For a roll-call mark, Old and New
// are "present" or "absent" (in the room or not).
type AuditEntry struct {
	ID        string    `json:"id"` // stream id
	Kind      string    `json:"kind"`
	LectureID string    `json:"lectureId"`
	UserID    string    `json:"userId"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
	Reason    string    `json:"reason"`
}

// overrideScript replaces a student's override and appends the change to
// the audit stream in one step, so the trail can never miss an override
// nor name a stale old status when two people override at once.
// KEYS: overrides, audit. ARGV: userId, override JSON, automatic status,
// by, at, new status, reason.
var overrideScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local old = ARGV[3]
if cur then old = cjson.decode(cur).status end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local id = redis.call('XADD', KEYS[2], '*', 'kind', 'override', 'userId', ARGV[1], 'by', ARGV[4],
  'at', ARGV[5], 'old', old, 'new', ARGV[6], 'reason', ARGV[7])
return {id, old}
`)

// SetOverride sets userID's status in the lecture. The status must be in
// rules and the reason non-empty; automatic is the status the rules give
// now (it is the audit entry's Old when there was no override before). It
// returns the audit entry written. Nothing is written on a refusal.
func (s *Store) SetOverride(ctx context.Context, lectureID, userID string, rules Rules, ov Override, automatic string) (AuditEntry, error) {
	if err := checkID("lectureId", lectureID); err != nil {
		return AuditEntry{}, err
	}
	if err := checkID("userId", userID); err != nil {
		return AuditEntry{}, err
	}
	if err := checkID("by", ov.By); err != nil {
		return AuditEntry{}, err
	}
	if _, ok := rules.Status(ov.Status); !ok {
		return AuditEntry{}, fieldErr("status", "status %q is not one of the lecture's statuses", ov.Status)
	}
	ov.Reason = strings.TrimSpace(ov.Reason)
	if n := utf8.RuneCountInString(ov.Reason); n == 0 || n > maxReasonRunes || !utf8.ValidString(ov.Reason) {
		return AuditEntry{}, fieldErr("reason", "a reason of 1-%d characters is required", maxReasonRunes)
	}
	if ov.At.IsZero() {
		ov.At = s.opts.Now()
	}
	ov.At = ov.At.UTC()
	b, err := json.Marshal(ov)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("attendance: encode override: %w", err)
	}
	at := ov.At.Format(time.RFC3339Nano)
	reply, err := overrideScript.Run(ctx, s.rdb, []string{overridesKey(lectureID), auditKey(lectureID)},
		userID, b, automatic, ov.By, at, ov.Status, ov.Reason).StringSlice()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("attendance: write override: %w", err)
	}
	if len(reply) != 2 {
		return AuditEntry{}, fmt.Errorf("attendance: unexpected script reply %q", reply)
	}
	return AuditEntry{ID: reply[0], Kind: AuditOverride, LectureID: lectureID, UserID: userID, By: ov.By,
		At: ov.At, Old: reply[1], New: ov.Status, Reason: ov.Reason}, nil
}

// rollCallScript sets or clears a mark and audits the change in one step.
// KEYS: rollcall, audit. ARGV: userId, mark JSON ("" clears), by, at, new.
var rollCallScript = redis.NewScript(`
local old = 'absent'
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then old = 'present' end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local id = redis.call('XADD', KEYS[2], '*', 'kind', 'rollcall', 'userId', ARGV[1], 'by', ARGV[3],
  'at', ARGV[4], 'old', old, 'new', ARGV[5], 'reason', '')
return id
`)

// SetRollCall marks userID as in the room (mark non-nil) or not (nil) and
// audits the change. The mark's From must not be after its To; a zero At
// is now. Who may mark whom is the caller's check.
func (s *Store) SetRollCall(ctx context.Context, lectureID, userID, by string, mark *RollCall) (AuditEntry, error) {
	for _, c := range [][2]string{{"lectureId", lectureID}, {"userId", userID}, {"by", by}} {
		if err := checkID(c[0], c[1]); err != nil {
			return AuditEntry{}, err
		}
	}
	now := s.opts.Now().UTC()
	val, state := "", "absent"
	if mark != nil {
		if mark.From != nil && mark.To != nil && mark.To.Before(*mark.From) {
			return AuditEntry{}, fieldErr("to", "to must not be before from")
		}
		if err := checkID("siteId", mark.SiteID); err != nil {
			return AuditEntry{}, err
		}
		m := *mark
		m.By = by
		if m.At.IsZero() {
			m.At = now
		}
		m.At = m.At.UTC()
		b, err := json.Marshal(m)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("attendance: encode roll-call mark: %w", err)
		}
		val, state = string(b), "present"
	}
	id, err := rollCallScript.Run(ctx, s.rdb, []string{rollCallKey(lectureID), auditKey(lectureID)},
		userID, val, by, now.Format(time.RFC3339Nano), state).Text()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("attendance: write roll-call mark: %w", err)
	}
	return AuditEntry{ID: id, Kind: AuditRollCall, LectureID: lectureID, UserID: userID, By: by, At: now, New: state}, nil
}

// Audit returns a lecture's audit trail, oldest first.
func (s *Store) Audit(ctx context.Context, lectureID string) ([]AuditEntry, error) {
	if err := checkID("lectureId", lectureID); err != nil {
		return nil, err
	}
	msgs, err := s.rdb.XRange(ctx, auditKey(lectureID), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("attendance: read audit trail: %w", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		a, err := decodeAudit(lectureID, m)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func decodeAudit(lectureID string, m redis.XMessage) (AuditEntry, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, err := time.Parse(time.RFC3339Nano, str("at"))
	if err != nil {
		return AuditEntry{}, fmt.Errorf("attendance: audit entry %s: bad time: %w", m.ID, err)
	}
	return AuditEntry{ID: m.ID, Kind: str("kind"), LectureID: lectureID, UserID: str("userId"), By: str("by"),
		At: at, Old: str("old"), New: str("new"), Reason: str("reason")}, nil
}
