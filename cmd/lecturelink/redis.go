package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
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
// when none is configured. The returned stop function releases it.
func openRedis(ctx context.Context, log *slog.Logger, redisURL string) (rdb redis.UniversalClient, demo bool, stop func(), err error) {
	if redisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, false, nil, fmt.Errorf("starting in-memory redis: %w", err)
		}
		client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{mr.Addr()}})
		return client, true, func() { client.Close(); mr.Close() }, nil
	}
	opts, err := universalOptions(redisURL)
	if err != nil {
		return nil, false, nil, err
	}
	client := redis.NewUniversalClient(opts)
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
