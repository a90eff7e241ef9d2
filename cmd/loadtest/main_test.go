package main

import (
	"bytes"
	"context"
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

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int{"1.5M": 1_500_000, "32k": 32_000, "800000": 800_000} {
		if got, err := parseRate("bitrate", in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
