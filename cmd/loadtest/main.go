// Command loadtest runs publishers and subscribers against a lecturelink
// server over its real protocol and reports delay, loss, join times and the
// server's cost per forwarded packet. See docs/performance.md, "Load
// generator".
//
//	loadtest -server http://localhost:8080 -admin admin:lecturelink -subscribers 50 -duration 20s
//
// With -whip and -whep it publishes and subscribes over WHIP (RFC 9725) and
// WHEP instead, to measure other SFUs the same way:
//
//	loadtest -whip http://sfu:8080/whip/room1 -whep http://sfu:8080/whep/room1 -bearer TOKEN -subscribers 50
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bomca/lecturelink/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status (0 done,
// 1 the run failed, 2 bad flags).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, jsonPath, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if err := rep.WriteTable(stdout); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if jsonPath != "" {
		if err := writeJSON(jsonPath, rep); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
	}
	return 0
}

func writeJSON(path string, rep *loadgen.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}

// parseFlags turns the command line into a validated Config. Usage goes to
// stderr only for -h; errors are returned as one line.
func parseFlags(args []string, stderr io.Writer) (loadgen.Config, string, error) {
	var (
		c                        loadgen.Config
		admin, lecturer, student string
		bitrate, audioBitrate    string
		jsonPath                 string
		verbose                  bool
	)
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Server, "server", "http://localhost:8080", "lecturelink base URL (not with -whip)")
	fs.StringVar(&c.MetricsURL, "metrics", "", "the server's Prometheus endpoint (default: <server>/metrics; with -whip: none unless given)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id, to read its CPU time from /proc (same machine)")
	fs.StringVar(&c.ServerDebug, "server-debug", "", "base URL of the server's Go profiler (lecturelink's -debug-addr), e.g. http://127.0.0.1:6060: forces a collection before the baseline and after the window to report exact live memory")
	fs.BoolVar(&c.SubRTCP, "sub-rtcp", true, "subscribers send a browser's RTCP: receiver reports, transport-cc feedback and NACKs (false: none)")
	fs.StringVar(&c.WHIP, "whip", "", "WHIP endpoint URL: publish over WHIP instead of lecturelink's protocol (no sign-in; one publisher, -layers 1)")
	fs.StringVar(&c.WHEP, "whep", "", "WHEP endpoint URL the subscribers receive from (needs -whip)")
	fs.StringVar(&c.Bearer, "bearer", "", "token sent as Authorization: Bearer to the WHIP and WHEP endpoints")
	fs.StringVar(&admin, "admin", "", "admin user:password; the tool creates a site, a lecturer, students and a lecture named after -prefix")
	fs.StringVar(&c.Prefix, "prefix", "loadtest", "name prefix of the site and accounts the tool creates")
	fs.IntVar(&c.Accounts, "accounts", 0, "student accounts the subscribers share in turn; 0: one per subscriber on a loopback server, else 8 (sign-ins are rate limited per address)")
	fs.StringVar(&c.Password, "password", "loadtest-password", "password of the accounts the tool creates")
	fs.IntVar(&c.LectureMinutes, "lecture-minutes", 60, "scheduled length of a lecture the tool creates")
	fs.StringVar(&c.LectureID, "lecture", "", "join this lecture instead of creating one (with -lecturer and -student)")
	fs.StringVar(&lecturer, "lecturer", "", "with -lecture: the lecturer's user:password (publishers)")
	fs.StringVar(&student, "student", "", "with -lecture: user:password every subscriber signs in as")
	fs.IntVar(&c.Subscribers, "subscribers", 10, fmt.Sprintf("subscribers (0-%d)", loadgen.MaxSubscribers))
	fs.IntVar(&c.Publishers, "publishers", 1, fmt.Sprintf("publishers, connections of the lecturer (0-%d)", loadgen.MaxPublishers))
	fs.StringVar(&bitrate, "bitrate", "1.5M", "video bitrate of the top layer, bit/s (k and M suffixes)")
	fs.IntVar(&c.FPS, "fps", 30, "video frames per second")
	fs.IntVar(&c.Layers, "layers", 3, "simulcast layers: 1 (one encoding) to 3 (RIDs q, h, f at 1/16, 1/4, 1 of -bitrate); 1 with -whip")
	fs.DurationVar(&c.KeyframeInterval, "keyframe-interval", 2*time.Second, "periodic keyframe interval (keyframes are also sent on PLI)")
	fs.StringVar(&audioBitrate, "audio-bitrate", "32k", "Opus bitrate, bit/s (20 ms packets)")
	fs.StringVar(&c.Prefer, "prefer", "", "video preference each subscriber sends: auto, low or audio-only")
	fs.DurationVar(&c.Ramp, "ramp", 5*time.Second, "spread the subscribers' joins over this time")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait after the last join before measuring")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "measurement window")
	fs.DurationVar(&c.Timeout, "timeout", 20*time.Second, "limit of each setup step (join, connect, first frame)")
	fs.BoolVar(&c.EndLecture, "end", false, "end the lecture when done (default: leave it live for the next run)")
	fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: loadtest [flags]")
			fs.PrintDefaults()
			return c, "", err
		}
		return c, "", err
	}
	if fs.NArg() > 0 {
		return c, "", fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["whip"] || set["whep"] {
		// Defaults of lecturelink's protocol that WHIP does not use.
		if !set["server"] {
			c.Server = ""
		}
		if !set["layers"] {
			c.Layers = 1
		}
	}
	var err error
	if admin != "" {
		if c.AdminUser, c.AdminPassword, err = loadgen.SplitCredentials("admin", admin); err != nil {
			return c, "", err
		}
	}
	if lecturer != "" {
		if c.LecturerUser, c.LecturerPassword, err = loadgen.SplitCredentials("lecturer", lecturer); err != nil {
			return c, "", err
		}
	}
	if student != "" {
		if c.StudentUser, c.StudentPassword, err = loadgen.SplitCredentials("student", student); err != nil {
			return c, "", err
		}
	}
	if c.Bitrate, err = parseRate("bitrate", bitrate); err != nil {
		return c, "", err
	}
	if c.AudioBitrate, err = parseRate("audio-bitrate", audioBitrate); err != nil {
		return c, "", err
	}
	if verbose {
		c.Log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if err := c.Validate(); err != nil {
		return c, "", err
	}
	return c, jsonPath, nil
}

// parseRate reads a bit rate such as 1500000, 1.5M or 32k.
func parseRate(name, s string) (int, error) {
	mult := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "M"):
		mult, num = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "k"):
		mult, num = 1e3, strings.TrimSuffix(s, "k")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*mult > 1e9 {
		return 0, fmt.Errorf("-%s %q: want a bit rate such as 1.5M or 32k", name, s)
	}
	return int(f * mult), nil
}
