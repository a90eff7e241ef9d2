package attendance

import (
	"fmt"
	"strings"
)

// Keys. The per-lecture keys share the hash tag {lectureID} (the same one
// the schedule uses for the lecture's hash), so one script can append to
// the stream and update the open set atomically, on Redis Cluster too.
// The open-lectures index spans all lectures and so cannot share their
// slot; see index.go for how it stays correct without that.
const keyOpenLectures = "ll:attendance:open-lectures" // zset: lecture id, score = change counter

func eventsKey(lectureID string) string  { return "ll:lecture:{" + lectureID + "}:events" }  // stream
func openKey(lectureID string) string    { return "ll:lecture:{" + lectureID + "}:open" }    // hash connId -> JSON openConn
func closedKey(lectureID string) string  { return "ll:lecture:{" + lectureID + "}:closed" }  // hash connId -> stream id of its leave
func appliedKey(lectureID string) string { return "ll:lecture:{" + lectureID + "}:applied" } // hash idempotency key -> stream id

const maxIDBytes = 128

// checkID refuses ids that would break the key layout: a brace would change
// which part of the key Redis Cluster hashes.
func checkID(field, id string) error {
	if id == "" || len(id) > maxIDBytes || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%w: %s must be 1-%d bytes without braces", ErrInvalid, field, maxIDBytes)
	}
	return nil
}
