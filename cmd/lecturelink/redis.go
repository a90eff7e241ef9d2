package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// universalOptions turns a Redis URL into client options: a plain URL is a
// single server, ?master_name= selects Sentinel, several ?addr= a Cluster.
func universalOptions(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel URL: %w", err)
		}
		return &redis.UniversalOptions{
			Addrs: o.SentinelAddrs, MasterName: o.MasterName, DB: o.DB,
			Username: o.Username, Password: o.Password,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
			TLSConfig: o.TLSConfig,
		}, nil
	case len(q["addr"]) > 0:
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis cluster URL: %w", err)
		}
		return &redis.UniversalOptions{
			Addrs: o.Addrs, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, IsClusterMode: true,
		}, nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		return &redis.UniversalOptions{
			Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig,
		}, nil
	}
}

// openRedis connects to the configured Redis, or starts an in-process one
// when none is configured. The returned stop function releases it. hook,
// if not nil, is added to the client (metrics).
func openRedis(ctx context.Context, log *slog.Logger, redisURL string, hook redis.Hook) (rdb redis.UniversalClient, demo bool, stop func(), err error) {
	if redisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, false, nil, fmt.Errorf("starting in-memory redis: %w", err)
		}
		client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{mr.Addr()}})
		if hook != nil {
			client.AddHook(hook)
		}
		return client, true, func() { client.Close(); mr.Close() }, nil
	}
	opts, err := universalOptions(redisURL)
	if err != nil {
		return nil, false, nil, err
	}
	client := redis.NewUniversalClient(opts)
	if hook != nil {
		client.AddHook(hook)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, false, nil, fmt.Errorf("redis at %s does not answer: %w", redactURL(redisURL), err)
	}
	log.Info("using redis", "url", redactURL(redisURL))
	return client, false, func() { client.Close() }, nil
}

// redactURL hides the password of a Redis URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redisMetrics times every Redis command and pipeline the stores send, as
// a go-redis hook on the one client they share.
type redisMetrics struct {
	latency *prometheus.HistogramVec
	errors  *prometheus.CounterVec
}

func newRedisMetrics(reg prometheus.Registerer) *redisMetrics {
	m := &redisMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lecturelink_redis_seconds",
			Help: "Latency of Redis commands and pipelines, by command (\"pipeline\" for a pipeline or transaction).",
			// From a loopback round trip to a struggling remote Redis.
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lecturelink_redis_errors_total",
			Help: "Redis commands and pipelines that failed (a missing key is not a failure), by command.",
		}, []string{"op"}),
	}
	reg.MustRegister(m.latency, m.errors)
	return m
}

// DialHook implements redis.Hook.
func (m *redisMetrics) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook. The op label is the command's name:
// the stores use a fixed set of commands, so it stays bounded.
func (m *redisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		m.observe(cmd.Name(), start, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (m *redisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.observe("pipeline", start, err)
		return err
	}
}

func (m *redisMetrics) observe(op string, start time.Time, err error) {
	m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, redis.Nil) {
		m.errors.WithLabelValues(op).Inc()
	}
}
