package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/loadgen"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the server's /metrics.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the value of the series name{labels} (a counter, gauge, or a
// histogram's sample count), and whether it exists. labels are name=value
// pairs; a series matches if it has at least these.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			ok := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// TestMetrics runs a small lecture through the real server (one publisher,
// two students, by the load generator over the real protocol) and checks
// that /metrics describes it: who is in, at which site and in which role,
// media flowing, RTCP handled, Redis and WebSocket traffic timed and
// counted.
func TestMetrics(t *testing.T) {
	rs := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const adminPassword = "metrics admin password"
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	if err := sched.PutSite(ctx, schedule.Site{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	if _, err := account.NewStore(rs.Client, account.Options{}).Create(ctx, account.NewUser{Username: "admin", Password: adminPassword,
		DisplayName: "Admin", Role: account.RoleAdmin, SiteID: "riga"}); err != nil {
		t.Fatal(err)
	}
	base := e2eServer(t, rs)

	// The load generator creates site "mt", its lecturer and students,
	// starts a lecture and keeps everyone in it for Duration.
	done := make(chan error, 1)
	go func() {
		_, err := loadgen.Run(ctx, loadgen.Config{
			Server: base, AdminUser: "admin", AdminPassword: adminPassword, Prefix: "mt", Password: "metrics student password",
			Subscribers: 2, Publishers: 1, Accounts: 2,
			Bitrate: 300_000, FPS: 15, Layers: 3, KeyframeInterval: time.Second, AudioBitrate: 32_000,
			Ramp: 200 * time.Millisecond, Settle: time.Second, Duration: 4 * time.Second, Timeout: time.Minute,
		})
		done <- err
	}()

	// While the lecture runs: who is in it, and media coming in.
	want := map[string]float64{
		`lecturelink_lectures_live`:                        1,
		`lecturelink_participants|site=mt|role=student`:    2,
		`lecturelink_participants|site=mt|role=lecturer`:   1,
		`lecturelink_sfu_peers`:                            3,
		`lecturelink_sfu_rooms`:                            1,
		`lecturelink_site_subscribers|site=mt`:             3,
		`lecturelink_seats_used`:                           3,
		`lecturelink_ws_connections`:                       3,
		`lecturelink_limit_media_peers`:                    0,
		`lecturelink_sfu_subscriber_bandwidth_bps+unknown`: 3,
	}
	got := func(fams map[string]*dto.MetricFamily, key string) float64 {
		if key == `lecturelink_sfu_subscriber_bandwidth_bps+unknown` {
			a, _ := value(fams, "lecturelink_sfu_subscriber_bandwidth_bps")
			b, _ := value(fams, "lecturelink_sfu_subscribers_without_estimate")
			return a + b
		}
		parts := strings.Split(key, "|")
		v, ok := value(fams, parts[0], parts[1:]...)
		if !ok {
			return -1
		}
		return v
	}
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(90 * time.Second)
	for {
		fams = scrape(t, base)
		ok := true
		for k, v := range want {
			ok = ok && got(fams, k) == v
		}
		if r, _ := value(fams, "lecturelink_sfu_receive_bitrate_bps"); ok && r > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the lecture ended (%v) before /metrics showed it", err)
		default:
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for k, v := range want {
				fmt.Fprintf(&b, "\n%s = %v, want %v", k, got(fams, k), v)
			}
			r, _ := value(fams, "lecturelink_sfu_receive_bitrate_bps")
			t.Fatalf("/metrics never showed the lecture:%s\nreceive bitrate %v", b.String(), r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatalf("load run: %v", err)
	}

	// Afterwards: what was counted. The lecture stays live, its
	// participants gone. The tool returns once the server has echoed its
	// close frames; the server records each leave just after, so wait for
	// the last one.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fams = scrape(t, base)
		p, _ := value(fams, "lecturelink_participants")
		seats, _ := value(fams, "lecturelink_seats_used")
		if p == 0 && seats == 0 || time.Now().After(end) {
			break
		}
	}
	in, _ := value(fams, "lecturelink_sfu_packets_in_total")
	out, _ := value(fams, "lecturelink_sfu_packets_forwarded_total")
	bytes, _ := value(fams, "lecturelink_sfu_bytes_forwarded_total")
	kf, _ := value(fams, "lecturelink_sfu_keyframe_requests_total")
	sw, _ := value(fams, "lecturelink_sfu_layer_switches_total")
	ops, _ := value(fams, "lecturelink_redis_seconds")
	t.Logf("packets in %v, forwarded %v (%v bytes); keyframe requests %v, layer switches %v; Redis calls %v", in, out, bytes, kf, sw, ops)
	// Each subscriber gets one of the three simulcast layers, and audio.
	if !(in > 100) || !(out > 100) || !(bytes > 100*out) {
		t.Errorf("packets in %v, forwarded %v, bytes forwarded %v: want over 100 each way, over 100 bytes a packet", in, out, bytes)
	}
	for _, name := range []string{"lecturelink_sfu_keyframe_requests_total", "lecturelink_sfu_layer_switches_total"} {
		if v, _ := value(fams, name); !(v > 0) {
			t.Errorf("%s = %v, want > 0 (every new subscriber's first layer)", name, v)
		}
	}
	for _, name := range []string{"lecturelink_sfu_nacks_received_total", "lecturelink_sfu_nacks_served_total",
		"lecturelink_sfu_nacks_dropped_total", "lecturelink_sfu_plis_received_total"} {
		if _, ok := value(fams, name); !ok {
			t.Errorf("%s missing", name)
		}
	}
	// Attendance joins are scripts: EVALSHA (EVAL the first time).
	sha, _ := value(fams, "lecturelink_redis_seconds", "op=evalsha")
	eval, _ := value(fams, "lecturelink_redis_seconds", "op=eval")
	if all, _ := value(fams, "lecturelink_redis_seconds"); !(sha+eval >= 3) || !(all > sha+eval) {
		t.Errorf("Redis timings: %v scripts of %v commands, want at least the three joins' and more", sha+eval, all)
	}
	if v, _ := value(fams, "lecturelink_ws_messages_total", "type=join"); v != 3 {
		t.Errorf("join messages counted: %v, want 3", v)
	}
	if v, _ := value(fams, "lecturelink_ws_messages_sent_total", "type=joined"); v != 3 {
		t.Errorf("joined messages sent: %v, want 3", v)
	}
	if v, _ := value(fams, "lecturelink_ws_messages_sent_total", "type=other"); v != 0 {
		t.Errorf("%v messages sent without a recognisable type", v)
	}
	if v, _ := value(fams, "lecturelink_participants"); v != 0 {
		t.Errorf("participants after the run: %v, want 0", v)
	}
	if v, _ := value(fams, "lecturelink_seats_used"); v != 0 {
		t.Errorf("seats used after the run: %v, want 0", v)
	}
}

// The SFU's forwarding-delay histogram is exported with its buckets in
// seconds.
func TestForwardDelayMetric(t *testing.T) {
	media, err := sfu.New(sfu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	reg := prometheus.NewRegistry()
	registerSFUMetrics(reg, media)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lecturelink_sfu_forward_delay_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		b := h.GetBucket()
		want := len(media.Stats().ForwardDelay.BoundsMicros)
		if len(b) != want || b[0].GetUpperBound() != 50e-6 || b[len(b)-1].GetUpperBound() != 0.1 || h.GetSampleCount() != 0 {
			t.Errorf("histogram = %v, want %d empty buckets from 50 µs to 100 ms", h, want)
		}
		return
	}
	t.Fatal("lecturelink_sfu_forward_delay_seconds not exported")
}
