package sfu

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

func TestLinkStatsRTT(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var s linkStats
	// The sender report left 300 ms ago and the receiver held it 100 ms.
	s.note(&rtcp.ReceptionReport{
		FractionLost:     64,
		LastSenderReport: ntpMiddle(now.Add(-300 * time.Millisecond)),
		Delay:            uint32(100 * time.Millisecond * 65536 / time.Second),
	}, now)
	if rtt := time.Duration(s.rttNs.Load()); rtt < 199*time.Millisecond || rtt > 201*time.Millisecond {
		t.Errorf("rtt = %v, want 200ms", rtt)
	}
	if l := s.loss.Load(); l != 65 {
		t.Errorf("loss = %d, want 65 (64/256, plus one)", l)
	}
	// A report from before any sender report carries loss only; one whose
	// numbers would make the RTT negative is ignored.
	s.note(&rtcp.ReceptionReport{FractionLost: 0}, now)
	s.note(&rtcp.ReceptionReport{LastSenderReport: ntpMiddle(now.Add(time.Second))}, now)
	if rtt := time.Duration(s.rttNs.Load()); rtt < 199*time.Millisecond || rtt > 201*time.Millisecond {
		t.Errorf("rtt after reports without a usable LSR = %v, want 200ms kept", rtt)
	}
	if l := s.loss.Load(); l != 1 {
		t.Errorf("loss = %d, want 1 (none lost)", l)
	}
}

// TestSubscriberStats: the RTCP a subscriber sends shows in the counters
// and in its site's snapshot.
func TestSubscriberStats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := newTestSFU(t, 0)
	r := s.Room("lecture-stats")
	lecturer := join(t, r, "lecturer", true)
	sub := joinWith(t, r, "student", false, clientOpts{peer: func(o *PeerOptions) { o.Site = "riga" }})
	lecturer.publish(ctx)
	waitFor(ctx, t, "media", func() bool { return sub.count(webrtc.RTPCodecTypeVideo) >= 20 })

	pkts := sub.received(webrtc.RTPCodecTypeVideo)
	last := pkts[len(pkts)-1]
	sent := time.Now()
	err := sub.sub.WriteRTCP([]rtcp.Packet{
		&rtcp.PictureLossIndication{MediaSSRC: last.trackSSR},
		&rtcp.TransportLayerNack{MediaSSRC: last.trackSSR, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last.seq, last.seq - 1})},
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{
			SSRC: last.trackSSR, FractionLost: 128,
			// As if the SFU's sender report had left 80 ms earlier and been
			// held 30 ms: the measured RTT is at least 50 ms.
			LastSenderReport: ntpMiddle(sent.Add(-80 * time.Millisecond)),
			Delay:            uint32(30 * time.Millisecond * 65536 / time.Second),
		}}},
	})
	if err != nil {
		t.Fatalf("WriteRTCP: %v", err)
	}
	waitFor(ctx, t, "counters", func() bool {
		st := s.Stats()
		return st.PLIsReceived >= 1 && st.NACKsReceived >= 2
	})
	var site SiteStats
	waitFor(ctx, t, "site report", func() bool {
		for _, st := range s.SiteStats() {
			if st.Site == "riga" && st.RTTReports == 1 {
				site = st
				return true
			}
		}
		return false
	})
	if site.Subscribers != 1 || site.LossReports != 1 || site.LossMean != 0.5 {
		t.Errorf("site riga = %+v, want 1 subscriber with loss 0.5", site)
	}
	if site.RTTMean < 50*time.Millisecond || site.RTTMean > 50*time.Millisecond+time.Since(sent) {
		t.Errorf("site RTT = %v, want 50ms plus the report's trip", site.RTTMean)
	}
	if n := s.Stats().NACKsReceived; n != 2 {
		t.Errorf("NACKsReceived = %d, want 2", n)
	}
	if s.ReceiveBitrate() == 0 {
		t.Error("ReceiveBitrate is 0 while the lecturer publishes")
	}
	est, unknown := s.Estimates(nil)
	if len(est)+unknown != 2 {
		t.Errorf("Estimates: %d estimates and %d unknown, want 2 peers", len(est), unknown)
	}
	noSignalErrors(t, lecturer, sub)
}
