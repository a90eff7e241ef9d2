package loadgen

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestForwardDelayQuantiles reads the SFU's histogram from two scrapes in
// the text format and interpolates within buckets as Prometheus does.
func TestForwardDelayQuantiles(t *testing.T) {
	scrape := func(counts ...int) map[string]float64 {
		t.Helper()
		les := []string{"0.0005", "0.001", "0.005", "+Inf"}
		var b strings.Builder
		b.WriteString("# TYPE lecturelink_sfu_forward_delay_seconds histogram\n")
		cum := 0
		for i, le := range les {
			cum += counts[i]
			b.WriteString(`lecturelink_sfu_forward_delay_seconds_bucket{le="` + le + `"} ` + strconv.Itoa(cum) + "\n")
		}
		b.WriteString("lecturelink_sfu_forward_delay_seconds_sum 0.5\nlecturelink_sfu_forward_delay_seconds_count " + strconv.Itoa(cum) + "\n")
		b.WriteString(`lecturelink_site_loss_ratio{site="riga"} 0.02` + "\n" + "go_goroutines 12\n")
		// A label value with spaces and a brace in it still ends the series
		// at its closing brace.
		b.WriteString(`lecturelink_site_rtt_max_seconds{site="Riga Technical {University}"} 0.25 1700000000000` + "\n")
		m, err := parseMetrics(strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Before the window: 1000 fast packets. In it: 50 under 0.5 ms, 40
	// between 0.5 and 1 ms, 9 up to 5 ms and 1 above.
	start, end := scrape(1000, 0, 0, 0), scrape(1050, 40, 9, 1)
	if end["go_goroutines"] != 12 || end[`lecturelink_site_loss_ratio{site="riga"}`] != 0.02 ||
		end[`lecturelink_site_rtt_max_seconds{site="Riga Technical {University}"}`] != 0.25 {
		t.Fatalf("parsed %v", end)
	}
	d, ok := histDelta(forwardDelayBuckets(start), forwardDelayBuckets(end))
	if !ok || len(d) != 4 || d[3].count != 100 || !math.IsInf(d[3].le, 1) {
		t.Fatalf("delta %v, %v", d, ok)
	}
	for _, c := range []struct{ q, want float64 }{
		{0.5, 0.0005},                // the 50th of 100 is the last of the first bucket
		{0.7, 0.0005 + 0.0005*20/40}, // 20 of 40 into (0.5, 1] ms
		{0.95, 0.001 + 0.004*5/9},    // 5 of 9 into (1, 5] ms
		{0.995, 0.005},               // in +Inf: the highest finite bound
		{0.25, 0.0005 * 25 / 50},     // the first bucket starts at 0
	} {
		if got := histQuantile(c.q, d); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q %v: %v s, want %v", c.q, got, c.want)
		}
	}
	rep := serverFigures(1e9, 2, serverSample{}, serverSample{metrics: start}, serverSample{metrics: end}, serverSample{})
	if fd := rep.ForwardDelayMS; fd.N != 100 || math.Abs(float64(fd.P50)-0.5) > 1e-9 || !math.IsNaN(float64(fd.Max)) {
		t.Errorf("report %+v", fd)
	}
	if rep.ReportedLossPct != 2 {
		t.Errorf("reported loss %v %%, want 2", rep.ReportedLossPct)
	}
	// A server without the histogram: unknown, not zero.
	rep = serverFigures(1e9, 2, serverSample{}, serverSample{metrics: map[string]float64{}}, serverSample{metrics: map[string]float64{}}, serverSample{})
	if fd := rep.ForwardDelayMS; fd.N != 0 || !math.IsNaN(float64(fd.P50)) || fd.P99.String() != "-" {
		t.Errorf("without the histogram: %+v", fd)
	}
	if got := histQuantile(0.5, []histBucket{{0.001, 0}, {math.Inf(1), 0}}); !math.IsNaN(got) {
		t.Errorf("empty window: %v", got)
	}
}

// TestLiveAfterGC: the exact figures need both forced collections, and
// the per-subscriber figure is the growth between them.
func TestLiveAfterGC(t *testing.T) {
	mib := float64(1 << 20)
	base := serverSample{gcFresh: true, metrics: map[string]float64{"go_memstats_heap_alloc_bytes": 6 * mib, "go_memstats_stack_inuse_bytes": 1 * mib}}
	end := serverSample{gcFresh: true, metrics: map[string]float64{"go_memstats_heap_alloc_bytes": 26 * mib, "go_memstats_stack_inuse_bytes": 3 * mib}}
	s := serverFigures(1e9, 100, base, serverSample{}, serverSample{}, end)
	if s.LiveAfterGCBaseline != Num(7*mib) || s.LiveAfterGCEnd != Num(29*mib) || s.LiveAfterGCPerSubscrib != Num(22*mib/100) {
		t.Fatalf("baseline %v, end %v, per subscriber %v", s.LiveAfterGCBaseline, s.LiveAfterGCEnd, s.LiveAfterGCPerSubscrib)
	}
	end.gcFresh = false // not after a forced collection: not exact
	s = serverFigures(1e9, 100, base, serverSample{}, serverSample{}, end)
	if !math.IsNaN(float64(s.LiveAfterGCEnd)) || !math.IsNaN(float64(s.LiveAfterGCPerSubscrib)) {
		t.Fatalf("end %v, per subscriber %v: want unknown", s.LiveAfterGCEnd, s.LiveAfterGCPerSubscrib)
	}
}
