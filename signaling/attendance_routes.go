package signaling

import "github.com/bomca/lecturelink/account"

// attendanceRoutes are the routes of docs/api-attendance.md. The roles here
// are the coarse check; each handler also checks ownership (the lecture's
// own lecturer, an operator of a site taking part, a student's own
// history).
func (s *Server) attendanceRoutes() []route {
	admin := only(account.RoleAdmin)
	viewers := only(account.RoleAdmin, account.RoleLecturer, account.RoleOperator)
	teachers := only(account.RoleAdmin, account.RoleLecturer)
	operators := only(account.RoleAdmin, account.RoleOperator)
	return []route{
		{pattern: "GET /api/lectures/{id}/attendance", roles: viewers, handler: s.handleLectureAttendance},
		{pattern: "GET /api/lectures/{id}/attendance/live", roles: teachers, handler: s.handleLiveAttendance},
		{pattern: "POST /api/lectures/{id}/attendance/overrides", roles: teachers, handler: s.handleOverride},
		{pattern: "GET /api/lectures/{id}/rollcall", roles: operators, handler: s.handleRollCallList},
		{pattern: "PUT /api/lectures/{id}/rollcall/{userId}", roles: operators, handler: s.handleRollCallMark},
		{pattern: "GET /api/lectures/{id}/attendance.csv", roles: viewers, handler: s.handleLectureAttendanceCSV},
		{pattern: "GET /api/lectures/{id}/attendance.moodle.csv", roles: viewers, handler: s.handleLectureAttendanceMoodle},
		{pattern: "GET /api/series/{id}/attendance", roles: teachers, handler: s.handleSeriesAttendance},
		{pattern: "GET /api/series/{id}/attendance.csv", roles: teachers, handler: s.handleSeriesAttendanceCSV},
		{pattern: "GET /api/series/{id}/attendance-rules", roles: teachers, handler: s.handleGetRules},
		{pattern: "PUT /api/series/{id}/attendance-rules", roles: admin, handler: s.handlePutRules},
		{pattern: "GET /api/users/{id}/attendance", roles: only(account.RoleAdmin, account.RoleStudent), handler: s.handleUserAttendance},
	}
}
