package signaling

import (
	"context"
	"errors"
	"net/http"

	"github.com/bomca/lecturelink/account"
	"github.com/bomca/lecturelink/attendance"
	"github.com/bomca/lecturelink/schedule"
	"github.com/gorilla/websocket"
)

// SiteExists answers account's site check (account.Options.SiteExists) from
// the schedule, which owns sites; cmd/lecturelink wires the two with it.
func SiteExists(sched *schedule.Store) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, id string) (bool, error) {
		_, err := sched.Site(ctx, id)
		if errors.Is(err, schedule.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}

// accountError answers an error from the account store: a field error
// names the field, a taken name is a conflict, anything unexpected is logged.
func (s *Server) accountError(w http.ResponseWriter, what string, err error) {
	var fe *account.FieldError
	switch {
	case errors.As(err, &fe):
		writeFieldError(w, fe.Field, fe.Field+" "+fe.Reason)
	case errors.Is(err, account.ErrExists), errors.Is(err, account.ErrGroupExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, account.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, account.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		s.internalError(w, what, err)
	}
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := account.Filter{Role: account.Role(q.Get("role")), SiteID: q.Get("siteId"), GroupID: q.Get("groupId")}
	if f.Role != "" && !f.Role.Valid() {
		writeFieldError(w, "role", "unknown role")
		return
	}
	switch v := q.Get("active"); v {
	case "":
	case "true", "false":
		active := v == "true"
		f.Active = &active
	default:
		writeFieldError(w, "active", "active must be true or false")
		return
	}
	users, err := s.cfg.Accounts.Users(r.Context(), f)
	if err != nil {
		s.internalError(w, "could not list users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

type createUserRequest struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"displayName"`
	Role        account.Role `json:"role"`
	SiteID      string       `json:"siteId"`
	GroupID     string       `json:"groupId"`
	Password    string       `json:"password"`
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	u, err := s.cfg.Accounts.Create(r.Context(), account.NewUser{Username: req.Username, Password: req.Password,
		DisplayName: req.DisplayName, Role: req.Role, SiteID: req.SiteID, GroupID: req.GroupID})
	if err != nil {
		s.accountError(w, "could not create the user", err)
		return
	}
	s.log.Info("user created", "user", u.ID, "role", u.Role, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
}

type updateUserRequest struct {
	DisplayName *string `json:"displayName"`
	Role        *string `json:"role"`
	SiteID      *string `json:"siteId"`
	GroupID     *string `json:"groupId"`
	Active      *bool   `json:"active"`
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	var req updateUserRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	id := r.PathValue("id")
	// An admin who locks themselves out may leave nobody able to undo it.
	if me := userFrom(r.Context()); me.ID == id {
		if req.Active != nil && !*req.Active {
			writeFieldError(w, "active", "you cannot deactivate your own account")
			return
		}
		if req.Role != nil && account.Role(*req.Role) != me.Role {
			writeFieldError(w, "role", "you cannot change your own role")
			return
		}
	}
	u, err := s.cfg.Accounts.Update(r.Context(), id, account.Patch{DisplayName: req.DisplayName, Role: req.Role,
		SiteID: req.SiteID, GroupID: req.GroupID, Active: req.Active})
	if err != nil {
		s.accountError(w, "could not update the user", err)
		return
	}
	if !u.Active {
		s.disconnectUser(u.ID, "account deactivated")
	}
	s.log.Info("user updated", "user", u.ID, "active", u.Active, "by", userFrom(r.Context()).ID)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	var req resetPasswordRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	id := r.PathValue("id")
	if err := s.cfg.Accounts.ResetPassword(r.Context(), id, req.Password); err != nil {
		s.accountError(w, "could not reset the password", err)
		return
	}
	s.disconnectUser(id, "password reset")
	s.log.Info("password reset", "user", id, "by", userFrom(r.Context()).ID)
	w.WriteHeader(http.StatusNoContent)
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// handleChangePassword lets a user change their own password. Every
// session of the user ends; this request gets a fresh one, so the browser
// that made the change stays signed in.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var req changePasswordRequest
	if err := readJSON(w, r, &req); err != nil {
		badBody(w, err)
		return
	}
	me := userFrom(r.Context())
	// Checking the current password is a sign-in attempt in disguise, so a
	// stolen session must not allow fast guessing. The bucket is the
	// user's own: it neither spends nor is spent by the address's sign-ins.
	if key := "password-change:" + me.ID; !s.logins.allow(key, key) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many attempts; wait a minute")
		return
	}
	err := s.cfg.Accounts.ChangePassword(r.Context(), me.ID, req.CurrentPassword, req.NewPassword)
	if errors.Is(err, account.ErrBadCredentials) {
		writeFieldError(w, "currentPassword", "the current password is wrong")
		return
	}
	var fe *account.FieldError
	if errors.As(err, &fe) && fe.Field == "password" {
		writeFieldError(w, "newPassword", "newPassword "+fe.Reason)
		return
	}
	if err != nil {
		s.accountError(w, "could not change the password", err)
		return
	}
	token, err := s.cfg.Accounts.CreateSession(r.Context(), me.ID)
	if err != nil {
		s.internalError(w, "password changed, but signing in again failed", err)
		return
	}
	s.disconnectUser(me.ID, "password changed")
	http.SetCookie(w, s.cookie(token, 0))
	s.log.Info("password changed", "user", me.ID)
	w.WriteHeader(http.StatusNoContent)
}

// disconnectUser closes the user's WebSockets: their sessions have ended,
// so connections opened under them must not outlive them.
func (s *Server) disconnectUser(id, why string) {
	s.mu.Lock()
	var found []*client
	for c := range s.clients {
		if c.user.ID == id {
			found = append(found, c)
		}
	}
	s.mu.Unlock()
	for _, c := range found {
		c.close(websocket.ClosePolicyViolation, why, attendance.ReasonDisconnected)
	}
}
