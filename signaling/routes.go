package signaling

import (
	"net/http"
	"strings"

	"github.com/bomca/lecturelink/account"
)

// route is one API endpoint and the roles that may call it.
type route struct {
	pattern string // method and path, as for http.ServeMux
	public  bool   // callable without signing in
	roles   []account.Role
	handler http.HandlerFunc
}

// only lists the roles a route admits; a route with no roles admits every
// signed-in user.
func only(roles ...account.Role) []account.Role { return roles }

// apiRoutes is the table of every API route. Each declares who may call it;
// the route-role test walks this table, so a new route cannot be added
// without saying who may use it and testing that.
func (s *Server) apiRoutes() []route {
	routes := []route{
		{pattern: "POST /api/session", public: true, handler: s.handleLogin},
		{pattern: "DELETE /api/session", handler: s.handleLogout},
		{pattern: "GET /api/me", handler: s.handleMe},
		{pattern: "GET /api/sites", handler: s.handleSites},
		{pattern: "GET /api/users", roles: only(account.RoleAdmin), handler: s.handleUsers},
		{pattern: "GET /api/lectures", handler: s.handleLectures},
		{pattern: "POST /api/lectures", roles: only(account.RoleAdmin), handler: s.handleCreateLecture},
		{pattern: "GET /api/lectures/{id}", handler: s.handleLecture},
	}
	routes = append(routes, s.scheduleRoutes()...)
	routes = append(routes, s.peopleRoutes()...)
	routes = append(routes, s.attendanceRoutes()...)
	return routes
}

// routes builds the handler tree.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.apiRoutes() {
		if r.public {
			mux.HandleFunc(r.pattern, r.handler)
		} else {
			mux.HandleFunc(r.pattern, s.requireUser(r.handler, r.roles...))
		}
	}
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
