package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
)

// The profiler answers on -debug-addr and nowhere else.
func TestProfilerOnlyOnDebugAddr(t *testing.T) {
	rs := redistest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := l.Addr().String()
	l.Close()
	base := e2eServer(t, rs, "-debug-addr", debugAddr)

	get := func(url string) (int, string, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	var (
		code int
		body string
	)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, body, err = get("http://" + debugAddr + "/debug/pprof/"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiler index on %s: %d, %v, %.200q", debugAddr, code, err, body)
	}
	if code, body, err = get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1"); err != nil || code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d, %v", code, err)
	}
	if code, body, err = get(base + "/debug/pprof/goroutine?debug=1"); err != nil {
		t.Fatal(err)
	} else if strings.Contains(body, "goroutine profile") {
		t.Fatalf("the public listener serves the profiler (%d)", code)
	}
}
