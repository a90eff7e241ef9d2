package sfu

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// linkStats is what a subscriber's receiver reports say about its downlink:
// the round-trip time and the fraction of packets lost, as of the latest
// report for any track it receives. It is written by the down-tracks' RTCP
// goroutines and read only when metrics are scraped.
type linkStats struct {
	rttNs atomic.Int64  // 0: no report with a sender report reference yet
	loss  atomic.Uint32 // fraction lost ×256, plus one; 0: no report yet
}

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// ntpMiddle is the middle 32 bits of t's NTP timestamp, the unit of a
// receiver report's LSR field: 16 bits of seconds, 16 of fraction.
func ntpMiddle(t time.Time) uint32 {
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32(sec&0xffff)<<16 | uint32(frac>>16)
}

// note records one reception report of the subscriber about ssrc (the
// down-track's media SSRC). RTT = arrival − LSR − DLSR (RFC 3550 6.4.1),
// in 1/65536 s; a report without an LSR (no sender report received yet)
// only carries loss.
func (s *linkStats) note(r *rtcp.ReceptionReport, now time.Time) {
	s.loss.Store(uint32(r.FractionLost) + 1)
	if r.LastSenderReport == 0 {
		return
	}
	rtt := ntpMiddle(now) - r.LastSenderReport - r.Delay
	if rtt > 1<<31 { // negative: clock skew in the report, or a stale LSR
		return
	}
	// At least 1 ns: zero means no RTT yet, and on loopback the RTT rounds
	// to zero units of 1/65536 s.
	s.rttNs.Store(max(int64(rtt)*int64(time.Second)/65536, 1))
}

// SiteStats summarizes the subscribers at one site (PeerOptions.Site), across
// every room, from their own bandwidth estimates and receiver reports.
type SiteStats struct {
	Site        string
	Subscribers int
	// EstimateBps is the sum of the subscribers' bandwidth estimates
	// (those that have one); BudgetBps the site's budget (0: none).
	EstimateBps uint64
	BudgetBps   uint64
	// RTT over the subscribers that reported one: mean and maximum;
	// RTTReports is how many did.
	RTTMean, RTTMax time.Duration
	RTTReports      int
	// LossMean is the mean fraction lost (0..1) over the LossReports
	// subscribers that sent a receiver report.
	LossMean    float64
	LossReports int
}

// SiteStats returns a snapshot per site, sorted by site name. Each site's
// group is locked briefly; nothing on the media path waits for it.
func (s *SFU) SiteStats() []SiteStats {
	s.mu.Lock()
	groups := make([]*siteGroup, 0, len(s.sites))
	for _, g := range s.sites {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	out := make([]SiteStats, 0, len(groups))
	for _, g := range groups {
		st := SiteStats{Site: g.name}
		var rttSum time.Duration
		var lossSum float64
		g.mu.Lock()
		st.BudgetBps = g.budget
		for p := range g.members {
			st.Subscribers++
			st.EstimateBps += p.est.bps.Load()
			if ns := p.est.link.rttNs.Load(); ns > 0 {
				rtt := time.Duration(ns)
				st.RTTReports++
				rttSum += rtt
				st.RTTMax = max(st.RTTMax, rtt)
			}
			if l := p.est.link.loss.Load(); l > 0 {
				st.LossReports++
				lossSum += float64(l-1) / 256
			}
		}
		g.mu.Unlock()
		if st.RTTReports > 0 {
			st.RTTMean = rttSum / time.Duration(st.RTTReports)
		}
		if st.LossReports > 0 {
			st.LossMean = lossSum / float64(st.LossReports)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SiteStats) int { return strings.Compare(a.Site, b.Site) })
	return out
}

// Estimates appends every connected peer's downlink bandwidth
// estimate in use (bit/s) to dst; peers without one (their link has shown
// no limit yet, so the allocator does not hold them to an estimate) are
// counted in unknown.
func (s *SFU) Estimates(dst []uint64) (est []uint64, unknown int) {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		for _, p := range r.peers {
			if bps := p.est.bps.Load(); bps > 0 {
				dst = append(dst, bps)
			} else {
				unknown++
			}
		}
		r.mu.Unlock()
	}
	return dst, unknown
}

// ReceiveBitrate is the sum of the measured bitrates of every layer being
// published (bit/s, over the last second or so): the media coming in.
func (s *SFU) ReceiveBitrate() uint64 {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	now := time.Now().UnixNano()
	var sum uint64
	for _, r := range rooms {
		r.mu.Lock()
		for _, t := range r.tracks {
			for i := range int32(maxLayers) {
				if l := t.layer(i); l != nil {
					sum += l.rate.bps(now)
				}
			}
		}
		r.mu.Unlock()
	}
	return sum
}
