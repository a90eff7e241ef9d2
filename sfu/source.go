package sfu

import (
	"fmt"
	"strings"
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

// SetTrackSource declares what the publisher's track trackID (its id as in
// the publisher's SDP msid) carries. Declared before the offer that adds
// the track, it also decides the stream id subscribers see (see
// ScreenStreamSuffix); declared later it only changes the track's priority.
// It fails with ErrNoPublish for a peer that may not publish.
func (p *Peer) SetTrackSource(trackID string, src Source) error {
	if p.pub == nil {
		return ErrNoPublish
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sources == nil {
		p.sources = make(map[string]Source)
	}
	p.sources[trackID] = src
	return nil
}
