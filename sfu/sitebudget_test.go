package sfu

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

func TestWaterFill(t *testing.T) {
	cases := []struct {
		name    string
		budget  uint64
		demands []uint64
		want    []uint64
	}{
		{"nobody", 100, nil, []uint64{}},
		{"equal split", 900, []uint64{1000, 1000, 1000}, []uint64{300, 300, 300}},
		// An audio-only member leaves the rest to the others.
		{"small demand redistributed", 900, []uint64{100, 1000, 1000}, []uint64{100, 400, 400}},
		{"two small", 1000, []uint64{100, 200, 5000}, []uint64{100, 200, 700}},
		// Everything fits: the rest is spread evenly.
		{"plenty", 1000, []uint64{100, 200, 300}, []uint64{233, 333, 433}},
		{"zero demands", 300, []uint64{0, 0, 0}, []uint64{100, 100, 100}},
		{"zero budget", 0, []uint64{5, 6}, []uint64{0, 0}},
	}
	for _, c := range cases {
		got := waterFill(c.budget, c.demands)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		var sum uint64
		for _, s := range got {
			sum += s
		}
		if sum > c.budget {
			t.Errorf("%s: shares %d exceed the budget %d", c.name, sum, c.budget)
		}
	}
}

// The site group shares a budget among members' demands, forgets members
// that leave and ignores sites without a budget.
func TestSiteGroupShares(t *testing.T) {
	s := &SFU{}
	a, b := &Peer{id: "a"}, &Peer{id: "b"}
	ga := s.joinSite(a, "riga")
	gb := s.joinSite(b, "riga")
	if ga != gb {
		t.Fatal("two groups for one site")
	}
	if _, ok := ga.share(a, 1e6, 1); ok {
		t.Fatal("share without a budget")
	}
	s.SetSiteBudget("riga", 1e6)
	now := int64(time.Second)
	ga.share(b, 100e3, now)
	if got, _ := ga.share(a, 2e6, now); got != 900e3 {
		t.Errorf("a's share %d, want 900k (b only needs 100k)", got)
	}
	s.leaveSite(b, gb)
	if got, _ := ga.share(a, 2e6, now+int64(siteRecompute)); got != 1e6 {
		t.Errorf("a alone: share %d, want the whole budget", got)
	}
	s.leaveSite(a, ga)
	s.SetSiteBudget("riga", 0)
	if len(s.sites) != 0 {
		t.Errorf("site kept with no members and no budget")
	}
}

// sendREMB makes c report bps() as its estimate for its video track every
// 100 ms until the returned function is called.
func sendREMB(ctx context.Context, t *testing.T, c *testClient, bps func() float32) func() {
	t.Helper()
	waitFor(ctx, t, c.name+" video track", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.tracks[webrtc.RTPCodecTypeVideo] != nil
	})
	ssrc := trackSSRC(c, webrtc.RTPCodecTypeVideo)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = c.sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps(), SSRCs: []uint32{ssrc}}})
		}
	}()
	return func() { close(stop); <-done }
}

func fixed(bps float32) func() float32 { return func() float32 { return bps } }

// measuredRates returns what the SFU measures now: the sum of the room's
// audio tracks' bitrates and the bitrate of each layer of its video
// tracks (the largest where several have a layer). Tests size budgets from
// these, not from constants, so that a loaded machine sending slower than
// planned does not make a layer fit that should not.
func measuredRates(r *Room) (audio uint64, video [maxLayers]uint64) {
	now := time.Now().UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tracks {
		for i := range int32(maxLayers) {
			l := t.layer(i)
			if l == nil {
				continue
			}
			if t.kind == webrtc.RTPCodecTypeAudio {
				audio += l.rate.bps(now)
			} else {
				video[i] = max(video[i], l.rate.bps(now))
			}
		}
	}
	return audio, video
}

// every runs f every 100 ms until the returned function is called.
func every(f func()) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			f()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(stop); <-done }
}

// qualityLog records a peer's OnQuality calls.
type qualityLog struct {
	mu sync.Mutex
	qs []Quality
}

func (l *qualityLog) last() Quality {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.qs) == 0 {
		return QualityGood
	}
	return l.qs[len(l.qs)-1]
}

func siteOpts(site string, q *qualityLog) clientOpts {
	return clientOpts{peer: func(o *PeerOptions) {
		o.Site = site
		o.OnQuality = func(v Quality) {
			q.mu.Lock()
			q.qs = append(q.qs, v)
			q.mu.Unlock()
		}
	}}
}

func lastRID(c *testClient) byte {
	v := c.received(webrtc.RTPCodecTypeVideo)
	if len(v) == 0 {
		return 0
	}
	return payloadRID(v[len(v)-1].payload)
}

// TestSiteBudgetShared: two students at one site, each with a large
// estimate of its own, share the site's budget: both on q when it only
// fits q for both, both on h when it fits h, and one on f when the other
// turns audio-only. A student elsewhere is not affected.
func TestSiteBudgetShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*testTimeout)
	defer cancel()
	s := newTestSFU(t, 100*time.Millisecond)
	r := s.Room("lecture-site")
	lecturer := join(t, r, "lecturer", true)
	lecturer.publishSimulcast(ctx, simRIDs)
	waitLayers(ctx, t, r, 3)
	time.Sleep(rateBucket * rateBuckets) // let the layers' rates be measured

	// Per student: audio ~140 kbit/s, q ~100, h ~260, f ~740. The
	// budget is kept at twice audio + (q+h)/2, so each share has room for
	// the audio and q, not h, whatever pace the publisher manages.
	var between atomic.Int32 // budget for each student: audio + (layer i + layer i+1)/2
	defer every(func() {
		audio, v := measuredRates(r)
		i := between.Load()
		if i < 0 {
			return
		}
		s.SetSiteBudget("riga", 2*(audio+(v[i]+v[i+1])/2))
	})()
	var qa, qb, qc qualityLog
	a := joinWith(t, r, "a", false, siteOpts("riga", &qa))
	b := joinWith(t, r, "b", false, siteOpts("riga", &qb))
	other := joinWith(t, r, "osh", false, siteOpts("osh", &qc))
	for _, c := range []*testClient{a, b, other} {
		defer sendREMB(ctx, t, c, fixed(5e6))()
	}
	for _, c := range []*testClient{a, b} {
		waitFor(ctx, t, c.name+" on q", func() bool { return c.count(webrtc.RTPCodecTypeVideo) >= 50 && lastRID(c) == 'q' })
	}
	waitFor(ctx, t, "the student elsewhere on f", func() bool { return lastRID(other) == 'f' })
	// Until b's first round, a had the whole budget; from now on both
	// stay on q for longer than upHold.
	na, nb := a.count(webrtc.RTPCodecTypeVideo), b.count(webrtc.RTPCodecTypeVideo)
	time.Sleep(upHold + time.Second)
	for _, c := range []*testClient{a, b} {
		n := na
		if c == b {
			n = nb
		}
		if got := ridsOf(c.received(webrtc.RTPCodecTypeVideo)[n:]); len(got) != 1 || got['q'] == 0 {
			t.Errorf("%s under a budget for q got %v, want only q", c.name, got)
		}
	}
	waitFor(ctx, t, "weak quality at the site", func() bool { return qa.last() == QualityWeak && qb.last() == QualityWeak })
	if got := other.peer.Quality(); got != QualityGood {
		t.Errorf("student elsewhere: quality %v", got)
	}

	// audio + (h+f)/2 each: h, not f. When b turns audio-only, a has
	// audio + h + f: f (h + f clears f × upMargin).
	between.Store(1)
	for _, c := range []*testClient{a, b} {
		waitFor(ctx, t, c.name+" on h", func() bool { return lastRID(c) == 'h' })
	}
	// b goes audio-only: its share is now what its audio needs, and a
	// climbs to f with the rest.
	b.peer.SetVideoPreference(PreferAudioOnly)
	waitFor(ctx, t, "a on f", func() bool { return lastRID(a) == 'f' })
	waitFor(ctx, t, "qualities", func() bool { return qa.last() == QualityGood && qb.last() == QualityAudioOnly })
	if got := b.peer.Quality(); got != QualityAudioOnly {
		t.Errorf("b: quality %v", got)
	}
	for _, c := range []*testClient{a, b, other} {
		checkContinuous(t, c.name, c.received(webrtc.RTPCodecTypeVideo))
	}

	// No budget: nothing holds b back either once it wants video again.
	between.Store(-1)
	s.SetSiteBudget("riga", 0)
	b.peer.SetVideoPreference(PreferAuto)
	waitFor(ctx, t, "b on f without a budget", func() bool { return lastRID(b) == 'f' })
}
