package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"
)

// runner is the state of one run.
type runner struct {
	cfg       Config
	clock     clock
	api       *webrtc.API // publishers
	subAPI    *webrtc.API // subscribers: with RTCP when cfg.SubRTCP
	http      *http.Client
	loopback  bool        // the server is on this machine's loopback
	measuring atomic.Bool // subscribers record delay and loss only while set
	closeOnce sync.Once

	pubs []*publisher
	subs []*subscriber
}

// Run performs one load run and returns its report. Errors that stop the
// run (bad configuration, unreachable server, wrong credentials, a
// publisher that cannot publish) are returned; subscribers that fail are
// counted in the report instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, clock: newClock(), http: newHTTPClient(nil, 15*time.Second)}
	r.loopback = isLoopback(cfg.base.Hostname())
	var err error
	if r.api, err = newAPI(r.loopback, false); err != nil {
		return nil, err
	}
	if r.subAPI, err = newAPI(r.loopback, cfg.SubRTCP); err != nil {
		return nil, err
	}
	defer r.closeAll()
	return r.run(ctx)
}

// isLoopback reports whether host names this machine's loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	cfg := &r.cfg
	log := cfg.Log
	whip := cfg.WHIP != ""
	var lectureID string
	var cookies []string
	if !whip {
		if err := r.checkReachable(ctx); err != nil {
			return nil, err
		}
	}
	if err := r.checkDebug(ctx); err != nil {
		return nil, err
	}
	if whip {
		pb, err := r.startWHIPPublisher(ctx)
		if err != nil {
			return nil, err
		}
		r.pubs = append(r.pubs, pb)
	} else {
		// Accounts and the lecture.
		id, lecturer, students, err := r.accounts(ctx)
		if err != nil {
			return nil, err
		}
		lectureID = id
		log.Info("lecture ready", "lecture", lectureID)

		// Sessions: every sign-in before the first join, so password
		// hashing on the server does not overlap the measured part.
		var lecturerCookie string
		if cfg.Publishers > 0 {
			a, _, err := signIn(ctx, cfg.base, r.http, lecturer.user, lecturer.password)
			if err != nil {
				return nil, err
			}
			lecturerCookie = a.cookie
		}
		if cookies, err = r.signInAll(ctx, students); err != nil {
			return nil, err
		}

		// Publishers: the first one starts the lecture if it is not live yet.
		for i := range cfg.Publishers {
			pb, err := r.startPublisher(ctx, i, lecturerCookie, lectureID)
			if err != nil {
				return nil, err
			}
			r.pubs = append(r.pubs, pb)
		}
	}
	sendCtx, stopSending := context.WithCancel(context.Background())
	defer stopSending()
	for _, pb := range r.pubs {
		pb.send(sendCtx)
	}
	log.Info("publishing", "publishers", len(r.pubs))

	// Baseline of the server with the publishers only.
	sleepCtx(ctx, time.Second)
	base, baseErr := r.baseline(ctx)

	// Subscribers, spread over the ramp.
	rampStart := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Subscribers {
		s := &subscriber{r: r}
		s.p = newParticipant(r.subAPI, s.onTrack)
		r.subs = append(r.subs, s)
		at := time.Duration(0)
		if cfg.Subscribers > 1 {
			at = cfg.Ramp * time.Duration(i) / time.Duration(cfg.Subscribers-1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleepCtx(ctx, time.Until(rampStart.Add(at))) {
				s.err = ctx.Err()
				return
			}
			if whip {
				s.err = s.setupWHEP(ctx)
				return
			}
			s.err = s.setup(ctx, cookies[i%len(cookies)], lectureID)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	joined := 0
	for _, s := range r.subs {
		if s.err == nil {
			joined++
		}
	}
	log.Info("subscribers joined", "joined", joined, "failed", cfg.Subscribers-joined, "in", time.Since(rampStart).Round(time.Millisecond))

	// The measurement window.
	sleepCtx(ctx, cfg.Settle)
	before, beforeErr := r.sampleServer(ctx)
	toolBefore := selfCPU()
	mallocsBefore := mallocs()
	t0 := time.Now()
	r.measuring.Store(true)
	log.Info("measuring", "for", cfg.Duration)
	sleepCtx(ctx, cfg.Duration)
	r.measuring.Store(false)
	window := time.Since(t0)
	toolMallocs := mallocs() - mallocsBefore
	after, afterErr := r.sampleServer(context.WithoutCancel(ctx))
	toolCPU := selfCPU() - toolBefore
	var endGC serverSample
	var endGCErr error
	if cfg.ServerDebug != "" {
		endGC, endGCErr = r.sampleAfterGC(context.WithoutCancel(ctx))
	}

	for _, s := range r.subs {
		if s.err == nil && s.down() {
			s.dropped.Store(true)
		}
	}
	if cfg.EndLecture && len(r.pubs) > 0 && !whip {
		_ = r.pubs[0].p.sig.send(outMessage{Type: "end"})
	}
	stopSending()
	r.closeAll()

	rep := r.report(window, base, before, after, endGC, toolCPU, toolMallocs)
	for _, err := range []error{baseErr, beforeErr, afterErr, endGCErr} {
		if err != nil {
			rep.Notes = append(rep.Notes, "server figures incomplete: "+err.Error())
			break
		}
	}
	rep.Notes = append(rep.Notes, r.deleteFailures()...)
	return rep, nil
}

// checkReachable fails early, in one line, when the server does not answer.
func (r *runner) checkReachable(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, r.cfg.base.String()+"/livez", nil)
	if err != nil {
		return fmt.Errorf("-server: %w", err)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return fmt.Errorf("server %s is unreachable: %v", r.cfg.base, op.Err)
		}
		return fmt.Errorf("server %s is unreachable: %w", r.cfg.base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server %s answers /livez with HTTP %d: is it lecturelink?", r.cfg.base, resp.StatusCode)
	}
	return nil
}

// cred is one account to sign in as.
type cred struct{ user, password string }

// accounts returns the lecture, the lecturer and the student accounts, by
// provisioning them as the admin or from the explicit flags.
func (r *runner) accounts(ctx context.Context) (string, cred, []cred, error) {
	cfg := &r.cfg
	if cfg.AdminUser == "" {
		var students []cred
		if cfg.Subscribers > 0 {
			students = []cred{{cfg.StudentUser, cfg.StudentPassword}}
		}
		return cfg.LectureID, cred{cfg.LecturerUser, cfg.LecturerPassword}, students, nil
	}
	admin, me, err := signIn(ctx, cfg.base, r.http, cfg.AdminUser, cfg.AdminPassword)
	if err != nil {
		return "", cred{}, nil, err
	}
	if me.Role != "admin" {
		return "", cred{}, nil, fmt.Errorf("-admin %q is a %s, not an admin", cfg.AdminUser, me.Role)
	}
	n := cfg.Accounts
	if n == 0 {
		n = 8
		if r.loopback {
			n = cfg.Subscribers
		}
	}
	n = min(n, cfg.Subscribers)
	cfg.Log.Info("provisioning", "prefix", cfg.Prefix, "students", n)
	p, err := provision(ctx, admin, cfg.Prefix, cfg.Password, n, cfg.LectureMinutes)
	if err != nil {
		return "", cred{}, nil, err
	}
	students := make([]cred, len(p.students))
	for i, s := range p.students {
		students[i] = cred{s, cfg.Password}
	}
	return p.lectureID, cred{p.lecturer, cfg.Password}, students, nil
}

// signInAll signs every account in, a few at a time. The server allows 10
// sign-ins per client address and then one per 6 s, so against a server on
// loopback each account signs in from its own address (127.0.2.1, …):
// runs can follow each other without waiting for the limiter.
func (r *runner) signInAll(ctx context.Context, creds []cred) ([]string, error) {
	cookies := make([]string, len(creds))
	errs := make([]error, len(creds))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var clients []*http.Client
	for i, c := range creds {
		client := r.http
		if r.loopback && r.cfg.base.Hostname() != "::1" {
			client = newHTTPClient(net.IPv4(127, 0, byte(2+i/250), byte(1+i%250)), 15*time.Second)
			clients = append(clients, client)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, _, err := signIn(ctx, r.cfg.base, client, c.user, c.password)
			if err != nil {
				errs[i] = err
				return
			}
			cookies[i] = a.cookie
		}()
	}
	wg.Wait()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	if err := errors.Join(errs...); err != nil {
		for _, e := range errs {
			if e != nil {
				return nil, e // the first is enough: they share a cause
			}
		}
	}
	return cookies, nil
}

// startPublisher joins as the lecturer, starts the lecture if needed and
// publishes.
func (r *runner) startPublisher(ctx context.Context, i int, cookie, lectureID string) (*publisher, error) {
	pb := &publisher{r: r, index: uint8(i), p: newParticipant(r.api, nil)}
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	fail := func(step string, err error) (*publisher, error) {
		pb.p.close()
		return nil, fmt.Errorf("publisher %d: %s: %w", i, step, err)
	}
	if err := pb.p.connect(sctx, r.cfg.base, cookie, lectureID); err != nil {
		return fail("joining", err)
	}
	var joined message
	select {
	case joined = <-pb.p.joined:
	case err := <-pb.p.failed:
		return fail("joining", err)
	case <-sctx.Done():
		return fail("joining", errors.New("no reply to join"))
	}
	if !joined.CanPublish {
		return fail("joining", errors.New("this account may not publish in the lecture (is it the lecture's lecturer?)"))
	}
	select {
	case <-pb.p.live:
	default:
		if err := pb.p.sig.send(outMessage{Type: "start"}); err != nil {
			return fail("starting the lecture", err)
		}
		select {
		case <-pb.p.live:
		case err := <-pb.p.failed:
			return fail("starting the lecture", err)
		case <-sctx.Done():
			return fail("starting the lecture", errors.New("the lecture did not become live"))
		}
	}
	if err := pb.publish(sctx); err != nil {
		return fail("publishing", err)
	}
	return pb, nil
}

// setup joins one subscriber and waits for its connection and first frame.
func (s *subscriber) setup(ctx context.Context, cookie, lectureID string) error {
	cfg := &s.r.cfg
	clk := s.r.clock
	sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	s.joinSent = clk.now()
	if err := s.p.connect(sctx, cfg.base, cookie, lectureID); err != nil {
		return err
	}
	select {
	case <-s.p.joined:
		s.joined = clk.now()
	case err := <-s.p.failed:
		return err
	case <-sctx.Done():
		return errors.New("timed out waiting for joined")
	}
	if cfg.Prefer != "" {
		if err := s.p.sig.send(outMessage{Type: "preference", Video: cfg.Prefer}); err != nil {
			return err
		}
	}
	return s.waitMedia(sctx)
}

// waitMedia waits for the subscriber's connection and, unless it asked for
// audio only, its first video frame.
func (s *subscriber) waitMedia(sctx context.Context) error {
	cfg := &s.r.cfg
	clk := s.r.clock
	select {
	case <-s.p.subUp:
		s.connected = clk.now()
	case err := <-s.p.failed:
		return err
	case <-sctx.Done():
		return errors.New("timed out waiting for the sub connection")
	}
	if cfg.Prefer == "audio-only" {
		return nil
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.firstFrame.Load() == 0 {
		select {
		case err := <-s.p.failed:
			return err
		case <-sctx.Done():
			return errors.New("timed out waiting for the first video frame")
		case <-tick.C:
		}
	}
	return nil
}

// down reports whether the subscriber's media or signaling went away.
func (s *subscriber) down() bool {
	select {
	case <-s.p.subDown:
		return true
	case <-s.p.sigDone():
		return true
	default:
		return false
	}
}

// closeAll closes every participant, a few at a time, subscribers first,
// and waits for their goroutines. It runs once; later calls do nothing.
func (r *runner) closeAll() { r.closeOnce.Do(r.doClose) }

func (r *runner) doClose() {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	closeP := func(p *participant) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.close()
		}()
	}
	for _, s := range r.subs {
		closeP(s.p)
	}
	wg.Wait()
	for _, s := range r.subs {
		s.finish()
	}
	for _, pb := range r.pubs {
		closeP(pb.p)
	}
	wg.Wait()
	for _, pb := range r.pubs {
		pb.wg.Wait()
	}
}

// sleepCtx sleeps d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startWHIPPublisher publishes over WHIP: no sign-in, no lecture.
func (r *runner) startWHIPPublisher(ctx context.Context) (*publisher, error) {
	pb := &publisher{r: r, p: newParticipant(r.api, nil)}
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if err := pb.publish(sctx); err != nil {
		pb.p.close()
		return nil, fmt.Errorf("publisher 0: %w", err)
	}
	return pb, nil
}

// deleteFailures are the report's notes on WHIP and WHEP sessions whose
// DELETE failed: how many, and the first reason.
func (r *runner) deleteFailures() []string {
	var n int
	var first error
	for _, p := range r.participants() {
		if p.deleteErr != nil {
			n++
			first = cmp.Or(first, p.deleteErr)
		}
	}
	if n == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d session(s) not ended: %v", n, first)}
}

// participants are every subscriber's and publisher's.
func (r *runner) participants() []*participant {
	var ps []*participant
	for _, s := range r.subs {
		ps = append(ps, s.p)
	}
	for _, pb := range r.pubs {
		ps = append(ps, pb.p)
	}
	return ps
}

// mallocs is this process's heap allocations so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// selfCPU is this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
