package sfu

import (
	"slices"
	"sync"
)

// siteGroup is the subscribers at one site, across every room, and the
// site's downlink budget. Each member's allocation round reports its demand
// and reads its share; the shares are recomputed at most every
// siteRecompute, under the group's own mutex (never on a packet path, and
// never one lock for the whole SFU).
type siteGroup struct {
	name string

	mu      sync.Mutex
	budget  uint64 // bit/s; 0: none
	members map[*Peer]*siteMember
	at      int64 // when shares were last computed (Unix ns)
}

type siteMember struct {
	demand uint64 // what the peer would use, bit/s (its est.want, capped by its estimate)
	share  uint64
	// reported: demand is the member's own (a new member's first round
	// recomputes at once, rather than use a share computed without it).
	reported bool
}

// siteRecompute: members tick every allocInterval each, at their own
// phase; recomputing at most twice per interval keeps the shares at most
// half a round behind the demands without sorting on every call.
const siteRecompute = allocInterval / 2

// share records p's demand and returns its share of the site's budget, or
// ok false when the site has no budget.
func (g *siteGroup) share(p *Peer, demand uint64, now int64) (bps uint64, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[p]
	if g.budget == 0 || m == nil {
		return 0, false
	}
	m.demand = demand
	first := !m.reported
	m.reported = true
	if now-g.at >= int64(siteRecompute) || first {
		g.recomputeLocked(now)
	}
	return m.share, true
}

func (g *siteGroup) recomputeLocked(now int64) {
	g.at = now
	ms := make([]*siteMember, 0, len(g.members))
	demands := make([]uint64, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
		demands = append(demands, m.demand)
	}
	shares := waterFill(g.budget, demands)
	for i, m := range ms {
		m.share = shares[i]
	}
}

// waterFill shares budget among demands max-min fairly: everyone gets an
// equal share, except that a demand smaller than that share is met exactly
// and what it leaves is shared again among the others. What is left when
// every demand is met is spread equally over all, so a member whose
// demand grows (a layer's rate measured a little higher) does not have to
// wait for the next round to get it.
func waterFill(budget uint64, demands []uint64) []uint64 {
	n := len(demands)
	shares := make([]uint64, n)
	if n == 0 {
		return shares
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case demands[a] < demands[b]:
			return -1
		case demands[a] > demands[b]:
			return 1
		}
		return 0
	})
	left := budget
	for k, i := range order {
		fair := left / uint64(n-k)
		shares[i] = min(demands[i], fair)
		left -= shares[i]
	}
	if left > 0 {
		extra := left / uint64(n)
		for i := range shares {
			shares[i] += extra
		}
	}
	return shares
}

// SetSiteBudget sets the downlink budget of a site's link in bit/s (0: no
// budget). The subscribers at that site (PeerOptions.Site), across every
// room, share it: their video layers are lowered together to fit.
func (s *SFU) SetSiteBudget(site string, bps uint64) {
	s.mu.Lock()
	g := s.sites[site]
	if g == nil {
		if bps == 0 {
			s.mu.Unlock()
			return
		}
		g = &siteGroup{name: site, members: make(map[*Peer]*siteMember)}
		if s.sites == nil {
			s.sites = make(map[string]*siteGroup)
		}
		s.sites[site] = g
	}
	g.mu.Lock()
	if g.budget == bps {
		g.mu.Unlock()
		s.mu.Unlock()
		return
	}
	g.budget = bps
	g.at = 0 // recompute at the next round
	peers := make([]*Peer, 0, len(g.members))
	for p := range g.members {
		peers = append(peers, p)
	}
	if bps == 0 && len(g.members) == 0 {
		delete(s.sites, site)
	}
	g.mu.Unlock()
	s.mu.Unlock()
	for _, p := range peers {
		p.kickAlloc()
	}
}

// joinSite adds p to its site's group.
func (s *SFU) joinSite(p *Peer, site string) *siteGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.sites[site]
	if g == nil {
		g = &siteGroup{name: site, members: make(map[*Peer]*siteMember)}
		if s.sites == nil {
			s.sites = make(map[string]*siteGroup)
		}
		s.sites[site] = g
	}
	g.mu.Lock()
	g.members[p] = &siteMember{}
	g.at = 0
	g.mu.Unlock()
	return g
}

// leaveSite takes p out of its site's group, forgetting a group that has
// neither members nor a budget.
func (s *SFU) leaveSite(p *Peer, g *siteGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.mu.Lock()
	delete(g.members, p)
	g.at = 0
	empty := len(g.members) == 0 && g.budget == 0
	g.mu.Unlock()
	if empty && s.sites[g.name] == g {
		delete(s.sites, g.name)
	}
}
