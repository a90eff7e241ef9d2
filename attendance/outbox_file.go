package attendance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Outbox file names inside OutboxOptions.Dir.
const (
	outboxName   = "events.jsonl"   // pending lines, in order
	rejectedName = "rejected.jsonl" // lines Redis refused for good, kept for a person to look at
)

// outboxLine is one line of the outbox: an event or a sign of life, as
// JSON. V is the format version, 1.
type outboxLine struct {
	V     int          `json:"v"`
	Event *Event       `json:"event,omitempty"`
	Touch *outboxTouch `json:"touch,omitempty"`
}

// outboxTouch is a sign of life of one connection.
type outboxTouch struct {
	LectureID string    `json:"lectureId"`
	ConnID    string    `json:"connId"`
	At        time.Time `json:"at"`
}

// outboxFile is the append-only outbox. Lines are appended and fsynced
// under mu; the replay reads them back with ReadAt, without holding mu
// while it talks to Redis, and truncates the file only when every line up
// to its end has been applied and nothing was appended meanwhile.
type outboxFile struct {
	dir string

	mu     sync.Mutex
	f      *os.File // O_APPEND; nil once closed
	size   int64    // bytes in the file
	done   int64    // bytes at its start already applied in this run
	lines  int64    // lines after done
	closed bool
}

func openOutboxFile(dir string, log *slog.Logger) (*outboxFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attendance: outbox directory: %w", err)
	}
	path := filepath.Join(dir, outboxName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("attendance: open outbox: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	// The file may have just been created: make its name durable too.
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("attendance: sync outbox directory: %w", err)
	}
	o := &outboxFile{dir: dir, f: f}
	if err := o.recoverTail(log); err != nil {
		f.Close()
		return nil, err
	}
	return o, nil
}

// recoverTail measures the file and cuts off a last line torn by a crash
// in mid-write. Such a line was never fsynced, so no caller was told its
// event was recorded.
func (o *outboxFile) recoverTail(log *slog.Logger) error {
	data, err := io.ReadAll(io.NewSectionReader(o.f, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("attendance: read outbox: %w", err)
	}
	keep := int64(bytes.LastIndexByte(data, '\n') + 1)
	if keep < int64(len(data)) {
		log.Warn("attendance outbox ends in a torn line; dropping it", "bytes", int64(len(data))-keep)
		if err := o.f.Truncate(keep); err != nil {
			return fmt.Errorf("attendance: cut torn outbox line: %w", err)
		}
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("attendance: sync outbox: %w", err)
		}
	}
	o.size = keep
	o.lines = int64(bytes.Count(data[:keep], []byte{'\n'}))
	return nil
}

// empty reports whether no line is waiting, so events may go to Redis directly.
func (o *outboxFile) empty() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.size == 0
}

// pending returns the bytes and lines not yet applied.
func (o *outboxFile) pending() (int64, int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.size - o.done, o.lines
}

// appendLines writes ls at the end of the file and fsyncs it, all or
// nothing, unless the file would grow beyond limit. It returns the bytes
// written.
func (o *outboxFile) appendLines(limit int64, ls ...outboxLine) (int64, error) {
	var buf bytes.Buffer
	for _, l := range ls {
		b, err := json.Marshal(l)
		if err != nil {
			return 0, fmt.Errorf("attendance: encode outbox line: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, ErrOutboxClosed
	}
	if o.size+int64(buf.Len()) > limit {
		return 0, fmt.Errorf("%w: %d bytes used, %d allowed", ErrOutboxFull, o.size, limit)
	}
	_, err := o.f.Write(buf.Bytes())
	if err == nil {
		err = o.f.Sync()
	}
	if err != nil {
		// Cut what may have reached the file, so that an event whose
		// caller is told it failed is not replayed later.
		if terr := o.f.Truncate(o.size); terr != nil {
			err = errors.Join(err, terr)
		}
		return 0, fmt.Errorf("attendance: write outbox: %w", err)
	}
	o.size += int64(buf.Len())
	o.lines += int64(len(ls))
	return int64(buf.Len()), nil
}

// span returns the byte range not yet applied.
func (o *outboxFile) span() (from, to int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done, o.size
}

// readLines calls f for each line in [from, to), with the offset after
// it, and stops at f's first error.
func (o *outboxFile) readLines(from, to int64, f func(line []byte, end int64) error) error {
	o.mu.Lock()
	file := o.f
	o.mu.Unlock()
	if file == nil {
		return ErrOutboxClosed
	}
	rd := bufio.NewReader(io.NewSectionReader(file, from, to-from))
	off := from
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			off += int64(len(line))
			if ferr := f(bytes.TrimSuffix(line, []byte{'\n'}), off); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("attendance: read outbox: %w", err)
		}
	}
}

// applied records that every line before end has been applied.
func (o *outboxFile) applied(end int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if end > o.done {
		o.done = end
		o.lines--
	}
}

// truncateIfDone empties the file if every line in it has been applied,
// and reports whether the file is empty. Until then the file keeps every
// line, applied or not: a crash before this point replays them all, which
// the idempotency keys make harmless.
func (o *outboxFile) truncateIfDone() (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.size == 0 {
		return true, nil
	}
	if o.f == nil {
		return false, ErrOutboxClosed
	}
	if o.done < o.size {
		return false, nil
	}
	if err := o.f.Truncate(0); err != nil {
		return false, fmt.Errorf("attendance: truncate outbox: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		return false, fmt.Errorf("attendance: sync outbox: %w", err)
	}
	o.size, o.done, o.lines = 0, 0, 0
	return true, nil
}

// reject keeps a line Redis refused for good in rejected.jsonl.
func (o *outboxFile) reject(line []byte) error {
	f, err := os.OpenFile(filepath.Join(o.dir, rejectedName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("attendance: open rejected outbox lines: %w", err)
	}
	_, err = f.Write(append(append([]byte{}, line...), '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("attendance: keep rejected outbox line: %w", err)
	}
	return nil
}

// isClosed reports whether close has been called.
func (o *outboxFile) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// close closes the file, which releases the directory for another process.
func (o *outboxFile) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.f.Close()
	o.f = nil
	if err != nil {
		return fmt.Errorf("attendance: close outbox: %w", err)
	}
	return nil
}
