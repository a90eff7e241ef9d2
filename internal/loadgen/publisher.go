package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// layerSpec is one simulcast encoding: RID, share of the top bitrate, size.
type layerSpec struct {
	rid           string
	div           int // bitrate = top / div
	width, height int
}

// allLayers are the encodings a browser sends for 720p, lowest first.
var allLayers = []layerSpec{{"q", 16, 320, 180}, {"h", 4, 640, 360}, {"f", 1, 1280, 720}}

// publisher is the lecturer's connection sending synthetic media.
type publisher struct {
	r     *runner
	index uint8
	p     *participant

	layers []*pubLayer
	audio  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender // the video sender (all encodings)
	wg     sync.WaitGroup
	sent   atomic.Uint64 // packets sent, video and audio
}

// pubLayer is one encoding's track and state.
type pubLayer struct {
	spec     layerSpec
	stream   uint8 // stamp stream id: 1 + index in allLayers
	track    *webrtc.TrackLocalStaticRTP
	keyAsked atomic.Bool // a PLI or FIR arrived for this encoding
	seq      uint32
	pkt      rtp.Packet // reused for every packet of the layer
	bufs     [][]byte
}

// publish adds the tracks, offers `pub` and waits until it is connected.
func (pb *publisher) publish(ctx context.Context) error {
	pc, err := pb.p.newPC("pub")
	if err != nil {
		return err
	}
	pb.p.mu.Lock()
	pb.p.pub = pc
	pb.p.mu.Unlock()

	cfg := pb.r.cfg
	specs := allLayers[len(allLayers)-cfg.Layers:]
	for _, spec := range specs {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if cfg.Layers > 1 {
			opts = append(opts, webrtc.WithRTPStreamID(spec.rid))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"video", fmt.Sprintf("loadtest-%d", pb.index), opts...)
		if err != nil {
			return fmt.Errorf("creating the video track: %w", err)
		}
		stream := uint8(1)
		for i, l := range allLayers {
			if l.rid == spec.rid {
				stream = uint8(i + 1)
			}
		}
		l := &pubLayer{spec: spec, stream: stream, track: tr, bufs: make([][]byte, 128)}
		for i := range l.bufs {
			l.bufs[i] = make([]byte, maxPayload)
		}
		pb.layers = append(pb.layers, l)
	}
	pb.sender, err = pc.AddTrack(pb.layers[0].track)
	if err != nil {
		return fmt.Errorf("adding the video track: %w", err)
	}
	for _, l := range pb.layers[1:] {
		if err := pb.sender.AddEncoding(l.track); err != nil {
			return fmt.Errorf("adding simulcast encoding %s: %w", l.spec.rid, err)
		}
	}
	pb.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"audio", fmt.Sprintf("loadtest-%d", pb.index))
	if err != nil {
		return fmt.Errorf("creating the audio track: %w", err)
	}
	as, err := pc.AddTrack(pb.audio)
	if err != nil {
		return fmt.Errorf("adding the audio track: %w", err)
	}
	pb.readRTCP(as, "", nil)
	for _, l := range pb.layers {
		rid := ""
		if cfg.Layers > 1 {
			rid = l.spec.rid
		}
		pb.readRTCP(pb.sender, rid, l)
	}

	if cfg.WHIP != "" {
		if _, _, err := pb.p.whipExchange(ctx, pb.r.http, pb.r.clock, cfg.WHIP, cfg.Bearer, pc); err != nil {
			return err
		}
	} else {
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return fmt.Errorf("creating the pub offer: %w", err)
		}
		if err := pc.SetLocalDescription(offer); err != nil {
			return fmt.Errorf("applying the pub offer: %w", err)
		}
		if err := pb.p.sendDescription("offer", "pub", offer.SDP); err != nil {
			return err
		}
	}
	select {
	case <-pb.p.pubUp:
	case err := <-pb.p.failed:
		return fmt.Errorf("publishing: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("publishing: the pub connection did not connect: %w", ctx.Err())
	}
	pb.prepareExtensions(pc)
	return nil
}

// readRTCP drains one encoding's RTCP and notes keyframe requests, which
// the publisher answers with a keyframe at the next frame, as a browser does.
func (pb *publisher) readRTCP(s *webrtc.RTPSender, rid string, l *pubLayer) {
	pb.wg.Add(1)
	go func() {
		defer pb.wg.Done()
		buf := make([]byte, 1500)
		for {
			var n int
			var err error
			if rid != "" {
				n, _, err = s.ReadSimulcast(buf, rid)
			} else {
				n, _, err = s.Read(buf)
			}
			if err != nil {
				return
			}
			if l == nil {
				continue
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					l.keyAsked.Store(true)
				}
			}
		}
	}()
}

// prepareExtensions adds the MID and RID header extensions to each
// layer's reused packet: pion's TrackLocalStaticRTP does not, and the
// server needs them to tell the encodings apart.
func (pb *publisher) prepareExtensions(pc *webrtc.PeerConnection) {
	if len(pb.layers) == 1 {
		return
	}
	var midID, ridID uint8
	for _, e := range pb.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case "urn:ietf:params:rtp-hdrext:sdes:mid":
			midID = uint8(e.ID)
		case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
			ridID = uint8(e.ID)
		}
	}
	var mid string
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == pb.sender {
			mid = tr.Mid()
		}
	}
	for _, l := range pb.layers {
		if midID != 0 && ridID != 0 {
			_ = l.pkt.SetExtension(midID, []byte(mid))
			_ = l.pkt.SetExtension(ridID, []byte(l.spec.rid))
		}
	}
}

// send runs the video and audio senders until ctx ends.
func (pb *publisher) send(ctx context.Context) {
	pb.wg.Add(2)
	go func() { defer pb.wg.Done(); pb.sendVideo(ctx) }()
	go func() { defer pb.wg.Done(); pb.sendAudio(ctx) }()
}

// sendVideo sends one frame per layer per tick. Keyframes come every
// KeyframeInterval and when asked for; they are keyFactor times an inter
// frame, and inter frames are sized so the average is the configured
// bitrate. A frame's packets leave back to back, as an unpaced encoder's do.
func (pb *publisher) sendVideo(ctx context.Context) {
	cfg := pb.r.cfg
	const keyFactor = 4
	interval := time.Second / time.Duration(cfg.FPS)
	framesPerKey := max(1, int(cfg.KeyframeInterval/interval))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var frame int
	var picID uint16
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		periodic := frame%framesPerKey == 0
		ts := uint32(frame * 90000 / cfg.FPS)
		for _, l := range pb.layers {
			inter := cfg.Bitrate / l.spec.div / 8 / cfg.FPS * framesPerKey / (framesPerKey + keyFactor - 1)
			key := periodic || l.keyAsked.Swap(false)
			size := inter
			if key {
				size = inter * keyFactor
			}
			n := vp8Frame(l.bufs, size, key, picID, l.spec.width, l.spec.height)
			for i := range n {
				l.seq++
				l.pkt.Header.Version = 2
				l.pkt.Header.SequenceNumber = uint16(l.seq)
				l.pkt.Header.Timestamp = ts
				l.pkt.Header.Marker = i == n-1
				l.pkt.Payload = l.bufs[i]
				var flags uint8
				if key && i == 0 {
					flags = flagKeyStart
				}
				putStamp(l.pkt.Payload, stamp{pub: pb.index, stream: l.stream, flags: flags, seq: l.seq, sent: pb.r.clock.now()})
				if err := l.track.WriteRTP(&l.pkt); err == nil {
					pb.sent.Add(1)
				}
			}
		}
		frame++
		picID = (picID + 1) & 0x7fff
	}
}

// sendAudio sends one Opus-shaped packet every 20 ms.
func (pb *publisher) sendAudio(ctx context.Context) {
	size := max(pb.r.cfg.AudioBitrate/8/50, stampLen+8)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, size)}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint32
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		seq++
		pkt.Header.SequenceNumber = uint16(seq)
		pkt.Header.Timestamp = seq * 960
		opusPacket(pkt.Payload)
		putStamp(pkt.Payload, stamp{pub: pb.index, stream: streamAudio, seq: seq, sent: pb.r.clock.now()})
		if err := pb.audio.WriteRTP(&pkt); err == nil {
			pb.sent.Add(1)
		}
	}
}
