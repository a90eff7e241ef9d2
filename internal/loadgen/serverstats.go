package loadgen

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serverSample is one reading of the server's figures; a missing figure is
// NaN-free: ok flags say what was read.
type serverSample struct {
	metrics map[string]float64 // the metricNames found
	// gcFresh: a garbage collection ran while this baseline was taken, so
	// the memory figures derived from the last collection describe it.
	gcFresh bool
	procCPU float64 // seconds of user+system time from /proc, when procOK
	procOK  bool
}

// metricNames are the un-labelled series read from /metrics: the standard
// Go and process collectors and the SFU's counters (cmd/lecturelink/metrics.go).
var metricNames = []string{
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	"go_goroutines",
	"go_memstats_next_gc_bytes",
	"go_memstats_stack_inuse_bytes",
	"go_memstats_heap_alloc_bytes",
	"go_memstats_alloc_bytes_total",
	"go_memstats_mallocs_total",
	"go_gc_gogc_percent",
	"go_gc_duration_seconds_count",
	"lecturelink_sfu_packets_forwarded_total",
	"lecturelink_sfu_packets_in_total",
	"lecturelink_sfu_peers",
	forwardDelayMetric + "_count",
	"lecturelink_sfu_layer_switches_total",
	"lecturelink_sfu_nacks_received_total",
	"lecturelink_sfu_subscribers_without_estimate",
}

// labelledPrefixes are series kept with their labels: the forward-delay
// buckets and what the SFU learnt from subscribers' receiver reports, per
// site.
var labelledPrefixes = []string{forwardDelayMetric + "_bucket{", "lecturelink_site_rtt_max_seconds{", "lecturelink_site_loss_ratio{"}

// forwardDelayMetric is the SFU's forwarding-delay histogram: from a
// published packet's arrival to its write to the last subscriber. Its
// buckets are kept under their exposition names, e.g.
// lecturelink_sfu_forward_delay_seconds_bucket{le="0.001"}.
const forwardDelayMetric = "lecturelink_sfu_forward_delay_seconds"

// scrapeMetrics reads the metricNames from a Prometheus text endpoint.
func scrapeMetrics(ctx context.Context, client *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics URL %q: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading %s: HTTP %d", url, resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, 16<<20))
}

// parseMetrics picks the metricNames out of the text exposition format.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range metricNames {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// The series ends at the closing brace of its labels, whose values
		// may hold spaces, or else at the first space.
		cut := strings.IndexByte(line, ' ')
		if i := strings.LastIndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') >= 0 && strings.IndexByte(line, '{') < cut {
			cut = i + 1
		}
		ok := cut > 0 && cut < len(line)
		var name, rest string
		if ok {
			name, rest = line[:cut], line[cut:]
		}
		if !ok || !want[name] && !slices.ContainsFunc(labelledPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	return out, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procCPU reads user+system CPU seconds of pid from /proc/<pid>/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server process: %w", err)
	}
	// The command name (field 2) may hold spaces; fields after its ")" are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("server process: unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("server process: short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("server process: unreadable CPU times in /proc stat")
	}
	return float64(ut+st) / clockTicks, nil
}

// sampleServer reads what it can; a failure is returned for the report's
// notes, never fatal: the media figures stand without the server's.
func (r *runner) sampleServer(ctx context.Context) (serverSample, error) {
	var s serverSample
	var errs []error
	if r.cfg.ServerPID > 0 {
		cpu, err := procCPU(r.cfg.ServerPID)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.procCPU, s.procOK = cpu, true
		}
	}
	if r.cfg.MetricsURL != "" {
		m, err := scrapeMetrics(ctx, r.http, r.cfg.MetricsURL)
		if err != nil {
			errs = append(errs, err)
		}
		s.metrics = m
	}
	return s, errors.Join(errs...)
}

// baseline samples the server with the publishers only. The memory figures
// come from the last garbage collection, so it waits (up to 5 s) for a
// collection after the publishers started; otherwise the baseline could
// still hold what an earlier run left behind.
func (r *runner) baseline(ctx context.Context) (serverSample, error) {
	if r.cfg.ServerDebug != "" {
		return r.sampleAfterGC(ctx)
	}
	first, err := r.sampleServer(ctx)
	if err != nil || first.metrics == nil {
		return first, err
	}
	gcs, ok := first.metrics["go_gc_duration_seconds_count"]
	deadline := time.Now().Add(5 * time.Second)
	for {
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return first, ctx.Err()
		}
		s, err := r.sampleServer(ctx)
		s.gcFresh = ok && s.metrics["go_gc_duration_seconds_count"] > gcs
		if err != nil || !ok || s.gcFresh || time.Now().After(deadline) {
			return s, err
		}
	}
}

// debugTimeout bounds a forced collection and its heap profile.
var debugTimeout = 60 * time.Second

// checkDebug fails early, in one line, when -server-debug does not answer
// as Go's profiler.
func (r *runner) checkDebug(ctx context.Context) error {
	if r.cfg.ServerDebug == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := r.cfg.ServerDebug + "/debug/pprof/"
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("-server-debug: %w", err)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("-server-debug %s is unreachable: %v", r.cfg.ServerDebug, unwrapOp(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("-server-debug %s answers %s with HTTP %d: is it the server's -debug-addr?", r.cfg.ServerDebug, u, resp.StatusCode)
	}
	return nil
}

// forceGC makes the server collect garbage: net/http/pprof runs
// runtime.GC before writing a heap profile asked for with gc=1. The
// profile itself is discarded.
func (r *runner) forceGC(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, debugTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, r.cfg.ServerDebug+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return fmt.Errorf("-server-debug: %w", err)
	}
	client := &http.Client{Transport: r.http.Transport}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("forcing a collection on the server: %v", unwrapOp(err))
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("forcing a collection on the server: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("forcing a collection on the server: HTTP %d", resp.StatusCode)
	}
	return nil
}

// sampleAfterGC forces a collection, then reads the server's metrics: the
// heap then holds only what is live.
func (r *runner) sampleAfterGC(ctx context.Context) (serverSample, error) {
	if err := r.forceGC(ctx); err != nil {
		return serverSample{}, err
	}
	s, err := r.sampleServer(ctx)
	s.gcFresh = true
	return s, err
}

// liveAfterGC is the live heap plus goroutine stacks of a sample taken
// just after a forced collection.
func liveAfterGC(s serverSample) (float64, bool) {
	heap, ok1 := s.metrics["go_memstats_heap_alloc_bytes"]
	stack, ok2 := s.metrics["go_memstats_stack_inuse_bytes"]
	return heap + stack, ok1 && ok2 && s.gcFresh
}

// unwrapOp shortens a connection error to its cause ("connection refused").
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

// histBucket is one cumulative bucket of a Prometheus histogram.
type histBucket struct {
	le    float64 // upper bound, seconds; +Inf for the last
	count float64 // observations ≤ le
}

// forwardDelayBuckets returns the forward-delay histogram's buckets in a
// sample, sorted by bound; nil when the server does not export it.
func forwardDelayBuckets(m map[string]float64) []histBucket {
	var out []histBucket
	prefix := forwardDelayMetric + "_bucket{"
	for name, v := range m {
		labels, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		_, le, ok := strings.Cut(labels, `le="`)
		if !ok {
			continue
		}
		le, _, _ = strings.Cut(le, `"`)
		b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as infinity
		if err != nil {
			continue
		}
		out = append(out, histBucket{b, v})
	}
	slices.SortFunc(out, func(a, b histBucket) int { return cmp.Compare(a.le, b.le) })
	return out
}

// histDelta is end − start, bucket by bucket; ok is false when the two do
// not have the same buckets (or have none).
func histDelta(start, end []histBucket) ([]histBucket, bool) {
	if len(end) == 0 || len(start) != len(end) {
		return nil, false
	}
	out := make([]histBucket, len(end))
	for i := range end {
		if start[i].le != end[i].le {
			return nil, false
		}
		out[i] = histBucket{end[i].le, end[i].count - start[i].count}
	}
	return out, true
}

// histQuantile is the q-quantile of cumulative buckets in seconds,
// interpolated linearly inside its bucket (the lowest bucket starts at 0),
// as Prometheus's histogram_quantile does. A quantile in the +Inf bucket
// is the highest finite bound. NaN without observations.
func histQuantile(q float64, b []histBucket) float64 {
	if len(b) == 0 || b[len(b)-1].count <= 0 {
		return math.NaN()
	}
	rank := q * b[len(b)-1].count
	lo, prev := 0.0, 0.0
	for _, bk := range b {
		if bk.count >= rank && bk.count > prev {
			if math.IsInf(bk.le, 1) {
				return lo
			}
			return lo + (bk.le-lo)*(rank-prev)/(bk.count-prev)
		}
		lo, prev = bk.le, bk.count
	}
	return lo
}
