package account

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Filter narrows Users; zero fields match everything.
type Filter struct {
	Role    Role
	SiteID  string
	GroupID string
	Active  *bool
}

func (f Filter) match(u User) bool {
	return (f.Role == "" || u.Role == f.Role) &&
		(f.SiteID == "" || u.SiteID == f.SiteID) &&
		(f.GroupID == "" || u.GroupID == f.GroupID) &&
		(f.Active == nil || u.Active == *f.Active)
}

// Users returns the users matching f, ordered by display name and then
// username. It reads every user: the institutions have hundreds of people,
// not millions, so a scan of one pipelined round trip is cheaper than
// keeping secondary indexes consistent.
func (s *Store) Users(ctx context.Context, f Filter) ([]User, error) {
	if f.Role != "" && !f.Role.Valid() {
		return nil, fmt.Errorf("%w: unknown role %q", ErrInvalid, f.Role)
	}
	ids, err := s.rdb.HVals(ctx, keyUsernames).Result()
	if err != nil {
		return nil, fmt.Errorf("account: list users: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, userKey(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("account: list users: %w", err)
		}
	}
	users := make([]User, 0, len(ids))
	for _, c := range cmds {
		m := c.Val()
		if len(m) == 0 {
			continue
		}
		u, err := decodeUser(m)
		if err != nil {
			return nil, err
		}
		if f.match(u) {
			users = append(users, u)
		}
	}
	sort.Slice(users, func(i, j int) bool {
		if users[i].DisplayName != users[j].DisplayName {
			return users[i].DisplayName < users[j].DisplayName
		}
		return users[i].Username < users[j].Username
	})
	return users, nil
}
