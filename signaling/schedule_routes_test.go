package signaling

// scheduleRouteCases covers scheduleRoutes in TestRouteRoles.
func scheduleRouteCases(e *env) map[string]routeCase {
	return map[string]routeCase{}
}
