package signaling

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bomca/lecturelink/schedule"
)

// budgetLog records the site budgets the server hands to the SFU.
type budgetLog struct {
	mu  sync.Mutex
	bps map[string]uint64
	n   int
}

func (b *budgetLog) set(site string, bps uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bps == nil {
		b.bps = map[string]uint64{}
	}
	b.bps[site] = bps
	b.n++
}

func (b *budgetLog) get(site string) (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.bps[site]
	return v, ok
}

func (b *budgetLog) calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// TestSiteDownlinkBudget round-trips a site's downlink budget through the
// API and checks that the SFU is given every saved value, and all stored
// budgets at start.
func TestSiteDownlinkBudget(t *testing.T) {
	var log budgetLog
	e := newEnv(t, envOptions{siteBudget: log.set})
	ctx := context.Background()
	admin := e.session("admin")

	// At start: every stored site, with or without a budget.
	if err := e.sched.PutSite(ctx, schedule.Site{ID: "osh", Name: "Osh", Institution: "Border Service Training Centre",
		TimeZone: "Asia/Bishkek", DownlinkKbps: 6000}); err != nil {
		t.Fatal(err)
	}
	if err := e.server.ApplySiteBudgets(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := log.get("osh"); v != 6_000_000 {
		t.Fatalf("osh budget at start = %d bit/s, want 6000000", v)
	}
	if v, ok := log.get("riga"); !ok || v != 0 {
		t.Fatalf("riga budget at start = %d (set %v), want 0", v, ok)
	}

	var got struct{ Site schedule.Site }
	body := `{"id":"rezekne","name":"Rezekne","institution":"State Border Guard College","timeZone":"Europe/Riga",` +
		`"networkNotes":"8 Mbit/s down","downlinkKbps":8000}`
	if st := e.do("POST", "/api/sites", admin, body, &got); st != http.StatusCreated {
		t.Fatalf("POST /api/sites: %d", st)
	}
	if got.Site.DownlinkKbps != 8000 {
		t.Fatalf("created site %+v, want downlinkKbps 8000", got.Site)
	}
	if v, _ := log.get("rezekne"); v != 8_000_000 {
		t.Fatalf("rezekne budget = %d, want 8000000", v)
	}
	var list struct{ Sites []schedule.Site }
	e.do("GET", "/api/sites", e.session("student1"), "", &list)
	found := false
	for _, s := range list.Sites {
		found = found || (s.ID == "rezekne" && s.DownlinkKbps == 8000)
	}
	if !found {
		t.Fatalf("GET /api/sites = %+v, want rezekne with 8000", list.Sites)
	}

	// A PUT without the field keeps the budget; one with 0 removes it.
	put := `{"name":"Rezekne","institution":"State Border Guard College","timeZone":"Europe/Riga","networkNotes":"new notes"`
	if st := e.do("PUT", "/api/sites/rezekne", admin, put+`}`, &got); st != http.StatusOK || got.Site.DownlinkKbps != 8000 ||
		got.Site.NetworkNotes != "new notes" {
		t.Fatalf("PUT without downlinkKbps: %d %+v", st, got.Site)
	}
	if st := e.do("PUT", "/api/sites/rezekne", admin, put+`,"downlinkKbps":0}`, &got); st != http.StatusOK || got.Site.DownlinkKbps != 0 {
		t.Fatalf("PUT with 0: %d %+v", st, got.Site)
	}
	if v, ok := log.get("rezekne"); !ok || v != 0 {
		t.Fatalf("rezekne budget after 0 = %d (set %v), want 0", v, ok)
	}

	// Bad values are refused and change nothing.
	before := log.calls()
	for _, c := range []struct {
		name, value, field string
	}{
		{"negative", "-1", "downlinkKbps"},
		{"too large", "10000001", "downlinkKbps"},
		{"fraction", "1.5", ""},
		{"string", `"8000"`, ""},
	} {
		var er struct {
			Error struct{ Code, Message, Field string }
		}
		st := e.do("PUT", "/api/sites/rezekne", admin, put+`,"downlinkKbps":`+c.value+`}`, &er)
		if st != http.StatusBadRequest || er.Error.Code != "bad_request" || er.Error.Field != c.field || er.Error.Message == "" {
			t.Errorf("%s: %d %+v, want 400 bad_request on field %q", c.name, st, er.Error, c.field)
		}
		if c.field != "" && !strings.Contains(er.Error.Message, "10000000") {
			t.Errorf("%s: message %q does not say the limit", c.name, er.Error.Message)
		}
	}
	if log.calls() != before {
		t.Fatalf("a refused site change reached the SFU")
	}
	site, err := e.sched.Site(ctx, "rezekne")
	if err != nil || site.DownlinkKbps != 0 {
		t.Fatalf("stored site after refusals: %+v, %v", site, err)
	}
	// Only admins may set budgets.
	if st := e.do("PUT", "/api/sites/rezekne", e.session("lecturer"), put+`,"downlinkKbps":100}`, nil); st != http.StatusForbidden {
		t.Fatalf("lecturer PUT: %d, want 403", st)
	}
}
