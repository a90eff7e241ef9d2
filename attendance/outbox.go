package attendance

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrOutboxFull is returned by Recorder.Record when Redis is unavailable and
// the outbox has no room left for the event: the event is not recorded.
var ErrOutboxFull = errors.New("attendance: outbox full")

// ErrOutboxClosed is returned by a Recorder after Close.
var ErrOutboxClosed = errors.New("attendance: outbox closed")

// OutboxOptions configures a Recorder.
type OutboxOptions struct {
	// Dir holds the outbox files (created if missing). Required.
	Dir string
	// MaxBytes bounds the outbox file (default 64 MiB). Joins are refused
	// before it is full: room is kept for the leave of every join in the
	// outbox, and an eighth more for the leaves and signs of life of
	// connections that joined before the outage.
	MaxBytes int64
	// AttemptTimeout bounds one Redis attempt of Record or Touch before the
	// event goes to the outbox instead (default 2s).
	AttemptTimeout time.Duration
	// RetryInterval is how often Run tries to replay the outbox while it
	// holds events (default 1s).
	RetryInterval time.Duration
	// TouchFlushInterval is how often signs of life kept in memory during an
	// outage are written to the outbox (default 10s).
	TouchFlushInterval time.Duration
	// Logger receives outage and replay reports (default: discard).
	Logger *slog.Logger
}

// OutboxStats are a Recorder's counters, for metrics.
type OutboxStats struct {
	PendingBytes   int64 // outbox bytes not yet replayed into Redis
	PendingLines   int64 // outbox lines (events and signs of life) not yet replayed
	PendingTouches int   // signs of life held in memory, not yet in the outbox
	Queued         int64 // lines written to the outbox since start
	Replayed       int64 // lines replayed into Redis since start
	Rejected       int64 // lines Redis refused for good, moved to rejected.jsonl
	Refused        int64 // events refused because the outbox was full
}

// Recorder records attendance in Redis through a Store and, while Redis is
// unavailable, in a bounded, local, append-only outbox file that it replays
// in order once Redis answers again. An event in the outbox is durable (it
// is fsynced before Record returns), so a join can be acknowledged during a
// Redis outage without being lost, even if the server then crashes.
//
// Every event gets an idempotency key before its first attempt, so a
// replay may apply an event that a timed-out attempt or an interrupted
// earlier replay already applied: Redis writes it once (Store.Record).
//
// While the outbox holds anything, new events go to its end too, even if
// Redis answers meanwhile, so that a connection's leave is never applied
// before its join. Signs of life (Touch) during an outage are kept in
// memory, the latest per connection, and written to the outbox every
// TouchFlushInterval and before each replay; a crash loses at most that
// interval of them, so a connection lost in the crash is closed that much
// earlier than its real last sign of life.
//
// The outbox is safe for concurrent use. Its directory must belong to one
// process at a time; a second Recorder on it fails to open.
type Recorder struct {
	store *Store
	opts  OutboxOptions
	log   *slog.Logger
	file  *outboxFile

	replayMu sync.Mutex // one replay at a time

	mu        sync.Mutex
	touches   map[connRef]time.Time // latest sign of life per connection, during an outage
	reserved  map[connRef]int64     // outbox bytes kept for the leave of a join in the outbox
	reserve   int64                 // sum of reserved
	lastFlush time.Time
	outage    bool // reported as begun; reset when the outbox empties
	stats     OutboxStats
}

// connRef names one connection of one lecture.
type connRef struct{ lectureID, connID string }

// NewRecorder opens (or creates) the outbox in opts.Dir. Events left in it
// by an earlier run are replayed by Drain or Run.
func NewRecorder(store *Store, opts OutboxOptions) (*Recorder, error) {
	if opts.Dir == "" {
		return nil, errors.New("attendance: outbox directory is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 2 * time.Second
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.TouchFlushInterval <= 0 {
		opts.TouchFlushInterval = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := openOutboxFile(opts.Dir, opts.Logger)
	if err != nil {
		return nil, err
	}
	r := &Recorder{store: store, opts: opts, log: opts.Logger, file: f,
		touches: make(map[connRef]time.Time), reserved: make(map[connRef]int64), lastFlush: store.opts.Now()}
	if size, lines := f.pending(); size > 0 {
		r.outage = true
		r.log.Warn("attendance outbox holds events of an earlier run; they are replayed when Redis answers",
			"dir", opts.Dir, "bytes", size, "lines", lines)
	}
	return r, nil
}

// Store returns the Store the Recorder writes to.
func (r *Recorder) Store() *Store { return r.store }

// Record records e like Store.Record. If Redis is unavailable (it does not
// answer, or answers that it cannot take writes now), or the outbox already
// holds events, e is appended to the outbox instead and returned without
// an ID once it is on disk. Invalid events are refused either way; so is
// every event when the outbox is full (ErrOutboxFull).
func (r *Recorder) Record(ctx context.Context, e Event) (Event, error) {
	e, err := r.store.normalize(e)
	if err != nil {
		return Event{}, err
	}
	if e.IdempotencyKey == "" {
		e.IdempotencyKey = newIdempotencyKey()
	}
	k := connRef{e.LectureID, e.ConnID}
	if e.Kind == KindLeave {
		// The leave's time supersedes any sign of life still held, and
		// the leave no longer needs the room kept for it: it is recorded
		// now or refused for good.
		r.mu.Lock()
		delete(r.touches, k)
		r.reserve -= r.reserved[k]
		delete(r.reserved, k)
		r.mu.Unlock()
	}
	if r.file.empty() {
		actx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
		got, err := r.store.Record(actx, e)
		cancel()
		if err == nil {
			return got, nil
		}
		if !unavailable(err) || ctx.Err() != nil {
			return Event{}, err
		}
		r.beginOutage(err)
	}
	line := outboxLine{V: 1, Event: &e}
	limit, keep := r.limitFor(line)
	n, err := r.file.appendLines(limit, line)
	if err != nil {
		if errors.Is(err, ErrOutboxFull) {
			r.count(func(s *OutboxStats) { s.Refused++ })
		}
		return Event{}, err
	}
	r.mu.Lock()
	r.stats.Queued++
	if keep {
		// Room for the leave: it carries no more than the join did.
		r.reserved[k] = n
		r.reserve += n
	}
	r.mu.Unlock()
	return e, nil
}

// Touch records a sign of life like Store.Touch. While Redis is unavailable
// or the outbox holds events, the latest sign of life per connection is kept
// in memory and written to the outbox later (see Recorder).
func (r *Recorder) Touch(ctx context.Context, lectureID, connID string, at time.Time) error {
	if err := checkID("lectureId", lectureID); err != nil {
		return err
	}
	if err := checkID("connId", connID); err != nil {
		return err
	}
	if at.IsZero() {
		at = r.store.opts.Now()
	}
	if r.file.empty() {
		actx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
		err := r.store.Touch(actx, lectureID, connID, at)
		cancel()
		if err == nil {
			return nil
		}
		if !unavailable(err) || ctx.Err() != nil {
			return err
		}
		r.beginOutage(err)
	}
	k := connRef{lectureID, connID}
	r.mu.Lock()
	if at.After(r.touches[k]) {
		r.touches[k] = at
	}
	r.mu.Unlock()
	return nil
}

// Stats returns the Recorder's counters.
func (r *Recorder) Stats() OutboxStats {
	r.mu.Lock()
	s := r.stats
	s.PendingTouches = len(r.touches)
	r.mu.Unlock()
	s.PendingBytes, s.PendingLines = r.file.pending()
	return s
}

// Close writes the signs of life held in memory to the outbox, tries once
// (within ctx) to replay the outbox, and closes it. Events that could not
// be replayed stay in the outbox for the next run. Closing again does
// nothing.
func (r *Recorder) Close(ctx context.Context) error {
	if r.file.isClosed() {
		return nil
	}
	derr := r.Drain(ctx)
	if err := r.file.close(); err != nil {
		return err
	}
	if derr != nil {
		size, lines := r.file.pending()
		return fmt.Errorf("attendance: outbox keeps %d lines (%d bytes) for the next run: %w", lines, size, derr)
	}
	return nil
}

func (r *Recorder) count(f func(*OutboxStats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// beginOutage reports, once per outage, that events now go to the outbox.
func (r *Recorder) beginOutage(err error) {
	r.mu.Lock()
	first := !r.outage
	r.outage = true
	r.mu.Unlock()
	if first {
		r.log.Warn("redis unavailable: attendance goes to the local outbox until it answers again",
			"dir", r.opts.Dir, "err", err)
	}
}

// limitFor is how large the outbox may grow with l, and whether room must
// then be kept for the leave of l (a join). Leaves may fill the outbox;
// joins stop short of the room kept for leaves. Concurrent joins may both
// pass the check, so the room is approximate, but MaxBytes never is.
func (r *Recorder) limitFor(l outboxLine) (int64, bool) {
	max := r.opts.MaxBytes
	if l.Event == nil || l.Event.Kind != KindJoin {
		return max, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return max - max/8 - r.reserve, true
}

// keyEncoding is lower-case base32 without padding.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newIdempotencyKey returns 80 random bits: "ik_" and 16 characters.
func newIdempotencyKey() string {
	b := make([]byte, 10)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return "ik_" + keyEncoding.EncodeToString(b)
}
