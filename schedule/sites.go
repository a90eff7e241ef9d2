package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
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
		return invalid("timeZone", "timeZone must be an IANA time zone name such as Asia/Bishkek")
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
