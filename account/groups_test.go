package account

import (
	"context"
	"errors"
	"testing"

	"github.com/bomca/lecturelink/internal/redistest"
)

// knownSites is the site check the tests wire in, standing in for schedule.
func knownSites(ids ...string) func(context.Context, string) (bool, error) {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(_ context.Context, id string) (bool, error) { return set[id], nil }
}

// newSiteStore is a store with light argon2 that knows four sites.
func newSiteStore(t *testing.T) (*Store, *redistest.Server) {
	t.Helper()
	opts := lightOpts
	opts.SiteExists = knownSites("osh", "bishkek", "rezekne", "riga")
	return newStore(t, opts)
}

func mustGroup(t *testing.T, s *Store, name, site string) Group {
	t.Helper()
	g, err := s.CreateGroup(context.Background(), NewGroup{Name: name, SiteID: site})
	if err != nil {
		t.Fatalf("CreateGroup(%s at %s): %v", name, site, err)
	}
	return g
}

// wantField checks that err is a FieldError about field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) {
		t.Errorf("%s: err = %v, want ErrInvalid about %s", what, err, field)
	}
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kgB := mustGroup(t, s, "KG-2026-B", "osh")
	kgA := mustGroup(t, s, "  KG-2026-A ", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")
	if kgA.Name != "KG-2026-A" || kgA.SiteID != "osh" || len(kgA.ID) < 10 || kgA.ID[:2] != "g_" {
		t.Fatalf("group %+v: want trimmed name, site and a g_ id", kgA)
	}
	// Unique per site regardless of case, but the same name may exist at another site.
	if _, err := s.CreateGroup(ctx, NewGroup{Name: "kg-2026-a", SiteID: "osh"}); !errors.Is(err, ErrGroupExists) {
		t.Fatalf("duplicate group name: %v, want ErrGroupExists", err)
	}
	other := mustGroup(t, s, "KG-2026-A", "bishkek")

	_, err := s.CreateGroup(ctx, NewGroup{Name: "X", SiteID: "mars"})
	wantField(t, "unknown site", err, "siteId")
	_, err = s.CreateGroup(ctx, NewGroup{Name: "  ", SiteID: "osh"})
	wantField(t, "blank name", err, "name")
	_, err = s.CreateGroup(ctx, NewGroup{Name: "a\x00b", SiteID: "osh"})
	wantField(t, "control character", err, "name")

	all, err := s.Groups(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{other.ID, kgA.ID, kgB.ID, lv.ID} // by site, then name
	if len(all) != len(want) {
		t.Fatalf("Groups = %+v, want %d", all, len(want))
	}
	for i, g := range all {
		if g.ID != want[i] {
			t.Fatalf("Groups[%d] = %+v, want %s (order by site, then name)", i, g, want[i])
		}
	}
	osh, err := s.Groups(ctx, "osh")
	if err != nil || len(osh) != 2 || osh[0].ID != kgA.ID || osh[1].ID != kgB.ID {
		t.Fatalf("Groups(osh) = %+v, %v", osh, err)
	}
	if got, err := s.Group(ctx, lv.ID); err != nil || got != lv {
		t.Fatalf("Group = %+v, %v; want %+v", got, err, lv)
	}
	if got, err := s.GroupByName(ctx, "osh", "kg-2026-a"); err != nil || got.ID != kgA.ID {
		t.Fatalf("GroupByName = %+v, %v; want %s", got, err, kgA.ID)
	}
	if _, err := s.GroupByName(ctx, "riga", "KG-2026-A"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GroupByName at the wrong site = %v, want ErrNotFound", err)
	}
	if _, err := s.Group(ctx, "g_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Group(missing) = %v, want ErrNotFound", err)
	}
}

func TestCreateWithGroupAndSite(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")

	u := mustCreate(t, s, NewUser{Username: "tursunov", Password: "password1", DisplayName: "Bakyt Tursunov", Role: RoleStudent, SiteID: "osh", GroupID: kg.ID})
	if got, err := s.Get(ctx, u.ID); err != nil || got.GroupID != kg.ID || !got.Active {
		t.Fatalf("stored user %+v, %v; want group %s", got, err, kg.ID)
	}
	for _, tc := range []struct {
		name  string
		nu    NewUser
		field string
	}{
		{"lecturer in a group", NewUser{Username: "a1", Role: RoleLecturer, SiteID: "osh", GroupID: kg.ID}, "groupId"},
		{"group of another site", NewUser{Username: "a2", Role: RoleStudent, SiteID: "osh", GroupID: lv.ID}, "groupId"},
		{"unknown group", NewUser{Username: "a3", Role: RoleStudent, SiteID: "osh", GroupID: "g_nope"}, "groupId"},
		{"unknown site", NewUser{Username: "a4", Role: RoleStudent, SiteID: "mars"}, "siteId"},
	} {
		tc.nu.Password, tc.nu.DisplayName = "password1", "Someone"
		_, err := s.Create(ctx, tc.nu)
		wantField(t, tc.name, err, tc.field)
	}
	if users, _ := s.List(ctx, ""); len(users) != 1 {
		t.Fatalf("refused creates left users: %+v", users)
	}
	op := mustCreate(t, s, NewUser{Username: "osh-room", Password: "password1", DisplayName: "Osh classroom", Role: RoleOperator, SiteID: "osh"})
	if op.Role != RoleOperator {
		t.Fatalf("operator created as %q", op.Role)
	}
}
