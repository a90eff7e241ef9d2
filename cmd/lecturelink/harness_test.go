package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/chromedp/chromedp"
)

// e2eServer runs the whole server in-process on the test's redis-server,
// as `lecturelink -redis ...` would, and returns its base URL. The server
// stops (gracefully) when the test ends.
func e2eServer(t *testing.T, rs *redistest.Server, extraArgs ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logw := io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	args := append([]string{"-addr", "localhost:0", "-redis", "redis://" + rs.Addr, "-ice-loopback",
		"-outbox", t.TempDir()}, extraArgs...)
	cfg, err := parseConfig(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logw, nil)), ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + displayAddr(addr, cfg.Addr)
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
		return ""
	}
}

// signIn signs in on the app's login page and waits until waitFor is visible.
func signIn(t *testing.T, tab context.Context, base, user, password, waitFor string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	err := chromedp.Do(tctx,
		chromedp.Navigate(base+"/#/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-username")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(waitFor)),
	)
	if err != nil {
		t.Fatalf("signing in as %s: %v", user, err)
	}
}
