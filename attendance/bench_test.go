package attendance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// seedSeries writes a series' worth of attendance straight into Redis, with
// the same stream fields as the join and leave scripts: 40 weekly 90-minute
// lectures, 300 students in two groups, each attending with probability
// 0.92 (a fifth of them reconnecting once or twice, some joining late or
// leaving early), plus a few roll-call marks and overrides. Setup writes
// with pipelines because the benchmark measures reading, not Record.
func seedSeries(b *testing.B, s *Store) ([]LectureInfo, []Person, int) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var students []Person
	for i := range 300 {
		g := "g_a"
		if i%2 == 1 {
			g = "g_b"
		}
		students = append(students, Person{UserID: fmt.Sprintf("u_%03d", i), Username: fmt.Sprintf("student%03d", i),
			DisplayName: fmt.Sprintf("Student %03d", i), SiteID: "riga", SiteName: "Riga", GroupID: g})
	}
	var lectures []LectureInfo
	events := 0
	for li := range 40 {
		start := t0.Add(time.Duration(li) * 7 * 24 * time.Hour)
		end := start.Add(90 * time.Minute)
		id := fmt.Sprintf("lec_%02d", li)
		lectures = append(lectures, LectureInfo{ID: id, SeriesID: "ser_bench", StartedAt: ptr(start), EndedAt: ptr(end),
			SiteIDs: []string{"osh", "riga"}, GroupIDs: []string{"g_a", "g_b"}})
		pipe := s.rdb.Pipeline()
		conn := 0
		add := func(kind, user, connID string, t time.Time, reason string) {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: eventsKey(id), Values: []any{"kind", kind, "userId", user, "role", "student",
				"siteId", "riga", "connId", connID, "at", t.Format(time.RFC3339Nano), "reason", reason}})
			events++
		}
		for _, p := range students {
			if rng.Float64() >= 0.92 {
				continue
			}
			from := start.Add(time.Duration(rng.IntN(20)) * time.Minute)
			to := end.Add(-time.Duration(rng.IntN(30)) * time.Minute)
			pieces := 1
			if rng.Float64() < 0.2 {
				pieces += 1 + rng.IntN(2)
			}
			step := to.Sub(from) / time.Duration(pieces)
			for k := range pieces {
				conn++
				c := fmt.Sprintf("c_%d", conn)
				a := from.Add(time.Duration(k) * step)
				add("join", p.UserID, c, a, "")
				reason := ReasonLeft
				if k < pieces-1 {
					reason = ReasonTimeout
				}
				add("leave", p.UserID, c, a.Add(step-time.Duration(rng.IntN(90))*time.Second), reason)
			}
		}
		for k := range 5 {
			p := students[rng.IntN(len(students))]
			pipe.HSet(ctx, rollCallKey(id), p.UserID, fmt.Sprintf(`{"siteId":"riga","by":"u_op","at":%q}`, start.Format(time.RFC3339)))
			if k < 2 {
				q := students[rng.IntN(len(students))]
				pipe.HSet(ctx, overridesKey(id), q.UserID, fmt.Sprintf(`{"status":"E","by":"u_l","at":%q,"reason":"sick"}`, end.Format(time.RFC3339)))
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return lectures, students, events
}

// BenchmarkSeriesReport measures the series matrix of 300 students × 40
// lectures, from Redis to JSON, as GET /api/series/{id}/attendance does it
// (docs/performance.md, "Attendance: series report").
func BenchmarkSeriesReport(b *testing.B) {
	srv := redistest.Start(b)
	s := NewStore(srv.Client, Options{Now: func() time.Time { return t0.Add(365 * 24 * time.Hour) }})
	lectures, students, events := seedSeries(b, s)
	ctx := context.Background()
	lines, err := s.SeriesReport(ctx, lectures, DefaultRules(), students)
	if err != nil {
		b.Fatal(err)
	}
	cells, present := 0, 0
	for _, l := range lines {
		for _, c := range l.Cells {
			if c.Status != "" {
				cells++
			}
			if c.PresentSeconds > 0 {
				present++
			}
		}
	}
	if len(lines) != 300 || cells != 12000 {
		b.Fatalf("%d students, %d cells with a status; want 300 and 12,000", len(lines), cells)
	}
	for b.Loop() {
		lines, err := s.SeriesReport(ctx, lectures, DefaultRules(), students)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(io.Discard).Encode(map[string]any{"lectures": lectures, "students": lines}); err != nil {
			b.Fatal(err)
		}
	}
	// Reported after the loop: b.Loop resets the timer and extra metrics.
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(present), "attended")
}
