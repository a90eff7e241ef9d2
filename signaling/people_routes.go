package signaling

import "github.com/bomca/lecturelink/account"

// peopleRoutes are the routes for accounts, groups, passwords and roster import.
func (s *Server) peopleRoutes() []route {
	admin := only(account.RoleAdmin)
	return []route{
		{pattern: "GET /api/groups", roles: only(account.RoleAdmin, account.RoleLecturer, account.RoleOperator), handler: s.handleGroups},
		{pattern: "POST /api/groups", roles: admin, handler: s.handleCreateGroup},
		{pattern: "POST /api/users", roles: admin, handler: s.handleCreateUser},
		{pattern: "PATCH /api/users/{id}", roles: admin, handler: s.handleUpdateUser},
		{pattern: "POST /api/users/{id}/password", roles: admin, handler: s.handleResetPassword},
		{pattern: "POST /api/users/import", roles: admin, handler: s.handleImportUsers},
		{pattern: "PUT /api/me/password", handler: s.handleChangePassword},
	}
}
