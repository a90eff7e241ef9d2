// Package netem owns emulated network paths for tests: a UDP relay on
// loopback that sits between two endpoints (a pion test peer and the SFU)
// and impairs each direction with one-way delay, jitter, random loss and a
// rate limit with a bounded queue. Impairments can be changed while traffic
// flows (e.g. to lift a rate limit mid-test).
//
// The relay behaves like a NAT: the client sends to Relay.ClientAddr, the
// relay forwards from its own second socket to the target, so the target
// sees Relay.TargetSideAddr as the client's address, and replies are sent
// back to the last address the client sent from. Everything is bounded:
// at most MaxPending packets wait in each direction, packets larger than
// MaxPacket are dropped, and Close stops every goroutine.
package netem

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPacket is the largest datagram relayed; larger ones are dropped.
const MaxPacket = 1500

// MaxPending bounds the packets held (delayed or queued) per direction.
const MaxPending = 4096

// Impairment describes one direction of the path. The zero value is a
// perfect link.
type Impairment struct {
	// Delay is the fixed one-way delay added to every packet.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter). Packets may
	// be reordered by it, as on a real path.
	Jitter time.Duration
	// Loss is the probability (0..1) that a packet is dropped at random.
	Loss float64
	// RateBits is the link rate in bit/s (0 = unlimited). Packets leave at
	// this rate through a FIFO queue of QueueBytes; a packet that would
	// overflow the queue is dropped (tail drop).
	RateBits int64
	// QueueBytes bounds the rate limiter's queue (default 64 KiB).
	QueueBytes int
}

// Direction selects one half of the path.
type Direction int

// Up is client to target; Down is target to client.
const (
	Up Direction = iota
	Down
)

// Stats count what happened to one direction's packets.
type Stats struct {
	In          uint64 // datagrams received by the relay
	Out         uint64 // datagrams delivered
	LostRandom  uint64 // dropped by Loss
	LostQueue   uint64 // dropped because the rate limiter's queue was full
	LostPending uint64 // dropped because MaxPending packets were waiting
}

// Relay is an impaired UDP path between one client and one target.
type Relay struct {
	client *net.UDPConn // the client talks to this socket
	target *net.UDPConn // this socket talks to the target
	dst    *net.UDPAddr // target address

	peer atomic.Pointer[net.UDPAddr] // last client address seen

	dirs [2]*direction
	wg   sync.WaitGroup
	once sync.Once
	done chan struct{}
}

// New starts a relay on 127.0.0.1 towards target.
func New(target *net.UDPAddr) (*Relay, error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	c, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return nil, err
	}
	tc, err := net.ListenUDP("udp4", lo)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	r := &Relay{client: c, target: tc, dst: target, done: make(chan struct{})}
	for i := range r.dirs {
		r.dirs[i] = &direction{wake: make(chan struct{}, 1)}
	}
	r.wg.Add(4)
	go r.read(c, r.dirs[Up], true)
	go r.read(tc, r.dirs[Down], false)
	go r.deliver(r.dirs[Up], func(b []byte) { _, _ = tc.WriteToUDP(b, r.dst) })
	go r.deliver(r.dirs[Down], func(b []byte) {
		if a := r.peer.Load(); a != nil {
			_, _ = c.WriteToUDP(b, a)
		}
	})
	return r, nil
}

// ClientAddr is the address the client must send to (in place of the target's).
func (r *Relay) ClientAddr() *net.UDPAddr { return r.client.LocalAddr().(*net.UDPAddr) }

// TargetSideAddr is the address the target sees the client's packets come from.
func (r *Relay) TargetSideAddr() *net.UDPAddr { return r.target.LocalAddr().(*net.UDPAddr) }

// Set replaces the impairment of one direction; it applies to packets
// arriving from now on (packets already scheduled keep their times).
func (r *Relay) Set(d Direction, imp Impairment) {
	if imp.QueueBytes <= 0 {
		imp.QueueBytes = 64 << 10
	}
	dir := r.dirs[d]
	dir.mu.Lock()
	dir.imp = imp
	dir.mu.Unlock()
}

// Stats returns the counters of one direction.
func (r *Relay) Stats(d Direction) Stats {
	dir := r.dirs[d]
	dir.mu.Lock()
	defer dir.mu.Unlock()
	return dir.st
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() error {
	var err error
	r.once.Do(func() {
		close(r.done)
		err = errors.Join(r.client.Close(), r.target.Close())
		r.wg.Wait()
	})
	return err
}

type packet struct {
	due time.Time
	seq uint64 // arrival order, to keep FIFO among equal due times
	buf []byte
}

type pending []*packet

func (h pending) Len() int { return len(h) }
func (h pending) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h pending) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pending) Push(x any)   { *h = append(*h, x.(*packet)) }
func (h *pending) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}

type direction struct {
	mu       sync.Mutex
	imp      Impairment
	st       Stats
	q        pending
	n        uint64
	linkFree time.Time // when the rate limiter's link is next idle
	free     [][]byte  // recycled buffers
	wake     chan struct{}
}

func (r *Relay) read(c *net.UDPConn, d *direction, fromClient bool) {
	defer r.wg.Done()
	buf := make([]byte, MaxPacket+1)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if fromClient {
			if p := r.peer.Load(); p == nil || !p.IP.Equal(from.IP) || p.Port != from.Port {
				r.peer.Store(from)
			}
		}
		if n > MaxPacket {
			continue
		}
		d.enqueue(buf[:n], time.Now())
	}
}

// enqueue decides the fate of one packet and schedules its delivery.
func (d *direction) enqueue(b []byte, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.In++
	imp := d.imp
	if imp.Loss > 0 && rand.Float64() < imp.Loss {
		d.st.LostRandom++
		return
	}
	if len(d.q) >= MaxPending {
		d.st.LostPending++
		return
	}
	leave := now
	if imp.RateBits > 0 {
		if d.linkFree.Before(now) {
			d.linkFree = now
		}
		// Bytes still waiting for the link at the configured rate.
		backlog := int64(d.linkFree.Sub(now)) * imp.RateBits / 8 / int64(time.Second)
		if backlog+int64(len(b)) > int64(imp.QueueBytes) {
			d.st.LostQueue++
			return
		}
		d.linkFree = d.linkFree.Add(time.Duration(int64(len(b)) * 8 * int64(time.Second) / imp.RateBits))
		leave = d.linkFree
	}
	due := leave.Add(imp.Delay)
	if imp.Jitter > 0 {
		due = due.Add(rand.N(imp.Jitter))
	}
	var buf []byte
	if k := len(d.free); k > 0 {
		buf, d.free = d.free[k-1], d.free[:k-1]
	} else {
		buf = make([]byte, MaxPacket)
	}
	d.n++
	heap.Push(&d.q, &packet{due: due, seq: d.n, buf: append(buf[:0], b...)})
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// deliver sends each packet when it is due.
func (r *Relay) deliver(d *direction, send func([]byte)) {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		var wait time.Duration = time.Hour
		for len(d.q) > 0 {
			p := d.q[0]
			wait = time.Until(p.due)
			if wait > 0 {
				break
			}
			heap.Pop(&d.q)
			d.st.Out++
			d.mu.Unlock()
			send(p.buf)
			d.mu.Lock()
			if len(d.free) < 256 {
				d.free = append(d.free, p.buf)
			}
			wait = time.Hour
		}
		d.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-r.done:
			return
		case <-d.wake:
			// Go >= 1.23 timers: Reset needs no drain.
		case <-timer.C:
		}
	}
}
