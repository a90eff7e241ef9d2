package account

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// importScript creates many users at once: it first checks every username
// against the index and writes nothing if any is taken (returning the
// 1-based positions of those taken), then claims every name and writes
// every user hash. One script is one atomic step, so a concurrent Create
// of one of the names yields all of the import or none of it.
// KEYS: usernames index, then one user hash per user.
// ARGV: k (arguments per user), then per user: lower name, id, and k-2
// field/value arguments.
var importScript = redis.NewScript(`
local n = #KEYS - 1
local k = tonumber(ARGV[1])
local taken = {}
for i = 1, n do
  if redis.call('HEXISTS', KEYS[1], ARGV[2 + (i-1)*k]) == 1 then taken[#taken+1] = i end
end
if #taken > 0 then return taken end
for i = 1, n do
  if redis.call('EXISTS', KEYS[i+1]) == 1 then return 'collision' end
end
for i = 1, n do
  local base = 2 + (i-1)*k
  redis.call('HSET', KEYS[1], ARGV[base], ARGV[base+1])
  redis.call('HSET', KEYS[i+1], unpack(ARGV, base+2, base+k-1))
end
return 'ok'
`)

// ImportRoster checks a roster file as ParseRoster does and, unless dryRun
// or the file has any error, creates every student in it at once: either
// all accounts are created or none. Rows without a password get a
// generated one, returned in the result's Users. A username taken by
// someone else between the check and the write is reported like any other
// taken name, and nothing is written.
func (s *Store) ImportRoster(ctx context.Context, data []byte, dryRun bool) (ImportResult, error) {
	res, err := s.ParseRoster(ctx, data)
	if err != nil || !res.Valid || dryRun {
		return res, err
	}
	for i := range res.Users {
		if res.Users[i].password == "" {
			pw, err := GeneratePassword()
			if err != nil {
				return ImportResult{}, err
			}
			res.Users[i].password, res.Users[i].Password = pw, pw
		}
	}
	// Hash before touching Redis: this is the slow part (argon2 is made to
	// be), and the write below must be one short script.
	hashes, err := s.hashAll(ctx, res.Users)
	if err != nil {
		return ImportResult{}, err
	}
	for range 3 {
		taken, err := s.writeRoster(ctx, res.Users, hashes)
		if errors.Is(err, errIDCollision) {
			continue
		}
		if err != nil {
			return ImportResult{}, err
		}
		if len(taken) > 0 {
			for _, i := range taken {
				u := res.Users[i]
				res.Errors = append(res.Errors, RosterError{Line: u.Line, Column: "username", Reason: fmt.Sprintf("username %q is already taken", u.Username)})
			}
			for i := range res.Users {
				res.Users[i].ID, res.Users[i].Password = "", ""
			}
			res.Valid = false
			return res, nil
		}
		res.Created = len(res.Users)
		return res, nil
	}
	return ImportResult{}, errors.New("account: import roster: could not find free ids")
}

var errIDCollision = errors.New("account: id collision")

// writeRoster runs importScript with fresh ids; it returns the indexes of
// rows whose usernames were taken, if any.
func (s *Store) writeRoster(ctx context.Context, rows []RosterRow, hashes []string) ([]int, error) {
	now := s.opts.Now().UTC()
	keys := make([]string, 0, len(rows)+1)
	keys = append(keys, keyUsernames)
	perUser := 2 + len(encodeUser(User{})) + 4 // name, id, the user's fields, password and epoch
	args := make([]any, 0, 1+len(rows)*perUser)
	args = append(args, perUser)
	for i := range rows {
		id, err := newID("u_")
		if err != nil {
			return nil, err
		}
		rows[i].ID = id
		u := User{ID: id, Username: rows[i].Username, DisplayName: rows[i].DisplayName, Role: RoleStudent,
			SiteID: rows[i].SiteID, GroupID: rows[i].GroupID, Active: true, CreatedAt: now}
		keys = append(keys, userKey(id))
		args = append(args, strings.ToLower(u.Username), id)
		args = append(args, encodeUser(u)...)
		args = append(args, fPassword, hashes[i], fEpoch, "0")
	}
	v, err := importScript.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return nil, fmt.Errorf("account: import roster: %w", err)
	}
	switch v := v.(type) {
	case string:
		if v == "collision" {
			return nil, errIDCollision
		}
		return nil, nil
	case []any:
		taken := make([]int, 0, len(v))
		for _, x := range v {
			if n, ok := x.(int64); ok {
				taken = append(taken, int(n)-1)
			}
		}
		return taken, nil
	}
	return nil, fmt.Errorf("account: import roster: unexpected reply %v", v)
}

// hashAll hashes every row's password on all CPUs, stopping early if ctx ends.
func (s *Store) hashAll(ctx context.Context, rows []RosterRow) ([]string, error) {
	hashes := make([]string, len(rows))
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				h, err := hashPassword(rows[i].password, s.params())
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				hashes[i] = h
			}
		}()
	}
	var err error
feed:
	for i := range rows {
		select {
		case next <- i:
		case <-ctx.Done():
			err = fmt.Errorf("account: import roster: %w", ctx.Err())
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return nil, err
	}
	return hashes, nil
}
