package signaling

// peopleRoutes are the routes for accounts, groups, passwords and roster import.
func (s *Server) peopleRoutes() []route {
	return []route{}
}
