package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFlagErrors: every bad command line gets one line on stderr naming
// the flag, exit status 2, and no run.
func TestFlagErrors(t *testing.T) {
	admin := []string{"-admin", "admin:pw"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "give -admin user:password"},
		{[]string{"-admin", "admin"}, "-admin: want user:password"},
		{[]string{"-admin", ":pw"}, "-admin: want user:password"},
		{[]string{"-admin", "a:b", "-lecture", "lec_1"}, "exclude each other"},
		{[]string{"-lecture", "lec_1"}, "-lecture needs -student"},
		{[]string{"-lecture", "lec_1", "-student", "s:p"}, "needs -lecturer"},
		{append([]string{"-server", "localhost:8080"}, admin...), `-server "localhost:8080": want http://`},
		{append([]string{"-server", "ftp://x"}, admin...), "-server"},
		{append([]string{"-subscribers", "-1"}, admin...), "-subscribers -1"},
		{append([]string{"-subscribers", "100000"}, admin...), "-subscribers 100000: want 0 to 2000"},
		{append([]string{"-publishers", "0"}, admin...), "-publishers 0 needs -lecture"},
		{append([]string{"-accounts", "-2"}, admin...), "-accounts -2"},
		{append([]string{"-bitrate", "fast"}, admin...), `-bitrate "fast"`},
		{append([]string{"-bitrate", "20M"}, admin...), "-bitrate 20000000"},
		{append([]string{"-fps", "0"}, admin...), "-fps 0"},
		{append([]string{"-layers", "4"}, admin...), "-layers 4"},
		{append([]string{"-keyframe-interval", "1ms"}, admin...), "-keyframe-interval"},
		{append([]string{"-prefer", "hd"}, admin...), `-prefer "hd"`},
		{append([]string{"-ramp", "1h"}, admin...), "-ramp 1h0m0s"},
		{append([]string{"-duration", "0s"}, admin...), "-duration 0s"},
		{append([]string{"-prefix", "Bad Prefix"}, admin...), `-prefix "Bad Prefix"`},
		{append([]string{"-password", "short"}, admin...), "-password: at least 8"},
		{append([]string{"-metrics", "nope"}, admin...), `-metrics "nope"`},
		{append([]string{"-duration", "soon"}, admin...), "invalid value"},
		{append([]string{"-nope"}, admin...), "flag provided but not defined: -nope"},
		{append(admin, "extra"), "unexpected arguments: extra"},
		{append([]string{"-server-debug", "nope"}, admin...), `-server-debug "nope": want the profiler listener's base URL`},
		{append([]string{"-server-debug", "http://127.0.0.1:6060/debug/pprof/"}, admin...), "-server-debug"},
		{append([]string{"-server-debug", "127.0.0.1:6060"}, admin...), `-server-debug "127.0.0.1:6060"`},
		{append([]string{"-sub-rtcp=maybe"}, admin...), `invalid boolean value "maybe" for -sub-rtcp`},
		{append([]string{"-bearer", "tok"}, admin...), "-bearer is for -whip and -whep"},
		{[]string{"-whip", "nope"}, `-whip "nope": want an http(s) endpoint URL`},
		{[]string{"-whip", "http://h/whip", "-whep", "ftp://h/whep"}, `-whep "ftp://h/whep"`},
		{[]string{"-whep", "http://h/whep"}, "-whep needs -whip"},
		{[]string{"-whip", "http://h/whip"}, "-whip with -subscribers > 0 needs -whep URL (or -subscribers 0)"},
		{append([]string{"-whip", "http://h/whip", "-whep", "http://h/whep"}, admin...), "-whip excludes -admin"},
		{[]string{"-whip", "http://h/whip", "-lecture", "lec_1"}, "-whip excludes"},
		{[]string{"-whip", "http://h/whip", "-server", "http://h"}, "-server is for lecturelink's own protocol"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-layers", "3"}, "-layers 3: -whip sends one encoding; use -layers 1"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-publishers", "2"}, "-publishers 2: -whip takes exactly 1 publisher"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-prefer", "low"}, "-prefer is lecturelink's signaling"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-end"}, "-end is for lecturelink's lectures"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-bearer", "a b"}, "-bearer: the token may not hold spaces"},
		{[]string{"-whip", "http://h/whip", "-subscribers", "0", "-metrics", "h/metrics"}, `-metrics "h/metrics"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "loadtest: ") || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line containing %q", c.args, code, msg, c.want)
		}
	}
}

// TestUnreachableServer: a server that does not answer is one line and
// exit status 1.
func TestUnreachableServer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", "http://127.0.0.1:1", "-admin", "admin:pw"}, &stdout, &stderr)
	msg := stderr.String()
	if code != 1 || !strings.Contains(msg, "server http://127.0.0.1:1 is unreachable") || strings.Count(msg, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
}

// TestWHIPDefaults: with -whip, the defaults of lecturelink's protocol
// (-server, three layers) step aside, and a valid command line parses.
func TestWHIPDefaults(t *testing.T) {
	cfg, _, err := parseFlags([]string{"-whip", "http://127.0.0.1:9/whip", "-whep", "http://127.0.0.1:9/whep", "-bearer", "t0k"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "" || cfg.Layers != 1 || cfg.MetricsURL != "" || !cfg.SubRTCP || cfg.Bearer != "t0k" {
		t.Fatalf("config %+v", cfg)
	}
	cfg, _, err = parseFlags([]string{"-admin", "a:b", "-sub-rtcp=false", "-server-debug", "http://127.0.0.1:6071/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SubRTCP || cfg.ServerDebug != "http://127.0.0.1:6071" || cfg.Layers != 3 || cfg.Server != "http://localhost:8080" {
		t.Fatalf("config %+v", cfg)
	}
}

// TestUnreachableProfiler: -server-debug that does not answer stops the
// run before anything is created, in one line.
func TestUnreachableProfiler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/livez" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", srv.URL, "-admin", "admin:pw", "-server-debug", "http://127.0.0.1:1"}, &stdout, &stderr)
	msg := stderr.String()
	if code != 1 || msg != "loadtest: -server-debug http://127.0.0.1:1 is unreachable: connect: connection refused\n" {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int{"1.5M": 1_500_000, "32k": 32_000, "800000": 800_000} {
		if got, err := parseRate("bitrate", in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
