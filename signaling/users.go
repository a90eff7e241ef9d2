package signaling

import (
	"net/http"

	"github.com/bomca/lecturelink/account"
)

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	role := account.Role(r.URL.Query().Get("role"))
	if role != "" && !role.Valid() {
		writeError(w, http.StatusBadRequest, "bad_request", "unknown role")
		return
	}
	users, err := s.cfg.Accounts.List(r.Context(), role)
	if err != nil {
		s.internalError(w, "could not list users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}
