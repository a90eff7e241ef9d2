package attendance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// touchScript moves an open connection's last sign of life forward; it
// never re-creates a connection that has left meanwhile.
// KEYS: open. ARGV: connId, Unix ms.
var touchScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local o = cjson.decode(cur)
if tonumber(ARGV[2]) > tonumber(o.seen) then
  o.seen = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(o))
end
return 1
`)

// Touch records a sign of life of an open connection, so that a connection
// lost in a crash can later be closed at its last sign of life. Touching a
// connection that is not open does nothing; a time earlier than one already
// recorded is ignored.
func (s *Store) Touch(ctx context.Context, lectureID, connID string, at time.Time) error {
	if err := checkID("lectureId", lectureID); err != nil {
		return err
	}
	if err := checkID("connId", connID); err != nil {
		return err
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	err := touchScript.Run(ctx, s.rdb, []string{openKey(lectureID)}, connID, strconv.FormatInt(at.UnixMilli(), 10)).Err()
	if err != nil {
		return fmt.Errorf("attendance: touch connection: %w", err)
	}
	return nil
}

// CloseOpen records a leave (with reason) for every connection of the lecture
// still open, at each connection's last sign of life. It is used after a
// server restart and when a lecture ends. It returns how many leaves it
// wrote; connections that leave concurrently are not counted twice.
func (s *Store) CloseOpen(ctx context.Context, lectureID, reason string) (int, error) {
	if err := checkID("lectureId", lectureID); err != nil {
		return 0, err
	}
	if !knownReason(reason) {
		return 0, fmt.Errorf("%w: unknown leave reason %q", ErrInvalid, reason)
	}
	conns, err := s.openConns(ctx, lectureID)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, o := range conns {
		at, err := o.closeAt()
		if err != nil {
			return closed, fmt.Errorf("attendance: open connection %s: %w", o.ConnID, err)
		}
		_, wrote, err := s.leave(ctx, Event{LectureID: lectureID, Kind: KindLeave, ConnID: o.ConnID, At: at, Reason: reason})
		if err != nil {
			return closed, err
		}
		if wrote {
			closed++
		}
	}
	if err := s.pruneIndex(ctx, lectureID); err != nil {
		return closed, err
	}
	return closed, nil
}

// Open returns the join events of connections that have not left, in the
// order they joined.
func (s *Store) Open(ctx context.Context, lectureID string) ([]Event, error) {
	if err := checkID("lectureId", lectureID); err != nil {
		return nil, err
	}
	conns, err := s.openConns(ctx, lectureID)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(conns))
	for _, o := range conns {
		e, err := o.event(lectureID)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// openConns returns the open hash's entries ordered by their join's stream id.
func (s *Store) openConns(ctx context.Context, lectureID string) ([]openConn, error) {
	m, err := s.rdb.HGetAll(ctx, openKey(lectureID)).Result()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("attendance: read open connections: %w", err)
	}
	out := make([]openConn, 0, len(m))
	for connID, js := range m {
		var o openConn
		if err := json.Unmarshal([]byte(js), &o); err != nil {
			return nil, fmt.Errorf("attendance: decode open connection %s: %w", connID, err)
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return streamIDLess(out[i].ID, out[j].ID) })
	return out, nil
}

// streamIDLess orders Redis stream ids ("ms-seq") numerically.
func streamIDLess(a, b string) bool {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	if am != bm {
		return am < bm
	}
	return as < bs
}

func splitStreamID(id string) (uint64, uint64) {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			ms, _ := strconv.ParseUint(id[:i], 10, 64)
			seq, _ := strconv.ParseUint(id[i+1:], 10, 64)
			return ms, seq
		}
	}
	ms, _ := strconv.ParseUint(id, 10, 64)
	return ms, 0
}
