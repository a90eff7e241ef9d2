package attendance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run replays the outbox whenever it holds events and Redis answers, and
// writes signs of life held in memory to it, until ctx is done. Start it
// once, in its own goroutine.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		flushDue := len(r.touches) > 0 && r.store.opts.Now().Sub(r.lastFlush) >= r.opts.TouchFlushInterval
		r.mu.Unlock()
		if flushDue {
			if err := r.flushTouches(); err != nil {
				r.log.Error("writing signs of life to the outbox failed", "err", err)
			}
		}
		if r.file.empty() {
			continue
		}
		if err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.log.Debug("attendance outbox not replayed yet", "err", err)
		}
	}
}

// Drain writes the signs of life held in memory to the outbox and replays
// the outbox into Redis, in order, until it is empty. It returns nil once
// everything is in Redis, or the error that stopped it (Redis unavailable:
// the rest stays in the outbox). Call it before Server.Recover at startup,
// so that connections opened during an outage are known when open
// intervals are closed.
func (r *Recorder) Drain(ctx context.Context) error {
	if err := r.flushTouches(); err != nil {
		return err
	}
	r.replayMu.Lock()
	defer r.replayMu.Unlock()
	for {
		from, to := r.file.span()
		if from < to {
			if err := r.file.readLines(from, to, func(line []byte, end int64) error {
				ok, err := r.apply(ctx, line)
				if err != nil {
					return err
				}
				r.file.applied(end)
				if ok {
					r.count(func(s *OutboxStats) { s.Replayed++ })
				}
				return nil
			}); err != nil {
				return err
			}
		}
		empty, err := r.file.truncateIfDone()
		if err != nil {
			return err
		}
		if empty {
			r.endOutage()
			return nil
		}
		// Lines were appended during the pass: apply them too.
	}
}

// apply writes one outbox line to Redis. A line Redis refuses for good
// (or that cannot be read) is set aside in rejected.jsonl rather than
// block every later line; only unavailability stops the replay. ok is
// false for a line set aside.
func (r *Recorder) apply(ctx context.Context, line []byte) (ok bool, err error) {
	var l outboxLine
	err = json.Unmarshal(line, &l)
	if err == nil && l.V != 1 {
		err = fmt.Errorf("unknown outbox line version %d", l.V)
	}
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
		switch {
		case l.Event != nil:
			_, err = r.store.Record(actx, *l.Event)
		case l.Touch != nil:
			err = r.store.Touch(actx, l.Touch.LectureID, l.Touch.ConnID, l.Touch.At)
		default:
			err = errors.New("outbox line holds neither an event nor a sign of life")
		}
		cancel()
		if err != nil && (unavailable(err) || ctx.Err() != nil) {
			return false, fmt.Errorf("attendance: replay outbox: %w", err)
		}
	}
	if err == nil {
		return true, nil
	}
	r.log.Error("attendance outbox line refused; kept in "+rejectedName, "dir", r.opts.Dir, "line", string(line), "err", err)
	if rerr := r.file.reject(line); rerr != nil {
		return false, rerr
	}
	r.count(func(s *OutboxStats) { s.Rejected++ })
	return false, nil
}

// flushTouches appends the signs of life held in memory to the outbox, in
// one write and one fsync. If the outbox is full they are dropped: a sign
// of life only moves a lost connection's end later.
func (r *Recorder) flushTouches() error {
	r.mu.Lock()
	ls := make([]outboxLine, 0, len(r.touches))
	for k, at := range r.touches {
		ls = append(ls, outboxLine{V: 1, Touch: &outboxTouch{LectureID: k.lectureID, ConnID: k.connID, At: at}})
	}
	clear(r.touches)
	r.lastFlush = r.store.opts.Now()
	r.mu.Unlock()
	if len(ls) == 0 {
		return nil
	}
	if _, err := r.file.appendLines(r.opts.MaxBytes, ls...); err != nil {
		if errors.Is(err, ErrOutboxFull) {
			r.log.Warn("attendance outbox full; signs of life dropped", "count", len(ls))
			return nil
		}
		return err
	}
	r.count(func(s *OutboxStats) { s.Queued += int64(len(ls)) })
	return nil
}

// endOutage reports, once, that the outbox has been replayed.
func (r *Recorder) endOutage() {
	r.mu.Lock()
	was := r.outage
	r.outage = false
	replayed, rejected := r.stats.Replayed, r.stats.Rejected
	r.mu.Unlock()
	if was {
		r.log.Info("attendance outbox replayed; writing to redis again", "replayed", replayed, "rejected", rejected)
	}
}

// unavailable reports whether err means Redis could not take the write
// now, as opposed to refusing it for good (an invalid event, a bug).
func unavailable(err error) bool {
	if err == nil || errors.Is(err, ErrInvalid) {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		// Replies that mean "not now" (loading, failing over, out of
		// memory, unable to persist), not "never".
		for _, p := range [...]string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
			"BUSY", "OOM", "MISCONF", "NOREPLICAS", "max number of clients reached"} {
			if redis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
