package signaling

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bomca/lecturelink/account"
)

// handleImportUsers checks a CSV roster and, unless ?dryRun=true or the
// file has errors, creates every student in it at once (docs/api.md,
// "Roster import"). The Content-Type is not checked: browsers label .csv
// files inconsistently (Windows says application/vnd.ms-excel), and the
// body is validated as CSV anyway, header first.
func (s *Server) handleImportUsers(w http.ResponseWriter, r *http.Request) {
	dryRun := false
	switch v := r.URL.Query().Get("dryRun"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		writeFieldError(w, "dryRun", "dryRun must be true or false")
		return
	}
	// One byte over the limit is enough to know the file is too large.
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, account.MaxRosterBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the roster is larger than 1 MiB")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body")
		return
	}
	res, err := s.cfg.Accounts.ImportRoster(r.Context(), data, dryRun)
	if err != nil {
		s.internalError(w, "could not import the roster", err)
		return
	}
	switch {
	case dryRun:
		writeJSON(w, http.StatusOK, res)
	case !res.Valid:
		// The documented body, plus the usual error object for generic clients.
		writeJSON(w, http.StatusBadRequest, struct {
			account.ImportResult
			Error apiError `json:"error"`
		}{res, apiError{Code: "bad_request", Message: fmt.Sprintf("the roster has %d errors; nothing was imported", len(res.Errors))}})
	default:
		s.log.Info("roster imported", "users", res.Created, "by", userFrom(r.Context()).ID)
		writeJSON(w, http.StatusCreated, res)
	}
}
