package calendar

import (
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/bomca/lecturelink/schedule"
)

func TestWriteParsesBackWithZones(t *testing.T) {
	riga, _ := time.LoadLocation("Europe/Riga")
	created := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	lec := func(id string, start time.Time, zone string, state schedule.State) Event {
		return Event{Lecture: schedule.Lecture{ID: id, Title: "Green border", Topic: "Night observation", Start: start,
			DurationMinutes: 90, State: state, TimeZone: zone, CreatedAt: created, UpdatedAt: created, Sequence: 2}, SiteName: "Riga"}
	}
	events := []Event{
		lec("lec_july", time.Date(2027, 7, 8, 10, 0, 0, 0, riga), "Europe/Riga", schedule.StateScheduled),
		lec("lec_jan", time.Date(2027, 1, 14, 10, 0, 0, 0, riga), "Europe/Riga", schedule.StateCancelled),
		lec("lec_osh", time.Date(2027, 7, 8, 4, 0, 0, 0, time.UTC), "Asia/Bishkek", schedule.StateScheduled),
	}
	var b strings.Builder
	if err := Write(&b, "My lectures", events, created); err != nil {
		t.Fatal(err)
	}
	cal, err := ics.ParseCalendar(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	byID := map[string]*ics.VEvent{}
	for _, ev := range cal.Events() {
		byID[ev.Id()] = ev
	}
	july := byID["lec_july@lecturelink"]
	if july == nil || len(byID) != 3 {
		t.Fatalf("events %v", byID)
	}
	start := july.GetProperty(ics.ComponentPropertyDtStart)
	if start.Value != "20270708T100000" || start.ICalParameters["TZID"][0] != "Europe/Riga" {
		t.Fatalf("DTSTART %+v", start)
	}
	if got := july.GetProperty(ics.ComponentPropertyDtEnd).Value; got != "20270708T113000" {
		t.Fatalf("DTEND %s", got)
	}
	if got := july.GetProperty(ics.ComponentPropertySummary).Value; got != "Green border — Night observation" {
		t.Fatalf("SUMMARY %q", got)
	}
	if got := july.GetProperty(ics.ComponentPropertyStatus).Value; got != "CONFIRMED" {
		t.Fatalf("STATUS %q", got)
	}
	if got := byID["lec_jan@lecturelink"].GetProperty(ics.ComponentPropertyStatus).Value; got != "CANCELLED" {
		t.Fatalf("cancelled STATUS %q", got)
	}
	if got := july.GetProperty(ics.ComponentPropertySequence).Value; got != "2" {
		t.Fatalf("SEQUENCE %q", got)
	}
	if got := byID["lec_osh@lecturelink"].GetProperty(ics.ComponentPropertyDtStart).Value; got != "20270708T100000" {
		t.Fatalf("Osh DTSTART %s, want 10:00 Bishkek", got)
	}

	zones := map[string]*ics.VTimezone{}
	for _, tz := range cal.Timezones() {
		zones[tz.GetProperty(ics.ComponentPropertyTzid).Value] = tz
	}
	if len(zones) != 2 || zones["Europe/Riga"] == nil || zones["Asia/Bishkek"] == nil {
		t.Fatalf("VTIMEZONEs %v", zones)
	}
	// The Riga zone's offset on a given local date, by walking its blocks.
	rigaOffset := func(local string) string {
		var got string
		for _, c := range zones["Europe/Riga"].Components {
			var base *ics.ComponentBase
			switch x := c.(type) {
			case *ics.Standard:
				base = &x.ComponentBase
			case *ics.Daylight:
				base = &x.ComponentBase
			}
			if base.GetProperty(ics.ComponentPropertyDtStart).Value <= local {
				got = base.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto)).Value
			}
		}
		return got
	}
	if got := rigaOffset("20270708T100000"); got != "+0300" {
		t.Errorf("Riga in July: %s, want +0300", got)
	}
	if got := rigaOffset("20270114T100000"); got != "+0200" {
		t.Errorf("Riga in January: %s, want +0200", got)
	}
	// 2027: the year starts in EET, EEST from 28 March 03:00, EET from 31 October 04:00.
	want := []string{"STANDARD 20270101T000000 +0200>+0200", "DAYLIGHT 20270328T030000 +0200>+0300", "STANDARD 20271031T040000 +0300>+0200"}
	if got := blocks(zones["Europe/Riga"]); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Riga blocks %v, want %v", got, want)
	}
	if got := blocks(zones["Asia/Bishkek"]); len(got) != 1 || got[0] != "STANDARD 20270101T000000 +0600>+0600" {
		t.Errorf("Bishkek blocks %v, want one STANDARD +0600", got)
	}
}

func blocks(tz *ics.VTimezone) []string {
	var out []string
	for _, c := range tz.Components {
		kind, base := "STANDARD", (*ics.ComponentBase)(nil)
		switch x := c.(type) {
		case *ics.Standard:
			base = &x.ComponentBase
		case *ics.Daylight:
			kind, base = "DAYLIGHT", &x.ComponentBase
		}
		out = append(out, kind+" "+base.GetProperty(ics.ComponentPropertyDtStart).Value+" "+
			base.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom)).Value+">"+
			base.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto)).Value)
	}
	return out
}
