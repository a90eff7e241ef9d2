package signaling

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/chat"
	"github.com/bomca/lecturelink/floor"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/bomca/lecturelink/sfu"
	"github.com/gorilla/websocket"
)

const testPassword = "correct horse battery"

// env is a complete signaling server on a real redis-server and a real SFU.
type env struct {
	t        *testing.T
	http     *httptest.Server
	server   *Server
	accounts *account.Store
	sched    *schedule.Store
	att      *attendance.Store
	media    *sfu.SFU
	users    map[string]account.User // by username
	cookies  map[string]*http.Cookie // sessions by username, see session
	lecture  schedule.Lecture        // starts in five minutes, taught by "lecturer"
	other    schedule.Lecture        // taught by "lecturer2"
	redis    *redistest.Server
	rec      *attendance.Recorder // with envOptions.outbox
}

type envOptions struct {
	pingInterval time.Duration
	// outbox records attendance through an attendance.Recorder, on a
	// redis-server with an AOF that the test may stop and start.
	outbox bool
	// siteBudget, if set, sees every budget the server gives the SFU
	// (which still gets it too).
	siteBudget func(site string, bps uint64)
	// resumeGrace is Config.ResumeGrace (0: the default).
	resumeGrace time.Duration
	// mediaFailGrace is Config.MediaFailGrace (0: the default).
	mediaFailGrace time.Duration
	// allowDuplicateJoins is Config.AllowDuplicateJoins.
	allowDuplicateJoins bool
	// maxLectureParticipants and maxMediaPeers are the Config limits.
	maxLectureParticipants, maxMediaPeers int
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	rs := redistest.StartWith(t, redistest.Options{AppendOnly: opts.outbox})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	e := &env{
		t:        t,
		accounts: account.NewStore(rs.Client, account.Options{Argon2Time: 1, Argon2Memory: 1024, Argon2Threads: 1, SiteExists: SiteExists(sched)}),
		sched:    sched,
		att:      attendance.NewStore(rs.Client, attendance.Options{}),
		users:    map[string]account.User{},
		cookies:  map[string]*http.Cookie{},
		redis:    rs,
	}
	var writer AttendanceWriter // nil: the Store
	if opts.outbox {
		e.rec = newTestRecorder(t, e.att)
		writer = e.rec
	}
	media, err := sfu.New(sfu.Config{Logger: log, IncludeLoopback: true})
	if err != nil {
		t.Fatalf("sfu: %v", err)
	}
	e.media = media
	for _, site := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := e.sched.PutSite(ctx, site); err != nil {
			t.Fatalf("site: %v", err)
		}
	}
	for _, nu := range []account.NewUser{
		{Username: "admin", DisplayName: "Admin", Role: account.RoleAdmin, SiteID: "osh"},
		{Username: "lecturer", DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"},
		{Username: "lecturer2", DisplayName: "Ilze Ozola", Role: account.RoleLecturer, SiteID: "riga"},
		{Username: "student1", DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga"},
		{Username: "student2", DisplayName: "Janis Kalns", Role: account.RoleStudent, SiteID: "riga"},
		{Username: "student3", DisplayName: "Aibek Toktogulov", Role: account.RoleStudent, SiteID: "osh"},
		{Username: "operator", DisplayName: "Osh classroom", Role: account.RoleOperator, SiteID: "osh"},
	} {
		nu.Password = testPassword
		u, err := e.accounts.Create(ctx, nu)
		if err != nil {
			t.Fatalf("user %s: %v", nu.Username, err)
		}
		e.users[u.Username] = u
	}
	now := time.Now()
	e.lecture, err = e.sched.CreateLecture(ctx, schedule.NewLecture{Title: "Document control", Topic: "Forged passports",
		Start: now.Add(5 * time.Minute), DurationMinutes: 90, LecturerID: e.users["lecturer"].ID, SiteID: "osh"})
	if err != nil {
		t.Fatalf("lecture: %v", err)
	}
	e.other, err = e.sched.CreateLecture(ctx, schedule.NewLecture{Title: "Green border patrols", Topic: "Night observation",
		Start: now.Add(time.Hour), DurationMinutes: 60, LecturerID: e.users["lecturer2"].ID, SiteID: "riga"})
	if err != nil {
		t.Fatalf("lecture: %v", err)
	}
	srv, err := New(Config{Logger: log, Accounts: e.accounts, Schedule: e.sched, Attendance: e.att, AttendanceWriter: writer, SFU: media,
		PingInterval: opts.pingInterval, ResumeGrace: opts.resumeGrace, MediaFailGrace: opts.mediaFailGrace,
		AllowDuplicateJoins:    opts.allowDuplicateJoins,
		MaxLectureParticipants: opts.maxLectureParticipants, MaxMediaPeers: opts.maxMediaPeers,
		Floor: floor.NewStore(rs.Client, floor.Options{}),
		Chat:  chat.NewStore(rs.Client, chat.Options{}),
		Ready: func(ctx context.Context) error { return rs.Client.Ping(ctx).Err() }})
	if err != nil {
		t.Fatalf("signaling: %v", err)
	}
	if opts.siteBudget != nil {
		srv.setSiteBudget = func(site string, bps uint64) {
			opts.siteBudget(site, bps)
			media.SetSiteBudget(site, bps)
		}
	}
	e.server = srv
	e.http = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.http.Close()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		media.Close()
	})
	return e
}

// login signs username in and returns the session cookie.
func (e *env) login(username string) *http.Cookie {
	e.t.Helper()
	body := `{"username":"` + username + `","password":"` + testPassword + `"}`
	resp, err := http.Post(e.http.URL+"/api/session", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("login %s: %d %s", username, resp.StatusCode, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	e.t.Fatalf("login %s: no session cookie", username)
	return nil
}

// session returns a signed-in cookie for username, made once and straight
// from the account store: sign-in through the API is rate limited per
// address, and the route tests need many sessions.
func (e *env) session(username string) *http.Cookie {
	e.t.Helper()
	if c := e.cookies[username]; c != nil {
		return c
	}
	ctx := context.Background()
	u, err := e.accounts.ByUsername(ctx, username)
	if err != nil {
		e.t.Fatalf("session for %s: %v", username, err)
	}
	token, err := e.accounts.CreateSession(ctx, u.ID)
	if err != nil {
		e.t.Fatalf("session for %s: %v", username, err)
	}
	c := &http.Cookie{Name: sessionCookie, Value: token}
	e.cookies[username] = c
	return c
}

// do sends an API request with the cookie (nil: anonymous) and decodes the reply into out.
func (e *env) do(method, path string, cookie *http.Cookie, body string, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	// Only JSON replies are decoded: calendar feeds are text/calendar.
	if b, _ := io.ReadAll(resp.Body); out != nil && len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d, undecodable body %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// wsClient is a test's WebSocket connection. Messages whose type has a
// handler are passed to it; the rest are queued for expect.
type wsClient struct {
	t        *testing.T
	conn     *websocket.Conn
	mu       sync.Mutex
	handlers map[string]func(json.RawMessage)
	queue    chan json.RawMessage
	closed   chan struct{}
	writeMu  sync.Mutex
}

// dial opens the WebSocket as username; setup runs before reading starts.
func (e *env) dial(username string, setup ...func(*websocket.Conn)) *wsClient {
	e.t.Helper()
	h := http.Header{}
	h.Set("Origin", e.http.URL)
	h.Set("Cookie", e.login(username).String())
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.http.URL, "http")+"/ws", h)
	if err != nil {
		e.t.Fatalf("dial as %s: %v (%v)", username, err, resp)
	}
	for _, f := range setup {
		f(conn)
	}
	c := &wsClient{t: e.t, conn: conn, handlers: map[string]func(json.RawMessage){},
		queue: make(chan json.RawMessage, 1024), closed: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() { conn.Close(); <-c.closed })
	hello := c.expect("hello")
	var hm struct {
		V    int
		User account.User
	}
	json.Unmarshal(hello, &hm)
	if hm.V != ProtocolVersion || hm.User.Username != username {
		e.t.Fatalf("hello: %s", hello)
	}
	return c
}

func (c *wsClient) readLoop() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		var m struct{ Type string }
		json.Unmarshal(data, &m)
		c.mu.Lock()
		h := c.handlers[m.Type]
		c.mu.Unlock()
		if h != nil {
			h(data)
			continue
		}
		select {
		case c.queue <- data:
		default:
			c.t.Errorf("test client queue full; dropping %s", data)
		}
	}
}

func (c *wsClient) handle(typ string, h func(json.RawMessage)) {
	c.mu.Lock()
	c.handlers[typ] = h
	c.mu.Unlock()
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Errorf("send: %v", err)
	}
}

func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Errorf("send: %v", err)
	}
}

// expect waits for the next queued message of type typ, skipping others.
func (c *wsClient) expect(typ string) json.RawMessage {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.queue:
			var h struct{ Type string }
			json.Unmarshal(m, &h)
			if h.Type == typ {
				return m
			}
		case <-c.closed:
			c.t.Fatalf("connection closed while waiting for %q", typ)
		case <-timeout:
			c.t.Fatalf("no %q message within 10s", typ)
		}
	}
}

// expectError waits for an error message and checks its code and ref.
func (c *wsClient) expectError(code, ref string) {
	c.t.Helper()
	var m errorMsg
	if err := json.Unmarshal(c.expect("error"), &m); err != nil {
		c.t.Fatal(err)
	}
	if m.Code != code || m.Ref != ref || m.Message == "" {
		c.t.Fatalf("error = %+v, want code %q ref %q with a message", m, code, ref)
	}
}

// lectureState decodes a joined or lecture message's lecture state.
func lectureState(t *testing.T, raw json.RawMessage) schedule.State {
	t.Helper()
	var m struct{ Lecture LectureView }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Lecture.State
}
