package account

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Roster limits: a cohort file is a few hundred lines; these bounds keep a
// mistaken upload (a whole database export) from tying up the server.
const (
	MaxRosterBytes = 1 << 20
	MaxRosterRows  = 5000
)

// rosterColumns is the required header, in order.
var rosterColumns = []string{"username", "display_name", "site", "group", "password"}

// Roster usernames are lower case, unlike those an admin types one at a
// time: a file is usually generated, and lower case avoids near-duplicates
// that differ only in case.
var rosterUsernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// RosterError is one problem in a roster file. Line is the file's line
// number (1 is the header; 0 means the file as a whole); Column names the
// column at fault, or is empty when the whole row is.
type RosterError struct {
	Line   int    `json:"line"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// RosterRow is one student of a roster file, with the site and group resolved.
type RosterRow struct {
	Line        int    `json:"line"`
	ID          string `json:"id,omitempty"` // set once created
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	SiteID      string `json:"siteId"`
	GroupID     string `json:"groupId"`
	// Password is set only when the file had none and the account was
	// created with a generated one, which the admin must hand out.
	Password string `json:"password,omitempty"`

	password string // the password to set: the file's, or generated
}

// ImportResult is the outcome of checking (and possibly importing) a roster.
type ImportResult struct {
	Valid   bool          `json:"valid"`
	Rows    int           `json:"rows"`
	Created int           `json:"created"`
	Errors  []RosterError `json:"errors"`
	Users   []RosterRow   `json:"users"`
}

// rosterCheck accumulates the result of checking one file.
type rosterCheck struct {
	s      *Store
	res    ImportResult
	seen   map[string]int  // lower(username) -> line
	sites  map[string]bool // site id -> exists
	groups []Group
}

func (c *rosterCheck) fail(line int, column, format string, args ...any) {
	c.res.Errors = append(c.res.Errors, RosterError{Line: line, Column: column, Reason: fmt.Sprintf(format, args...)})
}

// ParseRoster checks a roster file (CSV, UTF-8 with an optional BOM, header
// username,display_name,site,group,password) against the store without
// writing anything. Every problem is reported, each with its line; the
// result is Valid only if there are none. The error is for storage
// failures only.
func (s *Store) ParseRoster(ctx context.Context, data []byte) (ImportResult, error) {
	c := &rosterCheck{s: s, seen: map[string]int{}, sites: map[string]bool{}, res: ImportResult{Errors: []RosterError{}, Users: []RosterRow{}}}
	if len(data) > MaxRosterBytes {
		c.fail(0, "", "the file is larger than %d bytes (1 MiB)", MaxRosterBytes)
		return c.res, nil
	}
	groups, err := s.Groups(ctx, "")
	if err != nil {
		return ImportResult{}, err
	}
	c.groups = groups
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // column counts are checked per row, to report each

	if !c.header(r) {
		return c.res, nil
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.fail(pe.Line, "", "malformed CSV: %v", pe.Err)
			continue
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("account: read roster: %w", err)
		}
		line, _ := r.FieldPos(0)
		c.res.Rows++
		if c.res.Rows > MaxRosterRows {
			c.fail(line, "", "more than %d rows; split the file", MaxRosterRows)
			break
		}
		if err := c.row(ctx, line, rec); err != nil {
			return ImportResult{}, err
		}
	}
	if c.res.Rows == 0 && len(c.res.Errors) == 0 {
		c.fail(1, "", "the file has no rows after the header")
	}
	if err := c.taken(ctx); err != nil {
		return ImportResult{}, err
	}
	sort.SliceStable(c.res.Errors, func(i, j int) bool { return c.res.Errors[i].Line < c.res.Errors[j].Line })
	c.res.Valid = len(c.res.Errors) == 0
	return c.res, nil
}

// header checks the first line; without the right header no row can be read.
func (c *rosterCheck) header(r *csv.Reader) bool {
	want := strings.Join(rosterColumns, ",")
	rec, err := r.Read()
	if errors.Is(err, io.EOF) {
		c.fail(1, "", "the file is empty; the first line must be the header %s", want)
		return false
	}
	if err != nil {
		c.fail(1, "", "malformed header: %v; it must be %s", err, want)
		return false
	}
	got := make([]string, len(rec))
	for i, f := range rec {
		got[i] = strings.ToLower(strings.TrimSpace(f))
	}
	if strings.Join(got, ",") != want {
		c.fail(1, "", "the header must be %s", want)
		return false
	}
	return true
}

// row checks one record and, if its columns can be read, lists it in Users.
func (c *rosterCheck) row(ctx context.Context, line int, rec []string) error {
	if len(rec) != len(rosterColumns) {
		c.fail(line, "", "expected %d columns (%s), found %d", len(rosterColumns), strings.Join(rosterColumns, ","), len(rec))
		return nil
	}
	bad := false
	for i, f := range rec {
		if !utf8.ValidString(f) {
			c.fail(line, rosterColumns[i], "invalid UTF-8; save the file as UTF-8")
			bad = true
		}
		rec[i] = strings.TrimSpace(f)
	}
	if bad {
		return nil
	}
	row := RosterRow{Line: line, Username: rec[0], DisplayName: rec[1], SiteID: strings.ToLower(rec[2]), password: rec[4]}
	c.username(line, row.Username)
	if reason := displayNameProblem(row.DisplayName); reason != "" {
		c.fail(line, "display_name", "display name %s", reason)
	}
	siteOK, err := c.site(ctx, line, row.SiteID)
	if err != nil {
		return err
	}
	if siteOK {
		row.GroupID = c.group(line, row.SiteID, rec[3])
	}
	if row.password != "" {
		if n := utf8.RuneCountInString(row.password); n < minPasswordRunes {
			c.fail(line, "password", "password has %d characters; at least %d are needed (or leave it empty to generate one)", n, minPasswordRunes)
		} else if len(row.password) > maxPasswordBytes {
			c.fail(line, "password", "password is longer than %d bytes", maxPasswordBytes)
		}
	}
	c.res.Users = append(c.res.Users, row)
	return nil
}

func (c *rosterCheck) username(line int, name string) {
	switch {
	case name == "":
		c.fail(line, "username", "username is empty")
	case !rosterUsernameRE.MatchString(name):
		c.fail(line, "username", "invalid username %q: use 2-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", name)
	default:
		if first, dup := c.seen[name]; dup {
			c.fail(line, "username", "username %q is a duplicate of line %d", name, first)
			return
		}
		c.seen[name] = line
	}
}

// site reports whether the row's site exists, remembering each answer.
func (c *rosterCheck) site(ctx context.Context, line int, id string) (bool, error) {
	if id == "" {
		c.fail(line, "site", "site is empty")
		return false, nil
	}
	ok, known := c.sites[id]
	if !known {
		ok = siteIDRE.MatchString(id)
		if ok {
			var err error
			if ok, err = c.s.opts.SiteExists(ctx, id); err != nil {
				return false, fmt.Errorf("account: check site %s: %w", id, err)
			}
		}
		c.sites[id] = ok
	}
	if !ok {
		c.fail(line, "site", "unknown site %q", id)
	}
	return ok, nil
}

// group resolves the group column (an id or a name at the row's site) to
// a group id; empty means no group.
func (c *rosterCheck) group(line int, siteID, ref string) string {
	if ref == "" {
		return ""
	}
	var elsewhere []string
	for _, g := range c.groups {
		if g.ID != ref && !strings.EqualFold(g.Name, ref) {
			continue
		}
		if g.SiteID == siteID {
			return g.ID
		}
		elsewhere = append(elsewhere, g.SiteID)
	}
	if len(elsewhere) > 0 {
		c.fail(line, "group", "group %q belongs to site %s, not %s", ref, strings.Join(elsewhere, ", "), siteID)
	} else {
		c.fail(line, "group", "unknown group %q at site %s", ref, siteID)
	}
	return ""
}

// taken reports every username of the file that an account already has.
func (c *rosterCheck) taken(ctx context.Context) error {
	names := make([]string, 0, len(c.seen))
	for n := range c.seen {
		names = append(names, n)
	}
	const batch = 1000
	for start := 0; start < len(names); start += batch {
		chunk := names[start:min(start+batch, len(names))]
		ids, err := c.s.rdb.HMGet(ctx, keyUsernames, chunk...).Result()
		if err != nil {
			return fmt.Errorf("account: check usernames: %w", err)
		}
		for i, id := range ids {
			if id != nil {
				c.fail(c.seen[chunk[i]], "username", "username %q is already taken", chunk[i])
			}
		}
	}
	return nil
}
