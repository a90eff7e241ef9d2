package attendance

import (
	"context"
	"errors"
	"testing"
)

func TestRulesDefaultsValidationAndStorage(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	got, err := s.Rules(ctx, "ser_none")
	if err != nil || len(got.Statuses) != 4 || got.PresentShare != 0.75 || got.LateAfterMinutes != 10 || got.GraceSeconds != 60 {
		t.Fatalf("Rules of a series without any = %+v, %v; want the defaults", got, err)
	}
	bad := func(f func(*Rules)) Rules {
		r := DefaultRules()
		r.Statuses = append([]Status(nil), r.Statuses...)
		f(&r)
		return r
	}
	for _, c := range []struct {
		name  string
		rules Rules
		field string
	}{
		{"no L", bad(func(r *Rules) { r.Statuses = r.Statuses[:1] }), "statuses"},
		{"no A", bad(func(r *Rules) { r.Statuses = r.Statuses[:3] }), "statuses"},
		{"duplicate", bad(func(r *Rules) { r.Statuses = append(r.Statuses, r.Statuses[0]) }), "statuses"},
		{"lower-case acronym", bad(func(r *Rules) { r.Statuses = append(r.Statuses, Status{"x", "X", 1}) }), "statuses"},
		{"no description", bad(func(r *Rules) { r.Statuses[3].Description = "" }), "statuses"},
		{"negative grade", bad(func(r *Rules) { r.Statuses[0].Grade = -1 }), "statuses"},
		{"share 0", bad(func(r *Rules) { r.PresentShare = 0 }), "presentShare"},
		{"share over 1", bad(func(r *Rules) { r.PresentShare = 1.01 }), "presentShare"},
		{"late negative", bad(func(r *Rules) { r.LateAfterMinutes = -1 }), "lateAfterMinutes"},
		{"grace too long", bad(func(r *Rules) { r.GraceSeconds = 7200 }), "graceSeconds"},
	} {
		_, err := s.PutRules(ctx, "ser_1", c.rules)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want a field error on %s", c.name, err, c.field)
		}
	}
	if r, _ := s.Rules(ctx, "ser_1"); r.PresentShare != 0.75 {
		t.Fatalf("a refused rule set was stored: %+v", r)
	}
	custom := DefaultRules()
	custom.Statuses = append(custom.Statuses, Status{Acronym: "R", Description: "In room", Grade: 2})
	custom.PresentShare, custom.LateAfterMinutes, custom.GraceSeconds = 0.5, 5, 120
	if _, err := s.PutRules(ctx, "ser_1", custom); err != nil {
		t.Fatal(err)
	}
	m, err := s.RulesFor(ctx, []string{"ser_1", "ser_none", ""})
	if err != nil || len(m["ser_1"].Statuses) != 5 || m["ser_1"].GraceSeconds != 120 || m["ser_none"].PresentShare != 0.75 || m[""].PresentShare != 0.75 {
		t.Fatalf("RulesFor = %+v, %v", m, err)
	}
}

func TestRollCallCredit(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	lec := "lec_rc"
	l := held(lec, 0, 90)
	rules := DefaultRules()
	// Whole lecture by default: P with source rollcall, though never connected.
	if _, err := s.SetRollCall(ctx, lec, "u_room", "u_op", &RollCall{SiteID: "riga"}); err != nil {
		t.Fatal(err)
	}
	r := rowOf(t, s, l, rules, student("u_room", ""))
	if r.Status != StatusPresent || r.Source != SourceRollCall || minutes(r.PresentSeconds) != 90 || r.RollCall == nil ||
		r.RollCall.By != "u_op" || r.RollCall.SiteID != "riga" || r.FirstJoin != nil {
		t.Fatalf("roll-called row %+v", r)
	}
	// A marked interval from 50 to the end: 40 minutes, late.
	if _, err := s.SetRollCall(ctx, lec, "u_part", "u_op", &RollCall{SiteID: "riga", From: ptr(at(50))}); err != nil {
		t.Fatal(err)
	}
	if r := rowOf(t, s, l, rules, student("u_part", "")); r.Status != StatusLate || minutes(r.PresentSeconds) != 40 {
		t.Fatalf("partly roll-called row %+v, want L with 40 min", r)
	}
	// Roll-call and a connection overlap: counted once.
	mustRecord(t, s, join(lec, "u_part", "c_1", at(0)))
	mustRecord(t, s, leave(lec, "c_1", at(60)))
	if r := rowOf(t, s, l, rules, student("u_part", "")); r.Status != StatusPresent || minutes(r.PresentSeconds) != 90 {
		t.Fatalf("connection plus roll-call %+v, want P with 90 min", r)
	}
	// Clearing the mark takes the credit away; both changes are audited.
	if _, err := s.SetRollCall(ctx, lec, "u_room", "u_op", nil); err != nil {
		t.Fatal(err)
	}
	if r := rowOf(t, s, l, rules, student("u_room", "")); r.Status != StatusAbsent || r.RollCall != nil {
		t.Fatalf("after clearing: %+v", r)
	}
	audit, err := s.Audit(ctx, lec)
	if err != nil || len(audit) != 3 || audit[0].Kind != AuditRollCall || audit[0].Old != "absent" || audit[0].New != "present" ||
		audit[2].Old != "present" || audit[2].New != "absent" || audit[2].By != "u_op" {
		t.Fatalf("audit %+v, %v", audit, err)
	}
	// A backwards interval is refused and writes nothing.
	if _, err := s.SetRollCall(ctx, lec, "u_x", "u_op", &RollCall{SiteID: "riga", From: ptr(at(50)), To: ptr(at(10))}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("backwards interval: %v", err)
	}
	if audit, _ := s.Audit(ctx, lec); len(audit) != 3 {
		t.Fatalf("refused mark was audited: %+v", audit)
	}
}

func TestOverrideAndAudit(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newStore(t)
	lec := "lec_ov"
	l := held(lec, 0, 90)
	rules := DefaultRules()
	p := student("u_sick", "")
	auto := rowOf(t, s, l, rules, p)
	if auto.Status != StatusAbsent {
		t.Fatalf("automatic %s", auto.Status)
	}
	clk.Set(at(100))
	a1, err := s.SetOverride(ctx, lec, p.UserID, rules, Override{Status: StatusExcused, By: "u_lect", Reason: " sick note "}, auto.AutomaticStatus)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Old != StatusAbsent || a1.New != StatusExcused || a1.Reason != "sick note" || !a1.At.Equal(at(100)) {
		t.Fatalf("audit entry %+v", a1)
	}
	r := rowOf(t, s, l, rules, p)
	if r.Status != StatusExcused || r.Source != SourceManual || r.AutomaticStatus != StatusAbsent || r.Override == nil ||
		r.Override.By != "u_lect" || r.Override.Reason != "sick note" {
		t.Fatalf("overridden row %+v", r)
	}
	// A second override's old status is the first override, not the automatic one.
	clk.Set(at(110))
	a2, err := s.SetOverride(ctx, lec, p.UserID, rules, Override{Status: StatusPresent, By: "u_admin", Reason: "was in the room, camera off"}, StatusAbsent)
	if err != nil || a2.Old != StatusExcused || a2.New != StatusPresent {
		t.Fatalf("second override %+v, %v", a2, err)
	}
	// Refusals write nothing.
	for _, c := range []struct {
		name  string
		ov    Override
		field string
	}{
		{"status outside the set", Override{Status: "X", By: "u_lect", Reason: "typo"}, "status"},
		{"lower case", Override{Status: "p", By: "u_lect", Reason: "typo"}, "status"},
		{"empty reason", Override{Status: StatusLate, By: "u_lect", Reason: "  "}, "reason"},
	} {
		_, err := s.SetOverride(ctx, lec, p.UserID, rules, c.ov, StatusAbsent)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a field error on %s", c.name, err, c.field)
		}
	}
	if _, err := s.SetOverride(ctx, "lec_{bad}", p.UserID, rules, Override{Status: StatusLate, By: "u", Reason: "r"}, StatusAbsent); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad lecture id: %v", err)
	}
	audit, err := s.Audit(ctx, lec)
	if err != nil || len(audit) != 2 {
		t.Fatalf("audit %+v, %v; want exactly the two accepted overrides", audit, err)
	}
	if audit[0].Old != StatusAbsent || audit[0].New != StatusExcused || audit[0].By != "u_lect" || audit[0].Reason != "sick note" ||
		!audit[0].At.Equal(at(100)) || audit[1].Old != StatusExcused || audit[1].New != StatusPresent || audit[1].By != "u_admin" ||
		audit[0].Kind != AuditOverride || audit[0].LectureID != lec || audit[0].UserID != p.UserID {
		t.Fatalf("audit trail %+v", audit)
	}
	if r := rowOf(t, s, l, rules, p); r.Status != StatusPresent {
		t.Fatalf("final status %s", r.Status)
	}
}

func TestSeriesReportAndHistory(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newStore(t)
	clk.Set(at(10000))
	lectures := []LectureInfo{held("lec_1", 0, 90, "g_1"), held("lec_2", 1000, 1090, "g_1"), held("lec_3", 2000, 2090, "g_1"),
		{ID: "lec_4", GroupIDs: []string{"g_1"}}} // not held yet
	anna, emil, guest := student("u_anna", "g_1"), student("u_emil", "g_1"), student("u_guest", "g_2")
	for i, off := range []float64{0, 1000, 2000} {
		conn := "c_a" + string(rune('1'+i))
		mustRecord(t, s, join(lectures[i].ID, anna.UserID, conn, at(off)))
		mustRecord(t, s, leave(lectures[i].ID, conn, at(off+90)))
	}
	mustRecord(t, s, join("lec_2", emil.UserID, "c_e", at(1000)))
	mustRecord(t, s, leave("lec_2", "c_e", at(1090)))
	if _, err := s.SetOverride(ctx, "lec_3", emil.UserID, DefaultRules(), Override{Status: StatusExcused, By: "u_l", Reason: "sick"}, StatusAbsent); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, s, join("lec_1", guest.UserID, "c_g", at(0)))
	mustRecord(t, s, leave("lec_1", "c_g", at(90)))
	nobody := student("u_nobody", "g_9")

	lines, err := s.SeriesReport(ctx, lectures, DefaultRules(), []Person{anna, emil, guest, nobody})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want anna, emil and the guest (not the unrelated student): %+v", len(lines), lines)
	}
	byUser := map[string]StudentLine{}
	for _, l := range lines {
		byUser[l.UserID] = l
	}
	statuses := func(l StudentLine) string {
		out := ""
		for _, c := range l.Cells {
			if c.Status == "" {
				out += "-"
			}
			out += c.Status
		}
		return out
	}
	for _, c := range []struct {
		user, statuses string
		percent        float64
	}{
		{"u_anna", "PPP-", 100},
		{"u_emil", "APE-", 50},   // E leaves lec_3 out: 1 of 2
		{"u_guest", "P---", 100}, // only where they came
	} {
		l := byUser[c.user]
		if statuses(l) != c.statuses || l.Percent == nil || *l.Percent != c.percent {
			t.Errorf("%s: %s %v, want %s %v", c.user, statuses(l), l.Percent, c.statuses, c.percent)
		}
	}
	if !byUser["u_emil"].Cells[0].Expected || byUser["u_guest"].Cells[0].Expected {
		t.Errorf("expected flags wrong: %+v %+v", byUser["u_emil"].Cells[0], byUser["u_guest"].Cells[0])
	}

	hist, err := s.History(ctx, emil, []SeriesInput{{SeriesID: "ser_1", Rules: DefaultRules(), Lectures: lectures}})
	if err != nil || len(hist) != 1 || len(hist[0].Cells) != 4 || hist[0].Cells[1].Status != StatusPresent ||
		hist[0].Cells[1].PresentSeconds != 90*60 || hist[0].Percent == nil || *hist[0].Percent != 50 {
		t.Fatalf("history %+v, %v", hist, err)
	}
}
