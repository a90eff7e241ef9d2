package signaling

// scheduleRoutes are the routes for sites, groups of lectures (series),
// occurrences and calendar feeds.
func (s *Server) scheduleRoutes() []route {
	return []route{}
}
