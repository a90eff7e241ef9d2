package signaling

// peopleRouteCases covers peopleRoutes in TestRouteRoles.
func peopleRouteCases(e *env) map[string]routeCase {
	return map[string]routeCase{}
}
