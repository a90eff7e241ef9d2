package loadgen

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config is one load run. Zero values of optional fields take defaults in
// Validate.
type Config struct {
	// Server is the lecturelink base URL, e.g. http://localhost:8080.
	Server string
	// MetricsURL is the server's Prometheus endpoint; default Server/metrics.
	MetricsURL string
	// ServerPID, if set, is read for CPU time from /proc/<pid>/stat
	// (same machine only); otherwise process_cpu_seconds_total is used.
	ServerPID int

	// Admin mode: with AdminUser set, the tool creates (or reuses) a site,
	// a lecturer and Accounts students named after Prefix, all with
	// Password, and a lecture it starts.
	AdminUser, AdminPassword string
	// Accounts is how many student accounts the subscribers share, in turn
	// (a student may have several connections). 0: one per subscriber when
	// the server is on loopback, else 8, because the server allows 10
	// sign-ins per client address before slowing to one per 6 s, and the
	// admin and the lecturer take two.
	Accounts       int
	Prefix         string
	Password       string
	LectureMinutes int

	// Explicit mode: LectureID with LecturerUser/LecturerPassword (needed
	// when Publishers > 0) and StudentUser/StudentPassword, one account
	// that every subscriber connection signs in as.
	LectureID                      string
	LecturerUser, LecturerPassword string
	StudentUser, StudentPassword   string

	Subscribers int
	Publishers  int

	// Media of each publisher: Bitrate (bit/s) is the top layer's; with
	// Layers 3 the encodings are q (1/16), h (1/4) and f.
	Bitrate          int
	FPS              int
	Layers           int
	KeyframeInterval time.Duration
	AudioBitrate     int
	// Prefer, if not empty, is sent as each subscriber's video preference
	// (auto, low or audio-only).
	Prefer string

	// Ramp spreads the subscribers' joins; Settle waits after the last
	// join before measuring for Duration. Timeout bounds each step of a
	// participant's setup (join, connect, first frame).
	Ramp, Settle, Duration, Timeout time.Duration
	// EndLecture ends the lecture when done; by default it stays live so
	// that the next run reuses it.
	EndLecture bool

	// Log receives progress; nil discards.
	Log *slog.Logger

	base *url.URL
}

// Limits keep a run bounded whatever the flags say.
const (
	MaxSubscribers = 2000
	MaxPublishers  = 8
	MaxDuration    = time.Hour
	MaxRamp        = 10 * time.Minute
)

var prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,19}$`)

// Validate checks c and fills in defaults. Every error is one line naming
// the flag at fault.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Server)
	switch {
	case c.Server == "":
		return errors.New("-server is required, e.g. -server http://localhost:8080")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("-server %q: want http://host:port or https://host:port", c.Server)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	c.base = u
	if c.MetricsURL == "" {
		c.MetricsURL = u.String() + "/metrics"
	} else if m, err := url.Parse(c.MetricsURL); err != nil || (m.Scheme != "http" && m.Scheme != "https") || m.Host == "" {
		return fmt.Errorf("-metrics %q: want an http(s) URL", c.MetricsURL)
	}
	if c.ServerPID < 0 {
		return fmt.Errorf("-server-pid %d: want a process id", c.ServerPID)
	}

	admin, explicit := c.AdminUser != "", c.LectureID != ""
	switch {
	case admin && explicit:
		return errors.New("-admin and -lecture exclude each other: the admin mode creates its own lecture")
	case !admin && !explicit:
		return errors.New("give -admin user:password (the tool creates accounts and a lecture) or -lecture ID with -student user:password")
	case admin:
		if c.Prefix == "" {
			c.Prefix = "loadtest"
		}
		if !prefixRE.MatchString(c.Prefix) {
			return fmt.Errorf("-prefix %q: want 1-20 of a-z, 0-9, _ and -, starting with a letter or digit", c.Prefix)
		}
		if len(c.Password) < 8 {
			return errors.New("-password: at least 8 characters (the server's rule)")
		}
		if c.LectureMinutes == 0 {
			c.LectureMinutes = 60
		}
		if c.LectureMinutes < 5 || c.LectureMinutes > 720 {
			return fmt.Errorf("-lecture-minutes %d: want 5 to 720", c.LectureMinutes)
		}
	case explicit:
		if c.Subscribers > 0 && c.StudentUser == "" {
			return errors.New("-lecture needs -student user:password for the subscribers")
		}
		if c.Publishers > 0 && c.LecturerUser == "" {
			return errors.New("-lecture with -publishers > 0 needs -lecturer user:password")
		}
	}

	switch {
	case c.Accounts < 0 || c.Accounts > MaxSubscribers:
		return fmt.Errorf("-accounts %d: want 0 (automatic) to %d", c.Accounts, MaxSubscribers)
	case c.Subscribers < 0 || c.Subscribers > MaxSubscribers:
		return fmt.Errorf("-subscribers %d: want 0 to %d", c.Subscribers, MaxSubscribers)
	case c.Publishers < 0 || c.Publishers > MaxPublishers:
		return fmt.Errorf("-publishers %d: want 0 to %d", c.Publishers, MaxPublishers)
	case c.Publishers == 0 && c.Subscribers == 0:
		return errors.New("nothing to do: -publishers and -subscribers are both 0")
	case c.Publishers == 0 && admin:
		return errors.New("-publishers 0 needs -lecture (a live lecture someone else publishes to)")
	case c.Bitrate < 50_000 || c.Bitrate > 8_000_000:
		return fmt.Errorf("-bitrate %d: want 50k to 8M bit/s", c.Bitrate)
	case c.FPS < 1 || c.FPS > 60:
		return fmt.Errorf("-fps %d: want 1 to 60", c.FPS)
	case c.Layers < 1 || c.Layers > 3:
		return fmt.Errorf("-layers %d: want 1 (no simulcast) to 3 (q, h, f)", c.Layers)
	case c.KeyframeInterval < 100*time.Millisecond || c.KeyframeInterval > time.Minute:
		return fmt.Errorf("-keyframe-interval %v: want 100ms to 1m", c.KeyframeInterval)
	case c.AudioBitrate < 6_000 || c.AudioBitrate > 510_000:
		return fmt.Errorf("-audio-bitrate %d: want 6k to 510k bit/s (Opus)", c.AudioBitrate)
	case c.Prefer != "" && c.Prefer != "auto" && c.Prefer != "low" && c.Prefer != "audio-only":
		return fmt.Errorf("-prefer %q: want auto, low or audio-only", c.Prefer)
	case c.Ramp < 0 || c.Ramp > MaxRamp:
		return fmt.Errorf("-ramp %v: want 0 to %v", c.Ramp, MaxRamp)
	case c.Duration < time.Second || c.Duration > MaxDuration:
		return fmt.Errorf("-duration %v: want 1s to %v", c.Duration, MaxDuration)
	case c.Settle < 0 || c.Settle > time.Minute:
		return fmt.Errorf("-settle %v: want 0 to 1m", c.Settle)
	case c.Timeout < time.Second || c.Timeout > 5*time.Minute:
		return fmt.Errorf("-timeout %v: want 1s to 5m", c.Timeout)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// SplitCredentials parses "user:password" (the password may hold colons).
func SplitCredentials(flagName, s string) (user, password string, err error) {
	user, password, ok := strings.Cut(s, ":")
	if !ok || user == "" || password == "" {
		return "", "", fmt.Errorf("-%s: want user:password", flagName)
	}
	return user, password, nil
}
