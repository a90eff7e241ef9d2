package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// keySites is a hash: site id -> JSON of Site. There are only a handful of
// sites, so one hash read lists them all.
const keySites = "ll:sites"

var siteIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// maxNotesRunes bounds Site.NetworkNotes.
const maxNotesRunes = 2000

// MaxDownlinkKbps bounds Site.DownlinkKbps: 10 Gbit/s is more than any
// classroom link, and keeps the value far from overflowing in bit/s.
const MaxDownlinkKbps = 10_000_000

// PutSite creates or replaces a site.
func (s *Store) PutSite(ctx context.Context, site Site) error {
	site.Name = strings.TrimSpace(site.Name)
	site.Institution = strings.TrimSpace(site.Institution)
	if !siteIDRE.MatchString(site.ID) {
		return invalid("id", "id must be 1-32 lower-case letters, digits, '_' or '-'")
	}
	if n := utf8.RuneCountInString(site.Name); n == 0 || n > 100 || !utf8.ValidString(site.Name) {
		return invalid("name", "name must be 1-100 characters")
	}
	if n := utf8.RuneCountInString(site.Institution); n == 0 || n > 200 || !utf8.ValidString(site.Institution) {
		return invalid("institution", "institution must be 1-200 characters")
	}
	// "" and "Local" load too, but mean whatever the server's zone is.
	if site.TimeZone == "" || site.TimeZone == "Local" {
		return invalid("timeZone", "timeZone must be an IANA time zone name such as Asia/Bishkek")
	}
	if _, err := time.LoadLocation(site.TimeZone); err != nil {
		return invalid("timeZone", "timeZone %q is not an IANA time zone name such as Asia/Bishkek", site.TimeZone)
	}
	if n := utf8.RuneCountInString(site.NetworkNotes); n > maxNotesRunes || !utf8.ValidString(site.NetworkNotes) {
		return invalid("networkNotes", "networkNotes must be at most %d characters", maxNotesRunes)
	}
	if site.DownlinkKbps < 0 || site.DownlinkKbps > MaxDownlinkKbps {
		return invalid("downlinkKbps", "downlinkKbps must be from 0 (no budget) to %d kbit/s", MaxDownlinkKbps)
	}
	js, err := json.Marshal(site)
	if err != nil {
		return fmt.Errorf("schedule: encode site: %w", err)
	}
	if err := s.rdb.HSet(ctx, keySites, site.ID, js).Err(); err != nil {
		return fmt.Errorf("schedule: put site: %w", err)
	}
	return nil
}

// Site returns one site.
func (s *Store) Site(ctx context.Context, id string) (Site, error) {
	js, err := s.rdb.HGet(ctx, keySites, id).Result()
	if errors.Is(err, redis.Nil) {
		return Site{}, fmt.Errorf("%w: site %q", ErrNotFound, id)
	}
	if err != nil {
		return Site{}, fmt.Errorf("schedule: get site: %w", err)
	}
	var site Site
	if err := json.Unmarshal([]byte(js), &site); err != nil {
		return Site{}, fmt.Errorf("schedule: decode site %q: %w", id, err)
	}
	return site, nil
}

// Sites returns all sites ordered by name.
func (s *Store) Sites(ctx context.Context) ([]Site, error) {
	m, err := s.rdb.HGetAll(ctx, keySites).Result()
	if err != nil {
		return nil, fmt.Errorf("schedule: list sites: %w", err)
	}
	sites := make([]Site, 0, len(m))
	for id, js := range m {
		var site Site
		if err := json.Unmarshal([]byte(js), &site); err != nil {
			return nil, fmt.Errorf("schedule: decode site %q: %w", id, err)
		}
		sites = append(sites, site)
	}
	sort.Slice(sites, func(i, j int) bool {
		if sites[i].Name != sites[j].Name {
			return sites[i].Name < sites[j].Name
		}
		return sites[i].ID < sites[j].ID
	})
	return sites, nil
}

// siteMap reads every site, keyed by id.
func (s *Store) siteMap(ctx context.Context) (map[string]Site, error) {
	sites, err := s.Sites(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Site, len(sites))
	for _, site := range sites {
		m[site.ID] = site
	}
	return m, nil
}

// participating checks a list of participating sites: known, no repeats,
// and without the origin (which always takes part). It returns a new,
// non-nil slice.
func participating(sites map[string]Site, origin string, ids []string, field string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		if _, ok := sites[id]; !ok {
			return nil, invalid(field, "%s: %q is not a known site", field, id)
		}
		if id != origin && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// groupIDRE is the shape of group ids (account owns groups; the caller
// checks that they exist). Commas would break the lecture hash encoding.
var groupIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validGroups checks the shape of group ids and drops repeats.
func validGroups(ids []string, field string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		if !groupIDRE.MatchString(id) {
			return nil, invalid(field, "%s: %q is not a group id", field, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
