package account

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")
	u := mustCreate(t, s, NewUser{Username: "tursunov", Password: "password1", DisplayName: "Bakyt Tursunov", Role: RoleStudent, SiteID: "osh", GroupID: kg.ID})

	got, err := s.Update(ctx, u.ID, Patch{DisplayName: ptr("  Bakyt T. ")})
	if err != nil || got.DisplayName != "Bakyt T." || got.GroupID != kg.ID || got.SiteID != "osh" {
		t.Fatalf("rename = %+v, %v", got, err)
	}
	// Moving a student to another site needs a group there (or none).
	_, err = s.Update(ctx, u.ID, Patch{SiteID: ptr("riga")})
	wantField(t, "site change keeping the old group", err, "groupId")
	_, err = s.Update(ctx, u.ID, Patch{SiteID: ptr("mars"), GroupID: ptr("")})
	wantField(t, "unknown site", err, "siteId")
	got, err = s.Update(ctx, u.ID, Patch{SiteID: ptr("riga"), GroupID: ptr(lv.ID)})
	if err != nil || got.SiteID != "riga" || got.GroupID != lv.ID {
		t.Fatalf("move to riga = %+v, %v", got, err)
	}
	_, err = s.Update(ctx, u.ID, Patch{GroupID: ptr(kg.ID)})
	wantField(t, "group of another site", err, "groupId")
	_, err = s.Update(ctx, u.ID, Patch{Role: ptr("root")})
	wantField(t, "unknown role", err, "role")
	_, err = s.Update(ctx, u.ID, Patch{DisplayName: ptr("")})
	wantField(t, "blank name", err, "displayName")
	_, err = s.Update(ctx, u.ID, Patch{Role: ptr("operator"), GroupID: ptr(lv.ID)})
	wantField(t, "operator in a group", err, "groupId")
	// A student who becomes an operator leaves their group.
	got, err = s.Update(ctx, u.ID, Patch{Role: ptr("operator")})
	if err != nil || got.Role != RoleOperator || got.GroupID != "" {
		t.Fatalf("to operator = %+v, %v; want no group", got, err)
	}
	if stored, _ := s.Get(ctx, u.ID); stored != got {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if _, err := s.Update(ctx, "u_missing", Patch{DisplayName: ptr("x")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing user = %v, want ErrNotFound", err)
	}
}

func TestUpdateDeactivateEndsSessionsAndKeepsTheUser(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	u := mustCreate(t, s, aliev())
	tok, err := s.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Update(ctx, u.ID, Patch{Active: ptr(false)})
	if err != nil || got.Active {
		t.Fatalf("deactivate = %+v, %v", got, err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after deactivation: %v, want ErrNoSession", err)
	}
	if _, err := s.Authenticate(ctx, "aliev", "correct horse"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("sign-in of a deactivated user: %v", err)
	}
	inactive, err := s.Users(ctx, Filter{Active: ptr(false)})
	if err != nil || len(inactive) != 1 || inactive[0].ID != u.ID {
		t.Fatalf("deactivated user not kept: %+v, %v", inactive, err)
	}
	if _, err := s.Update(ctx, u.ID, Patch{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("old session came back after reactivation: %v", err)
	}
	if _, err := s.Authenticate(ctx, "aliev", "correct horse"); err != nil {
		t.Fatalf("sign-in after reactivation: %v", err)
	}
}

// TestUpdateConcurrentMovesStayConsistent races updates that each move a
// student to a site together with a group of that site; the compare-and-set
// must never leave a group of one site on a user of the other.
func TestUpdateConcurrentMovesStayConsistent(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")
	u := mustCreate(t, s, NewUser{Username: "tursunov", Password: "password1", DisplayName: "B", Role: RoleStudent, SiteID: "osh", GroupID: kg.ID})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := Patch{SiteID: ptr("riga"), GroupID: ptr(lv.ID)}
			if i%2 == 0 {
				p = Patch{SiteID: ptr("osh"), GroupID: ptr(kg.ID)}
			}
			if i%3 == 0 {
				p = Patch{GroupID: ptr("")}
			}
			if _, err := s.Update(ctx, u.ID, p); err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, u.ID)
	if got.GroupID != "" {
		g, _ := s.Group(ctx, got.GroupID)
		if g.SiteID != got.SiteID {
			t.Fatalf("user at %s in group %s of %s", got.SiteID, g.Name, g.SiteID)
		}
	}
}

func TestPasswords(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	u := mustCreate(t, s, aliev())
	tok, _ := s.CreateSession(ctx, u.ID)

	wantField(t, "short reset", s.ResetPassword(ctx, u.ID, "short"), "password")
	if err := s.ResetPassword(ctx, "u_missing", "long enough"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reset of a missing user: %v", err)
	}
	if err := s.ResetPassword(ctx, u.ID, "brand new horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session survived a reset: %v", err)
	}
	if _, err := s.Authenticate(ctx, "aliev", "correct horse"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password after reset: %v", err)
	}
	if _, err := s.Authenticate(ctx, "aliev", "brand new horse"); err != nil {
		t.Fatalf("new password after reset: %v", err)
	}

	tok, _ = s.CreateSession(ctx, u.ID)
	if err := s.ChangePassword(ctx, u.ID, "wrong", "another horse"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("change with a wrong current password: %v, want ErrBadCredentials", err)
	}
	wantField(t, "short change", s.ChangePassword(ctx, u.ID, "brand new horse", "short"), "password")
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("refused changes must not end the session: %v", err)
	}
	if err := s.ChangePassword(ctx, u.ID, "brand new horse", "another horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session survived a change: %v", err)
	}
	if _, err := s.Authenticate(ctx, "aliev", "another horse"); err != nil {
		t.Fatalf("new password after change: %v", err)
	}
}

func TestUsersFilter(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	a := mustCreate(t, s, NewUser{Username: "s1", Password: "password1", DisplayName: "A", Role: RoleStudent, SiteID: "osh", GroupID: kg.ID})
	b := mustCreate(t, s, NewUser{Username: "s2", Password: "password1", DisplayName: "B", Role: RoleStudent, SiteID: "osh"})
	c := mustCreate(t, s, NewUser{Username: "l1", Password: "password1", DisplayName: "C", Role: RoleLecturer, SiteID: "riga"})
	if err := s.SetActive(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, a.ID + "," + b.ID + "," + c.ID},
		{Filter{Role: RoleStudent}, a.ID + "," + b.ID},
		{Filter{SiteID: "riga"}, c.ID},
		{Filter{GroupID: kg.ID}, a.ID},
		{Filter{Active: ptr(true)}, a.ID + "," + c.ID},
		{Filter{Active: ptr(false), SiteID: "osh"}, b.ID},
		{Filter{Role: RoleAdmin}, ""},
	} {
		got, err := s.Users(ctx, tc.f)
		if err != nil || userIDs(got) != tc.want {
			t.Errorf("Users(%+v) = %s, %v; want %s", tc.f, userIDs(got), err, tc.want)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	re := regexp.MustCompile(`^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword()
		if err != nil || !re.MatchString(pw) || seen[pw] {
			t.Fatalf("GeneratePassword = %q, %v: want three fresh groups of four readable characters", pw, err)
		}
		seen[pw] = true
	}
}
