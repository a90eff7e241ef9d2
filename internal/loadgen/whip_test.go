package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// whipRelay is a minimal WHIP/WHEP server for the tests: a pion peer per
// session on loopback; the publisher's RTP is written to one local track
// per kind, which every WHEP session sends on. Sessions end by DELETE.
type whipRelay struct {
	t      *testing.T
	api    *webrtc.API
	bearer string
	video  *webrtc.TrackLocalStaticRTP
	audio  *webrtc.TrackLocalStaticRTP
	srv    *httptest.Server

	// whip, if set, answers WHIP POSTs instead of the relay (bad servers).
	whip http.HandlerFunc

	mu       sync.Mutex
	sessions map[string]*webrtc.PeerConnection
	next     int
	deleted  []string // sessions ended
	deletes  []string // every DELETE, of known sessions or not
	posts    int
	received map[string]int // RTP packets from the publisher, by kind
}

func newWHIPRelay(t *testing.T, bearer string) *whipRelay {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	rl := &whipRelay{t: t, bearer: bearer, sessions: map[string]*webrtc.PeerConnection{}, received: map[string]int{},
		api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))}
	var err error
	if rl.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "relay"); err != nil {
		t.Fatal(err)
	}
	if rl.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "relay"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip", func(w http.ResponseWriter, r *http.Request) {
		if rl.whip != nil {
			rl.whip(w, r)
			return
		}
		rl.post(w, r, true)
	})
	mux.HandleFunc("POST /whep", func(w http.ResponseWriter, r *http.Request) { rl.post(w, r, false) })
	mux.HandleFunc("DELETE /session/{id}", rl.delete)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/nowhere" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
		http.NotFound(w, r)
	})
	rl.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		rl.srv.Close()
		rl.mu.Lock()
		defer rl.mu.Unlock()
		for _, pc := range rl.sessions {
			_ = pc.Close()
		}
	})
	return rl
}

func (rl *whipRelay) authorized(w http.ResponseWriter, r *http.Request) bool {
	if rl.bearer != "" && r.Header.Get("Authorization") != "Bearer "+rl.bearer {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return false
	}
	return true
}

// post answers a WHIP (publish) or WHEP (receive-only) offer, without
// trickle: the answer carries every candidate.
func (rl *whipRelay) post(w http.ResponseWriter, r *http.Request, publish bool) {
	if !rl.authorized(w, r) {
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, "want application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	pc, err := rl.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fail := func(code int, err error) {
		_ = pc.Close()
		http.Error(w, err.Error(), code)
	}
	if publish {
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			out := rl.audio
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				out = rl.video
			}
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				rl.mu.Lock()
				rl.received[tr.Kind().String()]++
				rl.mu.Unlock()
				_ = out.WriteRTP(p)
			}
		})
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	if !publish {
		for _, tr := range []webrtc.TrackLocal{rl.audio, rl.video} {
			s, err := pc.AddTrack(tr)
			if err != nil {
				fail(http.StatusInternalServerError, err)
				return
			}
			go func() {
				buf := make([]byte, 1500)
				for {
					if _, _, err := s.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	<-gathered
	rl.mu.Lock()
	rl.next++
	rl.posts++
	id := fmt.Sprintf("s%d", rl.next)
	rl.sessions[id] = pc
	rl.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/session/"+id) // relative, as servers often send it
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func (rl *whipRelay) delete(w http.ResponseWriter, r *http.Request) {
	if !rl.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	rl.mu.Lock()
	rl.deletes = append(rl.deletes, id)
	pc, ok := rl.sessions[id]
	delete(rl.sessions, id)
	if ok {
		rl.deleted = append(rl.deleted, id)
	}
	rl.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_ = pc.Close()
	w.WriteHeader(http.StatusOK)
}

// whipRun is a short run against rl.
func whipRun(rl *whipRelay, subscribers int) Config {
	return Config{
		WHIP: rl.srv.URL + "/whip", WHEP: rl.srv.URL + "/whep", Bearer: rl.bearer,
		Subscribers: subscribers, Publishers: 1, Layers: 1, SubRTCP: true,
		Bitrate: 300_000, FPS: 15, KeyframeInterval: time.Second, AudioBitrate: 32_000,
		Ramp: 200 * time.Millisecond, Settle: 500 * time.Millisecond, Duration: 2 * time.Second, Timeout: 20 * time.Second,
	}
}

// TestWHIP runs the tool in WHIP/WHEP mode against the in-test relay:
// media flows from the WHIP publisher to every WHEP subscriber, delay and
// loss are measured as in lecturelink's mode, and every session is
// DELETEd at the end.
func TestWHIP(t *testing.T) {
	rl := newWHIPRelay(t, "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, whipRun(rl, 3))
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", table.String())
	if rep.Joined != 3 || rep.Failed != 0 || rep.Dropped != 0 || rep.NoVideo != 0 || rep.NoAudio != 0 {
		t.Fatalf("joined %d, failed %d (%v), dropped %d, without video %d, without audio %d",
			rep.Joined, rep.Failed, rep.Failures, rep.Dropped, rep.NoVideo, rep.NoAudio)
	}
	for name, s := range map[string]Stream{"video": rep.Video, "audio": rep.Audio} {
		d := s.DelayMS
		if d.N == 0 || !(d.P50 > 0) || !(d.P99 >= d.P50) || !(d.Max >= d.P99) || !(d.Max < 1000) {
			t.Errorf("%s delay %+v", name, d)
		}
		if !(s.LossPct >= 0 && s.LossPct < 10) {
			t.Errorf("%s loss %v %%", name, s.LossPct)
		}
	}
	if rep.FirstFrameMS.N != 3 || !(rep.JoinMS.P50 > 0) || !(rep.ConnectMS.P50 > 0) {
		t.Errorf("first frame %+v, POST %+v, connect %+v", rep.FirstFrameMS, rep.JoinMS, rep.ConnectMS)
	}
	if l := rep.Video.LayerPct; l == nil || l[2] != 100 {
		t.Errorf("layers %v: one encoding counts as f", l)
	}
	if rep.Config.Mode != "whip" || !strings.Contains(table.String(), "WHEP POST (ms)") {
		t.Errorf("mode %q", rep.Config.Mode)
	}
	// No -metrics: no server figures, and the relay saw no scrape.
	if !math.IsNaN(float64(rep.Server.PacketsForwarded)) || rep.Server.ForwardDelayMS.P50.String() != "-" {
		t.Errorf("server figures without -metrics: %+v", rep.Server)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.posts != 4 || len(rl.deleted) != 4 || len(rl.sessions) != 0 {
		t.Errorf("%d sessions created, %d deleted (%v), %d left; want 4, 4, 0", rl.posts, len(rl.deleted), rl.deleted, len(rl.sessions))
	}
	if rl.received["video"] == 0 || rl.received["audio"] == 0 {
		t.Errorf("relay received %v", rl.received)
	}
	for _, n := range rep.Notes {
		if strings.Contains(n, "not ended") {
			t.Errorf("note: %s", n)
		}
	}
}

// TestWHIPBadServers: a WHIP endpoint that answers wrongly stops the run
// with one line saying what was wrong; a WHEP endpoint that does makes the
// subscribers fail with that reason.
func TestWHIPBadServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	answerWith := func(code int, contentType, location, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			if location != "" {
				w.Header().Set("Location", location)
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}
	}
	rl := newWHIPRelay(t, "")
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"404", answerWith(404, "text/plain", "", "no such stream\n"), "/whip: HTTP 404, want 201 Created: no such stream"},
		{"200 instead of 201", answerWith(200, "application/sdp", "/session/x", "v=0\r\n"), "/whip: HTTP 200, want 201 Created"},
		{"no Location", answerWith(201, "application/sdp", "", "v=0\r\n"), "/whip: 201 without a Location header"},
		{"not SDP", answerWith(201, "text/html", "/session/x", "<html>"), `/whip: answer of type "text/html", want application/sdp`},
		{"bad SDP", answerWith(201, "application/sdp", "/session/bad", "this is not SDP"), "/whip: applying the answer:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rl.whip = c.handler
			_, err := Run(ctx, whipRun(rl, 1))
			if err == nil || !strings.HasPrefix(err.Error(), "publisher 0: POST "+rl.srv.URL+"/whip") || !strings.Contains(err.Error(), c.want) ||
				strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want one line with %q", err, c.want)
			}
		})
	}
	// Where a 201 named a session, the tool ended it despite the bad answer.
	rl.mu.Lock()
	if strings.Join(rl.deletes, ",") != "x,bad" {
		t.Errorf("DELETEs of %v; want x (not SDP) and bad", rl.deletes)
	}
	rl.mu.Unlock()

	t.Run("unreachable", func(t *testing.T) {
		cfg := whipRun(rl, 1)
		cfg.WHIP = "http://127.0.0.1:1/whip"
		_, err := Run(ctx, cfg)
		if err == nil || err.Error() != "publisher 0: POST http://127.0.0.1:1/whip: connect: connection refused" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("WHEP 404 and wrong token", func(t *testing.T) {
		rl := newWHIPRelay(t, "right")
		cfg := whipRun(rl, 2)
		cfg.WHEP = rl.srv.URL + "/nowhere"
		rep, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := "POST " + rl.srv.URL + "/nowhere: HTTP 404, want 201 Created: 404 page not found"
		if rep.Joined != 0 || rep.Failed != 2 || len(rep.Failures) != 1 || rep.Failures[0].Reason != want {
			t.Fatalf("joined %d, failed %d: %v; want 2 × %q", rep.Joined, rep.Failed, rep.Failures, want)
		}
		cfg = whipRun(rl, 1)
		cfg.Bearer = "wrong"
		_, err = Run(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "HTTP 401, want 201 Created: bad token") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestWHIPPublisherOnly: -whip with no subscribers (and no -whep) loads
// the server's ingest only; the session is DELETEd at the end.
func TestWHIPPublisherOnly(t *testing.T) {
	rl := newWHIPRelay(t, "")
	cfg := whipRun(rl, 0)
	cfg.WHEP, cfg.Duration = "", time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rep.Joined != 0 || rep.PublisherPkt == 0 || rl.received["video"] == 0 || rl.posts != 1 || len(rl.deleted) != 1 {
		t.Fatalf("joined %d, %d packets sent, relay received %v, %d sessions, %d deleted", rep.Joined, rep.PublisherPkt, rl.received, rl.posts, len(rl.deleted))
	}
}
