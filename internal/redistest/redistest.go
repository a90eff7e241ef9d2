// Package redistest owns the test harness that runs a private redis-server
// process for each test, so tests of the Redis-backed packages exercise the
// real server (Lua, streams, TTLs, persistence) without touching any shared
// instance.
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options tunes the server started by StartWith.
type Options struct {
	// AppendOnly turns on the AOF with appendfsync always, so data written
	// before Kill or Restart survives; off by default because most tests do
	// not need durability and fsync slows them down.
	AppendOnly bool
	// Args are extra redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
}

// Server is one redis-server process owned by a test.
type Server struct {
	// Client talks to the server; it survives Restart (go-redis redials).
	Client *redis.Client
	// Addr is host:port of the server; it stays the same across Restart.
	Addr string
	// Dir is the server's working directory (AOF and RDB files).
	Dir string

	t    testing.TB
	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer
}

// startTimeout bounds how long one server may take to answer PING.
const startTimeout = 10 * time.Second

// Start runs a fresh redis-server for t with persistence off and returns its
// handle; the server is stopped when the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		// A missing server is a broken test environment, not a reason to
		// silently skip the tests that guard the data model.
		t.Fatalf("redistest: redis-server not found in PATH (%v); install it, e.g. `apt-get install redis-server`", err)
		return nil
	}
	s := &Server{t: t, bin: bin, Dir: t.TempDir()}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(s.cleanup)

	// Another process may grab the port between probing and binding; try
	// again on a new port rather than fail the test.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = buildArgs(port, s.Dir, opts)
		if lastErr = s.launch(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("redistest: start redis-server: %v", lastErr)
	}
	s.Client = redis.NewClient(&redis.Options{Addr: s.Addr})
	return s
}

func buildArgs(port int, dir string, opts Options) []string {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
		"--databases", "1",
	}
	if opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	return append(args, opts.Args...)
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() error {
	out := &syncBuffer{}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()

	probe := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer probe.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited early: %s", bytes.TrimSpace(out.Bytes()))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := probe.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.signal(syscall.SIGKILL)
			<-done
			return fmt.Errorf("redis-server did not answer PING within %v: %v; output: %s", startTimeout, err, out.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit.
// Without AppendOnly the data is lost.
func (s *Server) Stop() {
	s.t.Helper()
	s.stop(syscall.SIGTERM)
}

// Kill ends the server abruptly (SIGKILL), as a crash or power loss would.
func (s *Server) Kill() {
	s.t.Helper()
	s.stop(syscall.SIGKILL)
}

// Restart stops the server gracefully and starts it again on the same
// address and directory, so an AOF written before is replayed.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Start starts a stopped or killed server again on the same address.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.launch(); err != nil {
		s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

// Output returns what the server has logged since it was last started.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return string(s.out.Bytes())
}

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return
	}
	s.signal(sig)
	select {
	case <-done:
	case <-time.After(startTimeout):
		s.signal(syscall.SIGKILL)
		<-done
	}
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

func (s *Server) cleanup() {
	if s.Client != nil {
		_ = s.Client.Close()
	}
	// Killing is enough at the end: nothing of the data is kept.
	s.stop(syscall.SIGKILL)
}

// freePort asks the kernel for an unused TCP port on the loopback address.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output from the exec goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
