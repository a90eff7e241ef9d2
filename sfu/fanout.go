package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// Fan-out over a bounded pool of writers.
//
// Writing a packet to a subscriber costs a few microseconds (SRTP, the
// socket), so with one goroutine per layer the last of 200 subscribers gets
// a keyframe's packets about a millisecond after the first, and a burst
// queues behind itself. Above fanoutThreshold down-tracks a track splits its
// fan-out into fanoutParts fixed parts: the layer's reader writes part 0
// itself and hands the others to one writer goroutine each. A down-track
// belongs to one part for its whole life (assigned round-robin when it is
// added), and each part's packets go through one FIFO, so every subscriber
// still sees its packets in the order they arrived. The handoff allocates
// nothing: a job is a small value on a buffered channel, and each writer
// reads the packet back from the layer's packet cache (which keeps ~3 s) by
// sequence number into its own buffer. Small lectures keep the direct path:
// no goroutine hop. Off by default: on two cores the writers made the delay
// worse (docs/sfu.md, "Fan-out writers").
const (
	// fanoutThreshold is the number of down-tracks above which a track
	// starts its writers. Below it the whole fan-out takes well under
	// 100 µs even for a keyframe burst, less than a goroutine wake-up
	// costs in scheduling jitter on a busy machine.
	fanoutThreshold = 32
	// maxFanoutWriters bounds Config.FanoutWriters: more writers than
	// cores only adds wake-ups and contention on the shared socket.
	maxFanoutWriters = 8
	// fanoutQueue is each writer's queue of packets, about 0.5 s of a
	// 1.5 Mbit/s layer: a writer that falls further behind than the
	// packet cache is long skips packets (NACK repairs them).
	fanoutQueue = 256
)

// fanJob is one packet handed to a writer.
type fanJob struct {
	l   *layer
	seq uint16
	key bool
	now int64 // arrival, Unix ns
}

// fanout is a track's writers, started once the track has more than
// fanoutThreshold down-tracks and kept until the track ends (switching back
// to the direct path could reorder packets still queued).
type fanout struct {
	queues []chan fanJob // index 0 unused: the reader's part
}

// maybeStartFanout starts t's writers if its fan-out has grown past the
// threshold. Called with t.mu held, after the down-track list changed.
func (t *pubTrack) maybeStartFanout(n int) {
	if t.parts <= 1 || n <= fanoutThreshold || t.fan.Load() != nil || t.closed {
		return
	}
	f := &fanout{queues: make([]chan fanJob, t.parts)}
	for i := 1; i < t.parts; i++ {
		f.queues[i] = make(chan fanJob, fanoutQueue)
		go t.fanWriter(i, f.queues[i])
	}
	t.fan.Store(f)
}

// dispatch hands the packet (already in l's cache) to every writer and
// writes the reader's own part. It returns the packets the reader wrote.
func (t *pubTrack) dispatch(f *fanout, downs []*downTrack, l *layer, payload []byte, key bool, now int64) int {
	seq := l.hdr.SequenceNumber
	l.fanLeft[int(seq)&(len(l.fanLeft)-1)].Store(int32(len(f.queues)))
	j := fanJob{l: l, seq: seq, key: key, now: now}
	for i := 1; i < len(f.queues); i++ {
		select {
		case f.queues[i] <- j:
		case <-t.done:
			return 0
		}
	}
	n := forward(downs, l, &l.hdr, payload, key, now, 0, len(f.queues), &l.twccBuf)
	t.count(n, l.hdr.MarshalSize()+len(payload))
	l.partDone(seq, now)
	return n
}

// fanWriter writes part of the track's fan-out until the track ends.
func (t *pubTrack) fanWriter(part int, q <-chan fanJob) {
	var (
		hdr rtp.Header
		ext [2]byte
		buf = make([]byte, cacheSlotSize)
	)
	for {
		select {
		case <-t.done:
			return
		case j := <-q:
			if n, ok := j.l.cache.get(j.seq, buf); ok {
				if payload, ok := parseForForward(&hdr, buf[:n]); ok {
					sent := forward(*t.downs.Load(), j.l, &hdr, payload, j.key, j.now, part, t.parts, &ext)
					t.count(sent, hdr.MarshalSize()+len(payload))
				}
			}
			j.l.partDone(j.seq, j.now)
		}
	}
}

// count adds n written copies of a packet of size bytes to the statistics.
func (t *pubTrack) count(n, size int) {
	if n > 0 {
		t.st.packetsForwarded.Add(uint64(n))
		t.st.bytesForwarded.Add(uint64(n * size))
	}
}

// partDone records that one part of packet seq's fan-out is written; the
// last part records the packet's forwarding delay.
func (l *layer) partDone(seq uint16, arrived int64) {
	if l.fanLeft[int(seq)&(len(l.fanLeft)-1)].Add(-1) == 0 {
		l.t.st.delay.record(time.Now().UnixNano() - arrived)
	}
}

// fanLeftSize is the ring of per-packet part counters of a layer, indexed
// by sequence number: as many as a writer's queue can hold in flight, and
// a power of two.
const fanLeftSize = 1024
