package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// WHIP (RFC 9725) and WHEP: a peer POSTs its offer as application/sdp to
// the endpoint and gets 201 Created with the answer and, in Location, the
// session's resource, which it DELETEs to leave. The tool does not
// trickle: it waits until ICE gathering is complete, so the offer carries
// every candidate, and the server's answer must carry its own.

// whipExchange offers pc to endpoint and applies the answer. It returns
// when the POST was sent and when its answer arrived, on clk. The resource
// is kept for the DELETE in close, as soon as the server has named it.
func (p *participant) whipExchange(ctx context.Context, client *http.Client, clk clock, endpoint, bearer string, pc *webrtc.PeerConnection) (posted, answered int64, err error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return 0, 0, fmt.Errorf("creating the offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return 0, 0, fmt.Errorf("applying the offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return 0, 0, errors.New("ICE gathering did not complete")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	posted = clk.now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %v", endpoint, unwrapOp(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: reading the answer: %w", endpoint, err)
	}
	answered = clk.now()
	if resp.StatusCode != http.StatusCreated {
		return 0, 0, fmt.Errorf("POST %s: HTTP %d, want 201 Created%s", endpoint, resp.StatusCode, bodyHint(body))
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return 0, 0, fmt.Errorf("POST %s: 201 without a Location header", endpoint)
	}
	base, _ := url.Parse(endpoint) // validated before the run
	res, err := base.Parse(loc)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: Location %q: %w", endpoint, loc, err)
	}
	p.mu.Lock()
	p.resource = res.String()
	p.client, p.bearer = client, bearer
	p.mu.Unlock()
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		return 0, 0, fmt.Errorf("POST %s: answer of type %q, want application/sdp", endpoint, resp.Header.Get("Content-Type"))
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return 0, 0, fmt.Errorf("POST %s: applying the answer: %v", endpoint, err)
	}
	return posted, answered, nil
}

// bodyHint is the start of an error reply's body, on one line.
func bodyHint(body []byte) string {
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(body, nil))), " ")
	if s == "" {
		return ""
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return ": " + s
}

// deleteResource ends the WHIP or WHEP session, if one was created.
func (p *participant) deleteResource() {
	p.mu.Lock()
	res, client, bearer := p.resource, p.client, p.bearer
	p.resource = ""
	p.mu.Unlock()
	if res == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, res, nil)
	if err != nil {
		p.deleteErr = fmt.Errorf("DELETE %s: %w", res, err)
		return
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		p.deleteErr = fmt.Errorf("DELETE %s: %v", res, unwrapOp(err))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		p.deleteErr = fmt.Errorf("DELETE %s: HTTP %d", res, resp.StatusCode)
	}
}

// setupWHEP connects one subscriber over WHEP: a receive-only offer with
// one audio and one video transceiver. "Joined" is the answer's arrival.
func (s *subscriber) setupWHEP(ctx context.Context) error {
	cfg := &s.r.cfg
	sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	pc, err := s.p.newPC("sub")
	if err != nil {
		return err
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go drainRTCP(r)
		s.onTrack(t)
	})
	s.p.mu.Lock()
	s.p.sub = pc
	s.p.mu.Unlock()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fmt.Errorf("adding a receive-only %s transceiver: %w", k, err)
		}
	}
	s.joinSent, s.joined, err = s.p.whipExchange(sctx, s.r.http, s.r.clock, cfg.WHEP, cfg.Bearer, pc)
	if err != nil {
		return err
	}
	return s.waitMedia(sctx)
}
