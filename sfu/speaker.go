package sfu

import (
	"slices"
	"sync/atomic"
	"time"
)

// audioLevelURI is the RTP header extension carrying each audio packet's
// level and voice activity flag (RFC 6464).
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// Active speaker detection. Browsers put the level of every Opus packet in
// the audio level extension: 0 (loudest) to 127 (silence) in -dBov, and a
// voice activity bit. The detector turns it into a loudness of 127-level
// for voiced packets (0 otherwise), averaged per interval and smoothed
// across intervals, and names the loudest publisher of the room.
const (
	speakerInterval = 300 * time.Millisecond
	// speakerThreshold is the smoothed loudness a publisher needs to count
	// as speaking: about -75 dBov voiced all the time, or normal speech
	// (-30 to -40 dBov) voiced a bit more than half of the time.
	speakerThreshold = 50
	// speakerMargin: someone takes over from the current speaker only
	// when this much louder (dB), so two people talking at once do not
	// make the speaker flip.
	speakerMargin = 6
	// speakerHold is how long someone must be the clearly louder one
	// before becoming the speaker.
	speakerHold = 900 * time.Millisecond
	// speakerSilence is how long the speaker must be quiet (with nobody
	// else speaking) before the room has no speaker.
	speakerSilence = 2 * time.Second
	// framesPerInterval is the number of 20 ms Opus packets an interval
	// holds; an interval's level is averaged over at least this many, so
	// the few packets Opus sends during discontinuous transmission (DTX)
	// do not make a pause look loud.
	framesPerInterval = uint64(speakerInterval / (20 * time.Millisecond))
)

// levelMeter accumulates one audio layer's levels between two detector
// rounds in a single atomic: loudness sum << 24 | packet count. The
// layer's reader adds, the detector swaps it out.
type levelMeter struct{ v atomic.Uint64 }

func (m *levelMeter) add(pkt []byte, id uint8) {
	level, voice, ok := audioLevel(pkt, id)
	if !ok {
		return
	}
	var loud uint64
	if voice {
		loud = uint64(127 - level)
	}
	m.v.Add(loud<<24 | 1)
}

// take returns the interval's average loudness and resets the meter.
func (m *levelMeter) take() float64 {
	v := m.v.Swap(0)
	sum, n := v>>24, v&(1<<24-1)
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(max(n, framesPerInterval))
}

// audioLevel finds the audio level extension element id in the raw RTP
// packet pkt (one-byte or two-byte header extension form, RFC 8285) and
// returns its level (0..127, -dBov) and voice activity bit. It allocates
// nothing; ok is false if the packet does not carry the element.
func audioLevel(pkt []byte, id uint8) (level uint8, voice, ok bool) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 || pkt[0]&0x10 == 0 || id == 0 {
		return 0, false, false
	}
	i := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < i+4 {
		return 0, false, false
	}
	profile := uint16(pkt[i])<<8 | uint16(pkt[i+1])
	end := i + 4 + 4*(int(pkt[i+2])<<8|int(pkt[i+3]))
	i += 4
	if end > len(pkt) {
		return 0, false, false
	}
	val := func(b byte) (uint8, bool, bool) { return b & 0x7f, b&0x80 != 0, true }
	switch {
	case profile == 0xbede: // one-byte: id(4) len-1(4), data
		for i < end {
			b := pkt[i]
			if b == 0 { // padding
				i++
				continue
			}
			eid, n := b>>4, int(b&0x0f)+1
			if eid == 15 { // reserved: stop parsing
				return 0, false, false
			}
			i++
			if i+n > end {
				return 0, false, false
			}
			if eid == id {
				return val(pkt[i])
			}
			i += n
		}
	case profile&0xfff0 == 0x1000: // two-byte: id(8) len(8), data
		for i < end {
			eid := pkt[i]
			if eid == 0 {
				i++
				continue
			}
			if i+1 >= end {
				return 0, false, false
			}
			n := int(pkt[i+1])
			i += 2
			if i+n > end {
				return 0, false, false
			}
			if eid == id && n >= 1 {
				return val(pkt[i])
			}
			i += n
		}
	}
	return 0, false, false
}

// speakerState decides the room's speaker from the publishers' smoothed
// loudness; owned by the room's detector goroutine.
type speakerState struct {
	cur        *Peer
	cand       *Peer // taking over, since candSince
	candSince  int64
	quietSince int64 // cur quiet since; 0: not quiet
}

// decide updates the speaker given each publisher's loudness now.
func (s *speakerState) decide(levels map[*Peer]float64, now int64) *Peer {
	if _, ok := levels[s.cur]; s.cur != nil && !ok {
		s.cur, s.quietSince = nil, 0 // left, or stopped publishing audio
	}
	var loudest *Peer
	var top float64
	for p, lv := range levels {
		if loudest == nil || lv > top || lv == top && p.id < loudest.id {
			loudest, top = p, lv
		}
	}
	curLv := levels[s.cur]
	if loudest != nil && loudest != s.cur && top >= speakerThreshold &&
		(s.cur == nil || top >= curLv+speakerMargin) {
		if s.cand != loudest {
			s.cand, s.candSince = loudest, now
		}
		if now-s.candSince >= int64(speakerHold) {
			s.cur, s.cand, s.quietSince = loudest, nil, 0
			return s.cur
		}
	} else {
		s.cand = nil
	}
	if s.cur != nil {
		switch {
		case curLv >= speakerThreshold:
			s.quietSince = 0
		case s.quietSince == 0:
			s.quietSince = now
		case now-s.quietSince >= int64(speakerSilence):
			s.cur, s.quietSince = nil, 0
		}
	}
	return s.cur
}

// startSpeakerLocked starts the room's speaker detector if it is not
// running; r.mu must be held. It runs while the room has peers and is not
// closed.
func (r *Room) startSpeakerLocked() {
	if r.speakerRunning || r.closed {
		return
	}
	if r.speakerStop == nil {
		r.speakerStop = make(chan struct{})
	}
	r.speakerRunning = true
	r.speakerWG.Add(1)
	go func() {
		defer r.speakerWG.Done()
		r.detectSpeakers(r.speakerStop)
	}()
}

// detectSpeakers is the room's speaker detector: every speakerInterval it
// reads each audio track's level meter, smooths it, decides the speaker,
// and tells every peer whose last report differs.
func (r *Room) detectSpeakers(stop <-chan struct{}) {
	tick := time.NewTicker(speakerInterval)
	defer tick.Stop()
	var st speakerState
	smooth := map[*pubTrack]float64{}
	told := map[*Peer]string{}
	levels := map[*Peer]float64{}
	var tracks []*pubTrack
	var peers []*Peer
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		if len(r.peers) == 0 {
			r.speakerRunning = false
			r.speaker.Store(nil)
			r.mu.Unlock()
			return
		}
		tracks = tracks[:0]
		for _, t := range r.tracks {
			if t.levelExt != 0 {
				tracks = append(tracks, t)
			}
		}
		peers = peers[:0]
		for _, p := range r.peers {
			peers = append(peers, p)
		}
		r.mu.Unlock()

		clear(levels)
		for t := range smooth {
			if !slices.Contains(tracks, t) {
				delete(smooth, t)
			}
		}
		for _, t := range tracks {
			l := t.layer(0)
			if l == nil {
				continue
			}
			v := (smooth[t] + l.level.take()) / 2
			smooth[t] = v
			levels[t.pub] = max(levels[t.pub], v)
		}
		cur := st.decide(levels, time.Now().UnixNano())
		r.speaker.Store(cur)
		id := ""
		if cur != nil {
			id = cur.id
		}
		for p := range told {
			if !slices.Contains(peers, p) {
				delete(told, p)
			}
		}
		for _, p := range peers {
			if told[p] != id {
				told[p] = id
				p.notify.speaker(id)
			}
		}
	}
}

// peerSnapshot returns the room's peers.
func (r *Room) peerSnapshot() []*Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peerList()
}
