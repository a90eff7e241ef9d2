// Package calendar owns rendering lectures as RFC 5545 iCalendar: one
// VEVENT per lecture, in the lecture's own time zone, with a VTIMEZONE
// generated from Go's time zone database for every zone used, so Outlook,
// Google Calendar and Thunderbird show the right local times without
// knowing the zone themselves.
package calendar

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/bomca/lecturelink/schedule"
)

// Event is a lecture with the names a calendar shows next to it.
type Event struct {
	Lecture      schedule.Lecture
	SiteName     string // the origin site's name, for LOCATION
	LecturerName string
	// Zone is the lecture's IANA zone when the lecture has none of its
	// own (lectures from before series existed): the origin site's.
	Zone string
}

// localLayout is the iCalendar DATE-TIME form without a UTC marker.
const localLayout = "20060102T150405"

// Write renders a calendar named name with one VEVENT per event to w.
// stamp is the DTSTAMP (the time the feed is generated).
func Write(w io.Writer, name string, events []Event, stamp time.Time) error {
	cal := ics.NewCalendarFor("lecturelink")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName(name)
	cal.SetXWRCalName(name)
	zones := map[string]*time.Location{}
	years := map[string][2]int{}
	var vevents []*ics.VEvent
	for _, e := range events {
		l := e.Lecture
		zone := l.TimeZone
		if zone == "" {
			zone = e.Zone
		}
		if zone == "" {
			zone = "UTC"
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return fmt.Errorf("calendar: lecture %s: zone %q: %w", l.ID, zone, err)
		}
		zones[zone] = loc
		y := years[zone]
		first, last := l.Start.In(loc).Year(), l.End().In(loc).Year()
		if y[0] == 0 || first < y[0] {
			y[0] = first
		}
		if last > y[1] {
			y[1] = last
		}
		years[zone] = y

		ev := ics.NewEvent(l.ID + "@lecturelink")
		ev.SetDtStampTime(stamp)
		ev.SetProperty(ics.ComponentPropertyDtStart, l.Start.In(loc).Format(localLayout), ics.WithTZID(zone))
		ev.SetProperty(ics.ComponentPropertyDtEnd, l.End().In(loc).Format(localLayout), ics.WithTZID(zone))
		summary := l.Title
		if l.Topic != "" {
			summary += " — " + l.Topic
		}
		ev.SetSummary(summary)
		ev.SetDescription(description(e))
		if e.SiteName != "" {
			ev.SetLocation(e.SiteName)
		}
		if l.State == schedule.StateCancelled {
			ev.SetStatus(ics.ObjectStatusCancelled)
		} else {
			ev.SetStatus(ics.ObjectStatusConfirmed)
		}
		ev.SetSequence(l.Sequence)
		ev.SetCreatedTime(l.CreatedAt)
		modified := l.UpdatedAt
		if modified.IsZero() {
			modified = l.CreatedAt
		}
		ev.SetModifiedAt(modified)
		vevents = append(vevents, ev)
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	sort.Strings(names)
	for _, z := range names {
		y := years[z]
		cal.AddVTimezone(Timezone(z, zones[z], y[0], y[1]))
	}
	for _, ev := range vevents {
		cal.AddVEvent(ev)
	}
	if err := cal.SerializeTo(w); err != nil {
		return fmt.Errorf("calendar: write: %w", err)
	}
	return nil
}

func description(e Event) string {
	var b strings.Builder
	l := e.Lecture
	if l.Topic != "" {
		b.WriteString("Topic: " + l.Topic + "\n")
	}
	if e.LecturerName != "" {
		b.WriteString("Lecturer: " + e.LecturerName + "\n")
	}
	if l.Index > 0 {
		fmt.Fprintf(&b, "Lecture %d of the series\n", l.Index)
	}
	if l.State == schedule.StateCancelled && l.CancelReason != "" {
		b.WriteString("Cancelled: " + l.CancelReason + "\n")
	}
	return strings.TrimSpace(b.String())
}
