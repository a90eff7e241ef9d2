package signaling

import (
	"net/http"

	"github.com/bomca/lecturelink/account"
)

func (s *Server) handleGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := s.cfg.Accounts.Groups(r.Context(), r.URL.Query().Get("siteId"))
	if err != nil {
		s.internalError(w, "could not list groups", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups})
}

type createGroupRequest struct {
	Name   string `json:"name"`
	SiteID string `json:"siteId"`
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var req createGroupRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	g, err := s.cfg.Accounts.CreateGroup(r.Context(), account.NewGroup{Name: req.Name, SiteID: req.SiteID})
	if err != nil {
		s.accountError(w, "could not create the group", err)
		return
	}
	s.log.Info("group created", "group", g.ID, "site", g.SiteID, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusCreated, map[string]any{"group": g})
}
