package signaling

import (
	"fmt"
	"sync/atomic"
)

// peopleRouteCases covers peopleRoutes in TestRouteRoles.
func peopleRouteCases(e *env) map[string]routeCase {
	var n atomic.Int64
	unique := func() int64 { return n.Add(1) }
	return map[string]routeCase{
		"GET /api/groups": {path: "/api/groups?siteId=osh"},
		"POST /api/groups": {path: "/api/groups", body: func() string {
			return fmt.Sprintf(`{"name":"KG-route-%d","siteId":"osh"}`, unique())
		}},
		"POST /api/users": {path: "/api/users", body: func() string {
			return fmt.Sprintf(`{"username":"route%d","displayName":"Route Test","role":"lecturer","siteId":"riga","password":"%s"}`, unique(), testPassword)
		}},
		"PATCH /api/users/{id}": {path: "/api/users/" + e.users["student2"].ID, body: func() string {
			return fmt.Sprintf(`{"displayName":"Janis Kalns %d"}`, unique())
		}},
		"POST /api/users/{id}/password": {path: "/api/users/" + e.users["student3"].ID + "/password", body: func() string {
			return `{"password":"` + testPassword + `"}`
		}},
		"POST /api/users/import": {path: "/api/users/import?dryRun=true", body: func() string {
			return "username,display_name,site,group,password\nroster1,Roster One,riga,,\n"
		}},
		// Each role changes its own password to the same one; the route ends
		// the caller's sessions, which TestRouteRoles then forgets.
		"PUT /api/me/password": {path: "/api/me/password", body: func() string {
			return `{"currentPassword":"` + testPassword + `","newPassword":"` + testPassword + `"}`
		}},
	}
}
