package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Patch changes some of a user's fields; nil fields stay as they are.
type Patch struct {
	DisplayName *string
	Role        *string
	SiteID      *string
	GroupID     *string // "" takes the user out of their group
	Active      *bool
}

// updateScript writes a patch if the fields it was validated against are
// still those stored (compare-and-set), so two concurrent updates cannot
// combine into a state neither checked, such as a group of another site.
// Deactivating bumps the epoch exactly as SetActive does, revoking every
// session the user had, for good.
// KEYS: user hash. ARGV: expected role, siteId, groupId; new active ("",
// "0" or "1"); then field/value pairs to set.
var updateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local cur = redis.call('HMGET', KEYS[1], 'role', 'siteId', 'groupId')
if (cur[1] or '') ~= ARGV[1] or (cur[2] or '') ~= ARGV[2] or (cur[3] or '') ~= ARGV[3] then return 'changed' end
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'active', ARGV[4])
  if ARGV[4] == '0' then redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
end
return 'ok'
`)

// maxUpdateAttempts bounds the compare-and-set retries of Update; each
// retry means another admin changed the same user at the same moment.
const maxUpdateAttempts = 20

// Update applies p to the user and returns the result. Deactivating ends
// every session of the user; users are never deleted, so their history
// (lectures taught, attendance) keeps pointing at them. A student whose
// role changes leaves their group unless p says otherwise; a change of
// site must come with a group of the new site (or "" for none).
func (s *Store) Update(ctx context.Context, id string, p Patch) (User, error) {
	for range maxUpdateAttempts {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return User{}, err
		}
		next, err := s.applyPatch(ctx, cur, p)
		if err != nil {
			return User{}, err
		}
		active := "" // unchanged
		if p.Active != nil {
			active = "0"
			if *p.Active {
				active = "1"
			}
		}
		args := []any{string(cur.Role), cur.SiteID, cur.GroupID, active,
			fDisplayName, next.DisplayName, fRole, string(next.Role), fSiteID, next.SiteID, fGroupID, next.GroupID}
		res, err := updateScript.Run(ctx, s.rdb, []string{userKey(id)}, args...).Text()
		if err != nil {
			return User{}, fmt.Errorf("account: update user: %w", err)
		}
		switch res {
		case "ok":
			return next, nil
		case "missing":
			return User{}, ErrNotFound
		}
	}
	return User{}, errors.New("account: update user: too many concurrent changes, try again")
}

// applyPatch returns cur with p applied, or a FieldError.
func (s *Store) applyPatch(ctx context.Context, cur User, p Patch) (User, error) {
	next := cur
	if p.DisplayName != nil {
		next.DisplayName = strings.TrimSpace(*p.DisplayName)
		if reason := displayNameProblem(next.DisplayName); reason != "" {
			return User{}, fieldErr("displayName", reason)
		}
	}
	if p.Role != nil {
		next.Role = Role(*p.Role)
		if !next.Role.Valid() {
			return User{}, fieldErr("role", "must be admin, lecturer, operator or student")
		}
		if next.Role != RoleStudent && p.GroupID == nil {
			next.GroupID = ""
		}
	}
	if p.SiteID != nil && *p.SiteID != cur.SiteID {
		next.SiteID = *p.SiteID
		if err := s.checkSite(ctx, next.SiteID); err != nil {
			return User{}, err
		}
	}
	if p.GroupID != nil {
		next.GroupID = *p.GroupID
	}
	if next.GroupID != cur.GroupID || next.SiteID != cur.SiteID || next.Role != cur.Role {
		if err := s.checkGroup(ctx, next.GroupID, next.Role, next.SiteID); err != nil {
			return User{}, err
		}
	}
	if p.Active != nil {
		next.Active = *p.Active
	}
	return next, nil
}
