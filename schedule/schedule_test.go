package schedule

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newStore returns a store whose clock stands still at t0 unless now is given.
func newStore(t *testing.T, now func() time.Time) (*Store, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	if now == nil {
		now = func() time.Time { return t0 }
	}
	s := NewStore(srv.Client, Options{Now: now})
	for _, site := range []Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := s.PutSite(context.Background(), site); err != nil {
			t.Fatal(err)
		}
	}
	return s, srv
}

func goodLecture() NewLecture {
	return NewLecture{
		Title: "Document control at crossings", Topic: "Forged passports: security features",
		Start: t0.Add(time.Hour), DurationMinutes: 90, LecturerID: "u_lecturer", SiteID: "osh",
	}
}

// isolated gives nl a lecturer and an origin site of its own, so tests
// about something else can create overlapping lectures without conflicts.
func isolated(t *testing.T, s *Store, nl NewLecture) NewLecture {
	t.Helper()
	id, err := newID("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSite(context.Background(), Site{ID: id, Name: "Site " + id, Institution: "Test", TimeZone: "Asia/Bishkek"}); err != nil {
		t.Fatal(err)
	}
	nl.SiteID, nl.LecturerID = id, "u_"+id
	return nl
}

// mustCreate creates an isolated copy of nl (see isolated).
func mustCreate(t *testing.T, s *Store, nl NewLecture) Lecture {
	t.Helper()
	l, err := s.CreateLecture(context.Background(), isolated(t, s, nl))
	if err != nil {
		t.Fatalf("CreateLecture(%q): %v", nl.Title, err)
	}
	return l
}

func TestSites(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	if err := s.PutSite(ctx, Site{ID: "bishkek", Name: "Bishkek", Institution: "Border Guard Faculty, Military Institute", TimeZone: "Asia/Bishkek"}); err != nil {
		t.Fatal(err)
	}
	// Replacing keeps one entry with the new fields.
	if err := s.PutSite(ctx, Site{ID: "riga", Name: "Riga", Institution: "RTU", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	sites, err := s.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range sites {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, ","); got != "Bishkek,Osh,Riga" {
		t.Fatalf("Sites = %s, want Bishkek,Osh,Riga", got)
	}
	riga, err := s.Site(ctx, "riga")
	if err != nil || riga.Institution != "RTU" || riga.TimeZone != "Europe/Riga" {
		t.Fatalf("Site(riga) = %+v, %v", riga, err)
	}
	if _, err := s.Site(ctx, "tallinn"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Site(tallinn) = %v, want ErrNotFound", err)
	}
	for _, bad := range []Site{
		{ID: "Osh!", Name: "Osh", Institution: "x", TimeZone: "Asia/Bishkek"},
		{ID: "osh", Name: "", Institution: "x", TimeZone: "Asia/Bishkek"},
		{ID: "osh", Name: "Osh", Institution: "x", TimeZone: "Asia/Nowhere"},
		{ID: "osh", Name: "Osh", Institution: "x", TimeZone: ""},
		{ID: "osh", Name: "Osh", Institution: "x", TimeZone: "Asia/Bishkek", DownlinkKbps: -1},
		{ID: "osh", Name: "Osh", Institution: "x", TimeZone: "Asia/Bishkek", DownlinkKbps: MaxDownlinkKbps + 1},
	} {
		if err := s.PutSite(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutSite(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestSiteDownlinkBudget checks that the budget is stored, and that a site
// written before the field existed still reads (as no budget).
func TestSiteDownlinkBudget(t *testing.T) {
	ctx := context.Background()
	s, srv := newStore(t, nil)
	in := Site{ID: "rezekne", Name: "Rezekne", Institution: "State Border Guard College", TimeZone: "Europe/Riga", DownlinkKbps: 8000}
	if err := s.PutSite(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Site(ctx, "rezekne")
	if err != nil || got != in {
		t.Fatalf("Site(rezekne) = %+v, %v; want %+v", got, err, in)
	}
	if err := s.PutSite(ctx, Site{ID: "rezekne", Name: "Rezekne", Institution: "x", TimeZone: "Europe/Riga", DownlinkKbps: MaxDownlinkKbps}); err != nil {
		t.Fatalf("the largest budget: %v", err)
	}
	old := `{"id":"bishkek","name":"Bishkek","institution":"Military Institute","timeZone":"Asia/Bishkek","networkNotes":"2 Mbit/s"}`
	if err := srv.Client.HSet(ctx, keySites, "bishkek", old).Err(); err != nil {
		t.Fatal(err)
	}
	b, err := s.Site(ctx, "bishkek")
	if err != nil || b.DownlinkKbps != 0 || b.NetworkNotes != "2 Mbit/s" {
		t.Fatalf("old record: %+v, %v", b, err)
	}
	var invalid *InvalidError
	err = s.PutSite(ctx, Site{ID: "osh", Name: "Osh", Institution: "x", TimeZone: "Asia/Bishkek", DownlinkKbps: -5})
	if !errors.As(err, &invalid) || invalid.Field != "downlinkKbps" {
		t.Fatalf("negative budget: %v, want an InvalidError for downlinkKbps", err)
	}
}

func TestCreateLecture(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	nl := goodLecture()
	nl.Title = "  " + nl.Title + " "
	nl.Start = t0.Add(time.Hour + 1234567) // sub-millisecond part is dropped
	l, err := s.CreateLecture(ctx, nl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.ID, "lec_") || len(l.ID) < 10 {
		t.Fatalf("id %q", l.ID)
	}
	want := Lecture{
		ID: l.ID, Title: "Document control at crossings", Topic: "Forged passports: security features",
		Start: t0.Add(time.Hour + time.Millisecond), DurationMinutes: 90, LecturerID: "u_lecturer", SiteID: "osh",
		State: StateScheduled, CreatedAt: t0, UpdatedAt: t0, SiteIDs: []string{}, GroupIDs: []string{}, TimeZone: "Asia/Bishkek",
	}
	if !lectureEqual(l, want) {
		t.Fatalf("created %+v\nwant %+v", l, want)
	}
	got, err := s.Lecture(ctx, l.ID)
	if err != nil || !lectureEqual(got, want) {
		t.Fatalf("Lecture = %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := s.Lecture(ctx, "lec_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lecture(missing) = %v, want ErrNotFound", err)
	}
}

func lectureEqual(a, b Lecture) bool {
	optEq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.Title == b.Title && a.Topic == b.Topic && a.Start.Equal(b.Start) &&
		a.DurationMinutes == b.DurationMinutes && a.LecturerID == b.LecturerID && a.SiteID == b.SiteID &&
		a.State == b.State && optEq(a.StartedAt, b.StartedAt) && optEq(a.EndedAt, b.EndedAt) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.SeriesID == b.SeriesID && a.Index == b.Index && slices.Equal(a.SiteIDs, b.SiteIDs) && slices.Equal(a.GroupIDs, b.GroupIDs) &&
		a.TimeZone == b.TimeZone && a.Modified == b.Modified && a.CancelReason == b.CancelReason && a.Sequence == b.Sequence &&
		a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestCreateLectureValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	for _, tc := range []struct {
		name  string
		edit  func(*NewLecture)
		field string // "" means valid
	}{
		{"empty title", func(n *NewLecture) { n.Title = "" }, "title"},
		{"blank title", func(n *NewLecture) { n.Title = " \t " }, "title"},
		{"title 201 chars", func(n *NewLecture) { n.Title = strings.Repeat("ж", 201) }, "title"},
		{"title 200 chars", func(n *NewLecture) { n.Title = strings.Repeat("ж", 200) }, ""},
		{"title with newline", func(n *NewLecture) { n.Title = "a\nb" }, "title"},
		{"title invalid UTF-8", func(n *NewLecture) { n.Title = "a\xffb" }, "title"},
		{"topic 501 chars", func(n *NewLecture) { n.Topic = strings.Repeat("ā", 501) }, "topic"},
		{"topic 500 chars", func(n *NewLecture) { n.Topic = strings.Repeat("ā", 500) }, ""},
		{"empty topic", func(n *NewLecture) { n.Topic = "" }, ""},
		{"duration 4", func(n *NewLecture) { n.DurationMinutes = 4 }, "durationMinutes"},
		{"duration 5", func(n *NewLecture) { n.DurationMinutes = 5 }, ""},
		{"duration 720", func(n *NewLecture) { n.DurationMinutes = 720 }, ""},
		{"duration 721", func(n *NewLecture) { n.DurationMinutes = 721 }, "durationMinutes"},
		{"negative duration", func(n *NewLecture) { n.DurationMinutes = -90 }, "durationMinutes"},
		{"zero start", func(n *NewLecture) { n.Start = time.Time{} }, "start"},
		{"start a day ago", func(n *NewLecture) { n.Start = t0.Add(-24 * time.Hour) }, ""},
		{"start over a day ago", func(n *NewLecture) { n.Start = t0.Add(-24*time.Hour - time.Second) }, "start"},
		{"no lecturer", func(n *NewLecture) { n.LecturerID = "" }, "lecturerId"},
		{"no site", func(n *NewLecture) { n.SiteID = "" }, "siteId"},
		{"unknown site", func(n *NewLecture) { n.SiteID = "tallinn" }, "siteId"},
	} {
		nl := isolated(t, s, goodLecture())
		tc.edit(&nl)
		_, err := s.CreateLecture(ctx, nl)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v, want success", tc.name, err)
			}
			continue
		}
		var ie *InvalidError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want ErrInvalid naming %s", tc.name, err, tc.field)
		}
	}
	if n := len(mustBetween(t, s, t0.Add(-48*time.Hour), t0.Add(48*time.Hour))); n != 6 {
		t.Fatalf("%d lectures stored, want only the 6 valid ones", n)
	}
}

func mustBetween(t *testing.T, s *Store, from, to time.Time) []Lecture {
	t.Helper()
	ls, err := s.LecturesBetween(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func TestLecturesBetween(t *testing.T) {
	s, _ := newStore(t, nil)
	titles := map[string]string{}
	// Created out of order; two share a start.
	for _, c := range []struct {
		title string
		at    time.Duration
	}{{"c", 2 * time.Hour}, {"a", 0}, {"b1", time.Hour}, {"d", 3 * time.Hour}, {"b2", time.Hour}} {
		nl := goodLecture()
		nl.Title, nl.Start = c.title, t0.Add(c.at)
		l := mustCreate(t, s, nl)
		titles[l.ID] = c.title
	}
	names := func(ls []Lecture) string {
		var out []string
		for i, l := range ls {
			if i > 0 && l.Start.Before(ls[i-1].Start) {
				t.Fatalf("not ordered by start: %v after %v", l.Start, ls[i-1].Start)
			}
			out = append(out, l.Title)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     string // b1 and b2 may come in either order; compared as a set below
	}{
		{"all", t0.Add(-time.Hour), t0.Add(4 * time.Hour), "a,b,b,c,d"},
		{"from inclusive, to exclusive", t0, t0.Add(2 * time.Hour), "a,b,b"},
		{"to equal to a start excludes it", t0.Add(time.Hour), t0.Add(3 * time.Hour), "b,b,c"},
		{"from a nanosecond late", t0.Add(1), t0.Add(time.Hour + 1), "b,b"},
		{"empty range", t0.Add(10 * time.Minute), t0.Add(50 * time.Minute), ""},
		{"inverted range", t0.Add(3 * time.Hour), t0, ""},
	} {
		got := names(mustBetween(t, s, tc.from, tc.to))
		got = strings.NewReplacer("b1", "b", "b2", "b").Replace(got)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Lectures in another zone's "today" are found by their UTC instant.
	bishkek, _ := time.LoadLocation("Asia/Bishkek")
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, bishkek) // 2026-11-26T18:00Z
	if got := len(mustBetween(t, s, day, day.AddDate(0, 0, 1))); got != 5 {
		t.Fatalf("Bishkek day holds %d lectures, want 5", got)
	}
}

func TestConcurrentStartFlipsOnce(t *testing.T) {
	ctx := context.Background()
	// Every call of the clock returns a later time, so two flips would
	// leave different StartedAt values behind.
	var tick atomic.Int64
	s, _ := newStore(t, func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Millisecond) })
	l := mustCreate(t, s, goodLecture())

	const n = 16
	results := make([]Lecture, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Start(ctx, l.ID)
		}()
	}
	wg.Wait()
	stored, err := s.Lecture(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != StateLive || stored.StartedAt == nil {
		t.Fatalf("after Start: %+v", stored)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Start #%d: %v", i, errs[i])
		}
		if results[i].State != StateLive || results[i].StartedAt == nil || !results[i].StartedAt.Equal(*stored.StartedAt) {
			t.Fatalf("Start #%d returned startedAt %v, stored %v: more than one transition", i, results[i].StartedAt, stored.StartedAt)
		}
	}
}

func TestStateMachine(t *testing.T) {
	ctx := context.Background()
	var tick atomic.Int64
	s, _ := newStore(t, func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Minute) })
	l := mustCreate(t, s, goodLecture())

	if got, err := s.End(ctx, l.ID); !errors.Is(err, ErrNotLive) || got.State != StateScheduled {
		t.Fatalf("End on scheduled = %v, %v; want ErrNotLive and the scheduled lecture", got.State, err)
	}
	started, err := s.Start(ctx, l.ID)
	if err != nil || started.State != StateLive || started.StartedAt == nil {
		t.Fatalf("Start = %+v, %v", started, err)
	}
	again, err := s.Start(ctx, l.ID)
	if err != nil || !again.StartedAt.Equal(*started.StartedAt) {
		t.Fatalf("second Start = %v, %v; want unchanged startedAt %v", again.StartedAt, err, started.StartedAt)
	}
	ended, err := s.End(ctx, l.ID)
	if err != nil || ended.State != StateEnded || ended.EndedAt == nil || !ended.EndedAt.After(*ended.StartedAt) {
		t.Fatalf("End = %+v, %v", ended, err)
	}
	if !ended.StartedAt.Equal(*started.StartedAt) {
		t.Fatalf("End changed startedAt")
	}
	if got, err := s.Start(ctx, l.ID); !errors.Is(err, ErrEnded) || got.State != StateEnded {
		t.Fatalf("Start on ended = %v, %v; want ErrEnded", got.State, err)
	}
	if got, err := s.End(ctx, l.ID); !errors.Is(err, ErrEnded) || !got.EndedAt.Equal(*ended.EndedAt) {
		t.Fatalf("End on ended = %v, %v; want ErrEnded and the first endedAt", got.EndedAt, err)
	}
	for _, f := range []func(context.Context, string) (Lecture, error){s.Start, s.End} {
		if _, err := f(ctx, "lec_missing"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("on a missing lecture: %v, want ErrNotFound", err)
		}
	}
}

func TestLive(t *testing.T) {
	ctx := context.Background()
	s, srv := newStore(t, nil)
	a := mustCreate(t, s, goodLecture())
	nl := goodLecture()
	nl.Start = t0.Add(-time.Hour)
	b := mustCreate(t, s, nl)
	c := mustCreate(t, s, goodLecture())
	mustCreate(t, s, goodLecture()) // stays scheduled

	for _, id := range []string{a.ID, b.ID, c.ID} {
		if _, err := s.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.End(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// A crash between End's flip and its index update leaves c in the index.
	srv.Client.SAdd(ctx, keyLive, c.ID, "lec_gone")

	live, err := s.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live[0].ID != b.ID || live[1].ID != a.ID {
		t.Fatalf("Live = %v, want [%s %s] ordered by start", live, b.ID, a.ID)
	}
	if members := srv.Client.SMembers(ctx, keyLive).Val(); len(members) != 2 {
		t.Fatalf("live index after Live = %v, want stale entries pruned", members)
	}
}
