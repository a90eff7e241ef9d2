package main

import (
	"testing"

	"github.com/bomca/lecturelink/sfu"
	"github.com/prometheus/client_golang/prometheus"
)

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
