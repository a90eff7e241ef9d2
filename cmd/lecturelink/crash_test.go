package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/internal/redistest"
	"github.com/bomca/lecturelink/schedule"
	"github.com/gorilla/websocket"
)

// TestKillNine runs the real binary as a separate process, so that it can
// be killed with SIGKILL mid-lecture, and checks what the next start makes
// of the attendance it left behind.
func TestKillNine(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lecturelink")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// A student's open interval is closed at their last heartbeat, and
	// a rejoin after the restart opens a new one.
	t.Run("heartbeat", func(t *testing.T) {
		w := newCrashWorld(t, bin)
		p := w.start(t, fastPings)
		cookie := p.login(t, "berzina")
		ws := p.join(t, cookie, w.lecture.ID)
		w.waitSeenAfterJoin(t, ws.connID)
		p.kill(t)
		seen := w.seen(t, ws.connID) // the last heartbeat that reached Redis

		p2 := w.start(t, fastPings) // recovery runs before it listens
		evs := w.events(t)
		if len(evs) != 2 || evs[0].Kind != attendance.KindJoin || evs[0].ConnID != ws.connID ||
			evs[1].Kind != attendance.KindLeave || evs[1].ConnID != ws.connID || evs[1].Reason != attendance.ReasonRecovered {
			t.Fatalf("events after the crash = %+v, want the join and a recovered leave", evs)
		}
		if !evs[1].At.Equal(seen) || !evs[1].At.After(evs[0].At) {
			t.Fatalf("recovered leave at %v, want the last heartbeat %v (join %v)", evs[1].At, seen, evs[0].At)
		}

		// Rejoin inside the 60 s grace window, but after a gap long enough
		// to show in whole seconds.
		time.Sleep(2 * time.Second)
		ws2 := p2.join(t, p2.login(t, "berzina"), w.lecture.ID)
		evs = w.events(t)
		if len(evs) != 3 || evs[2].Kind != attendance.KindJoin || evs[2].ConnID != ws2.connID || evs[2].UserID != w.student.ID {
			t.Fatalf("events after the rejoin = %+v", evs)
		}
		if gap := evs[2].At.Sub(evs[1].At); gap <= 0 || gap > 60*time.Second {
			t.Fatalf("rejoin %v after the recovered leave; the test wants it inside the default 60 s grace window", gap)
		}
		// With the grace window the presence continues across the crash:
		// it runs from the first join, and is longer than without it.
		graced, bare := w.presence(t, 60*time.Second), w.presence(t, 0)
		if !graced.FirstJoin.Equal(evs[0].At) || !graced.Connected || graced.PresentSeconds < bare.PresentSeconds+1 {
			t.Fatalf("presence with grace %+v, without %+v: the gap should be bridged", graced, bare)
		}
	})

	// A join acknowledged while Redis was down lives only in the outbox
	// when the server is killed; the next start replays it before closing
	// open intervals, so it is recorded once and closed.
	t.Run("outbox", func(t *testing.T) {
		w := newCrashWorld(t, bin)
		p := w.start(t, slowPings)
		lecturerCookie := p.login(t, "aliev")
		studentCookie := p.login(t, "berzina")
		first := p.join(t, lecturerCookie, w.lecture.ID) // keeps the room loaded
		w.waitSeenAfterJoin(t, first.connID)
		ws := p.dial(t, studentCookie) // signed in while Redis answers

		w.redis.Stop()
		ws.send(t, map[string]string{"type": "join", "lectureId": w.lecture.ID})
		ws.expect(t, "joined")
		p.kill(t)
		w.redis.Start()

		w.start(t, slowPings)
		evs := w.events(t)
		var joins, leaves []attendance.Event
		for _, e := range evs {
			if e.ConnID != ws.connID {
				continue
			}
			if e.Kind == attendance.KindJoin {
				joins = append(joins, e)
			} else {
				leaves = append(leaves, e)
			}
		}
		if len(joins) != 1 || len(leaves) != 1 || leaves[0].Reason != attendance.ReasonRecovered || leaves[0].UserID != w.student.ID {
			t.Fatalf("events of the connection that joined during the outage = %+v", evs)
		}
		if leaves[0].At.Before(joins[0].At) {
			t.Fatalf("leave %v before join %v", leaves[0].At, joins[0].At)
		}
		if len(evs) != 4 {
			t.Fatalf("events = %+v, want the two joins and two recovered leaves", evs)
		}
	})
}

// crashWorld is a redis-server with an AOF holding one live lecture, and an
// outbox directory that outlives the server processes of one test.
type crashWorld struct {
	bin     string
	redis   *redistest.Server
	outbox  string
	att     *attendance.Store
	lecture schedule.Lecture
	student account.User
}

const crashPassword = "crash test password"

func newCrashWorld(t *testing.T, bin string) *crashWorld {
	t.Helper()
	ctx := context.Background()
	rs := redistest.StartWith(t, redistest.Options{AppendOnly: true})
	sched := schedule.NewStore(rs.Client, schedule.Options{})
	accounts := account.NewStore(rs.Client, account.Options{Argon2Time: 1, Argon2Memory: 1024, Argon2Threads: 1})
	for _, site := range []schedule.Site{
		{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre", TimeZone: "Asia/Bishkek"},
		{ID: "riga", Name: "Riga", Institution: "Riga Technical University", TimeZone: "Europe/Riga"},
	} {
		if err := sched.PutSite(ctx, site); err != nil {
			t.Fatal(err)
		}
	}
	lecturer, err := accounts.Create(ctx, account.NewUser{Username: "aliev", Password: crashPassword, DisplayName: "Marat Aliev", Role: account.RoleLecturer, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}
	student, err := accounts.Create(ctx, account.NewUser{Username: "berzina", Password: crashPassword, DisplayName: "Anna Berzina", Role: account.RoleStudent, SiteID: "riga"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := sched.CreateLecture(ctx, schedule.NewLecture{Title: "Document control", Topic: "Forged passports",
		Start: time.Now(), DurationMinutes: 90, LecturerID: lecturer.ID, SiteID: "osh"})
	if err != nil {
		t.Fatal(err)
	}
	if l, err = sched.Start(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	return &crashWorld{bin: bin, redis: rs, outbox: t.TempDir(), att: attendance.NewStore(rs.Client, attendance.Options{}),
		lecture: l, student: student}
}

// Ping intervals for start. A join during a Redis outage waits up to the
// outbox's 2 s attempt, during which the socket is not read: the pings must
// then give a client more than that before it counts as gone.
var (
	fastPings = []string{"-ping-interval", "100ms", "-touch-interval", "200ms"}
	slowPings = []string{"-ping-interval", "2s", "-touch-interval", "200ms"}
)

// crashProc is one server process.
type crashProc struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

var runningURL = regexp.MustCompile(`msg="lecturelink is running" url=(\S+)`)

// start runs the server and waits until it listens, which is after it has
// replayed the outbox and recovered open intervals.
func (w *crashWorld) start(t *testing.T, pings []string) *crashProc {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-redis", "redis://" + w.redis.Addr, "-outbox", w.outbox,
		"-ice-loopback", "-log-level", "debug"}, pings...)
	cmd := exec.Command(w.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashProc{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if testing.Verbose() {
				t.Log(sc.Text())
			}
			if m := runningURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- strings.TrimSuffix(m[1], "/")
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	select {
	case p.base = <-urls:
		return p
	case <-p.done:
		t.Fatal("server exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("server did not listen within 30 s")
	}
	return nil
}

// kill ends the server with SIGKILL: no leave is recorded, nothing flushed.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *crashProc) login(t *testing.T, username string) *http.Cookie {
	t.Helper()
	body := `{"username":"` + username + `","password":"` + crashPassword + `"}`
	resp, err := http.Post(p.base+"/api/session", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("sign-in as %s: %d %s", username, resp.StatusCode, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "ll_session" {
			return c
		}
	}
	t.Fatalf("sign-in as %s: no session cookie", username)
	return nil
}

// crashWS is a student's WebSocket; its reader answers the server's pings.
type crashWS struct {
	conn   *websocket.Conn
	connID string
	msgs   chan json.RawMessage
}

func (p *crashProc) dial(t *testing.T, cookie *http.Cookie) *crashWS {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", p.base)
	h.Set("Cookie", cookie.String())
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(p.base, "http")+"/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	ws := &crashWS{conn: conn, msgs: make(chan json.RawMessage, 256)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		defer close(ws.msgs)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			select {
			case ws.msgs <- b:
			default: // a test that stopped reading does not need the rest
			}
		}
	}()
	var hello struct {
		ConnID string `json:"connId"`
	}
	json.Unmarshal(ws.expect(t, "hello"), &hello)
	ws.connID = hello.ConnID
	return ws
}

// join dials and joins the lecture.
func (p *crashProc) join(t *testing.T, cookie *http.Cookie, lectureID string) *crashWS {
	t.Helper()
	ws := p.dial(t, cookie)
	ws.send(t, map[string]string{"type": "join", "lectureId": lectureID})
	ws.expect(t, "joined")
	return ws
}

func (ws *crashWS) send(t *testing.T, v any) {
	t.Helper()
	if err := ws.conn.WriteJSON(v); err != nil {
		t.Fatal(err)
	}
}

func (ws *crashWS) expect(t *testing.T, typ string) json.RawMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-ws.msgs:
			if !ok {
				t.Fatalf("connection closed while waiting for %q", typ)
			}
			var h struct{ Type string }
			json.Unmarshal(m, &h)
			if h.Type == typ {
				return m
			}
			if h.Type == "error" {
				t.Fatalf("waiting for %q: %s", typ, m)
			}
		case <-timeout:
			t.Fatalf("no %q within 10 s", typ)
		}
	}
}

// seen reads a connection's last sign of life as Redis holds it. The test
// reads the open hash directly (docs/data-model.md): no API exposes it.
func (w *crashWorld) seen(t *testing.T, connID string) time.Time {
	t.Helper()
	raw, err := w.redis.Client.HGet(context.Background(), "ll:lecture:{"+w.lecture.ID+"}:open", connID).Result()
	if err != nil {
		t.Fatalf("open entry of %s: %v", connID, err)
	}
	var o struct{ At, Seen string }
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	ms, err := strconv.ParseInt(o.Seen, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(ms).UTC()
}

// waitSeenAfterJoin waits until a heartbeat later than the join is in Redis.
func (w *crashWorld) waitSeenAfterJoin(t *testing.T, connID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := w.events(t)
		var joined time.Time
		for _, e := range evs {
			if e.ConnID == connID && e.Kind == attendance.KindJoin {
				joined = e.At
			}
		}
		if !joined.IsZero() {
			if w.seen(t, connID).After(joined.Add(time.Millisecond)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat of %s reached Redis within 10 s", connID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *crashWorld) events(t *testing.T) []attendance.Event {
	t.Helper()
	evs, err := w.att.Events(context.Background(), w.lecture.ID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// presence is the student's presence with the given grace window.
func (w *crashWorld) presence(t *testing.T, grace time.Duration) attendance.Presence {
	t.Helper()
	ps, err := w.att.Presence(context.Background(), w.lecture.ID, grace)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.UserID == w.student.ID {
			return p
		}
	}
	t.Fatalf("no presence of the student in %+v", ps)
	return attendance.Presence{}
}
