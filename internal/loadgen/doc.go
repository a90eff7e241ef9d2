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
// Prometheus /metrics and, optionally, /proc/<pid>/stat.
//
// The receive path is built to be cheap, so that a few hundred subscribers
// fit on the machine that runs the server: one webrtc.API with an empty
// interceptor registry, one reused buffer per track, RTP headers parsed by
// hand and measurements kept in per-track histograms without locks.
package loadgen
