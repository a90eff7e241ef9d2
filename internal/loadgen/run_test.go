package loadgen

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
)

// testServer is the real lecturelink binary on a private redis-server.
type testServer struct {
	base  string
	pid   int
	debug string // the profiler's base URL (-debug-addr)
}

// freeAddr is a loopback TCP address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var runningURL = regexp.MustCompile(`msg="lecturelink is running" url=(\S+)`)

const adminPassword = "loadgen admin password"

// maxGoroutinesPerSubscriber bounds what one subscriber costs the server
// in goroutines, maxGoroutinesPerLecture what a lecture's first
// subscribers add once.
const (
	maxGoroutinesPerSubscriber = 18
	maxGoroutinesPerLecture    = 4
)

// startServer builds and runs the server, as an operator would, with an
// admin account seeded in its Redis. It stops when the test ends.
func startServer(t *testing.T) testServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lecturelink")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/bomca/lecturelink/cmd/lecturelink").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rs := redistest.Start(t)
	ctx := context.Background()
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	if err := sched.PutSite(ctx, schedule.Site{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"}); err != nil {
		t.Fatal(err)
	}
	accounts := account.NewStore(rs.Client, account.Options{})
	if _, err := accounts.Create(ctx, account.NewUser{Username: "admin", Password: adminPassword, DisplayName: "Admin",
		Role: account.RoleAdmin, SiteID: "riga"}); err != nil {
		t.Fatal(err)
	}

	// One student has two connections: the server must allow that.
	debugAddr := freeAddr(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-redis", "redis://"+rs.Addr, "-outbox", t.TempDir(), "-ice-loopback",
		"-allow-duplicate-joins", "-debug-addr", debugAddr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if testing.Verbose() {
				t.Log(sc.Text())
			}
			if m := runningURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- strings.TrimSuffix(m[1], "/")
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	select {
	case u := <-urls:
		return testServer{base: u, pid: cmd.Process.Pid, debug: "http://" + debugAddr}
	case <-done:
		t.Fatal("server exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("server did not listen within 60 s")
	}
	return testServer{}
}

// smallRun is a configuration for a short run against srv.
func smallRun(srv testServer) Config {
	return Config{
		Server: srv.base, ServerPID: srv.pid, ServerDebug: srv.debug, SubRTCP: true,
		AdminUser: "admin", AdminPassword: adminPassword, Prefix: "lt", Password: "loadgen student password",
		Subscribers: 3, Publishers: 1, Accounts: 2, // one student has two connections
		Bitrate: 500_000, FPS: 15, Layers: 3, KeyframeInterval: time.Second, AudioBitrate: 32_000,
		Ramp: 500 * time.Millisecond, Settle: time.Second, Duration: 3 * time.Second, Timeout: 60 * time.Second,
	}
}

// TestRun runs one publisher and three subscribers through the real server
// and checks that every subscriber got video and audio and that the
// figures are present and consistent; then the errors a user meets first.
func TestRun(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("small run", func(t *testing.T) {
		rep, err := Run(ctx, smallRun(srv))
		if err != nil {
			t.Fatal(err)
		}
		var table strings.Builder
		if err := rep.WriteTable(&table); err != nil {
			t.Fatal(err)
		}
		t.Logf("report:\n%s", table.String())
		if rep.Joined != 3 || rep.Failed != 0 || rep.Dropped != 0 {
			t.Fatalf("joined %d, failed %d (%v), dropped %d; want 3, 0, 0", rep.Joined, rep.Failed, rep.Failures, rep.Dropped)
		}
		if rep.NoVideo != 0 || rep.NoAudio != 0 {
			t.Fatalf("%d subscribers without video, %d without audio", rep.NoVideo, rep.NoAudio)
		}
		for name, s := range map[string]Stream{"video": rep.Video, "audio": rep.Audio} {
			d := s.DelayMS
			if d.N == 0 || !(d.P50 > 0) || !(d.P95 >= d.P50) || !(d.P99 >= d.P95) || !(d.Max >= d.P99) {
				t.Errorf("%s delay %+v: want samples with 0 < p50 ≤ p95 ≤ p99 ≤ max", name, d)
			}
			if !(s.LossPct >= 0 && s.LossPct < 10) {
				t.Errorf("%s loss %v %% (%d of %d received), want under 10 %%", name, s.LossPct, s.Received, s.Expected)
			}
		}
		if rep.FirstFrameMS.N != 3 || !(rep.FirstFrameMS.Max >= rep.FirstFrameMS.P50) || !(rep.JoinMS.P50 > 0) {
			t.Errorf("first frame %+v, join %+v", rep.FirstFrameMS, rep.JoinMS)
		}
		s := rep.Server
		if s.CPUSource != "proc" || !(s.PacketsForwarded > 0) || !(s.CPUMicrosPerPacket > 0) || math.IsInf(float64(s.CPUMicrosPerPacket), 0) {
			t.Errorf("server figures %+v: want CPU from /proc and packets forwarded", s)
		}
		if !(s.Goroutines > 0) || !(s.RSSBytes > 0) {
			t.Errorf("server goroutines %v, RSS %v: want them from /metrics", s.Goroutines, s.RSSBytes)
		}
		// The server's goroutines per subscriber are a stated bound
		// (docs/performance.md): 14 of pion's per connection, the SFU's
		// allocation loop and notifier, the WebSocket's reader and writer;
		// plus a few the lecture starts with its first subscriber, which
		// weigh on a run this small.
		if added := float64(s.GoroutinesPerSubscrib) * 3; !(added > 0 && added <= 3*maxGoroutinesPerSubscriber+maxGoroutinesPerLecture) {
			t.Errorf("server goroutines per subscriber %v (%v for 3), want at most %d each and %d for the lecture",
				s.GoroutinesPerSubscrib, added, maxGoroutinesPerSubscriber, maxGoroutinesPerLecture)
		}
		// -server-debug: exact live memory at the baseline and the end.
		if !(s.LiveAfterGCBaseline > 1<<20) || !(s.LiveAfterGCEnd > s.LiveAfterGCBaseline) || !(s.LiveAfterGCPerSubscrib > 0) ||
			s.LiveAfterGCPerSubscrib != (s.LiveAfterGCEnd-s.LiveAfterGCBaseline)/3 {
			t.Errorf("live after GC: baseline %v, end %v, per subscriber %v", s.LiveAfterGCBaseline, s.LiveAfterGCEnd, s.LiveAfterGCPerSubscrib)
		}
		if _, ok := rep.ServerSamples["endAfterGc"]; !ok {
			t.Error("no endAfterGc sample in the report")
		}
		// The SFU's own forwarding delay: every packet forwarded in the
		// window is counted once per published packet.
		fd := s.ForwardDelayMS
		if fd.N == 0 || !(fd.P50 > 0) || !(fd.P95 >= fd.P50) || !(fd.P99 >= fd.P95) || !(fd.P99 < 1000) {
			t.Errorf("server delay %+v", fd)
		}
		// -sub-rtcp: the server got receiver reports (an RTT), and on
		// loopback everyone stays on the top layer.
		if !(s.ReportedLossPct >= 0) {
			t.Errorf("reported loss %v: no receiver reports from the subscribers", s.ReportedLossPct)
		}
		// The subscribers read the server's sender reports, so their
		// receiver reports let it measure the round trip.
		if !(s.RTTMaxMS >= 0 && s.RTTMaxMS < 1000) {
			t.Errorf("round-trip time %v ms: the receiver reports carried no sender-report timing", s.RTTMaxMS)
		}
		if l := rep.Video.LayerPct; l == nil || !(l[2] > 95) {
			t.Errorf("video layers %v: want the top layer", l)
		}
		if !(rep.ToolAllocsPerPacket > 0) {
			t.Errorf("tool allocations per packet %v", rep.ToolAllocsPerPacket)
		}
		// A second run reuses the accounts and the live lecture.
		cfg := smallRun(srv)
		cfg.Subscribers, cfg.Duration = 1, time.Second
		rep, err = Run(ctx, cfg)
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		if rep.Joined != 1 || rep.NoVideo != 0 {
			t.Fatalf("second run: joined %d, without video %d", rep.Joined, rep.NoVideo)
		}
		// Without RTCP the server hears no receiver report from the
		// subscriber; without -server-debug there is no exact memory.
		cfg = smallRun(srv)
		cfg.Subscribers, cfg.Duration, cfg.SubRTCP, cfg.ServerDebug = 1, time.Second, false, ""
		rep, err = Run(ctx, cfg)
		if err != nil {
			t.Fatalf("run without RTCP: %v", err)
		}
		if rep.Joined != 1 || rep.NoVideo != 0 || !math.IsNaN(float64(rep.Server.LiveAfterGCEnd)) || !math.IsNaN(float64(rep.Server.ReportedLossPct)) {
			t.Fatalf("run without RTCP: joined %d, without video %d, live after GC %v, reported loss %v; want 1, 0, unknown, unknown",
				rep.Joined, rep.NoVideo, rep.Server.LiveAfterGCEnd, rep.Server.ReportedLossPct)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		cfg := smallRun(srv)
		cfg.AdminPassword = "not the password"
		_, err := Run(ctx, cfg)
		if err == nil || err.Error() != `signing in as "admin": wrong username or password` {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("profiler unreachable", func(t *testing.T) {
		cfg := smallRun(srv)
		cfg.ServerDebug = "http://" + freeAddr(t)
		_, err := Run(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "-server-debug "+cfg.ServerDebug+" is unreachable") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v", err)
		}
		cfg.ServerDebug = srv.base // lecturelink, not the profiler
		_, err = Run(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "HTTP 404: is it the server's -debug-addr?") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("unreachable server", func(t *testing.T) {
		cfg := smallRun(srv)
		cfg.Server = "http://127.0.0.1:1"
		_, err := Run(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v", err)
		}
	})
}
