package sfu

// SetSiteBudget sets the downlink budget of a site's link in bit/s (0: no
// budget). The subscribers at that site (PeerOptions.Site), across every
// room, share it: their video layers are lowered together to fit.
func (s *SFU) SetSiteBudget(site string, bps uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.budgets == nil {
		s.budgets = make(map[string]uint64)
	}
	if bps == 0 {
		delete(s.budgets, site)
		return
	}
	s.budgets[site] = bps
}
