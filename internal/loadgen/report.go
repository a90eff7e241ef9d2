package loadgen

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Num is a figure that may be unknown (NaN): JSON null, "-" in the table.
type Num float64

// MarshalJSON writes NaN and infinities as null.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(f*1000)/1000, 'f', -1, 64), nil
}

func (n Num) String() string {
	f := float64(n)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "-"
	case math.Abs(f) >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case math.Abs(f) >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
}

// Dist is a distribution summary in milliseconds.
type Dist struct {
	P50 Num `json:"p50"`
	P95 Num `json:"p95"`
	P99 Num `json:"p99"`
	Max Num `json:"max"`
	N   int `json:"n"`
}

func distOf(h *hist) Dist {
	return Dist{P50: Num(h.quantile(0.5)), P95: Num(h.quantile(0.95)), P99: Num(h.quantile(0.99)), Max: Num(h.maxMS()), N: int(h.n)}
}

// Stream is what subscribers received of one kind of media.
type Stream struct {
	Packets  uint64 `json:"packets"`  // received, whole run
	Expected uint64 `json:"expected"` // in the measurement window
	Received uint64 `json:"received"` // in the measurement window
	LossPct  Num    `json:"lossPct"`
	DelayMS  Dist   `json:"delayMs"` // one-way, publisher send to subscriber receive
	// LayerPct is, for video, the share of the window's packets of each
	// simulcast layer, q, h and f (one layer: all count as f).
	LayerPct *[3]Num `json:"layerPct,omitempty"`
}

// Failure is one reason subscribers failed, with how many.
type Failure struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Server is what the server reported about itself over the window.
type Server struct {
	CPUSource          string `json:"cpuSource"` // "proc", "metrics" or "" (unknown)
	CPUSeconds         Num    `json:"cpuSeconds"`
	CPUPercent         Num    `json:"cpuPercent"` // of one core
	PacketsForwarded   Num    `json:"packetsForwarded"`
	ForwardedPerSecond Num    `json:"forwardedPerSecond"`
	CPUMicrosPerPacket Num    `json:"cpuMicrosPerPacket"`
	RSSBytes           Num    `json:"rssBytes"`
	LiveBytes          Num    `json:"liveBytes"` // live heap (estimated at the last collection) + stacks
	// RSSPerSubscriberMax and LivePerSubscriberMax divide the whole
	// process by the subscribers: upper bounds that include the server's
	// fixed cost.
	RSSPerSubscriberMax  Num `json:"rssPerSubscriberMaxBytes"`
	LivePerSubscriberMax Num `json:"livePerSubscriberMaxBytes"`
	// LivePerSubscriber is the growth of live memory since the baseline
	// (publishers only) per subscriber; unknown when no collection ran
	// during the baseline, whose heap figures would then be stale.
	LivePerSubscriber Num `json:"livePerSubscriberBytes"`
	// With -server-debug: live heap and stacks just after a forced
	// collection, at the baseline (publishers only) and at the end of the
	// window, and the growth per subscriber: exact, not an estimate.
	LiveAfterGCBaseline    Num `json:"liveAfterGcBaselineBytes"`
	LiveAfterGCEnd         Num `json:"liveAfterGcEndBytes"`
	LiveAfterGCPerSubscrib Num `json:"liveAfterGcPerSubscriberBytes"`
	// ForwardDelayMS is the SFU's own forwarding delay over the window,
	// from its histogram (no max: buckets only); N is the packets counted.
	ForwardDelayMS Dist `json:"forwardDelayMs"`
	// What the SFU learnt from the subscribers' RTCP at the end of the
	// window: the largest loss of any site in receiver reports, in percent
	// (NaN: no report came), the largest round-trip time (NaN: none; it
	// needs sender reports from the server); NACKed packets and layer
	// switches over the window; peers without a bandwidth estimate.
	ReportedLossPct       Num `json:"reportedLossPct"`
	RTTMaxMS              Num `json:"rttMaxMs"`
	NACKsReceived         Num `json:"nacksReceived"`
	LayerSwitches         Num `json:"layerSwitches"`
	PeersWithoutEstimate  Num `json:"peersWithoutEstimate"`
	AllocBytesPerPacket   Num `json:"allocBytesPerPacket"`
	AllocsPerPacket       Num `json:"allocsPerPacket"`
	Goroutines            Num `json:"goroutines"`
	GoroutinesPerSubscrib Num `json:"goroutinesPerSubscriber"`
}

// Report is the result of one run.
type Report struct {
	Started       time.Time `json:"started"`
	WindowSeconds Num       `json:"windowSeconds"`
	Config        struct {
		Server           string `json:"server"`
		Subscribers      int    `json:"subscribers"`
		Publishers       int    `json:"publishers"`
		BitrateBps       int    `json:"bitrateBps"`
		FPS              int    `json:"fps"`
		Layers           int    `json:"layers"`
		KeyframeInterval string `json:"keyframeInterval"`
		AudioBitrateBps  int    `json:"audioBitrateBps"`
		Ramp             string `json:"ramp"`
		Duration         string `json:"duration"`
		Prefer           string `json:"prefer,omitempty"`
		SubRTCP          bool   `json:"subRtcp"`
		Mode             string `json:"mode"` // "lecturelink" or "whip"
	} `json:"config"`
	Joined  int `json:"joined"`
	Failed  int `json:"failed"`
	Dropped int `json:"dropped"` // joined, then lost media or signaling
	// NoVideo and NoAudio count joined subscribers that received no video
	// (or audio) packet in the window.
	NoVideo      int       `json:"noVideo"`
	NoAudio      int       `json:"noAudio"`
	Failures     []Failure `json:"failures,omitempty"`
	JoinMS       Dist      `json:"joinMs"`       // join sent → joined
	ConnectMS    Dist      `json:"connectMs"`    // joined → sub connection connected
	FirstFrameMS Dist      `json:"firstFrameMs"` // joined → first keyframe packet
	Video        Stream    `json:"video"`
	layerPkts    [4]uint64
	Audio        Stream `json:"audio"`
	PublisherPkt uint64 `json:"publisherPackets"`
	Server       Server `json:"server"`
	// ServerSamples are the raw /metrics readings: "baseline" (publishers
	// only), "start" and "end" of the window.
	ServerSamples map[string]map[string]float64 `json:"serverSamples,omitempty"`
	ToolCPU       Num                           `json:"toolCpuPercent"` // this process, of one core, over the window
	// ToolAllocsPerPacket is this process's heap allocations over the
	// window per packet its subscribers received (publishing included).
	ToolAllocsPerPacket Num      `json:"toolAllocsPerReceivedPacket"`
	Notes               []string `json:"notes,omitempty"`
}

// report aggregates what every subscriber measured.
func (r *runner) report(window time.Duration, base, before, after, endGC serverSample, toolCPU float64, toolMallocs uint64) *Report {
	cfg := &r.cfg
	rep := &Report{Started: time.Now().Add(-window).UTC(), WindowSeconds: Num(window.Seconds())}
	c := &rep.Config
	c.Server, c.Subscribers, c.Publishers = cfg.base.String(), cfg.Subscribers, cfg.Publishers
	c.BitrateBps, c.FPS, c.Layers, c.KeyframeInterval = cfg.Bitrate, cfg.FPS, cfg.Layers, cfg.KeyframeInterval.String()
	c.AudioBitrateBps, c.Ramp, c.Duration, c.Prefer = cfg.AudioBitrate, cfg.Ramp.String(), cfg.Duration.String(), cfg.Prefer
	c.SubRTCP, c.Mode = cfg.SubRTCP, "lecturelink"
	if cfg.WHIP != "" {
		c.Mode = "whip"
	}

	var join, connect, first, vDelay, aDelay hist
	failures := map[string]int{}
	for _, s := range r.subs {
		if s.err != nil {
			rep.Failed++
			failures[s.err.Error()]++
			continue
		}
		rep.Joined++
		if s.dropped.Load() {
			rep.Dropped++
		}
		join.record(time.Duration(s.joined - s.joinSent))
		connect.record(time.Duration(s.connected - s.joined))
		if f := s.firstFrame.Load(); f != 0 {
			first.record(time.Duration(f - s.joined))
		}
		var gotVideo, gotAudio bool
		for _, ts := range s.tracks {
			if ts.video {
				gotVideo = gotVideo || ts.recvd > 0
			} else {
				gotAudio = gotAudio || ts.recvd > 0
			}
			st, d := &rep.Audio, &aDelay
			if ts.video {
				st, d = &rep.Video, &vDelay
			}
			st.Packets += ts.packets
			st.Expected += ts.expected
			st.Received += ts.recvd
			d.merge(&ts.delay)
			if ts.video {
				for i, n := range ts.streams {
					rep.layerPkts[i] += n
				}
			}
		}
		if !gotVideo {
			rep.NoVideo++
		}
		if !gotAudio {
			rep.NoAudio++
		}
	}
	for reason, n := range failures {
		rep.Failures = append(rep.Failures, Failure{reason, n})
	}
	slices.SortFunc(rep.Failures, func(a, b Failure) int { return cmp.Compare(b.Count, a.Count) })
	rep.Failures = rep.Failures[:min(len(rep.Failures), 5)]
	rep.JoinMS, rep.ConnectMS, rep.FirstFrameMS = distOf(&join), distOf(&connect), distOf(&first)
	for _, p := range []struct {
		st *Stream
		h  *hist
	}{{&rep.Video, &vDelay}, {&rep.Audio, &aDelay}} {
		p.st.DelayMS = distOf(p.h)
		p.st.LossPct = Num(math.NaN())
		if p.st.Expected > 0 {
			p.st.LossPct = Num(100 * float64(p.st.Expected-min(p.st.Received, p.st.Expected)) / float64(p.st.Expected))
		}
	}
	if n := rep.layerPkts[1] + rep.layerPkts[2] + rep.layerPkts[3]; n > 0 {
		rep.Video.LayerPct = &[3]Num{}
		for i := range 3 {
			rep.Video.LayerPct[i] = Num(100 * float64(rep.layerPkts[i+1]) / float64(n))
		}
	}
	for _, pb := range r.pubs {
		rep.PublisherPkt += pb.sent.Load()
	}
	rep.Server = serverFigures(window, rep.Joined, base, before, after, endGC)
	rep.ServerSamples = map[string]map[string]float64{"baseline": base.metrics, "start": before.metrics, "end": after.metrics}
	if endGC.metrics != nil {
		rep.ServerSamples["endAfterGc"] = endGC.metrics
	}
	rep.ToolCPU = Num(100 * toolCPU / window.Seconds())
	rep.ToolAllocsPerPacket = Num(math.NaN())
	if n := rep.Video.Received + rep.Audio.Received; n > 0 {
		rep.ToolAllocsPerPacket = Num(float64(toolMallocs) / float64(n))
	}
	if math.IsNaN(float64(rep.Server.LiveBytes)) && math.IsNaN(float64(rep.Server.LiveAfterGCEnd)) && cfg.MetricsURL != "" {
		rep.Notes = append(rep.Notes, "server live memory unknown: no garbage collection during the window (try a longer -duration, or -server-debug)")
	}
	if rep.Server.CPUSource == "" {
		rep.Notes = append(rep.Notes, "server CPU unknown: give -server-pid or expose process_cpu_seconds_total")
	}
	return rep
}

// serverFigures computes the server's cost over the window and its growth
// per subscriber since the baseline (publishers only).
func serverFigures(window time.Duration, joined int, base, before, after, endGC serverSample) Server {
	nan := Num(math.NaN())
	s := Server{CPUSeconds: nan, CPUPercent: nan, PacketsForwarded: nan, ForwardedPerSecond: nan, CPUMicrosPerPacket: nan,
		RSSBytes: nan, LiveBytes: nan, RSSPerSubscriberMax: nan, LivePerSubscriberMax: nan, LivePerSubscriber: nan,
		LiveAfterGCBaseline: nan, LiveAfterGCEnd: nan, LiveAfterGCPerSubscrib: nan,
		ForwardDelayMS:      Dist{P50: nan, P95: nan, P99: nan, Max: nan},
		AllocBytesPerPacket: nan, AllocsPerPacket: nan, Goroutines: nan, GoroutinesPerSubscrib: nan,
		ReportedLossPct: nan, RTTMaxMS: nan, NACKsReceived: nan, LayerSwitches: nan, PeersWithoutEstimate: nan}
	for name, v := range after.metrics {
		if strings.HasPrefix(name, "lecturelink_site_rtt_max_seconds{") && !(float64(s.RTTMaxMS) >= 1000*v) {
			s.RTTMaxMS = Num(1000 * v)
		}
		if strings.HasPrefix(name, "lecturelink_site_loss_ratio{") && !(float64(s.ReportedLossPct) >= 100*v) {
			s.ReportedLossPct = Num(100 * v)
		}
	}
	if v, ok := after.metrics["lecturelink_sfu_subscribers_without_estimate"]; ok {
		s.PeersWithoutEstimate = Num(v)
	}
	if d, ok := histDelta(forwardDelayBuckets(before.metrics), forwardDelayBuckets(after.metrics)); ok {
		fd := &s.ForwardDelayMS
		fd.P50, fd.P95, fd.P99 = Num(1000*histQuantile(0.5, d)), Num(1000*histQuantile(0.95, d)), Num(1000*histQuantile(0.99, d))
		fd.N = int(d[len(d)-1].count)
	}
	if b, ok := liveAfterGC(base); ok {
		s.LiveAfterGCBaseline = Num(b)
	}
	if e, ok := liveAfterGC(endGC); ok {
		s.LiveAfterGCEnd = Num(e)
		if joined > 0 && !math.IsNaN(float64(s.LiveAfterGCBaseline)) {
			s.LiveAfterGCPerSubscrib = (s.LiveAfterGCEnd - s.LiveAfterGCBaseline) / Num(joined)
		}
	}
	get := func(m map[string]float64, name string) (float64, bool) {
		v, ok := m[name]
		return v, ok
	}
	delta := func(name string) (float64, bool) {
		a, ok1 := get(before.metrics, name)
		b, ok2 := get(after.metrics, name)
		return b - a, ok1 && ok2
	}
	switch {
	case before.procOK && after.procOK:
		s.CPUSource, s.CPUSeconds = "proc", Num(after.procCPU-before.procCPU)
	default:
		if d, ok := delta("process_cpu_seconds_total"); ok {
			s.CPUSource, s.CPUSeconds = "metrics", Num(d)
		}
	}
	s.CPUPercent = Num(100 * float64(s.CPUSeconds) / window.Seconds())
	if d, ok := delta("lecturelink_sfu_nacks_received_total"); ok {
		s.NACKsReceived = Num(d)
	}
	if d, ok := delta("lecturelink_sfu_layer_switches_total"); ok {
		s.LayerSwitches = Num(d)
	}
	if d, ok := delta("lecturelink_sfu_packets_forwarded_total"); ok {
		s.PacketsForwarded = Num(d)
		s.ForwardedPerSecond = Num(d / window.Seconds())
		if d > 0 {
			s.CPUMicrosPerPacket = Num(float64(s.CPUSeconds) * 1e6 / d)
			if a, ok := delta("go_memstats_alloc_bytes_total"); ok {
				s.AllocBytesPerPacket = Num(a / d)
			}
			if a, ok := delta("go_memstats_mallocs_total"); ok {
				s.AllocsPerPacket = Num(a / d)
			}
		}
	}
	perSub := func(name string) Num {
		b, ok1 := get(base.metrics, name)
		a, ok2 := get(after.metrics, name)
		if !ok1 || !ok2 || joined == 0 {
			return nan
		}
		return Num((a - b) / float64(joined))
	}
	if v, ok := get(after.metrics, "process_resident_memory_bytes"); ok {
		s.RSSBytes = Num(v)
	}
	if v, ok := get(after.metrics, "go_goroutines"); ok {
		s.Goroutines = Num(v)
	}
	if joined > 0 {
		s.RSSPerSubscriberMax = s.RSSBytes / Num(joined)
	}
	gcBefore, ok1 := get(before.metrics, "go_gc_duration_seconds_count")
	gcAfter, ok2 := get(after.metrics, "go_gc_duration_seconds_count")
	// Without a collection in the window the heap goal is from before it.
	if a, ok := liveMemory(after); ok && ok1 && ok2 && gcAfter > gcBefore {
		s.LiveBytes = Num(a)
		if joined > 0 {
			s.LivePerSubscriberMax = Num(a / float64(joined))
		}
		if b, ok := liveMemory(base); ok && base.gcFresh && joined > 0 {
			s.LivePerSubscriber = Num((a - b) / float64(joined))
		}
	}
	s.GoroutinesPerSubscrib = perSub("go_goroutines")
	return s
}

// liveMemory estimates the server's live memory: heap plus goroutine
// stacks. The heap in use includes garbage not yet collected and swings by
// the heap's size between two collections; the next GC goal is set from
// the live heap marked by the last collection (goal = live × (1 +
// GOGC/100)), so it gives the live heap without forcing a collection.
func liveMemory(s serverSample) (float64, bool) {
	goal, ok1 := s.metrics["go_memstats_next_gc_bytes"]
	stack, ok2 := s.metrics["go_memstats_stack_inuse_bytes"]
	gogc, ok3 := s.metrics["go_gc_gogc_percent"]
	if !ok1 || !ok2 || !ok3 || gogc <= 0 {
		return 0, false
	}
	return goal/(1+gogc/100) + stack, true
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// WriteTable writes the report as plain text: a header, a table of the
// distributions, then the totals and the server's figures.
func (rep *Report) WriteTable(w io.Writer) error {
	c := rep.Config
	fmt.Fprintf(w, "run: %d publisher(s), %d layer(s), %.2f Mbit/s top layer, %d fps, keyframe every %s; %d subscriber(s), ramp %s; window %v s\n",
		c.Publishers, c.Layers, float64(c.BitrateBps)/1e6, c.FPS, c.KeyframeInterval, c.Subscribers, c.Ramp, rep.WindowSeconds)
	fmt.Fprintf(w, "subscribers: joined %d, failed %d, dropped %d; without video %d, without audio %d\n",
		rep.Joined, rep.Failed, rep.Dropped, rep.NoVideo, rep.NoAudio)
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  failure: %d × %s\n", f.Count, f.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tp50\tp95\tp99\tmax\tsamples\t")
	row := func(name string, d Dist) {
		fmt.Fprintf(tw, "%s\t%v\t%v\t%v\t%v\t%d\t\n", name, d.P50, d.P95, d.P99, d.Max, d.N)
	}
	joinName := "join (ms)"
	if c.Mode == "whip" {
		joinName = "WHEP POST (ms)"
	}
	row(joinName, rep.JoinMS)
	row("connect (ms)", rep.ConnectMS)
	row("first frame (ms)", rep.FirstFrameMS)
	row("video delay (ms)", rep.Video.DelayMS)
	row("audio delay (ms)", rep.Audio.DelayMS)
	row("server delay (ms)", rep.Server.ForwardDelayMS)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	fmt.Fprintf(w, "video: %d packets received, loss %v %%", rep.Video.Packets, rep.Video.LossPct)
	if l := rep.Video.LayerPct; l != nil {
		fmt.Fprintf(w, "; layers in the window q %v %%, h %v %%, f %v %%", l[0], l[1], l[2])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "audio: %d packets received, loss %v %%\n", rep.Audio.Packets, rep.Audio.LossPct)
	s := rep.Server
	fmt.Fprintf(w, "server CPU: %v µs per forwarded packet (%v %% of a core, %v packets/s, from %s)\n",
		s.CPUMicrosPerPacket, s.CPUPercent, s.ForwardedPerSecond, cmp.Or(s.CPUSource, "-"))
	fmt.Fprintf(w, "server allocation: %v bytes in %v allocations per forwarded packet\n", s.AllocBytesPerPacket, s.AllocsPerPacket)
	fmt.Fprintf(w, "server memory: RSS %v MiB, live %v MiB (heap + stacks); per subscriber: %v KiB live added since the baseline, at most %v KiB live, %v KiB RSS\n",
		Num(float64(s.RSSBytes)/(1<<20)), Num(float64(s.LiveBytes)/(1<<20)), Num(float64(s.LivePerSubscriber)/1024),
		Num(float64(s.LivePerSubscriberMax)/1024), Num(float64(s.RSSPerSubscriberMax)/1024))
	fmt.Fprintf(w, "server live memory after GC: baseline %v MiB, end %v MiB; live memory per subscriber (after GC) %v KiB\n",
		Num(float64(s.LiveAfterGCBaseline)/(1<<20)), Num(float64(s.LiveAfterGCEnd)/(1<<20)), Num(float64(s.LiveAfterGCPerSubscrib)/1024))
	fmt.Fprintf(w, "server goroutines: %v; per subscriber %v\n", s.Goroutines, s.GoroutinesPerSubscrib)
	fmt.Fprintf(w, "server feedback from subscribers: receiver reports say loss %v %%, RTT %v ms (worst site); %v NACKed packets and %v layer switches in the window, %v peers without a bandwidth estimate\n",
		s.ReportedLossPct, s.RTTMaxMS, s.NACKsReceived, s.LayerSwitches, s.PeersWithoutEstimate)
	_, err := fmt.Fprintf(w, "load tool CPU: %v %% of a core; %v allocations per received packet\n", rep.ToolCPU, rep.ToolAllocsPerPacket)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return err
}
