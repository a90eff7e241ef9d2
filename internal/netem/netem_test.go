package netem

import (
	"encoding/binary"
	"net"
	"sort"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// path is a client socket -> relay -> server socket.
type path struct {
	r              *Relay
	client, server *net.UDPConn
}

func newPath(t *testing.T) *path {
	t.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	srv, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Close()
		_ = srv.Close()
		_ = cli.Close()
	})
	return &path{r: r, client: cli, server: srv}
}

// send writes n packets of size bytes carrying their index and send time,
// every gap (0 = back to back).
func (p *path) send(t *testing.T, n, size int, gap time.Duration) {
	t.Helper()
	b := make([]byte, size)
	for i := range n {
		binary.BigEndian.PutUint32(b, uint32(i))
		binary.BigEndian.PutUint64(b[4:], uint64(time.Now().UnixNano()))
		if _, err := p.client.WriteToUDP(b, p.r.ClientAddr()); err != nil {
			t.Fatal(err)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
}

type arrival struct {
	idx   uint32
	delay time.Duration
	at    time.Time
}

// recv reads until quiet for idle.
func recv(t *testing.T, c *net.UDPConn, idle time.Duration) []arrival {
	t.Helper()
	var out []arrival
	b := make([]byte, 2048)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idle))
		n, _, err := c.ReadFromUDP(b)
		if err != nil {
			return out
		}
		now := time.Now()
		if n < 12 {
			continue
		}
		sent := time.Unix(0, int64(binary.BigEndian.Uint64(b[4:])))
		out = append(out, arrival{idx: binary.BigEndian.Uint32(b), delay: now.Sub(sent), at: now})
	}
}

func TestRelayBothDirections(t *testing.T) {
	p := newPath(t)
	p.send(t, 1, 100, 0)
	b := make([]byte, 2048)
	_ = p.server.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, from, err := p.server.ReadFromUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	if from.Port != p.r.TargetSideAddr().Port {
		t.Fatalf("server saw %v, want the relay's %v", from, p.r.TargetSideAddr())
	}
	if _, err := p.server.WriteToUDP([]byte("reply"), from); err != nil {
		t.Fatal(err)
	}
	_ = p.client.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := p.client.ReadFromUDP(b)
	if err != nil || string(b[:n]) != "reply" {
		t.Fatalf("reply: %q %v", b[:n], err)
	}
	if from.Port != p.r.ClientAddr().Port {
		t.Fatalf("reply from %v, want %v", from, p.r.ClientAddr())
	}
}

func TestRelayLoss(t *testing.T) {
	p := newPath(t)
	p.r.Set(Up, Impairment{Loss: 0.2})
	const n = 2000
	done := make(chan []arrival)
	go func() { done <- recv(t, p.server, 300*time.Millisecond) }()
	p.send(t, n, 100, 50*time.Microsecond)
	got := len(<-done)
	ratio := 1 - float64(got)/n
	st := p.r.Stats(Up)
	t.Logf("received %d of %d (loss %.3f), stats %+v", got, n, ratio, st)
	if ratio < 0.14 || ratio > 0.26 {
		t.Errorf("loss ratio %.3f, want about 0.2", ratio)
	}
	if st.In != n || st.LostRandom+st.Out != n {
		t.Errorf("stats %+v do not add up to %d", st, n)
	}
}

func TestRelayDelayAndJitter(t *testing.T) {
	p := newPath(t)
	p.r.Set(Up, Impairment{Delay: 60 * time.Millisecond, Jitter: 20 * time.Millisecond})
	done := make(chan []arrival)
	go func() { done <- recv(t, p.server, 500*time.Millisecond) }()
	p.send(t, 100, 100, time.Millisecond)
	got := <-done
	if len(got) != 100 {
		t.Fatalf("received %d of 100", len(got))
	}
	ds := make([]time.Duration, len(got))
	for i, a := range got {
		ds[i] = a.delay
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	t.Logf("delay min %v median %v max %v", ds[0], ds[50], ds[99])
	if ds[0] < 60*time.Millisecond {
		t.Errorf("min delay %v < 60ms", ds[0])
	}
	// Generous upper bound for a loaded CI machine.
	if ds[50] > 200*time.Millisecond {
		t.Errorf("median delay %v, want ~70ms", ds[50])
	}
	if ds[99]-ds[0] < 5*time.Millisecond {
		t.Errorf("spread %v: jitter not applied", ds[99]-ds[0])
	}
}

func TestRelayRateLimitAndLift(t *testing.T) {
	p := newPath(t)
	const rate = 800_000 // bit/s = 100 kB/s
	p.r.Set(Up, Impairment{RateBits: rate, QueueBytes: 20_000})
	// 200 packets of 1000 bytes back to back: the queue takes ~20, the
	// rest is dropped, and what passes leaves at the rate.
	done := make(chan []arrival)
	go func() { done <- recv(t, p.server, 500*time.Millisecond) }()
	p.send(t, 200, 1000, 0)
	got := <-done
	st := p.r.Stats(Up)
	t.Logf("limited: received %d, stats %+v", len(got), st)
	if len(got) < 15 || len(got) > 40 {
		t.Errorf("received %d, want about 21 (queue of 20 kB + one in flight)", len(got))
	}
	if st.LostQueue == 0 {
		t.Error("no queue drops")
	}
	if len(got) >= 10 {
		span := got[len(got)-1].at.Sub(got[0].at)
		bits := float64((len(got)-1)*1000*8) / span.Seconds()
		t.Logf("measured rate %.0f bit/s over %v", bits, span)
		if bits < rate*0.6 || bits > rate*1.4 {
			t.Errorf("measured %.0f bit/s, want about %d", bits, rate)
		}
	}

	// Lifting the limit at run time lets a burst through.
	p.r.Set(Up, Impairment{})
	go func() { done <- recv(t, p.server, 500*time.Millisecond) }()
	p.send(t, 200, 1000, 20*time.Microsecond)
	if n := len(<-done); n < 190 {
		t.Errorf("after lifting the limit: received %d of 200", n)
	}
}
