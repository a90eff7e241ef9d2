package attendance

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// utf8BOM makes Excel read a CSV file as UTF-8 instead of the system code
// page; other programs do not need it, so it is optional.
const utf8BOM = "\ufeff"

// safeCell defuses CSV formula injection: a spreadsheet runs a cell that
// begins with = + - @ (or a tab or carriage return, which some strip
// before looking) as a formula, and names come from people. A leading
// apostrophe makes it text (OWASP's advice).
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// csvWriter writes rows with every cell defused.
type csvWriter struct{ w *csv.Writer }

func newCSV(w io.Writer, bom bool) (*csvWriter, error) {
	if bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, fmt.Errorf("attendance: write CSV: %w", err)
		}
	}
	return &csvWriter{w: csv.NewWriter(w)}, nil
}

func (c *csvWriter) row(cells ...string) error {
	for i, s := range cells {
		cells[i] = safeCell(s)
	}
	if err := c.w.Write(cells); err != nil {
		return fmt.Errorf("attendance: write CSV: %w", err)
	}
	return nil
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("attendance: write CSV: %w", err)
	}
	return nil
}

// formatTime renders an optional time in loc (nil: UTC) as RFC 3339, so
// the offset travels with it.
func formatTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.RFC3339)
}

// WriteLectureCSV writes a lecture's rows as CSV (UTF-8, a BOM first if
// bom) with the header username, name, site, group, first join, last
// leave, minutes, status, source. Times are in loc (the lecture's zone);
// minutes are whole minutes present.
func WriteLectureCSV(w io.Writer, rs []Row, loc *time.Location, bom bool) error {
	c, err := newCSV(w, bom)
	if err != nil {
		return err
	}
	if err := c.row("username", "name", "site", "group", "first join", "last leave", "minutes", "status", "source"); err != nil {
		return err
	}
	for _, r := range rs {
		if err := c.row(r.Username, r.DisplayName, orID(r.SiteName, r.SiteID), orID(r.GroupName, r.GroupID),
			formatTime(r.FirstJoin, loc), formatTime(r.LastLeave, loc), strconv.FormatInt(r.PresentSeconds/60, 10),
			r.Status, r.Source); err != nil {
			return err
		}
	}
	return c.flush()
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// WriteMoodleCSV writes the file Moodle's mod_attendance "Import" accepts:
// a header username,status and one line per student with a status (its
// acronym). Rows without a status (lecture not started) or without a
// username are left out, since Moodle could not match them. No BOM: Moodle
// reads UTF-8 and would take a BOM as part of the first column's name.
func WriteMoodleCSV(w io.Writer, rs []Row) error {
	c, err := newCSV(w, false)
	if err != nil {
		return err
	}
	if err := c.row("username", "status"); err != nil {
		return err
	}
	for _, r := range rs {
		if r.Status == "" || r.Username == "" {
			continue
		}
		if err := c.row(r.Username, r.Status); err != nil {
			return err
		}
	}
	return c.flush()
}

// SeriesColumn names one lecture column of a series matrix export.
type SeriesColumn struct {
	LectureID string
	Label     string // e.g. "3 2026-12-08"
}

// WriteSeriesCSV writes a series matrix as CSV: username, name, site,
// group, one column per lecture (its status) and the percent (one
// decimal; empty if no lecture counts).
func WriteSeriesCSV(w io.Writer, cols []SeriesColumn, lines []StudentLine, bom bool) error {
	c, err := newCSV(w, bom)
	if err != nil {
		return err
	}
	head := []string{"username", "name", "site", "group"}
	for _, col := range cols {
		head = append(head, col.Label)
	}
	if err := c.row(append(head, "percent")...); err != nil {
		return err
	}
	for _, l := range lines {
		rec := []string{l.Username, l.DisplayName, orID(l.SiteName, l.SiteID), orID(l.GroupName, l.GroupID)}
		byID := make(map[string]string, len(l.Cells))
		for _, cell := range l.Cells {
			byID[cell.LectureID] = cell.Status
		}
		for _, col := range cols {
			rec = append(rec, byID[col.LectureID])
		}
		pct := ""
		if l.Percent != nil {
			pct = strconv.FormatFloat(*l.Percent, 'f', 1, 64)
		}
		if err := c.row(append(rec, pct)...); err != nil {
			return err
		}
	}
	return c.flush()
}
