package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Source is what a published track shows or carries. It decides the
// track's place in the allocation order when a subscriber's bandwidth is
// short: audio first, then slides, then the presenter's camera, then other
// cameras.
type Source int32

// Track sources. A track whose publisher declared nothing is a camera
// (video) or a microphone (audio).
const (
	SourceCamera Source = iota
	SourceMicrophone
	SourceScreen
)

// ScreenStreamSuffix is appended to the publisher's peer id to form the
// stream id of a screen track as subscribers see it (msid), so a client can
// tell slides from a camera without another message: "<peer>~screen".
const ScreenStreamSuffix = "~screen"

// ParseSource reads the names the signaling protocol uses.
func ParseSource(s string) (Source, error) {
	switch strings.ToLower(s) {
	case "camera":
		return SourceCamera, nil
	case "microphone":
		return SourceMicrophone, nil
	case "screen":
		return SourceScreen, nil
	}
	return 0, fmt.Errorf("sfu: unknown track source %q", s)
}

func (s Source) String() string {
	switch s {
	case SourceMicrophone:
		return "microphone"
	case SourceScreen:
		return "screen"
	}
	return "camera"
}

// maxDeclaredSources bounds the sources one publisher may declare: a
// client declares one per track it sends, so more is abuse.
const maxDeclaredSources = 64

// SetTrackSource declares what the publisher's track trackID (its id as in
// the publisher's SDP msid) carries. Declared before the offer that adds
// the track, it also decides the stream id subscribers see (see
// ScreenStreamSuffix); declared later it only changes the track's priority.
// It fails with ErrNoPublish for a peer that may not publish.
func (p *Peer) SetTrackSource(trackID string, src Source) error {
	if !p.PublishRights().any() {
		return ErrNoPublish
	}
	if src < SourceCamera || src > SourceScreen {
		return fmt.Errorf("sfu: unknown track source %d", src)
	}
	p.mu.Lock()
	if p.sources == nil {
		p.sources = make(map[string]Source)
	}
	if _, ok := p.sources[trackID]; !ok && len(p.sources) >= maxDeclaredSources {
		p.mu.Unlock()
		return fmt.Errorf("sfu: more than %d track sources declared", maxDeclaredSources)
	}
	p.sources[trackID] = src
	changed := false
	for _, t := range p.published {
		if t.id == trackID {
			t.source.Store(int32(src))
			changed = true
		}
	}
	p.mu.Unlock()
	if changed && p.room != nil {
		// The track's place in every subscriber's allocation order moved.
		for _, o := range p.room.peerSnapshot() {
			o.kickAlloc()
		}
	}
	return nil
}

// setupTrackLocked gives a new published track its source (declared, or
// camera/microphone by kind), the stream id subscribers see it under, and
// the audio level extension id of the publisher's connection. p.mu must be
// held; t has not been published yet.
func (p *Peer) setupTrackLocked(t *pubTrack, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	src, declared := p.sources[remote.ID()]
	if !declared {
		src = SourceCamera
		if t.kind == webrtc.RTPCodecTypeAudio {
			src = SourceMicrophone
		}
	}
	t.source.Store(int32(src))
	if src == SourceScreen {
		t.streamID = p.id + ScreenStreamSuffix
	}
	if t.kind == webrtc.RTPCodecTypeAudio && receiver != nil {
		for _, e := range receiver.GetParameters().HeaderExtensions {
			if e.URI == audioLevelURI && e.ID > 0 && e.ID < 256 {
				t.levelExt = uint8(e.ID)
			}
		}
	}
}
