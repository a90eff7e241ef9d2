package main

import (
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/sfu"
	"github.com/prometheus/client_golang/prometheus"
)

// registerSFUMetrics exposes the SFU's counters; they are read when scraped,
// so the media path itself never touches Prometheus.
func registerSFUMetrics(reg prometheus.Registerer, media *sfu.SFU) {
	gauge := func(name, help string, f func(sfu.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(media.Stats()) })
	}
	counter := func(name, help string, f func(sfu.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return f(media.Stats()) })
	}
	reg.MustRegister(
		gauge("lecturelink_sfu_rooms", "Media rooms open.", func(s sfu.Stats) float64 { return float64(s.Rooms) }),
		gauge("lecturelink_sfu_peers", "Media peers connected.", func(s sfu.Stats) float64 { return float64(s.Peers) }),
		gauge("lecturelink_sfu_published_tracks", "Tracks being published.", func(s sfu.Stats) float64 { return float64(s.PublishedTracks) }),
		counter("lecturelink_sfu_packets_in_total", "RTP packets received from publishers.", func(s sfu.Stats) float64 { return float64(s.PacketsIn) }),
		counter("lecturelink_sfu_packets_forwarded_total", "RTP packets sent to subscribers.", func(s sfu.Stats) float64 { return float64(s.PacketsForwarded) }),
		counter("lecturelink_sfu_bytes_forwarded_total", "RTP bytes sent to subscribers.", func(s sfu.Stats) float64 { return float64(s.BytesForwarded) }),
		counter("lecturelink_sfu_keyframe_requests_total", "Keyframe requests sent to publishers.", func(s sfu.Stats) float64 { return float64(s.KeyframeRequests) }),
		counter("lecturelink_sfu_nacks_served_total", "Packets retransmitted from the SFU's cache.", func(s sfu.Stats) float64 { return float64(s.NACKsServed) }),
		forwardDelayCollector{media: media, desc: prometheus.NewDesc("lecturelink_sfu_forward_delay_seconds",
			"Time from a published packet's arrival to its write to the last subscriber of its fan-out.", nil, nil)},
	)
}

// forwardDelayCollector exports the SFU's forwarding-delay histogram, which
// the SFU keeps in atomic buckets of its own (no Prometheus on the packet
// path), as a Prometheus histogram when scraped.
type forwardDelayCollector struct {
	media *sfu.SFU
	desc  *prometheus.Desc
}

func (c forwardDelayCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c forwardDelayCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.media.Stats().ForwardDelay
	buckets := make(map[float64]uint64, len(d.BoundsMicros))
	var cum uint64
	for i, b := range d.BoundsMicros {
		cum += d.Counts[i]
		buckets[float64(b)/1e6] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.desc, cum+d.Counts[len(d.BoundsMicros)], float64(d.SumMicros)/1e6, buckets)
}

// registerOutboxMetrics exposes the attendance outbox. A non-zero pending
// count means Redis is (or was just) unavailable; rejected lines need a
// person to look at rejected.jsonl in the outbox directory.
func registerOutboxMetrics(reg prometheus.Registerer, rec *attendance.Recorder) {
	gauge := func(name, help string, f func(attendance.OutboxStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(rec.Stats()) })
	}
	counter := func(name, help string, f func(attendance.OutboxStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return f(rec.Stats()) })
	}
	reg.MustRegister(
		gauge("lecturelink_attendance_outbox_pending_bytes", "Outbox bytes waiting to be replayed into Redis.", func(s attendance.OutboxStats) float64 { return float64(s.PendingBytes) }),
		gauge("lecturelink_attendance_outbox_pending_lines", "Outbox events and signs of life waiting to be replayed into Redis.", func(s attendance.OutboxStats) float64 { return float64(s.PendingLines) }),
		gauge("lecturelink_attendance_outbox_pending_touches", "Signs of life held in memory during a Redis outage.", func(s attendance.OutboxStats) float64 { return float64(s.PendingTouches) }),
		counter("lecturelink_attendance_outbox_queued_total", "Lines written to the outbox because Redis was unavailable.", func(s attendance.OutboxStats) float64 { return float64(s.Queued) }),
		counter("lecturelink_attendance_outbox_replayed_total", "Outbox lines replayed into Redis.", func(s attendance.OutboxStats) float64 { return float64(s.Replayed) }),
		counter("lecturelink_attendance_outbox_rejected_total", "Outbox lines Redis refused for good (kept in rejected.jsonl).", func(s attendance.OutboxStats) float64 { return float64(s.Rejected) }),
		counter("lecturelink_attendance_outbox_refused_total", "Events refused because the outbox was full.", func(s attendance.OutboxStats) float64 { return float64(s.Refused) }),
	)
}
