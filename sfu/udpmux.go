package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/udp"
)

// Defaults of the shared UDP socket's write batching (Config.UDPBatchSize,
// Config.UDPBatchInterval). pion's batcher sends a batch with one sendmmsg
// when it is full or, from a ticker at half the interval, when the interval
// has passed since the last flush: a packet waits at most about 1.5 × the
// interval. 500 µs keeps that well under the 5 ms delay target while one
// sendmmsg carries tens of packets at a large lecture's rate; 64 messages
// of up to 1,500 bytes is 96 KiB per batch buffer (two of them). Measured
// against 32/250 µs and 128/1 ms in docs/performance.md, "Fast path".
const (
	defaultUDPBatchSize     = 64
	defaultUDPBatchInterval = 500 * time.Microsecond
)

// udpMux is the one UDP socket every peer connection's ICE uses when
// Config.UDPMux is set, with its writes batched.
type udpMux struct {
	mux  *filteredMux
	conn *batchedConn
}

// newUDPMux listens on port (0: any free one) on every IPv4 address and
// wraps the socket so that writes are batched.
func newUDPMux(cfg Config) (*udpMux, error) {
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{Port: int(cfg.UDPMuxPort)})
	if err != nil {
		return nil, fmt.Errorf("sfu: udp mux on port %d: %w", cfg.UDPMuxPort, err)
	}
	size, every := cfg.UDPBatchSize, cfg.UDPBatchInterval
	if size <= 0 {
		size = defaultUDPBatchSize
	}
	if every <= 0 {
		every = defaultUDPBatchInterval
	}
	conn := &batchedConn{BatchConn: udp.NewBatchConn(raw, size, every), raw: raw, addrs: make(map[netip.AddrPort]*net.UDPAddr)}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{
		Logger:  muxLogger{pionLogs{log: cfg.Logger}.NewLogger("ice")},
		UDPConn: conn,
	})
	return &udpMux{mux: &filteredMux{UDPMuxDefault: mux, cfg: cfg}, conn: conn}, nil
}

// filteredMux is the mux as the peer connections see it: the socket listens
// on every address, and the host candidates are those of the interfaces the
// configuration allows (Config.InterfaceFilter, loopback only with
// Config.IncludeLoopback), as they would be without the mux.
type filteredMux struct {
	*ice.UDPMuxDefault
	cfg Config
}

// GetListenAddresses implements ice.UDPMux.
func (m *filteredMux) GetListenAddresses() []net.Addr {
	all := m.UDPMuxDefault.GetListenAddresses()
	ifaces, err := net.Interfaces()
	if err != nil {
		return all
	}
	byIP := make(map[netip.Addr]string)
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					byIP[ip.Unmap()] = ifc.Name
				}
			}
		}
	}
	out := all[:0:0]
	for _, a := range all {
		ua, ok := a.(*net.UDPAddr)
		if !ok {
			continue
		}
		if ua.IP.IsLoopback() && !m.cfg.IncludeLoopback {
			continue
		}
		ip, _ := netip.AddrFromSlice(ua.IP)
		if name, ok := byIP[ip.Unmap()]; ok && m.cfg.InterfaceFilter != nil && !m.cfg.InterfaceFilter(name) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Port is the UDP port the mux listens on.
func (m *udpMux) Port() int { return m.conn.raw.LocalAddr().(*net.UDPAddr).Port }

// Close closes the mux and its socket (the batcher's flusher ends with it).
func (m *udpMux) Close() error {
	if err := m.mux.Close(); err != nil {
		return fmt.Errorf("sfu: close udp mux: %w", err)
	}
	return nil
}

// maxAddrCache bounds batchedConn's address cache: a lecture of a few
// hundred subscribers has a few hundred remote addresses; past this the
// cache is simply started afresh.
const maxAddrCache = 4096

// batchedConn is pion's BatchConn (writes queued and sent by sendmmsg) with
// the allocation-free address methods the ICE mux prefers
// (ice.AddrPortReaderWriter): reads go straight to the socket, and writes
// reuse one *net.UDPAddr per remote address, because the batch keeps the
// address until it is flushed and a new one per packet would allocate.
type batchedConn struct {
	*udp.BatchConn
	raw *net.UDPConn

	mu    sync.RWMutex
	addrs map[netip.AddrPort]*net.UDPAddr
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (c *batchedConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, addr, err := c.raw.ReadFromUDPAddrPort(b)
	if err != nil {
		return n, addr, fmt.Errorf("sfu: udp mux read: %w", err)
	}
	return n, addr, nil
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (c *batchedConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.mu.RLock()
	ua := c.addrs[addr]
	c.mu.RUnlock()
	if ua == nil {
		ua = net.UDPAddrFromAddrPort(addr)
		c.mu.Lock()
		if len(c.addrs) >= maxAddrCache {
			clear(c.addrs)
		}
		c.addrs[addr] = ua
		c.mu.Unlock()
	}
	return c.WriteTo(b, ua)
}

// muxLogger is the mux's pion logger. pion warns that a mux on the
// unspecified address should be a MultiUDPMux; the SFU listens there on
// purpose (one port for every interface, candidates for each gathered from
// the interface list), so that warning is debug output here.
type muxLogger struct{ logging.LeveledLogger }

func (l muxLogger) Warn(msg string) {
	if strings.Contains(msg, "unspecified address") {
		l.Debug(msg)
		return
	}
	l.LeveledLogger.Warn(msg)
}
