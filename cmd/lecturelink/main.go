// Command lecturelink runs the whole lecturelink server: the web app, the
// HTTP API and WebSocket signaling, and the SFU, on one address.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // site time zones must not depend on the host's zone files

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/chat"
	"github.com/bomca/lecturelink/demo"
	"github.com/bomca/lecturelink/floor"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
	"github.com/bomca/lecturelink/signaling"
	"github.com/bomca/lecturelink/web"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lecturelink:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("lecturelink stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled, then shuts down in order: stop taking
// requests, disconnect clients (recording their leaves), close media, close
// storage. ready, if not nil, receives the listening address.
func run(ctx context.Context, cfg config, log *slog.Logger, ready chan<- string) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rdb, isDemo, closeRedis, err := openRedis(ctx, log, cfg.RedisURL, newRedisMetrics(reg))
	if err != nil {
		return err
	}
	defer closeRedis()

	sched := schedule.NewStore(rdb, schedule.Options{})
	accounts := account.NewStore(rdb, account.Options{SiteExists: signaling.SiteExists(sched)})
	att := attendance.NewStore(rdb, attendance.Options{})

	if isDemo {
		sum, err := demo.Seed(ctx, accounts, sched, time.Now())
		if err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
		warnDemo(log, sum)
	}

	media, err := sfu.New(sfu.Config{
		Logger:          log.With("component", "sfu"),
		IncludeLoopback: cfg.ICELoopback,
		UDPMux:          cfg.UDPPort >= 0,
		UDPMuxPort:      uint16(max(cfg.UDPPort, 0)),
		FanoutWriters:   cfg.FanoutWriters,
		UDPPortMin:      cfg.UDPPortMin,
		UDPPortMax:      cfg.UDPPortMax,
		NAT1To1IPs:      cfg.PublicIPs,
		ICEServers:      []webrtc.ICEServer{},
	})
	if err != nil {
		return fmt.Errorf("starting media server: %w", err)
	}
	defer media.Close()
	if p := media.UDPPort(); p != 0 {
		log.Info("media on one UDP port", "port", p)
	}

	registerSFUMetrics(reg, media)

	var writer signaling.AttendanceWriter = att
	var rec *attendance.Recorder
	if !isDemo {
		// The demo's in-process Redis cannot be unavailable: no outbox.
		rec, err = openOutbox(ctx, log, att, cfg.OutboxDir)
		if err != nil {
			return err
		}
		defer rec.Close(context.Background()) // no-op after the orderly close below
		writer = rec
		registerOutboxMetrics(reg, rec)
	}

	srv, err := signaling.New(signaling.Config{
		Logger:           log,
		Accounts:         accounts,
		Schedule:         sched,
		Attendance:       att,
		AttendanceWriter: writer,
		PingInterval:     cfg.PingInterval,
		TouchInterval:    cfg.TouchInterval,
		SFU:              media,
		Chat:             chat.NewStore(rdb, chat.Options{}),
		Floor:            floor.NewStore(rdb, floor.Options{}),
		Web:              web.Files(),
		Ready:            func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Metrics:          reg,
		AllowedOrigins:   cfg.AllowedOrigins,
		StartEarly:       cfg.StartEarly,
		InsecureCookies:  cfg.InsecureCookie,

		ResumeGrace:         cfg.ResumeGrace,
		AllowDuplicateJoins: cfg.AllowDuplicateJoins,

		MaxLectureParticipants: cfg.MaxLectureParticipants,
		MaxMediaPeers:          cfg.MaxMediaPeers,
	})
	if err != nil {
		return err
	}
	if err := srv.Recover(ctx); err != nil {
		return err
	}
	if err := srv.ApplySiteBudgets(ctx); err != nil {
		return err
	}
	outboxDone := make(chan struct{})
	outboxCtx, stopOutbox := context.WithCancel(context.Background())
	defer stopOutbox()
	if rec != nil {
		go func() { rec.Run(outboxCtx); close(outboxDone) }()
	} else {
		close(outboxDone)
	}

	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", metrics)
	}
	mux.Handle("/", srv.Handler())

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 3)
	go func() {
		if cfg.TLSCert != "" {
			errc <- hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	var ms *http.Server
	if cfg.MetricsAddr != "" {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metrics)
		ms = &http.Server{Addr: cfg.MetricsAddr, Handler: mm, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.ListenAndServe() }()
	}
	var ds *http.Server
	if cfg.DebugAddr != "" {
		ds = &http.Server{Addr: cfg.DebugAddr, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ds.ListenAndServe() }()
		log.Info("profiler listening", "addr", cfg.DebugAddr)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, displayAddr(ln.Addr().String(), cfg.Addr))
	log.Info("lecturelink is running", "url", url)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server failed", "err", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if ms != nil {
		ms.Shutdown(sctx)
	}
	if ds != nil {
		ds.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("disconnecting clients", "err", err)
	}
	// The leaves just recorded may be in the outbox: one last replay.
	stopOutbox()
	<-outboxDone
	if rec != nil {
		if err := rec.Close(sctx); err != nil {
			log.Warn("attendance outbox not empty at exit; it is replayed at the next start", "err", err)
		}
	}
	log.Info("stopped")
	return nil
}

// openOutbox opens the attendance outbox and replays what an earlier run
// left in it. That must happen before Server.Recover, so that connections
// opened during an outage are known when open intervals are closed.
func openOutbox(ctx context.Context, log *slog.Logger, att *attendance.Store, dir string) (*attendance.Recorder, error) {
	rec, err := attendance.NewRecorder(att, attendance.OutboxOptions{Dir: dir, Logger: log.With("component", "outbox")})
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rec.Drain(dctx); err != nil {
		rec.Close(context.Background())
		return nil, fmt.Errorf("replaying the attendance outbox in %s: %w", dir, err)
	}
	log.Info("attendance outbox ready", "dir", dir)
	return rec, nil
}

// displayAddr prefers the configured host name (e.g. localhost, which
// browsers treat as a secure context) over the resolved IP.
func displayAddr(listening, configured string) string {
	host, _, err := net.SplitHostPort(configured)
	_, port, err2 := net.SplitHostPort(listening)
	if err != nil || err2 != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return listening
	}
	return net.JoinHostPort(host, port)
}

// warnDemo says, loudly, that the demo store keeps nothing.
func warnDemo(log *slog.Logger, sum demo.Summary) {
	bar := strings.Repeat("!", 72)
	log.Warn(bar)
	log.Warn("NO REDIS CONFIGURED: running on an in-memory demo store. NOTHING IS PERSISTED;")
	log.Warn("every lecture, account and attendance record is lost when the process stops.")
	log.Warn("Set REDIS_URL (or -redis) to use a real Redis.")
	log.Warn("demo accounts (password: "+demo.Password+")", "accounts", sum.String())
	log.Warn(bar)
}
