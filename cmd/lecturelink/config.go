package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// config is everything the server reads from flags and the environment.
// A flag wins over its environment variable, which wins over the default.
type config struct {
	Addr        string
	RedisURL    string
	MetricsAddr string
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) there;
	// it must stay on a private address.
	DebugAddr string
	TLSCert   string
	TLSKey    string
	PublicIPs []string
	// UDPPort is the one UDP port all media uses (0: any free port); -1
	// gives each connection its own ports, within UDPPortMin/Max.
	UDPPort int
	// FanoutWriters: writer goroutines per large track (sfu.Config).
	FanoutWriters  int
	UDPPortMin     uint16
	UDPPortMax     uint16
	ICELoopback    bool
	AllowedOrigins []string
	StartEarly     time.Duration
	LogLevel       slog.Level
	InsecureCookie bool
	// OutboxDir holds the attendance outbox, where attendance waits while
	// Redis is unavailable (see docs/attendance-durability.md).
	OutboxDir string
	// PingInterval and TouchInterval are for tests (zero: signaling's defaults).
	PingInterval  time.Duration
	TouchInterval time.Duration
	// ResumeGrace is how long a dropped participant keeps its place (zero:
	// signaling's default); AllowDuplicateJoins lets one user be in a
	// lecture from several connections (load tests with shared accounts).
	ResumeGrace         time.Duration
	AllowDuplicateJoins bool
	// MaxLectureParticipants and MaxMediaPeers shed new joins past them
	// (0: unlimited; see signaling.Config).
	MaxLectureParticipants int
	MaxMediaPeers          int
}

// parseConfig reads args (without the program name) and the environment.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var (
		c                       config
		publicIPs, origins, ups string
		logLevel                string
	)
	fs := flag.NewFlagSet("lecturelink", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", env("LECTURELINK_ADDR", "localhost:8080"), "HTTP listen address host:port (env LECTURELINK_ADDR)")
	fs.StringVar(&c.RedisURL, "redis", env("REDIS_URL", ""), "Redis URL: redis://host:port/db, rediss:// for TLS, ?master_name=NAME for Sentinel, ?addr=host:port&addr=... for Cluster; empty runs an in-memory demo store (env REDIS_URL)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("LECTURELINK_METRICS_ADDR", ""), "separate listen address for /metrics; empty serves it on -addr (env LECTURELINK_METRICS_ADDR)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("LECTURELINK_DEBUG_ADDR", ""), "listen address for Go's profiler at /debug/pprof/, e.g. 127.0.0.1:6060; keep it private; empty: off (env LECTURELINK_DEBUG_ADDR)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("LECTURELINK_TLS_CERT", ""), "TLS certificate file; with -tls-key serves HTTPS (env LECTURELINK_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("LECTURELINK_TLS_KEY", ""), "TLS key file (env LECTURELINK_TLS_KEY)")
	fs.StringVar(&publicIPs, "public-ip", env("LECTURELINK_PUBLIC_IP", ""), "comma-separated public IPs to advertise for media behind 1:1 NAT (env LECTURELINK_PUBLIC_IP)")
	fs.IntVar(&c.UDPPort, "udp-port", 0, "the one UDP port all media uses, for every connection (0: any free port; -1: a port per connection, see -udp-ports) (env LECTURELINK_UDP_PORT)")
	fs.IntVar(&c.FanoutWriters, "fanout-writers", 0, "writer goroutines that share the fan-out of a track with more than 32 subscribers (0: none; up to 8; helps on machines with cores to spare)")
	fs.StringVar(&ups, "udp-ports", env("LECTURELINK_UDP_PORTS", ""), "UDP port range for media, e.g. 40000-40199; empty uses any (env LECTURELINK_UDP_PORTS)")
	fs.BoolVar(&c.ICELoopback, "ice-loopback", env("LECTURELINK_ICE_LOOPBACK", "false") == "true", "also offer loopback media candidates (tests, single-machine demos) (env LECTURELINK_ICE_LOOPBACK=true)")
	fs.StringVar(&origins, "allowed-origins", env("LECTURELINK_ALLOWED_ORIGINS", ""), "comma-separated extra origins allowed to use the API and WebSocket (env LECTURELINK_ALLOWED_ORIGINS)")
	fs.DurationVar(&c.StartEarly, "start-early", 15*time.Minute, "how long before its scheduled time a lecture may be started")
	fs.StringVar(&logLevel, "log-level", env("LECTURELINK_LOG_LEVEL", "info"), "debug, info, warn or error (env LECTURELINK_LOG_LEVEL)")
	fs.BoolVar(&c.InsecureCookie, "insecure-cookie", false, "send the session cookie without Secure (plain HTTP on a non-localhost name; never in production)")
	fs.StringVar(&c.OutboxDir, "outbox", env("LECTURELINK_OUTBOX", "lecturelink-outbox"), "directory of the durable attendance outbox used while Redis is unavailable; must be writable and on local disk (env LECTURELINK_OUTBOX)")
	fs.DurationVar(&c.PingInterval, "ping-interval", 0, "WebSocket ping interval (tests; default 10s)")
	fs.DurationVar(&c.TouchInterval, "touch-interval", 0, "how often a connection's sign of life is written to attendance (tests; default 15s)")
	fs.DurationVar(&c.ResumeGrace, "resume-grace", 0, "how long a participant whose connection dropped keeps its place for a resume (default 30s; negative: none)")
	fs.BoolVar(&c.AllowDuplicateJoins, "allow-duplicate-joins", false, "let one user join a lecture from several connections at once (load tests with shared accounts)")
	fs.IntVar(&c.MaxLectureParticipants, "max-lecture-participants", envInt(getenv, "LECTURELINK_MAX_LECTURE_PARTICIPANTS"), "refuse newcomers to a lecture with this many participants, its lecturer and admins not counted, with lecture_full; 0 = unlimited (env LECTURELINK_MAX_LECTURE_PARTICIPANTS)")
	fs.IntVar(&c.MaxMediaPeers, "max-media-peers", envInt(getenv, "LECTURELINK_MAX_MEDIA_PEERS"), "refuse newcomers with server_busy when the server holds this many participants across all lectures (lecturers and admins still get into their own); 0 = unlimited (env LECTURELINK_MAX_MEDIA_PEERS)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	udpPortSet := false
	fs.Visit(func(f *flag.Flag) { udpPortSet = udpPortSet || f.Name == "udp-port" })
	if v := getenv("LECTURELINK_UDP_PORT"); v != "" && !udpPortSet {
		p, err := strconv.Atoi(v)
		if err != nil {
			return config{}, fmt.Errorf("LECTURELINK_UDP_PORT %q: want a port number, 0 or -1", v)
		}
		c.UDPPort, udpPortSet = p, true
	}
	if c.FanoutWriters < 0 || c.FanoutWriters > 8 {
		return config{}, fmt.Errorf("-fanout-writers %d: want 0 to 8", c.FanoutWriters)
	}
	if c.UDPPort < -1 || c.UDPPort > 65535 {
		return config{}, fmt.Errorf("-udp-port %d: want a port number, 0 (any free port) or -1 (a port per connection)", c.UDPPort)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return config{}, fmt.Errorf("-log-level: %w", err)
	}
	if c.MaxLectureParticipants < 0 || c.MaxMediaPeers < 0 {
		return config{}, errors.New("-max-lecture-participants and -max-media-peers must be 0 (unlimited) or more")
	}
	for _, name := range []string{"LECTURELINK_MAX_LECTURE_PARTICIPANTS", "LECTURELINK_MAX_MEDIA_PEERS"} {
		if raw := getenv(name); raw != "" {
			if _, err := strconv.Atoi(raw); err != nil {
				return config{}, fmt.Errorf("%s=%q: want a whole number", name, raw)
			}
		}
	}
	c.PublicIPs = splitList(publicIPs)
	c.AllowedOrigins = splitList(origins)
	if ups != "" {
		lo, hi, ok := strings.Cut(ups, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
			return config{}, fmt.Errorf("-udp-ports %q: want LOW-HIGH, e.g. 40000-40199", ups)
		}
		c.UDPPortMin, c.UDPPortMax = uint16(a), uint16(b)
		// A port range means a port per connection, unless a single
		// port was asked for too, which contradicts it.
		if udpPortSet && c.UDPPort != -1 {
			return config{}, errors.New("-udp-port and -udp-ports exclude each other: one shared port, or a range of ports per connection")
		}
		c.UDPPort = -1
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return config{}, errors.New("-tls-cert and -tls-key go together")
	}
	return c, nil
}

// envInt is the integer in the environment variable name, or 0 when it is
// unset or not a number (parseConfig then reports the bad value).
func envInt(getenv func(string) string, name string) int {
	n, err := strconv.Atoi(getenv(name))
	if err != nil {
		return 0
	}
	return n
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
