package signaling

import "github.com/bomca/lecturelink/account"

// scheduleRoutes are the routes for sites, groups of lectures (series),
// occurrences and calendar feeds.
func (s *Server) scheduleRoutes() []route {
	admin := only(account.RoleAdmin)
	return []route{
		{pattern: "PATCH /api/lectures/{id}", roles: admin, handler: s.handleUpdateLecture},
		{pattern: "POST /api/lectures/{id}/cancel", roles: admin, handler: s.handleCancelLecture},
		{pattern: "POST /api/sites", roles: admin, handler: s.handleCreateSite},
		{pattern: "PUT /api/sites/{id}", roles: admin, handler: s.handlePutSite},
		{pattern: "GET /api/series", roles: only(account.RoleAdmin, account.RoleLecturer), handler: s.handleListSeries},
		{pattern: "POST /api/series/preview", roles: admin, handler: s.handlePreviewSeries},
		{pattern: "POST /api/series", roles: admin, handler: s.handleCreateSeries},
		{pattern: "GET /api/series/{id}", roles: only(account.RoleAdmin, account.RoleLecturer), handler: s.handleGetSeries},
		{pattern: "PATCH /api/series/{id}", roles: admin, handler: s.handlePatchSeries},
		{pattern: "DELETE /api/series/{id}", roles: admin, handler: s.handleDeleteSeries},
		{pattern: "POST /api/series/{id}/calendar", roles: admin, handler: s.handleSeriesCalendar},
		{pattern: "GET /api/me/calendar", handler: s.handleMyCalendar},
		{pattern: "POST /api/me/calendar", handler: s.handleRotateMyCalendar},
		// The token is the credential, so the feed needs no session:
		// calendar apps cannot sign in. ServeMux wildcards cannot carry a
		// suffix, so the handler strips ".ics" itself.
		{pattern: "GET /calendar/{file}", public: true, handler: s.handleCalendarFeed},
	}
}
