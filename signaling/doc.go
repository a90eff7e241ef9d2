// Package signaling owns lecturelink's edge: the HTTP JSON API, sign-in and
// sessions (via cookies), the WebSocket endpoint and its versioned JSON
// protocol, the state of each connected client, and the per-lecture rooms
// that tie clients to the SFU and to attendance. It checks every action
// against the caller's role. It speaks neither RTP nor Redis keys: media is
// the sfu package's, storage belongs to account, schedule and attendance.
package signaling
