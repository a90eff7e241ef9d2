package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a Store.
type Options struct {
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Store keeps lectures' chats in Redis.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{rdb: rdb, now: opts.Now}
}

// Post validates m's text and appends m to its lecture's chat. It returns
// the message as stored (ID, trimmed Text, At set).
func (s *Store) Post(ctx context.Context, m Message) (Message, error) {
	if err := checkID("lecture id", m.LectureID); err != nil {
		return Message{}, err
	}
	if err := checkID("user id", m.UserID); err != nil {
		return Message{}, err
	}
	text, err := CleanText(m.Text)
	if err != nil {
		return Message{}, err
	}
	m.Text = text
	m.At = s.now().UTC().Truncate(time.Millisecond)
	m.Deleted, m.DeletedBy, m.DeletedAt = false, "", time.Time{}
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: streamKey(m.LectureID),
		MaxLen: maxStream,
		Approx: true,
		Values: []any{
			"user", m.UserID, "name", m.Name, "role", m.Role, "site", m.SiteID,
			"text", m.Text, "at", strconv.FormatInt(m.At.UnixMilli(), 10),
		},
	}).Result()
	if err != nil {
		return Message{}, fmt.Errorf("chat: post to %s: %w", m.LectureID, err)
	}
	m.ID = id
	return m, nil
}

// History returns the last limit messages of a lecture's chat (limit ≤ 0:
// DefaultHistory), oldest first, deleted ones as tombstones in their place.
func (s *Store) History(ctx context.Context, lectureID string, limit int) ([]Message, error) {
	if err := checkID("lecture id", lectureID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultHistory
	}
	entries, err := s.rdb.XRevRangeN(ctx, streamKey(lectureID), "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: history of %s: %w", lectureID, err)
	}
	tombs, err := s.rdb.HGetAll(ctx, tombstonesKey(lectureID)).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: tombstones of %s: %w", lectureID, err)
	}
	out := make([]Message, 0, len(entries)+len(tombs))
	for _, e := range entries {
		out = append(out, fromEntry(lectureID, e.ID, e.Values))
	}
	for id, raw := range tombs {
		var t tombstone
		if err := json.Unmarshal([]byte(raw), &t); err != nil {
			return nil, fmt.Errorf("chat: tombstone %s of %s: %w", id, lectureID, err)
		}
		out = append(out, Message{
			ID: id, LectureID: lectureID, UserID: t.UserID, Name: t.Name, Role: t.Role, SiteID: t.SiteID,
			At: time.UnixMilli(t.At).UTC(), Deleted: true, DeletedBy: t.DeletedBy, DeletedAt: time.UnixMilli(t.DeletedAt).UTC(),
		})
	}
	slices.SortFunc(out, func(a, b Message) int { return compareIDs(a.ID, b.ID) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// deleteScript removes one message's text from the stream and leaves a
// tombstone (author, time, who deleted it and when) in its place, in one
// step, so a reader never sees a message vanish without trace.
var deleteScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f = e[1][2]
local t = {}
for i = 1, #f, 2 do t[f[i]] = f[i + 1] end
local tomb = cjson.encode({userId = t.user, name = t.name, role = t.role, siteId = t.site,
  at = tonumber(t.at), deletedBy = ARGV[2], deletedAt = tonumber(ARGV[3])})
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], tomb)
return 1
`)

// Delete removes message id from a lecture's chat on behalf of user by.
// It fails with ErrNotFound for an id that is not (or no longer) there.
func (s *Store) Delete(ctx context.Context, lectureID, id, by string) (Message, error) {
	if err := checkID("lecture id", lectureID); err != nil {
		return Message{}, err
	}
	if !validStreamID(id) {
		return Message{}, fmt.Errorf("%w: %q is not a message id", ErrNotFound, id)
	}
	at := s.now().UTC().Truncate(time.Millisecond)
	n, err := deleteScript.Run(ctx, s.rdb, []string{streamKey(lectureID), tombstonesKey(lectureID)},
		id, by, at.UnixMilli()).Int()
	if err != nil {
		return Message{}, fmt.Errorf("chat: delete %s from %s: %w", id, lectureID, err)
	}
	if n == 0 {
		return Message{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return Message{ID: id, LectureID: lectureID, Deleted: true, DeletedBy: by, DeletedAt: at}, nil
}

func fromEntry(lectureID, id string, v map[string]any) Message {
	str := func(k string) string { s, _ := v[k].(string); return s }
	ms, _ := strconv.ParseInt(str("at"), 10, 64)
	return Message{
		ID: id, LectureID: lectureID,
		UserID: str("user"), Name: str("name"), Role: str("role"), SiteID: str("site"),
		Text: str("text"), At: time.UnixMilli(ms).UTC(),
	}
}

// tombstone is what the delete script leaves of a message (times in Unix
// milliseconds).
type tombstone struct {
	UserID    string `json:"userId"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	SiteID    string `json:"siteId"`
	At        int64  `json:"at"`
	DeletedBy string `json:"deletedBy"`
	DeletedAt int64  `json:"deletedAt"`
}

// validStreamID accepts "ms-seq" as Redis writes stream ids.
func validStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}

// compareIDs orders stream ids numerically (lexical order breaks when the
// sequence part grows a digit).
func compareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	an, _ := strconv.ParseUint(am, 10, 64)
	bn, _ := strconv.ParseUint(bm, 10, 64)
	if c := cmp.Compare(an, bn); c != 0 {
		return c
	}
	asq, _ := strconv.ParseUint(as, 10, 64)
	bsq, _ := strconv.ParseUint(bs, 10, 64)
	return cmp.Compare(asq, bsq)
}

// IsInvalid reports whether err is a validation error to show the sender.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }
