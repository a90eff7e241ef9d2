package sfu

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's logging into the SFU's slog.Logger, so one handler
// decides what is printed, instead of pion writing to stderr on its own.
// pion's Info is chatty about routine ICE and DTLS progress, so it is logged
// at Debug; its Trace is dropped.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(string)          {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(msg string)      { l.log.Debug(msg) }
func (l pionLogger) Debugf(f string, a ...any) {
	l.logf(slog.LevelDebug, f, a...)
}
func (l pionLogger) Info(msg string) { l.log.Debug(msg) }
func (l pionLogger) Infof(f string, a ...any) {
	l.logf(slog.LevelDebug, f, a...)
}
func (l pionLogger) Warn(msg string) { l.log.Warn(msg) }
func (l pionLogger) Warnf(f string, a ...any) {
	l.logf(slog.LevelWarn, f, a...)
}
func (l pionLogger) Error(msg string) { l.log.Error(msg) }
func (l pionLogger) Errorf(f string, a ...any) {
	l.logf(slog.LevelError, f, a...)
}
