package attendance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// openConn is the value kept in the open hash for a connection that has
// joined and not left: its join event and its last sign of life.
type openConn struct {
	ID     string `json:"id"` // stream id of the join
	UserID string `json:"userId"`
	Role   string `json:"role"`
	SiteID string `json:"siteId"`
	ConnID string `json:"connId"`
	At     string `json:"at"`   // RFC 3339, UTC
	Seen   string `json:"seen"` // last sign of life, Unix ms
}

func (o openConn) event(lectureID string) (Event, error) {
	at, err := time.Parse(time.RFC3339Nano, o.At)
	if err != nil {
		return Event{}, fmt.Errorf("attendance: open connection %s: bad time: %w", o.ConnID, err)
	}
	return Event{ID: o.ID, LectureID: lectureID, Kind: KindJoin, UserID: o.UserID, Role: o.Role, SiteID: o.SiteID, ConnID: o.ConnID, At: at}, nil
}

// closeAt is when a connection lost without a leave is taken to have
// left: its last sign of life, never before its join.
func (o openConn) closeAt() (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, o.At)
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(o.Seen, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	if seen := time.UnixMilli(ms).UTC(); seen.After(at) {
		return seen, nil
	}
	return at, nil
}

// joinScript appends a join and opens the connection in one step; a join
// of a connection already open writes nothing and returns the open entry.
// A join whose idempotency key was recorded before writes nothing and
// returns the stream id recorded with the key.
// KEYS: events, open, closed, applied. ARGV: connId, userId, role, siteId, at,
// seen ms, reason, clientAt (empty: none reported), idempotency key (empty: none).
var joinScript = redis.NewScript(`
if ARGV[9] ~= '' then
  local done = redis.call('HGET', KEYS[4], ARGV[9])
  if done then return {'applied', done} end
end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[4], ARGV[9], cjson.decode(cur).id) end
  return {'dup', cur}
end
local fields = {'kind', 'join', 'userId', ARGV[2], 'role', ARGV[3],
  'siteId', ARGV[4], 'connId', ARGV[1], 'at', ARGV[5], 'reason', ARGV[7]}
if ARGV[8] ~= '' then
  table.insert(fields, 'clientAt')
  table.insert(fields, ARGV[8])
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
if ARGV[9] ~= '' then redis.call('HSET', KEYS[4], ARGV[9], id) end
local entry = cjson.encode({id = id, userId = ARGV[2], role = ARGV[3], siteId = ARGV[4],
  connId = ARGV[1], at = ARGV[5], seen = ARGV[6]})
redis.call('HSET', KEYS[2], ARGV[1], entry)
redis.call('HDEL', KEYS[3], ARGV[1])
return {'ok', entry}
`)

// leaveScript appends a leave and closes the connection in one step. The
// leave carries who left from the open entry, not from the caller. A leave
// of a connection that is not open writes nothing: it answers with the id
// of the earlier leave, if there was one. So does a leave whose idempotency
// key was recorded before.
// KEYS: events, open, closed, applied. ARGV: connId, at, reason, idempotency key (empty: none).
var leaveScript = redis.NewScript(`
if ARGV[4] ~= '' then
  local done = redis.call('HGET', KEYS[4], ARGV[4])
  if done then return {'dup', done} end
end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then
  local prev = redis.call('HGET', KEYS[3], ARGV[1])
  if prev then
    if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], prev) end
    return {'dup', prev}
  end
  return {'unknown'}
end
local o = cjson.decode(cur)
local id = redis.call('XADD', KEYS[1], '*', 'kind', 'leave', 'userId', o.userId, 'role', o.role,
  'siteId', o.siteId, 'connId', ARGV[1], 'at', ARGV[2], 'reason', ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], id)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], id) end
return {'ok', id, cur, redis.call('HLEN', KEYS[2])}
`)

func knownReason(r string) bool {
	switch r {
	case ReasonLeft, ReasonDisconnected, ReasonTimeout, ReasonEnded, ReasonShutdown, ReasonRecovered, ReasonRemoved:
		return true
	}
	return false
}

// Record appends an event to the lecture's stream and updates the set of open
// connections. A zero At is set to now. It returns the event with its ID.
//
// Recording is idempotent per connection: a join of a connection that is
// already open returns the original join, and a leave of a connection that
// has already left returns the original leave; neither writes anything. A
// leave of a connection that never joined writes nothing and returns the
// event with an empty ID. A leave without a reason gets ReasonLeft, and its
// UserID, Role and SiteID are taken from the connection's join. A join's
// ClientAt is stored beside At as information only; a leave's is ignored.
// An event with an IdempotencyKey that was recorded before writes nothing
// and returns the event recorded then.
func (s *Store) Record(ctx context.Context, e Event) (Event, error) {
	e, err := s.normalize(e)
	if err != nil {
		return Event{}, err
	}
	if e.Kind == KindJoin {
		return s.join(ctx, e)
	}
	e, _, err = s.leave(ctx, e)
	return e, err
}

// normalize checks e and fills in its defaults (At, a leave's reason), so
// that an event queued for later is exactly the event recorded now.
func (s *Store) normalize(e Event) (Event, error) {
	if err := checkID("lectureId", e.LectureID); err != nil {
		return Event{}, err
	}
	if err := checkID("connId", e.ConnID); err != nil {
		return Event{}, err
	}
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	e.At = e.At.UTC()
	switch e.Kind {
	case KindJoin:
		if err := checkID("userId", e.UserID); err != nil {
			return Event{}, err
		}
		if len(e.Role) > maxIDBytes || len(e.SiteID) > maxIDBytes || len(e.Reason) > maxIDBytes {
			return Event{}, fmt.Errorf("%w: role, siteId and reason must be at most %d bytes", ErrInvalid, maxIDBytes)
		}
	case KindLeave:
		if e.Reason == "" {
			e.Reason = ReasonLeft
		}
		if !knownReason(e.Reason) {
			return Event{}, fmt.Errorf("%w: unknown leave reason %q", ErrInvalid, e.Reason)
		}
	default:
		return Event{}, fmt.Errorf("%w: kind must be join or leave, not %q", ErrInvalid, e.Kind)
	}
	if len(e.IdempotencyKey) > maxIDBytes {
		return Event{}, fmt.Errorf("%w: idempotencyKey must be at most %d bytes", ErrInvalid, maxIDBytes)
	}
	return e, nil
}

func (s *Store) join(ctx context.Context, e Event) (Event, error) {
	clientAt := ""
	if e.ClientAt != nil {
		t := e.ClientAt.UTC()
		e.ClientAt = &t
		clientAt = t.Format(time.RFC3339Nano)
	}
	// Index first, so a crash after the script cannot leave an open
	// connection that OpenLectures does not know of.
	if err := s.touchIndex(ctx, e.LectureID); err != nil {
		return Event{}, err
	}
	reply, err := joinScript.Run(ctx, s.rdb,
		[]string{eventsKey(e.LectureID), openKey(e.LectureID), closedKey(e.LectureID), appliedKey(e.LectureID)},
		e.ConnID, e.UserID, e.Role, e.SiteID, e.At.Format(time.RFC3339Nano),
		strconv.FormatInt(e.At.UnixMilli(), 10), e.Reason, clientAt, e.IdempotencyKey).StringSlice()
	if err != nil {
		return Event{}, fmt.Errorf("attendance: record join: %w", err)
	}
	if len(reply) != 2 {
		return Event{}, fmt.Errorf("attendance: unexpected script reply %q", reply)
	}
	if reply[0] == "applied" {
		// Recorded before under the same key, perhaps by a run that died
		// before its second stamp: stamp again, then answer as then.
		if err := s.touchIndex(ctx, e.LectureID); err != nil {
			return Event{}, err
		}
		return s.eventByID(ctx, e.LectureID, reply[1])
	}
	var o openConn
	if err := json.Unmarshal([]byte(reply[1]), &o); err != nil {
		return Event{}, fmt.Errorf("attendance: decode open connection: %w", err)
	}
	if reply[0] == "ok" {
		// Again after, in case a concurrent prune removed the lecture
		// between the first bump and the script (see index.go).
		if err := s.touchIndex(ctx, e.LectureID); err != nil {
			return Event{}, err
		}
		e.ID = o.ID
		return e, nil
	}
	return o.event(e.LectureID)
}

// leave records e (a leave) and reports whether it wrote anything.
func (s *Store) leave(ctx context.Context, e Event) (Event, bool, error) {
	reply, err := leaveScript.Run(ctx, s.rdb,
		[]string{eventsKey(e.LectureID), openKey(e.LectureID), closedKey(e.LectureID), appliedKey(e.LectureID)},
		e.ConnID, e.At.Format(time.RFC3339Nano), e.Reason, e.IdempotencyKey).Slice()
	if err != nil {
		return Event{}, false, fmt.Errorf("attendance: record leave: %w", err)
	}
	status, _ := reply[0].(string)
	switch status {
	case "unknown":
		return e, false, nil
	case "dup":
		id, _ := reply[1].(string)
		prev, err := s.eventByID(ctx, e.LectureID, id)
		return prev, false, err
	case "ok":
		if len(reply) != 4 {
			return Event{}, false, fmt.Errorf("attendance: unexpected script reply %v", reply)
		}
		e.ID, _ = reply[1].(string)
		cur, _ := reply[2].(string)
		var o openConn
		if err := json.Unmarshal([]byte(cur), &o); err != nil {
			return Event{}, false, fmt.Errorf("attendance: decode open connection: %w", err)
		}
		e.UserID, e.Role, e.SiteID = o.UserID, o.Role, o.SiteID
		if remaining, _ := reply[3].(int64); remaining == 0 {
			if err := s.pruneIndex(ctx, e.LectureID); err != nil {
				return e, true, err
			}
		}
		return e, true, nil
	default:
		return Event{}, false, fmt.Errorf("attendance: unexpected script reply %v", reply)
	}
}

func (s *Store) eventByID(ctx context.Context, lectureID, id string) (Event, error) {
	msgs, err := s.rdb.XRange(ctx, eventsKey(lectureID), id, id).Result()
	if err != nil {
		return Event{}, fmt.Errorf("attendance: read event %s: %w", id, err)
	}
	if len(msgs) != 1 {
		return Event{}, errors.New("attendance: event recorded but missing from the stream")
	}
	return decodeEvent(lectureID, msgs[0])
}

// decodeEvent turns a stream entry into an Event.
func decodeEvent(lectureID string, m redis.XMessage) (Event, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, err := time.Parse(time.RFC3339Nano, str("at"))
	if err != nil {
		return Event{}, fmt.Errorf("attendance: event %s: bad time: %w", m.ID, err)
	}
	e := Event{
		ID: m.ID, LectureID: lectureID, Kind: Kind(str("kind")), UserID: str("userId"), Role: str("role"),
		SiteID: str("siteId"), ConnID: str("connId"), At: at, Reason: str("reason"),
	}
	// A client time that does not parse is dropped, not an error: it is
	// information only and must never make the record unreadable.
	if v := str("clientAt"); v != "" {
		if ct, err := time.Parse(time.RFC3339Nano, v); err == nil {
			e.ClientAt = &ct
		}
	}
	return e, nil
}
