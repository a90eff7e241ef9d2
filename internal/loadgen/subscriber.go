package loadgen

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// subscriber is one student's connection and what it measured. Times are
// on the run's clock (ns); zero means "did not happen".
type subscriber struct {
	r *runner
	p *participant

	joinSent, joined, connected int64
	firstFrame                  atomic.Int64
	err                         error // why setup failed, if it did
	dropped                     atomic.Bool

	mu     sync.Mutex
	tracks []*trackStats // one per received track, each owned by its reader
	wg     sync.WaitGroup
}

// trackStats is what one track reader measured. Only the reader goroutine
// writes it; it is read after the reader has stopped.
type trackStats struct {
	video   bool
	packets uint64 // all packets with a stamp, measured or not
	delay   hist   // one-way delay of packets in the measurement window
	// streams counts the window's packets by stamp stream: audio, or the
	// simulcast layer (1 q, 2 h, 3 f) the server chose to forward.
	streams [4]uint64

	// Loss over the window: a segment is a run of one stream (publisher and
	// layer) of increasing sequence numbers; a layer switch starts a new one.
	inSeg            bool
	segStream        uint16
	segFirst, segLst uint32
	segCount         uint64
	expected, recvd  uint64
}

// onTrack starts the reader of one received track.
func (s *subscriber) onTrack(t *webrtc.TrackRemote) {
	ts := &trackStats{video: t.Kind() == webrtc.RTPCodecTypeVideo}
	s.mu.Lock()
	s.tracks = append(s.tracks, ts)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.read(t, ts)
	}()
}

// read is the receive path: one buffer for the track's life, the header
// parsed in place, no allocation per packet.
func (s *subscriber) read(t *webrtc.TrackRemote, ts *trackStats) {
	buf := make([]byte, 1500)
	clk := s.r.clock
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		ts.packet(buf[:n], clk.now(), s.r.measuring.Load(), &s.firstFrame)
	}
}

// packet accounts for one received RTP packet at time now: the first
// keyframe (into firstFrame, once), and delay and loss while measuring.
func (ts *trackStats) packet(pkt []byte, now int64, measuring bool, firstFrame *atomic.Int64) {
	payload, ok := rtpPayload(pkt)
	if !ok {
		return
	}
	st, ok := readStamp(payload)
	if !ok {
		return
	}
	ts.packets++
	if st.stream != streamAudio && st.flags&flagKeyStart != 0 && firstFrame.Load() == 0 {
		firstFrame.CompareAndSwap(0, now)
	}
	if !measuring {
		if ts.inSeg {
			ts.closeSegment()
		}
		return
	}
	ts.delay.record(time.Duration(now - st.sent))
	ts.streams[st.stream&3]++
	ts.count(uint16(st.pub)<<8|uint16(st.stream), st.seq)
}

// count adds one received sequence number to the loss accounting.
func (ts *trackStats) count(stream uint16, seq uint32) {
	switch {
	case !ts.inSeg || stream != ts.segStream:
		if ts.inSeg {
			ts.closeSegment()
		}
		ts.inSeg, ts.segStream, ts.segFirst, ts.segLst, ts.segCount = true, stream, seq, seq, 1
	case int32(seq-ts.segLst) > 0:
		ts.segLst = seq
		ts.segCount++
	case int32(seq-ts.segFirst) >= 0:
		ts.segCount++ // late (reordered) packet inside the segment
	}
}

func (ts *trackStats) closeSegment() {
	ts.expected += uint64(ts.segLst-ts.segFirst) + 1
	ts.recvd += min(ts.segCount, uint64(ts.segLst-ts.segFirst)+1)
	ts.inSeg = false
}

// finish waits for the track readers (after the connection was closed)
// and closes open loss segments.
func (s *subscriber) finish() {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ts := range s.tracks {
		if ts.inSeg {
			ts.closeSegment()
		}
	}
}
