package signaling

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/chat"
	"github.com/bomca/lecturelink/floor"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
	"github.com/prometheus/client_golang/prometheus"
)

// AttendanceWriter records attendance as it happens: joins and leaves, and
// signs of life of open connections. *attendance.Store writes to Redis;
// *attendance.Recorder also keeps events in a durable local outbox while
// Redis is unavailable, so a Redis outage neither stops lectures nor loses
// attendance.
type AttendanceWriter interface {
	Record(ctx context.Context, e attendance.Event) (attendance.Event, error)
	Touch(ctx context.Context, lectureID, connID string, at time.Time) error
}

// Config is everything the signaling server needs; cmd/lecturelink builds it.
type Config struct {
	Logger     *slog.Logger
	Accounts   *account.Store
	Schedule   *schedule.Store
	Attendance *attendance.Store
	// AttendanceWriter records joins, leaves and signs of life (default:
	// Attendance). Reports and recovery read through Attendance.
	AttendanceWriter AttendanceWriter
	SFU              *sfu.SFU
	// Chat keeps each lecture's chat (nil: the server has no chat and
	// answers chat messages with unknown_type).
	Chat *chat.Store
	// Floor keeps each live lecture's hands, floor, mutes, removals and
	// lock (floor.go).
	Floor *floor.Store
	// Web is the browser app, served at /.
	Web fs.FS
	// Ready reports whether dependencies (Redis) answer; used by /readyz.
	Ready func(context.Context) error
	// Metrics registers the server's metrics (nil: not registered).
	Metrics prometheus.Registerer
	// AllowedOrigins are extra origins (scheme://host[:port]) whose pages may
	// open the WebSocket; the serving host itself is always allowed.
	AllowedOrigins []string
	// StartEarly is how long before its scheduled start a lecture may be started (default 15m).
	StartEarly time.Duration
	// PingInterval is how often the server pings each WebSocket (default 10s);
	// a client silent for three intervals is considered gone.
	PingInterval time.Duration
	// TouchInterval bounds how often a connection's sign of life is written
	// to attendance (default 15s): a connection lost in a crash is closed
	// at most this long before its real end.
	TouchInterval time.Duration
	// InsecureCookies drops the Secure attribute (only for plain-HTTP tests on
	// non-localhost hosts; browsers accept Secure cookies on localhost).
	InsecureCookies bool
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// ResumeGrace is how long a participant whose socket dropped keeps its
	// place in a live lecture for a resume (default 30s; negative: none).
	ResumeGrace time.Duration
	// MediaFailGrace is how long a participant's failed media connection
	// may take to recover by an ICE restart before its socket is closed
	// with 1013 (default 15s).
	MediaFailGrace time.Duration
	// AllowDuplicateJoins lets one user be in a lecture from several
	// connections at once, each a participant of its own (load tests with
	// shared accounts). Off, a second connection's join is refused with
	// "duplicate".
	AllowDuplicateJoins bool
	// MaxLectureParticipants refuses a newcomer to a lecture that has this
	// many participants, moderators not counted, with lecture_full (0:
	// unlimited). See limits.go.
	MaxLectureParticipants int
	// MaxMediaPeers refuses a newcomer when this server holds this many
	// participants across all lectures, live or waiting, with server_busy
	// (0: unlimited). Moderators are let in past it.
	MaxMediaPeers int
}

// Server is the HTTP and WebSocket front of lecturelink.
type Server struct {
	cfg Config
	// wsWriteBuffers lends WebSocket write buffers for the length of a
	// write, so an idle connection holds none (most are idle most of the
	// time: a few messages a minute).
	wsWriteBuffers sync.Pool
	log            *slog.Logger
	metrics        *metrics
	handler        http.Handler
	logins         *loginLimiter
	// setSiteBudget is cfg.SFU.SetSiteBudget; tests watch it through this field.
	setSiteBudget func(site string, bps uint64)

	mu       sync.Mutex
	rooms    map[string]*room
	clients  map[*client]struct{}
	closing  bool
	nextConn uint64
	wg       sync.WaitGroup // client goroutines

	resumes resumeTokens // live resume tokens (resume.go)
	seats   seats        // members of all rooms, for MaxMediaPeers (limits.go)
}

// New validates cfg and builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Accounts == nil || cfg.Schedule == nil || cfg.Attendance == nil || cfg.SFU == nil || cfg.Floor == nil {
		return nil, errors.New("signaling: accounts, schedule, attendance, floor and SFU are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartEarly == 0 {
		cfg.StartEarly = 15 * time.Minute
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 10 * time.Second
	}
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = 15 * time.Second
	}
	if cfg.AttendanceWriter == nil {
		cfg.AttendanceWriter = cfg.Attendance
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = defaultResumeGrace
	}
	if cfg.MediaFailGrace <= 0 {
		cfg.MediaFailGrace = defaultMediaFailGrace
	}
	if cfg.MaxLectureParticipants < 0 || cfg.MaxMediaPeers < 0 {
		return nil, errors.New("signaling: participant limits must be 0 (unlimited) or more")
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) error { return nil }
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("signaling: metrics: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: m,
		logins:  newLoginLimiter(cfg.Now),
		rooms:   make(map[string]*room),
		clients: make(map[*client]struct{}),
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(newLiveCollector(s)); err != nil {
			return nil, fmt.Errorf("signaling: metrics: %w", err)
		}
	}
	s.setSiteBudget = cfg.SFU.SetSiteBudget
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler serving the API, the WebSocket and the app.
func (s *Server) Handler() http.Handler { return s.handler }

// Recover closes attendance intervals left open by a previous process that
// died without recording its clients' leaves; each is closed at the
// connection's last recorded sign of life. Call it once before serving.
func (s *Server) Recover(ctx context.Context) error {
	ids, err := s.cfg.Attendance.OpenLectures(ctx)
	if err != nil {
		return fmt.Errorf("signaling: recover: %w", err)
	}
	for _, id := range ids {
		n, err := s.cfg.Attendance.CloseOpen(ctx, id, attendance.ReasonRecovered)
		if err != nil {
			return fmt.Errorf("signaling: recover lecture %s: %w", id, err)
		}
		s.log.Info("closed attendance left open by a previous run", "lecture", id, "connections", n)
	}
	return nil
}

// Shutdown disconnects every WebSocket client (recording their leaves) and
// waits for their goroutines, or for ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.shutdown()
	}
	done := make(chan struct{})
	// Participants in their reconnect window cannot come back to a server
	// that is stopping: their leaves are recorded once the sockets are done.
	defer s.dropLost()
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("signaling: shutdown: %w", ctx.Err())
	}
}
