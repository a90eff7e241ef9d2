// Package floor owns who may do what in a live lecture beyond attending:
// the queue of raised hands, the one student granted the floor (microphone,
// optionally camera), participants the lecturer muted or removed, and
// whether the lecture is locked. It is kept in Redis beside the lecture, so
// a restarted server finds the floor where it was.
//
// The package records decisions; it does not check roles. The signaling
// server decides who may grant, mute or remove, and the media server
// enforces what is recorded here.
package floor

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers can test with errors.Is.
var (
	ErrInvalid = errors.New("floor: invalid")
	// ErrRemoved: the user was removed from the lecture and not readmitted.
	ErrRemoved = errors.New("floor: removed from this lecture")
	// ErrLocked: the lecture is locked and the user is not already in it.
	ErrLocked = errors.New("floor: lecture is locked")
)

// Hand is one raised hand.
type Hand struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// Grant is the floor given to one participant.
type Grant struct {
	UserID string    `json:"userId"`
	Camera bool      `json:"camera"` // may publish video as well as audio
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Sanction is a mute or a removal, with who decided it and why.
type Sanction struct {
	UserID string    `json:"userId"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// State is a lecture's floor as a whole.
type State struct {
	Locked  bool       `json:"locked"`
	Floor   *Grant     `json:"floor"` // nil: nobody holds the floor
	Hands   []Hand     `json:"hands"` // oldest first
	Muted   []Sanction `json:"muted"`
	Removed []Sanction `json:"removed"`
}

// MaxReason bounds a removal's reason, in characters.
const MaxReason = 200

func cleanReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len([]rune(s)) > MaxReason {
		return "", fmt.Errorf("%w: reason is longer than %d characters", ErrInvalid, MaxReason)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: reason contains control characters", ErrInvalid)
		}
	}
	return s, nil
}

const maxIDBytes = 128

// checkID refuses ids that would break the key layout: a brace would change
// which part of the key Redis Cluster hashes.
func checkID(field, id string) error {
	if id == "" || len(id) > maxIDBytes || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%w: %s must be 1-%d bytes without braces", ErrInvalid, field, maxIDBytes)
	}
	return nil
}

// Keys share the lecture's hash tag with its other records, so each script
// below touches one slot, on Redis Cluster too.
func stateKey(lec string) string   { return "ll:lecture:{" + lec + "}:floor" }   // hash: locked, grant (JSON)
func handsKey(lec string) string   { return "ll:lecture:{" + lec + "}:hands" }   // zset user -> raise time (ms)
func mutedKey(lec string) string   { return "ll:lecture:{" + lec + "}:muted" }   // hash user -> JSON Sanction
func removedKey(lec string) string { return "ll:lecture:{" + lec + "}:removed" } // hash user -> JSON Sanction
