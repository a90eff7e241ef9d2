package signaling

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the signaling server's Prometheus instruments.
type metrics struct {
	connections  prometheus.Gauge
	messages     *prometheus.CounterVec
	sent         *prometheus.CounterVec
	errors       *prometheus.CounterVec
	forbidden    prometheus.Counter
	attendance   *prometheus.CounterVec
	httpRequests *prometheus.CounterVec
	httpDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lecturelink_ws_connections", Help: "Open WebSocket connections."}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_ws_messages_total", Help: "WebSocket messages received, by type."}, []string{"type"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_ws_messages_sent_total", Help: "WebSocket messages queued for clients, by type."}, []string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_ws_errors_total", Help: "Errors sent to WebSocket clients, by code."}, []string{"code"}),
		forbidden: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lecturelink_forbidden_total", Help: "Actions refused because of the caller's role."}),
		attendance: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_attendance_events_total", Help: "Attendance events recorded, by kind and result."}, []string{"kind", "result"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_http_requests_total", Help: "HTTP requests, by method and status class."}, []string{"method", "class"}),
		httpDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lecturelink_http_request_seconds", Help: "HTTP request latency (WebSocket upgrades excluded).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.messages, m.sent, m.errors, m.forbidden, m.attendance, m.httpRequests, m.httpDuration} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, err
			}
		}
	}
	return m, nil
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrader's hijack) reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts requests by status class and times those that are not upgrades.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			// Hijacked connections have no meaningful status or duration.
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.httpDuration.Observe(time.Since(start).Seconds())
		m.httpRequests.WithLabelValues(r.Method, strconv.Itoa(rec.status/100)+"xx").Inc()
	})
}

// sentType is the type of an encoded server message: every server message
// struct has Type as its first field. The types are the server's own, so
// the label stays bounded.
func sentType(b []byte) string {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return "other"
	}
	rest := b[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i > 0 && i <= 32 {
		return string(rest[:i])
	}
	return "other"
}
