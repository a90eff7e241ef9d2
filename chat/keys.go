package chat

import (
	"fmt"
	"strings"
)

// Keys share the lecture's hash tag {lectureID} with the schedule's and
// attendance's per-lecture keys, so the delete script touches one slot on
// Redis Cluster too.
func streamKey(lectureID string) string     { return "ll:lecture:{" + lectureID + "}:chat" }         // stream of messages
func tombstonesKey(lectureID string) string { return "ll:lecture:{" + lectureID + "}:chat-deleted" } // hash stream id -> JSON tombstone

const maxIDBytes = 128

// checkID refuses ids that would break the key layout: a brace would change
// which part of the key Redis Cluster hashes.
func checkID(field, id string) error {
	if id == "" || len(id) > maxIDBytes || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%w: %s must be 1-%d bytes without braces", ErrInvalid, field, maxIDBytes)
	}
	return nil
}
