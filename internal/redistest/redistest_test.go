package redistest

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartServesAndIsolates(t *testing.T) {
	ctx := context.Background()
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share %s", a.Addr)
	}
	if strings.HasSuffix(a.Addr, ":6379") || strings.HasSuffix(b.Addr, ":6379") {
		t.Fatalf("harness used the shared port: %s %s", a.Addr, b.Addr)
	}
	if err := a.Client.Set(ctx, "k", "from-a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Client.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("server b sees a's key: %q, %v", got, err)
	}
	// Persistence is off by default.
	save, err := a.Client.ConfigGet(ctx, "save").Result()
	if err != nil {
		t.Fatal(err)
	}
	if save["save"] != "" {
		t.Fatalf("save = %q, want empty", save["save"])
	}
}

func TestRestartKeepsAOFData(t *testing.T) {
	ctx := context.Background()
	s := StartWith(t, Options{AppendOnly: true})
	if err := s.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill() // appendfsync always: the write is on disk already
	s.Start()
	got, err := s.Client.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after kill+start: %q, %v; want v", got, err)
	}
}

func TestRestartWithoutPersistenceLosesData(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	if err := s.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if got, err := s.Client.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("after restart without persistence: %q, %v; want nil", got, err)
	}
}

// fatalRecorder is a testing.TB whose Fatal stops the calling goroutine
// and records the message, so we can check Start's failure mode.
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = format
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalRecorder) Skip(...any)          { panic("redistest must never skip") }
func (f *fatalRecorder) Skipf(string, ...any) { panic("redistest must never skip") }
func (f *fatalRecorder) SkipNow()             { panic("redistest must never skip") }
func (f *fatalRecorder) Helper()              {}

func TestMissingBinaryFailsInsteadOfSkipping(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec)
	}()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !strings.Contains(rec.msg, "install") {
		t.Fatalf("Fatal message %q does not tell how to install redis-server", rec.msg)
	}
}
