package signaling

import (
	"net/http"
	"strings"

	"github.com/bomca/lecturelink/account"
)

// routes builds the handler tree. Every API route names the roles that may
// call it; requireUser enforces them.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	admin := []account.Role{account.RoleAdmin}

	mux.HandleFunc("POST /api/session", s.handleLogin)
	mux.HandleFunc("DELETE /api/session", s.requireUser(s.handleLogout))
	mux.HandleFunc("GET /api/me", s.requireUser(s.handleMe))
	mux.HandleFunc("GET /api/sites", s.requireUser(s.handleSites))
	mux.HandleFunc("GET /api/users", s.requireUser(s.handleUsers, admin...))
	mux.HandleFunc("GET /api/lectures", s.requireUser(s.handleLectures))
	mux.HandleFunc("POST /api/lectures", s.requireUser(s.handleCreateLecture, admin...))
	mux.HandleFunc("GET /api/lectures/{id}", s.requireUser(s.handleLecture))
	mux.HandleFunc("GET /api/lectures/{id}/attendance",
		s.requireUser(s.handleAttendance, account.RoleAdmin, account.RoleLecturer))
	mux.HandleFunc("GET /ws", s.handleWebSocket)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("/", s.fallback())

	csrf := http.NewCrossOriginProtection()
	for _, o := range s.cfg.AllowedOrigins {
		if err := csrf.AddTrustedOrigin(o); err != nil {
			s.log.Warn("ignoring allowed origin", "origin", o, "err", err)
		}
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("cross-origin request refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		writeError(w, http.StatusForbidden, "forbidden", "cross-origin request refused")
	}))
	return securityHeaders(s.metrics.instrument(csrf.Handler(mux)))
}

// fallback answers unknown API routes with a JSON error and serves the
// browser app for everything else.
func (s *Server) fallback() http.Handler {
	var files http.Handler = http.NotFoundHandler()
	if s.cfg.Web != nil {
		files = http.FileServerFS(s.cfg.Web)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/"):
			writeError(w, http.StatusNotFound, "not_found", "no such API route")
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "only GET is served here")
		default:
			files.ServeHTTP(w, r)
		}
	})
}

// securityHeaders sets headers that harden every response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		http.Error(w, "not ready: storage unavailable", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}
