// Package loadgen is lecturelink's load generator: it signs in over the
// HTTP API, joins a lecture over the WebSocket protocol of docs/protocol.md
// and runs publishers and subscribers as real pion peers in one process.
//
// Publishers send synthetic VP8 (RFC 7741 payloads with real frame headers,
// optionally simulcast with RIDs q, h and f) and Opus-shaped audio. Every
// payload ends with a stamp (see stamp.go) carrying a sequence number and the
// send time on this process's monotonic clock, so a subscriber measures
// one-way delay through the server, loss and time to first frame with the
// same clock the publisher used. Server-side cost comes from the server's
// Prometheus /metrics (the SFU's forwarding-delay histogram included),
// optionally /proc/<pid>/stat, and, with Config.ServerDebug, the server's
// profiler, through which the tool forces a collection to read the exact
// live heap.
//
// Subscribers send a browser's RTCP by default (receiver reports,
// transport-wide congestion control feedback, NACKs; Config.SubRTCP), so the
// server does the work it does for real viewers. With Config.WHIP the same
// publishers and subscribers use WHIP and WHEP instead of lecturelink's
// signaling (whip.go), to measure other SFUs the same way.
//
// The receive path is built to be cheap, so that a few hundred subscribers
// fit on the machine that runs the server: one reused buffer per track, RTP
// headers parsed by hand, measurements kept in per-track histograms without
// locks, and pion's RTCP interceptors fed one reused parsed header per
// stream (headerCache in media.go).
package loadgen
