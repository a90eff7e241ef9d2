// Package chat owns a lecture's text chat: messages appended to a
// per-lecture Redis stream that lives as long as the lecture's other
// records, read back as history by late joiners, and removable by the
// lecturer (the text is deleted; a tombstone says who removed it and when).
//
// Text is stored and returned as plain text. Rendering it safely (as text,
// never as HTML) is the client's job; the store refuses what no reader
// should get: invalid UTF-8, control characters, empty or oversized text.
package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on one message.
const (
	// MaxRunes is the longest message in characters.
	MaxRunes = 1000
	// MaxBytes bounds the UTF-8 size as well (1,000 emoji are 4,000 bytes).
	MaxBytes = 4000
	// maxStream is how many messages one lecture keeps; the oldest go first.
	// A busy 90-minute lecture has a few hundred.
	maxStream = 5000
	// DefaultHistory is how many recent messages History returns by default.
	DefaultHistory = 200
)

// Errors callers can test with errors.Is.
var (
	ErrInvalid  = errors.New("chat: invalid")
	ErrNotFound = errors.New("chat: no such message")
)

// Message is one chat message, or the tombstone of a deleted one.
type Message struct {
	ID        string    `json:"id"` // Redis stream id, set by Post; orders messages
	LectureID string    `json:"lectureId"`
	UserID    string    `json:"userId"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	SiteID    string    `json:"siteId"`
	Text      string    `json:"text"` // "" once deleted
	At        time.Time `json:"at"`
	// Deleted is set, with who deleted it and when, once a lecturer has
	// removed the message.
	Deleted   bool      `json:"deleted,omitempty"`
	DeletedBy string    `json:"deletedBy,omitempty"`
	DeletedAt time.Time `json:"deletedAt,omitzero"`
}

// CleanText validates a message's text and returns it trimmed. Line breaks
// and tabs are kept; every other control character, invalid UTF-8, blank
// text and text over the limits are refused.
func CleanText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: text is empty", ErrInvalid)
	}
	if len(s) > MaxBytes || utf8.RuneCountInString(s) > MaxRunes {
		return "", fmt.Errorf("%w: text is longer than %d characters", ErrInvalid, MaxRunes)
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			return "", fmt.Errorf("%w: text contains control character %U", ErrInvalid, r)
		}
	}
	return s, nil
}
