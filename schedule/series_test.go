package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func weekly(title string) Series {
	return Series{
		Title: title, Description: "Inspection course", LecturerIDs: []string{"u_lect"}, OriginSiteID: "osh",
		SiteIDs: []string{"riga"}, GroupIDs: []string{"g_riga1"}, TimeZone: "Asia/Bishkek",
		FirstStart: "2026-12-01T10:00", RRule: "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261218T000000Z",
		Exdates: []string{"2026-12-10"}, DurationMinutes: 90, Topics: []string{"A", "B", "C"},
	}
}

func starts(ls []Lecture) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Start.UTC().Format("01-02T15:04")+"/"+l.Topic)
	}
	return strings.Join(out, " ")
}

func TestSeriesExpansion(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	ser, ls, err := s.CreateSeries(ctx, weekly("Vehicles"))
	if err != nil {
		t.Fatal(err)
	}
	// 10:00 Bishkek is 04:00Z; Dec 10 is an exdate; topics go in order.
	if got, want := starts(ls), "12-01T04:00/A 12-03T04:00/B 12-08T04:00/C 12-15T04:00/ 12-17T04:00/"; got != want {
		t.Fatalf("occurrences %s, want %s", got, want)
	}
	if ser.Occurrences != 5 || !strings.HasPrefix(ser.ID, "ser_") {
		t.Fatalf("series %+v", ser)
	}
	stored, err := s.SeriesLectures(ctx, ser.ID)
	if err != nil || starts(stored) != starts(ls) || stored[2].Index != 3 || stored[2].SeriesID != ser.ID ||
		stored[2].TimeZone != "Asia/Bishkek" || stored[2].SiteIDs[0] != "riga" || stored[2].GroupIDs[0] != "g_riga1" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	// COUNT counts the dates before exdates are removed (RFC 5545).
	c := weekly("Counted")
	c.LecturerIDs, c.OriginSiteID, c.SiteIDs = []string{"u_other"}, "bishkek", nil
	if err := s.PutSite(ctx, Site{ID: "bishkek", Name: "Bishkek", Institution: "x", TimeZone: "Asia/Bishkek"}); err != nil {
		t.Fatal(err)
	}
	c.RRule, c.Exdates = "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4", []string{"2026-12-03"}
	_, ls, err = s.CreateSeries(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := starts(ls), "12-01T04:00/A 12-08T04:00/B 12-10T04:00/C"; got != want {
		t.Fatalf("COUNT occurrences %s, want %s", got, want)
	}
}

func TestSeriesAcrossDaylightSaving(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	bishkek, _ := time.LoadLocation("Asia/Bishkek")
	for _, tc := range []struct {
		first string
		want  []time.Time // UTC instants
		local []int       // Bishkek hours
	}{
		// Riga leaves EET (+02) for EEST (+03) on Sunday 28 March 2027.
		{"2027-03-18T10:00", []time.Time{utc(2027, 3, 18, 8), utc(2027, 3, 25, 8), utc(2027, 4, 1, 7)}, []int{14, 14, 13}},
		// And goes back on Sunday 31 October 2027.
		{"2027-10-21T10:00", []time.Time{utc(2027, 10, 21, 7), utc(2027, 10, 28, 7), utc(2027, 11, 4, 8)}, []int{13, 13, 14}},
	} {
		ns := Series{Title: "Green border", LecturerIDs: []string{"u_" + tc.first[:7]}, OriginSiteID: "riga",
			FirstStart: tc.first, RRule: "FREQ=WEEKLY;BYDAY=TH;COUNT=3", DurationMinutes: 60}
		ser, ls, err := s.CreateSeries(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if ser.TimeZone != "Europe/Riga" {
			t.Fatalf("zone %q, want the origin site's", ser.TimeZone)
		}
		riga, _ := time.LoadLocation("Europe/Riga")
		for i, l := range ls {
			if !l.Start.Equal(tc.want[i]) || l.Start.In(riga).Hour() != 10 || l.Start.In(bishkek).Hour() != tc.local[i] {
				t.Errorf("%s occurrence %d at %v (Bishkek %v), want %v", tc.first, i+1, l.Start, l.Start.In(bishkek), tc.want[i])
			}
		}
	}
}

func utc(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func TestSeriesValidation(t *testing.T) {
	ctx := context.Background()
	s, srv := newStore(t, nil)
	for _, tc := range []struct {
		name  string
		edit  func(*Series)
		field string
	}{
		{"invalid rrule", func(x *Series) { x.RRule = "FREQ=SOMETIMES;COUNT=3" }, "rrule"},
		{"garbage rrule", func(x *Series) { x.RRule = "every tuesday" }, "rrule"},
		{"unbounded", func(x *Series) { x.RRule = "FREQ=WEEKLY;BYDAY=TU" }, "rrule"},
		{"until before start", func(x *Series) { x.RRule = "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261101T000000Z" }, "rrule"},
		{"over 366 days", func(x *Series) { x.RRule = "FREQ=WEEKLY;BYDAY=TU;COUNT=60" }, "rrule"},
		{"hourly", func(x *Series) { x.RRule = "FREQ=HOURLY;COUNT=3" }, "rrule"},
		{"dtstart in rule", func(x *Series) { x.RRule = "FREQ=WEEKLY;COUNT=3;DTSTART=20261201T100000" }, "rrule"},
		{"unknown zone", func(x *Series) { x.TimeZone = "Asia/Atlantis" }, "timeZone"},
		{"bad first start", func(x *Series) { x.FirstStart = "1 Dec 2026" }, "firstStart"},
		{"first start off the rule", func(x *Series) { x.FirstStart = "2026-12-02T10:00" }, "firstStart"},
		{"exdate not an occurrence", func(x *Series) { x.Exdates = []string{"2026-12-09"} }, "exdates"},
		{"exdate not a date", func(x *Series) { x.Exdates = []string{"tomorrow"} }, "exdates"},
		{"no lecturer", func(x *Series) { x.LecturerIDs = nil }, "lecturerIds"},
		{"unknown origin", func(x *Series) { x.OriginSiteID = "mars" }, "originSiteId"},
		{"unknown site", func(x *Series) { x.SiteIDs = []string{"mars"} }, "siteIds"},
		{"bad group", func(x *Series) { x.GroupIDs = []string{"a,b"} }, "groupIds"},
		{"duration", func(x *Series) { x.DurationMinutes = 721 }, "durationMinutes"},
		{"empty title", func(x *Series) { x.Title = " " }, "title"},
	} {
		ns := weekly("x")
		tc.edit(&ns)
		_, _, err := s.CreateSeries(ctx, ns)
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%s: %v, want InvalidError on %s", tc.name, err, tc.field)
		}
	}
	if n := srv.Client.DBSize(ctx).Val(); n != 1 { // ll:sites only
		t.Fatalf("%d keys after refused series, want 1: %v", n, srv.Client.Keys(ctx, "*").Val())
	}
}

func TestSeriesConflictsWriteNothing(t *testing.T) {
	ctx := context.Background()
	s, srv := newStore(t, nil)
	// Thursday 3 December, 10:30-11:30 Bishkek, taught from Riga by u_lect.
	busy, err := s.CreateLecture(ctx, NewLecture{Title: "Busy", Start: time.Date(2026, 12, 3, 4, 30, 0, 0, time.UTC),
		DurationMinutes: 60, LecturerID: "u_lect", SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	keys := srv.Client.DBSize(ctx).Val()
	ns := weekly("Vehicles")
	ns.SiteIDs = nil
	_, _, err = s.CreateSeries(ctx, ns)
	var ce *ConflictError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || len(ce.Conflicts) != 1 ||
		ce.Conflicts[0].Kind != "lecturer" || ce.Conflicts[0].Index != 2 || ce.Conflicts[0].LectureID != busy.ID {
		t.Fatalf("lecturer double-booked: %v %+v", err, ce)
	}
	// Another lecturer, but Riga takes part: the site is double-booked.
	ns = weekly("Vehicles")
	ns.LecturerIDs = []string{"u_free"}
	_, _, err = s.CreateSeries(ctx, ns)
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Kind != "site" || ce.Conflicts[0].ResourceID != "riga" {
		t.Fatalf("site double-booked: %v %+v", err, ce)
	}
	if n := srv.Client.DBSize(ctx).Val(); n != keys {
		t.Fatalf("%d keys after refused series, want %d: %v", n, keys, srv.Client.Keys(ctx, "*").Val())
	}
	// Preview reports the same and writes nothing; cancelling the busy
	// lecture frees the slot.
	_, occ, cs, err := s.PreviewSeries(ctx, ns)
	if err != nil || len(occ) != 5 || len(cs) != 1 || srv.Client.DBSize(ctx).Val() != keys {
		t.Fatalf("preview: %d occurrences, %v, %v", len(occ), cs, err)
	}
	if _, err := s.CancelLecture(ctx, busy.ID, "moved"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateSeries(ctx, ns); err != nil {
		t.Fatalf("after cancelling the clash: %v", err)
	}
}

func TestOccurrenceEdits(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, _ := newStore(t, func() time.Time { return now })
	ser, ls, err := s.CreateSeries(ctx, weekly("Vehicles"))
	if err != nil {
		t.Fatal(err)
	}
	// Move occurrence 2 by a day and give it another topic and lecturer.
	moved := ls[1].Start.Add(24 * time.Hour)
	topic, lect := "Hidden compartments", "u_guest"
	l, err := s.UpdateLecture(ctx, ls[1].ID, LecturePatch{Start: &moved, Topic: &topic, LecturerID: &lect})
	if err != nil || !l.Modified || !l.Start.Equal(moved) || l.Topic != topic || l.LecturerID != lect || l.Sequence != 1 {
		t.Fatalf("UpdateLecture = %+v, %v", l, err)
	}
	if _, err := s.CancelLecture(ctx, ls[2].ID, "holiday"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.SeriesLectures(ctx, ser.ID)
	for i, g := range got {
		switch i {
		case 1:
			if !g.Start.Equal(moved) {
				t.Errorf("moved occurrence at %v", g.Start)
			}
		case 2:
			if g.State != StateCancelled || g.CancelReason != "holiday" {
				t.Errorf("cancelled occurrence %+v", g)
			}
		default:
			if !g.Start.Equal(ls[i].Start) || g.Topic != ls[i].Topic || g.LecturerID != "u_lect" || g.Modified || g.State != StateScheduled {
				t.Errorf("occurrence %d changed: %+v", i+1, g)
			}
		}
	}
	// The move shows in the indexes: the guest's week has it, u_lect's not.
	week, _ := s.ListLectures(ctx, t0, t0.AddDate(0, 1, 0), Filter{LecturerID: lect})
	if len(week) != 1 || week[0].ID != ls[1].ID {
		t.Fatalf("guest lecturer's lectures %v", week)
	}
	week, _ = s.ListLectures(ctx, t0, t0.AddDate(0, 1, 0), Filter{LecturerID: "u_lect"})
	if len(week) != 4 {
		t.Fatalf("u_lect has %d lectures, want 4", len(week))
	}
	// Moving onto another occurrence of the same lecturer is a conflict.
	back := ls[0].Start
	mine := "u_lect"
	if _, err := s.UpdateLecture(ctx, ls[1].ID, LecturePatch{Start: &back, LecturerID: &mine}); !errors.Is(err, ErrConflict) {
		t.Fatalf("move onto occurrence 1: %v, want a conflict", err)
	}
	if _, err := s.UpdateLecture(ctx, ls[2].ID, LecturePatch{Topic: &topic}); !errors.Is(err, ErrNotScheduled) {
		t.Fatalf("edit of a cancelled occurrence: %v", err)
	}
	if _, err := s.Start(ctx, ls[2].ID); !errors.Is(err, ErrCancelled) {
		t.Fatalf("start of a cancelled occurrence: %v", err)
	}

	// A week later occurrence 1 is past. A series edit changes only the
	// future, scheduled, unmodified ones (4 and 5).
	now = ls[0].Start.Add(time.Hour)
	title := "Vehicles II"
	plan := []string{"X1", "X2", "X3", "X4", "X5"}
	if _, err := s.UpdateSeries(ctx, ser.ID, SeriesPatch{Title: &title, Topics: &plan}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SeriesLectures(ctx, ser.ID)
	want := []string{"Vehicles/A", "Vehicles/Hidden compartments", "Vehicles/C", "Vehicles II/X4", "Vehicles II/X5"}
	for i, g := range got {
		if g.Title+"/"+g.Topic != want[i] {
			t.Errorf("after series edit, occurrence %d is %s/%s, want %s", i+1, g.Title, g.Topic, want[i])
		}
	}
	if ser, err = s.DeleteSeries(ctx, ser.ID); err != nil || !ser.Cancelled {
		t.Fatal(err)
	}
	got, _ = s.SeriesLectures(ctx, ser.ID)
	for i, g := range got {
		if wantCancel := i != 0; (g.State == StateCancelled) != wantCancel {
			t.Errorf("after delete, occurrence %d is %s", i+1, g.State)
		}
	}
}

func TestVisible(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	if err := s.PutSite(ctx, Site{ID: "rezekne", Name: "Rezekne", Institution: "x", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	mk := func(title, lecturer, site string, sites, groups []string) Lecture {
		at = at.Add(2 * time.Hour)
		l, err := s.CreateLecture(ctx, NewLecture{Title: title, Start: at, DurationMinutes: 60, LecturerID: lecturer,
			SiteID: site, SiteIDs: sites, GroupIDs: groups})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	mk("group", "u_a", "osh", []string{"riga"}, []string{"g1"})
	mk("other group", "u_a", "osh", []string{"riga"}, []string{"g2"})
	mk("riga sites", "u_b", "osh", []string{"riga"}, nil)
	mk("rezekne sites", "u_b", "osh", []string{"rezekne"}, nil)
	mk("open", "u_b", "osh", nil, nil)
	from, to := t0, t0.AddDate(0, 0, 2)
	for _, tc := range []struct {
		v    Viewer
		want string
	}{
		{Viewer{Audience: AudienceAll}, "group,other group,riga sites,rezekne sites,open"},
		{Viewer{Audience: AudienceLecturer, UserID: "u_a"}, "group,other group"},
		{Viewer{Audience: AudienceSite, SiteID: "rezekne"}, "rezekne sites"},
		{Viewer{Audience: AudienceStudent, SiteID: "riga", GroupID: "g1"}, "group,riga sites,open"},
		{Viewer{Audience: AudienceStudent, SiteID: "riga"}, "riga sites,open"},
		{Viewer{Audience: AudienceStudent, SiteID: "osh", GroupID: "g2"}, "other group,riga sites,rezekne sites,open"},
	} {
		ls, err := s.Visible(ctx, tc.v, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range ls {
			names = append(names, l.Title)
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("%+v sees %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestFeedTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, nil)
	o := FeedOwner{Kind: FeedUser, ID: "u_a"}
	tok, err := s.FeedToken(ctx, o)
	if err != nil || len(tok) != 43 {
		t.Fatalf("token %q, %v", tok, err)
	}
	if again, _ := s.FeedToken(ctx, o); again != tok {
		t.Fatalf("second FeedToken %q, want the same %q", again, tok)
	}
	if got, err := s.FeedOwnerOf(ctx, tok); err != nil || got != o {
		t.Fatalf("owner %+v, %v", got, err)
	}
	rotated, err := s.RotateFeedToken(ctx, o)
	if err != nil || rotated == tok {
		t.Fatalf("rotate: %q, %v", rotated, err)
	}
	if _, err := s.FeedOwnerOf(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old token after rotate: %v, want ErrNotFound", err)
	}
	if got, err := s.FeedOwnerOf(ctx, rotated); err != nil || got != o {
		t.Fatalf("new token: %+v, %v", got, err)
	}
	if _, err := s.FeedOwnerOf(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal("malformed token found")
	}
}
