package signaling

import (
	"encoding/json"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/pion/webrtc/v4"
)

// ProtocolVersion is sent in the hello message; see docs/protocol.md.
const ProtocolVersion = 1

// Client message types.
const (
	msgJoin       = "join"
	msgStart      = "start"
	msgEnd        = "end"
	msgLeave      = "leave"
	msgOffer      = "offer"
	msgAnswer     = "answer"
	msgCandidate  = "candidate"
	msgPreference = "preference"
	// msgSource declares what a published track carries (camera,
	// microphone, screen); msgDisplaySize tells how large a subscriber
	// shows a video track.
	msgSource      = "source"
	msgDisplaySize = "displaySize"
	// msgResume takes over a participant whose socket dropped (resume.go);
	// msgIceRestart asks for an ICE-restart offer on sub (resume_ice.go).
	msgResume     = "resume"
	msgIceRestart = "iceRestart"
)

// Server message types.
const (
	msgHello        = "hello"
	msgJoined       = "joined"
	msgLecture      = "lecture"
	msgParticipants = "participants"
	msgError        = "error"
	msgSpeaker      = "speaker"
	msgQuality      = "quality"
	msgSiteQuality  = "siteQuality"
	msgResumed      = "resumed"
)

// Error codes sent to clients, listed in docs/protocol.md.
const (
	codeBadJSON       = "bad_json"
	codeUnknownType   = "unknown_type"
	codeTooLarge      = "too_large"
	codeRateLimited   = "rate_limited"
	codeBadRequest    = "bad_request"
	codeBadSDP        = "bad_sdp"
	codeBadCandidate  = "bad_candidate"
	codeNotFound      = "not_found"
	codeForbidden     = "forbidden"
	codeNotJoined     = "not_joined"
	codeAlreadyJoined = "already_joined"
	codeNotLive       = "not_live"
	codeTooEarly      = "too_early"
	codeEnded         = "ended"
	codeCancelled     = "cancelled"
	codeInternal      = "internal"
	codeDuplicate     = "duplicate"
	codeResumeExpired = "resume_expired"
)

// inbound is any message a client may send; unused fields stay empty.
type inbound struct {
	Type      string                   `json:"type"`
	LectureID string                   `json:"lectureId"`
	PC        string                   `json:"pc"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	// ClientTime is the client's clock at a join (RFC 3339), recorded with
	// the attendance event as information only.
	ClientTime string `json:"clientTime"`
	// Video is a preference: auto, low or audio-only.
	Video string `json:"video"`
	// Track and Source make a source declaration; Stream, Track, Width and
	// Height a display size. Width and Height are kept raw so that a
	// fraction or a string is answered as a bad value, not as bad JSON.
	Track  string          `json:"track"`
	Source string          `json:"source"`
	Stream string          `json:"stream"`
	Width  json.RawMessage `json:"width"`
	Height json.RawMessage `json:"height"`
	// Token is a resume token (resume); LectureID, when given with it, must
	// be the token's lecture.
	Token string `json:"token"`
	// Text is a chat message's text; ID names a chat message to delete.
	Text string `json:"text"`
	ID   string `json:"id"`
	// UserID, Camera and Reason name the participant of a floor action
	// (floor.go); they are raw so that a value of the wrong
	// type is answered as a bad value, not as bad JSON.
	UserID json.RawMessage `json:"userId"`
	Camera json.RawMessage `json:"camera"`
	Reason json.RawMessage `json:"reason"`
}

type helloMsg struct {
	Type   string       `json:"type"`
	V      int          `json:"v"`
	User   account.User `json:"user"`
	ConnID string       `json:"connId"`
}

type joinedMsg struct {
	Type       string      `json:"type"`
	Lecture    LectureView `json:"lecture"`
	Role       string      `json:"role"`
	CanPublish bool        `json:"canPublish"`
	CanEnd     bool        `json:"canEnd"`
	// ConnID is the participant's connection id: after a takeover it is the
	// one of the participant taken over, not the socket's hello.
	ConnID string `json:"connId"`
	// Resume is the token a new socket presents to take this participant
	// over; GraceSeconds is how long after a drop it stays valid.
	Resume       string `json:"resume,omitempty"`
	GraceSeconds int    `json:"graceSeconds"`
}

type lectureMsg struct {
	Type    string      `json:"type"`
	Lecture LectureView `json:"lecture"`
}

// Participant is one connection in a lecture's room, as clients see it.
type Participant struct {
	ConnID      string `json:"connId"`
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
	Role        string `json:"role"`
	SiteID      string `json:"siteId"`
	// SiteName is the site's name as the sites list has it (the id when
	// the list could not be read).
	SiteName string `json:"siteName"`
	// State is how the participant is connected.
	State ParticipantState `json:"state"`
	// The participant's place on the floor (floor.go).
	Hand   bool       `json:"hand"`
	HandAt *time.Time `json:"handAt,omitempty"`
	Floor  bool       `json:"floor"`
	Muted  bool       `json:"muted"`
}

// ParticipantState is how a participant is connected, as others see it.
type ParticipantState string

// Participant states.
const (
	// ParticipantConnected: in the lecture with its media as usual.
	ParticipantConnected ParticipantState = "connected"
	// ParticipantReconnecting: the connection dropped and the server is
	// holding the participant's place for its reconnect grace period.
	ParticipantReconnecting ParticipantState = "reconnecting"
	// ParticipantAudioOnly: receiving no video, by the participant's own
	// choice or because the media server found no video that fits its link.
	ParticipantAudioOnly ParticipantState = "audio-only"
)

type participantsMsg struct {
	Type         string        `json:"type"`
	Participants []Participant `json:"participants"`
}

type sdpMsg struct {
	Type string `json:"type"`
	PC   string `json:"pc"`
	SDP  string `json:"sdp"`
}

type candidateMsg struct {
	Type      string                   `json:"type"`
	PC        string                   `json:"pc"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

type speakerMsg struct {
	Type string `json:"type"`
	Conn string `json:"conn"` // "" when nobody speaks
}

type qualityMsg struct {
	Type    string `json:"type"`
	Quality string `json:"quality"`
}

// SiteQuality counts the participants at one site by link quality.
type SiteQuality struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Good      int    `json:"good"`
	Weak      int    `json:"weak"`
	AudioOnly int    `json:"audioOnly"`
}

type siteQualityMsg struct {
	Type  string        `json:"type"`
	Sites []SiteQuality `json:"sites"`
}
