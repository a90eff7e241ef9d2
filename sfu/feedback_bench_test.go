package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// BenchmarkTWCCFeedback is the server's work for one subscriber's
// transport-wide feedback, as a browser sends it every ~50 ms while
// receiving 1.5 Mbit/s (about 10 packets each), through the down-track's
// RTCP handling: parse, match against the send history, estimate.
func BenchmarkTWCCFeedback(b *testing.B) {
	var est estimate
	var c congestion
	c.init(&est, nil, nil)
	d := &downTrack{cc: &c, st: &counters{}}
	start := time.Now()
	rec := twcc.NewRecorder(1)
	var fbs [][]byte
	for i := range 2000 {
		sent := start.Add(time.Duration(i) * 5 * time.Millisecond)
		s := c.stamp(1200, micros(sent))
		rec.Record(5, s, micros(sent.Add(20*time.Millisecond)))
		if i%10 == 9 {
			raw, err := rtcp.Marshal(rec.BuildFeedbackPacket())
			if err != nil {
				b.Fatal(err)
			}
			fbs = append(fbs, raw)
		}
	}
	now := start.Add(10 * time.Second)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A new feedback each time (the estimator skips repeats): the
		// recorded ones in turn, their counter bumped past the last round.
		raw := fbs[i%len(fbs)]
		raw[19] = byte(i / len(fbs))
		d.onRTCP(raw, now)
		i++
	}
}
