package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiError is an error reply of the lecturelink API.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// errBadCredentials is returned by signIn for a wrong username or password.
var errBadCredentials = errors.New("wrong username or password")

// api is an HTTP client of one lecturelink server, signed in as one user.
type api struct {
	base   *url.URL
	client *http.Client
	cookie string // "ll_session=…", sent by hand: the cookie is Secure and the target may be plain HTTP
}

// newHTTPClient returns a client whose connections leave from localIP when
// it is not nil. Sign-ins are rate limited per client address, so the tool
// spreads them over loopback addresses when the server is on this machine.
func newHTTPClient(localIP net.IP, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if localIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: localIP}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSHandshakeTimeout: timeout}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// do sends a JSON request (body may be nil, or a string for CSV) and
// decodes a JSON reply into out (may be nil).
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "text/csv"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(buf)
	}
	u := a.base.ResolveReference(&url.URL{Path: path})
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u = a.base.ResolveReference(&url.URL{Path: path[:i], RawQuery: path[i+1:]})
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if a.cookie != "" {
		req.Header.Set("Cookie", a.cookie)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(data, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the reply is not lecturelink's JSON (is this a lecturelink server?): %w", method, path, err)
		}
	}
	if a.cookie == "" {
		for _, c := range resp.Cookies() {
			if c.Name == "ll_session" && c.Value != "" {
				a.cookie = c.Name + "=" + c.Value
			}
		}
	}
	return nil
}

// user is the part of the API's User the tool needs.
type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	SiteID   string `json:"siteId"`
}

// signIn signs in and returns a client carrying the session cookie.
func signIn(ctx context.Context, base *url.URL, client *http.Client, username, password string) (*api, user, error) {
	a := &api{base: base, client: client}
	var reply struct {
		User user `json:"user"`
	}
	err := a.do(ctx, http.MethodPost, "/api/session", map[string]string{"username": username, "password": password}, &reply)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Code == "bad_credentials":
		return nil, user{}, fmt.Errorf("signing in as %q: %w", username, errBadCredentials)
	case errors.As(err, &ae) && ae.Code == "rate_limited":
		return nil, user{}, fmt.Errorf("signing in as %q: the server refuses more sign-ins from this address for now (%s)", username, ae.Message)
	case err != nil:
		return nil, user{}, fmt.Errorf("signing in as %q: %w", username, err)
	case a.cookie == "":
		return nil, user{}, fmt.Errorf("signing in as %q: the server set no session cookie", username)
	}
	return a, reply.User, nil
}

// lecture is the part of the API's Lecture the tool needs.
type lecture struct {
	ID              string    `json:"id"`
	Title           string    `json:"title"`
	Start           time.Time `json:"start"`
	DurationMinutes int       `json:"durationMinutes"`
	LecturerID      string    `json:"lecturerId"`
	State           string    `json:"state"`
}

func (l lecture) end() time.Time { return l.Start.Add(time.Duration(l.DurationMinutes) * time.Minute) }
