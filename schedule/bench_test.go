package schedule

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkSiteWeek measures the admin's week view of one site: one
// ZRANGEBYSCORE on the site's index and one pipelined HGETALL of the
// lectures found, with 10,000 lectures stored across five sites over a
// year (77 lectures in the site's week, the site being origin or participant).
func BenchmarkSiteWeek(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	s := NewStore(srv.Client, Options{Now: func() time.Time { return t0 }})
	sites := []string{"osh", "bishkek", "rezekne", "riga", "daugavpils"}
	for _, id := range sites {
		if err := s.PutSite(ctx, Site{ID: id, Name: id, Institution: "x", TimeZone: "Asia/Bishkek"}); err != nil {
			b.Fatal(err)
		}
	}
	// Written directly rather than through CreateLecture: 10,000 conflict
	// checks would only slow the set-up, and the layout is the same.
	const n = 10000
	pipe := srv.Client.Pipeline()
	for i := range n {
		id := fmt.Sprintf("lec_bench%05d", i)
		l := Lecture{ID: id, Title: "Lecture", Topic: "Topic", Start: t0.Add(time.Duration(i) * 52 * time.Minute),
			DurationMinutes: 45, LecturerID: fmt.Sprintf("u_%d", i%40), SiteID: sites[i%len(sites)],
			SiteIDs: []string{sites[(i+1)%len(sites)]}, GroupIDs: []string{fmt.Sprintf("g_%d", i%20)},
			State: StateScheduled, CreatedAt: t0, UpdatedAt: t0, TimeZone: "Asia/Bishkek"}
		pipe.HSet(ctx, lectureKey(id), encodeLecture(l)...)
		addToIndexes(ctx, pipe, l)
		if i%1000 == 999 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		b.Fatal(err)
	}
	from := t0.AddDate(0, 3, 0)
	to := from.AddDate(0, 0, 7)
	week, err := s.ListLectures(ctx, from, to, Filter{SiteID: "riga"})
	if err != nil || len(week) < 30 {
		b.Fatalf("week holds %d lectures, %v", len(week), err)
	}
	for b.Loop() {
		if _, err := s.ListLectures(ctx, from, to, Filter{SiteID: "riga"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(week)), "lectures/op")
}
