package account

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Group is a cohort of students at one site, e.g. "KG-2026-A" at Osh.
// Groups are never deleted: lectures and attendance refer to them.
type Group struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	SiteID    string    `json:"siteId"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewGroup is what an admin supplies to create a group.
type NewGroup struct {
	Name   string
	SiteID string
}

// Group keys share the {accounts} tag so that creating a user can check
// its group in the same script that writes the user.
const (
	keyGroupNames  = "ll:{accounts}:groupnames" // hash: <siteId>:<lower(name)> -> group id
	keyGroupPrefix = "ll:{accounts}:group:"     // + id: hash of the group's fields
)

func groupKey(id string) string { return keyGroupPrefix + id }

// groupNameKey is the index field of a group name; site ids cannot contain
// ':' so the pair is unambiguous.
func groupNameKey(siteID, name string) string { return siteID + ":" + strings.ToLower(name) }

const maxGroupNameRunes = 100

// createGroupScript claims the name at the site and writes the group in one step.
// KEYS: group name index, group hash. ARGV: index field, id, field/value pairs.
var createGroupScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'collision' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
return 'ok'
`)

// CreateGroup adds a group; its name is unique at its site regardless of case.
func (s *Store) CreateGroup(ctx context.Context, ng NewGroup) (Group, error) {
	ng.Name = strings.TrimSpace(ng.Name)
	if reason := groupNameProblem(ng.Name); reason != "" {
		return Group{}, fieldErr("name", reason)
	}
	if err := s.checkSite(ctx, ng.SiteID); err != nil {
		return Group{}, err
	}
	g := Group{Name: ng.Name, SiteID: ng.SiteID, CreatedAt: s.opts.Now().UTC()}
	for range 3 {
		id, err := newID("g_")
		if err != nil {
			return Group{}, err
		}
		g.ID = id
		res, err := createGroupScript.Run(ctx, s.rdb, []string{keyGroupNames, groupKey(g.ID)},
			groupNameKey(g.SiteID, g.Name), g.ID,
			"id", g.ID, "name", g.Name, "siteId", g.SiteID, "createdAt", g.CreatedAt.Format(time.RFC3339Nano)).Text()
		if err != nil {
			return Group{}, fmt.Errorf("account: create group: %w", err)
		}
		switch res {
		case "ok":
			return g, nil
		case "exists":
			return Group{}, fmt.Errorf("%w: %q at %s", ErrGroupExists, g.Name, g.SiteID)
		}
	}
	return Group{}, errors.New("account: create group: could not find a free id")
}

// groupNameProblem says what is wrong with a (trimmed) group name, or "".
func groupNameProblem(name string) string {
	if !utf8.ValidString(name) {
		return "must be valid UTF-8"
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > maxGroupNameRunes {
		return fmt.Sprintf("must be 1-%d characters", maxGroupNameRunes)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	return ""
}

// checkSite returns a FieldError for siteId unless the id is well formed
// and the site exists.
func (s *Store) checkSite(ctx context.Context, siteID string) error {
	if !siteIDRE.MatchString(siteID) {
		return fieldErr("siteId", "must be a site id such as \"osh\"")
	}
	ok, err := s.opts.SiteExists(ctx, siteID)
	if err != nil {
		return fmt.Errorf("account: check site %s: %w", siteID, err)
	}
	if !ok {
		return fieldErr("siteId", fmt.Sprintf("unknown site %q", siteID))
	}
	return nil
}

// Group returns the group with the given id.
func (s *Store) Group(ctx context.Context, id string) (Group, error) {
	if !strings.HasPrefix(id, "g_") {
		return Group{}, ErrNotFound
	}
	m, err := s.rdb.HGetAll(ctx, groupKey(id)).Result()
	if err != nil {
		return Group{}, fmt.Errorf("account: get group: %w", err)
	}
	if len(m) == 0 {
		return Group{}, ErrNotFound
	}
	return decodeGroup(m)
}

// GroupByName returns the group of that name (case-insensitive) at the site.
func (s *Store) GroupByName(ctx context.Context, siteID, name string) (Group, error) {
	id, err := s.rdb.HGet(ctx, keyGroupNames, groupNameKey(siteID, strings.TrimSpace(name))).Result()
	if errors.Is(err, redis.Nil) {
		return Group{}, ErrNotFound
	}
	if err != nil {
		return Group{}, fmt.Errorf("account: look up group name: %w", err)
	}
	return s.Group(ctx, id)
}

// Groups returns the groups of one site, or of every site when siteID is
// empty, ordered by site and then name.
func (s *Store) Groups(ctx context.Context, siteID string) ([]Group, error) {
	index, err := s.rdb.HGetAll(ctx, keyGroupNames).Result()
	if err != nil {
		return nil, fmt.Errorf("account: list groups: %w", err)
	}
	var ids []string
	for field, id := range index {
		if siteID == "" || strings.HasPrefix(field, siteID+":") {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return []Group{}, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, groupKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("account: list groups: %w", err)
	}
	groups := make([]Group, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) == 0 {
			continue // the index is written first; a crash may leave a name without a group
		}
		g, err := decodeGroup(c.Val())
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].SiteID != groups[j].SiteID {
			return groups[i].SiteID < groups[j].SiteID
		}
		return strings.ToLower(groups[i].Name) < strings.ToLower(groups[j].Name)
	})
	return groups, nil
}

func decodeGroup(m map[string]string) (Group, error) {
	created, err := time.Parse(time.RFC3339Nano, m["createdAt"])
	if err != nil {
		return Group{}, fmt.Errorf("account: group %s: bad createdAt: %w", m["id"], err)
	}
	return Group{ID: m["id"], Name: m["name"], SiteID: m["siteId"], CreatedAt: created}, nil
}

// checkGroup checks that a user of role at siteID may be in groupID: only
// students have groups, and the group must exist at the user's site.
func (s *Store) checkGroup(ctx context.Context, groupID string, role Role, siteID string) error {
	if groupID == "" {
		return nil
	}
	if role != RoleStudent {
		return fieldErr("groupId", "only students may belong to a group")
	}
	g, err := s.Group(ctx, groupID)
	if errors.Is(err, ErrNotFound) {
		return fieldErr("groupId", fmt.Sprintf("unknown group %q", groupID))
	}
	if err != nil {
		return err
	}
	if g.SiteID != siteID {
		return fieldErr("groupId", fmt.Sprintf("group %q belongs to site %s, not %s", g.Name, g.SiteID, siteID))
	}
	return nil
}
