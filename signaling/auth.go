package signaling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bomca/lecturelink/account"
	"golang.org/x/time/rate"
)

// sessionCookie names the cookie that carries the session token.
const sessionCookie = "ll_session"

type userKey struct{}

// userFrom returns the signed-in user that requireUser put in the context.
func userFrom(ctx context.Context) account.User {
	u, _ := ctx.Value(userKey{}).(account.User)
	return u
}

// sessionUser resolves the request's cookie to a user.
func (s *Server) sessionUser(r *http.Request) (account.User, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return account.User{}, account.ErrNoSession
	}
	return s.cfg.Accounts.SessionUser(r.Context(), c.Value)
}

// requireUser rejects requests without a valid session; roles, when given,
// restrict the route further.
func (s *Server) requireUser(next http.HandlerFunc, roles ...account.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := s.sessionUser(r)
		if err != nil {
			if !noSession(err) {
				s.log.Error("session lookup failed", "err", err)
				writeError(w, http.StatusInternalServerError, "internal", "could not check the session")
				return
			}
			writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
			return
		}
		if len(roles) > 0 && !hasRole(u, roles) {
			s.metrics.forbidden.Inc()
			writeError(w, http.StatusForbidden, "forbidden", "your role may not do this")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

// noSession reports whether err means "not signed in" rather than a failure.
func noSession(err error) bool {
	return errors.Is(err, account.ErrNoSession) || errors.Is(err, account.ErrNotFound)
}

func hasRole(u account.User, roles []account.Role) bool {
	for _, r := range roles {
		if u.Role == r {
			return true
		}
	}
	return false
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	if !s.logins.allow(clientIP(r), req.Username) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many sign-in attempts; wait a minute")
		return
	}
	u, err := s.cfg.Accounts.Authenticate(r.Context(), req.Username, req.Password)
	if err != nil {
		if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, account.ErrNotFound) {
			s.log.Info("sign-in refused", "username", req.Username, "ip", clientIP(r))
			writeError(w, http.StatusUnauthorized, "bad_credentials", "wrong username or password")
			return
		}
		s.log.Error("sign-in failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "sign-in failed")
		return
	}
	token, err := s.cfg.Accounts.CreateSession(r.Context(), u.ID)
	if err != nil {
		s.log.Error("creating session failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "sign-in failed")
		return
	}
	http.SetCookie(w, s.cookie(token, 0))
	s.log.Info("signed in", "user", u.ID, "role", u.Role)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.cfg.Accounts.DeleteSession(r.Context(), c.Value); err != nil {
			s.log.Error("deleting session failed", "err", err)
		}
	}
	http.SetCookie(w, s.cookie("", -1))
	w.WriteHeader(http.StatusNoContent)
}

// cookie builds the session cookie; maxAge -1 deletes it. The session's
// lifetime is enforced in Redis, so the cookie itself lives for the browser
// session only.
func (s *Server) cookie(token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !s.cfg.InsecureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

// clientIP is the peer address of the request (proxies are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter slows down password guessing per address and per username.
type loginLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, buckets: make(map[string]*rate.Limiter)}
}

// allow takes one attempt from both the address's and the username's bucket:
// 10 attempts at once, then one every 6 seconds.
func (l *loginLimiter) allow(ip, username string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > 10*time.Minute {
		// Full buckets carry no information; dropping them bounds memory.
		for k, b := range l.buckets {
			if b.TokensAt(now) >= 10 {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	ok := true
	for _, key := range []string{"ip:" + ip, "user:" + username} {
		b := l.buckets[key]
		if b == nil {
			b = rate.NewLimiter(rate.Every(6*time.Second), 10)
			l.buckets[key] = b
		}
		if !b.AllowN(now, 1) {
			ok = false
		}
	}
	return ok
}
