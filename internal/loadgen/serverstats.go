package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
	"go_memstats_alloc_bytes_total",
	"go_memstats_mallocs_total",
	"go_gc_gogc_percent",
	"go_gc_duration_seconds_count",
	"lecturelink_sfu_packets_forwarded_total",
	"lecturelink_sfu_packets_in_total",
	"lecturelink_sfu_peers",
}

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
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
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
	m, err := scrapeMetrics(ctx, r.http, r.cfg.MetricsURL)
	if err != nil {
		errs = append(errs, err)
	}
	s.metrics = m
	return s, errors.Join(errs...)
}

// baseline samples the server with the publishers only. The memory figures
// come from the last garbage collection, so it waits (up to 5 s) for a
// collection after the publishers started; otherwise the baseline could
// still hold what an earlier run left behind.
func (r *runner) baseline(ctx context.Context) (serverSample, error) {
	first, err := r.sampleServer(ctx)
	if err != nil {
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
