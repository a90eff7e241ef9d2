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
	// ServerDebug, if set, is the base URL of the server's net/http/pprof
	// listener (e.g. http://127.0.0.1:6060). Before the baseline and after
	// the window the tool forces a collection there
	// (/debug/pprof/heap?gc=1) and reads the live heap and stacks.
	ServerDebug string

	// WHIP mode: WHIP is the endpoint publishers POST their offer to
	// (RFC 9725) and WHEP the endpoint subscribers POST a receive-only
	// offer to; Bearer, if set, is sent as "Authorization: Bearer".
	// There is no sign-in, lecture or WebSocket, and server figures come
	// only from MetricsURL and ServerPID when given.
	WHIP, WHEP, Bearer string

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
	// SubRTCP gives subscribers a browser's RTCP: receiver reports,
	// transport-wide congestion control feedback and NACKs. Off, they send
	// none (only what pion's DTLS/SRTP needs).
	SubRTCP bool

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
	if c.WHIP != "" || c.WHEP != "" {
		if err := c.validateWHIP(); err != nil {
			return err
		}
	} else if err := c.validateLecturelink(); err != nil {
		return err
	}
	if c.MetricsURL != "" {
		if m, err := url.Parse(c.MetricsURL); err != nil || (m.Scheme != "http" && m.Scheme != "https") || m.Host == "" {
			return fmt.Errorf("-metrics %q: want an http(s) URL", c.MetricsURL)
		}
	}
	if c.ServerPID < 0 {
		return fmt.Errorf("-server-pid %d: want a process id", c.ServerPID)
	}
	if c.ServerDebug != "" {
		d, err := url.Parse(c.ServerDebug)
		if err != nil || (d.Scheme != "http" && d.Scheme != "https") || d.Host == "" || (d.Path != "" && d.Path != "/") || d.RawQuery != "" {
			return fmt.Errorf("-server-debug %q: want the profiler listener's base URL, e.g. http://127.0.0.1:6060", c.ServerDebug)
		}
		c.ServerDebug = strings.TrimSuffix(c.ServerDebug, "/")
	}
	if c.Bearer != "" {
		if c.WHIP == "" && c.WHEP == "" {
			return errors.New("-bearer is for -whip and -whep")
		}
		if strings.ContainsFunc(c.Bearer, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return errors.New("-bearer: the token may not hold spaces or control characters")
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
	case c.Publishers == 0 && c.AdminUser != "":
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

// validateLecturelink checks the flags of lecturelink's own protocol: the
// server, and the admin or the explicit lecture.
func (c *Config) validateLecturelink() error {
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
	}

	admin, explicit := c.AdminUser != "", c.LectureID != ""
	switch {
	case admin && explicit:
		return errors.New("-admin and -lecture exclude each other: the admin mode creates its own lecture")
	case !admin && !explicit:
		return errors.New("give -admin user:password (the tool creates accounts and a lecture) or -lecture ID with -student user:password, or -whip URL")
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
	return nil
}

// validateWHIP checks the WHIP/WHEP mode. The subscribers measure only
// the stamped media this tool publishes, so -whep needs -whip; one
// publisher sends one encoding (no simulcast), and nothing of
// lecturelink's own protocol applies.
func (c *Config) validateWHIP() error {
	var err error
	if c.WHIP != "" {
		if c.base, err = endpointURL("whip", c.WHIP); err != nil {
			return err
		}
	}
	if c.WHEP != "" {
		if _, err := endpointURL("whep", c.WHEP); err != nil {
			return err
		}
	}
	switch {
	case c.WHIP == "":
		return errors.New("-whep needs -whip: subscribers measure only the media this tool publishes")
	case c.Server != "":
		return errors.New("-server is for lecturelink's own protocol; with -whip give -metrics URL for server figures")
	case c.AdminUser != "" || c.LectureID != "" || c.LecturerUser != "" || c.StudentUser != "":
		return errors.New("-whip excludes -admin, -lecture, -lecturer and -student: WHIP has no sign-in")
	case c.Prefer != "":
		return errors.New("-prefer is lecturelink's signaling; WHEP has no video preference")
	case c.EndLecture:
		return errors.New("-end is for lecturelink's lectures; a WHIP session ends with its DELETE")
	case c.Publishers != 1:
		return fmt.Errorf("-publishers %d: -whip takes exactly 1 publisher", c.Publishers)
	case c.Layers != 1:
		return fmt.Errorf("-layers %d: -whip sends one encoding; use -layers 1", c.Layers)
	case c.Subscribers > 0 && c.WHEP == "":
		return errors.New("-whip with -subscribers > 0 needs -whep URL (or -subscribers 0)")
	}
	return nil
}

// endpointURL parses a WHIP or WHEP endpoint.
func endpointURL(flagName, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("-%s %q: want an http(s) endpoint URL such as http://host:port/whip", flagName, s)
	}
	return u, nil
}

// SplitCredentials parses "user:password" (the password may hold colons).
func SplitCredentials(flagName, s string) (user, password string, err error) {
	user, password, ok := strings.Cut(s, ":")
	if !ok || user == "" || password == "" {
		return "", "", fmt.Errorf("-%s: want user:password", flagName)
	}
	return user, password, nil
}
