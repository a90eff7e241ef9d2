package main

import (
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/sfu"
	"github.com/prometheus/client_golang/prometheus"
)

// registerSFUMetrics exposes the SFU's counters; they are read when scraped,
// so the media path itself never touches Prometheus.
func registerSFUMetrics(reg prometheus.Registerer, media *sfu.SFU) {
	reg.MustRegister(newSFUCollector(media), forwardDelayCollector{media: media, desc: prometheus.NewDesc("lecturelink_sfu_forward_delay_seconds",
		"Time from a published packet's arrival to its write to the last subscriber of its fan-out.", nil, nil)})
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

// sfuCollector reads sfu.Stats, the per-site snapshot and the subscribers'
// estimates once per scrape.
type sfuCollector struct {
	media *sfu.SFU
	// buckets are the bounds (bit/s) of the bandwidth estimate
	// distribution: from the audio-only range of the weakest site links
	// up to a full camera and slides.
	buckets []float64

	rooms, peers, tracks, rateIn                       *prometheus.Desc
	packetsIn, packetsOut, bytesOut                    *prometheus.Desc
	nacksIn, nacksServed, nacksDropped, rtcpErrors     *prometheus.Desc
	plisIn, keyframeRequests, layerSwitches            *prometheus.Desc
	estimates, estimatesUnknown                        *prometheus.Desc
	siteSubs, siteEst, siteBudget, siteRTT, siteRTTMax *prometheus.Desc
	siteLoss                                           *prometheus.Desc
}

func newSFUCollector(media *sfu.SFU) *sfuCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &sfuCollector{
		media:            media,
		buckets:          []float64{64e3, 128e3, 256e3, 500e3, 1e6, 1.5e6, 2.5e6, 5e6, 10e6},
		rooms:            d("lecturelink_sfu_rooms", "Media rooms open (one per live lecture with media)."),
		peers:            d("lecturelink_sfu_peers", "Media peers connected."),
		tracks:           d("lecturelink_sfu_published_tracks", "Tracks being published."),
		rateIn:           d("lecturelink_sfu_receive_bitrate_bps", "Measured bitrate of everything being published, bit/s."),
		packetsIn:        d("lecturelink_sfu_packets_in_total", "RTP packets received from publishers."),
		packetsOut:       d("lecturelink_sfu_packets_forwarded_total", "RTP packets sent to subscribers."),
		bytesOut:         d("lecturelink_sfu_bytes_forwarded_total", "RTP bytes sent to subscribers."),
		nacksIn:          d("lecturelink_sfu_nacks_received_total", "Packets subscribers asked to be resent (NACKed sequence numbers)."),
		nacksServed:      d("lecturelink_sfu_nacks_served_total", "Packets retransmitted from the SFU's cache."),
		nacksDropped:     d("lecturelink_sfu_nacks_dropped_total", "NACKed packets not resent: over the subscriber's retransmission budget."),
		rtcpErrors:       d("lecturelink_sfu_rtcp_errors_total", "Malformed RTCP from subscribers, skipped."),
		plisIn:           d("lecturelink_sfu_plis_received_total", "Picture loss indications (and FIRs) from subscribers."),
		keyframeRequests: d("lecturelink_sfu_keyframe_requests_total", "Keyframe requests (PLIs) sent to publishers, after throttling."),
		layerSwitches:    d("lecturelink_sfu_layer_switches_total", "Changes of a subscriber's video layer by the allocator, pauses and resumes included."),
		estimates: d("lecturelink_sfu_subscriber_bandwidth_bps",
			"Snapshot of the downlink bandwidth estimates in use, bit/s, of the peers whose link has shown a limit (recomputed at each scrape: use without rate())."),
		estimatesUnknown: d("lecturelink_sfu_subscribers_without_estimate", "Peers with no bandwidth estimate in use: their link has shown no limit yet (or their client sends no feedback)."),
		siteSubs:         d("lecturelink_site_subscribers", "Media peers at the site.", "site"),
		siteEst:          d("lecturelink_site_estimate_bps", "Sum of the bandwidth estimates of the site's peers, bit/s.", "site"),
		siteBudget:       d("lecturelink_site_budget_bps", "The site's configured downlink budget, bit/s (0: none).", "site"),
		siteRTT:          d("lecturelink_site_rtt_seconds", "Mean round-trip time from the site's peers' receiver reports.", "site"),
		siteRTTMax:       d("lecturelink_site_rtt_max_seconds", "Largest round-trip time among the site's peers' receiver reports.", "site"),
		siteLoss:         d("lecturelink_site_loss_ratio", "Mean fraction of packets lost (0-1) in the site's peers' latest receiver reports.", "site"),
	}
}

// Describe implements prometheus.Collector.
func (c *sfuCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.peers, c.tracks, c.rateIn, c.packetsIn, c.packetsOut, c.bytesOut,
		c.nacksIn, c.nacksServed, c.nacksDropped, c.rtcpErrors, c.plisIn, c.keyframeRequests, c.layerSwitches,
		c.estimates, c.estimatesUnknown, c.siteSubs, c.siteEst, c.siteBudget, c.siteRTT, c.siteRTTMax, c.siteLoss} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sfuCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.media.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.rooms, float64(st.Rooms))
	gauge(c.peers, float64(st.Peers))
	gauge(c.tracks, float64(st.PublishedTracks))
	gauge(c.rateIn, float64(c.media.ReceiveBitrate()))
	counter(c.packetsIn, st.PacketsIn)
	counter(c.packetsOut, st.PacketsForwarded)
	counter(c.bytesOut, st.BytesForwarded)
	counter(c.nacksIn, st.NACKsReceived)
	counter(c.nacksServed, st.NACKsServed)
	counter(c.nacksDropped, st.NACKsDropped)
	counter(c.rtcpErrors, st.RTCPErrors)
	counter(c.plisIn, st.PLIsReceived)
	counter(c.keyframeRequests, st.KeyframeRequests)
	counter(c.layerSwitches, st.LayerSwitches)

	est, unknown := c.media.Estimates(nil)
	ch <- estimateHistogram(c.estimates, c.buckets, est)
	gauge(c.estimatesUnknown, float64(unknown))

	for _, s := range c.media.SiteStats() {
		gauge(c.siteSubs, float64(s.Subscribers), s.Site)
		gauge(c.siteEst, float64(s.EstimateBps), s.Site)
		gauge(c.siteBudget, float64(s.BudgetBps), s.Site)
		// A site with no report yet has no RTT or loss: absent, not zero.
		if s.RTTReports > 0 {
			gauge(c.siteRTT, s.RTTMean.Seconds(), s.Site)
			gauge(c.siteRTTMax, s.RTTMax.Seconds(), s.Site)
		}
		if s.LossReports > 0 {
			gauge(c.siteLoss, s.LossMean, s.Site)
		}
	}
}

// estimateHistogram is the distribution of est over bounds, as a histogram
// built from this scrape's snapshot.
func estimateHistogram(d *prometheus.Desc, bounds []float64, est []uint64) prometheus.Metric {
	buckets := make(map[float64]uint64, len(bounds))
	var sum float64
	for _, b := range bounds {
		buckets[b] = 0
	}
	for _, e := range est {
		v := float64(e)
		sum += v
		for _, b := range bounds {
			if v <= b {
				buckets[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(d, uint64(len(est)), sum, buckets)
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
