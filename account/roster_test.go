package account

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
)

const rosterHead = "username,display_name,site,group,password\n"

// errorsAt renders a result's errors as "line:column" for comparison.
func errorsAt(res ImportResult) string {
	out := make([]string, len(res.Errors))
	for i, e := range res.Errors {
		out[i] = fmt.Sprintf("%d:%s", e.Line, e.Column)
	}
	return strings.Join(out, " ")
}

func userCount(t *testing.T, s *Store) int {
	t.Helper()
	users, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return len(users)
}

func TestRosterReportsEveryBadRow(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	mustGroup(t, s, "KG-2026-A", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")
	mustCreate(t, s, NewUser{Username: "Taken", Password: "password1", DisplayName: "T", Role: RoleStudent, SiteID: "osh"})

	file := rosterHead +
		"ok1,Good One,osh,KG-2026-A,\n" + // 2: fine
		",Empty Username,osh,,\n" + // 3
		"Bad Name,X,osh,,\n" + // 4: space and capitals
		"ok1,Dup,osh,,\n" + // 5: duplicate of 2
		"taken,Taken,osh,,\n" + // 6: already an account (case-insensitive)
		"ok2,Two,rigaa,,\n" + // 7: unknown site
		"ok3,Three,osh,NOPE,\n" + // 8: unknown group
		"ok4,Four,osh,LV-2026-A,\n" + // 9: group of another site, by name
		"ok5,Five,osh," + lv.ID + ",\n" + // 10: group of another site, by id
		"ok6,Six,osh,,short\n" + // 11: short password
		"ok7,Seven,osh\n" + // 12: too few columns
		"ok8,\xff\xfe,osh,,\n" + // 13: invalid UTF-8
		"ok9,,osh,,\n" + // 14: empty display name
		"ok10,Ten,osh,,,extra\n" + // 15: too many columns
		"x,Eleven,osh,,\n" // 16: username too short
	for _, dry := range []bool{true, false} {
		res, err := s.ImportRoster(ctx, []byte(file), dry)
		if err != nil {
			t.Fatal(err)
		}
		want := "3:username 4:username 5:username 6:username 7:site 8:group 9:group 10:group 11:password 12: 13:display_name 14:display_name 15: 16:username"
		if got := errorsAt(res); got != want || res.Valid || res.Created != 0 || res.Rows != 15 {
			t.Fatalf("dryRun=%v: valid=%v rows=%d created=%d errors\n got %s\nwant %s\n%+v", dry, res.Valid, res.Rows, res.Created, got, want, res.Errors)
		}
		for _, e := range res.Errors {
			if e.Reason == "" {
				t.Errorf("error %+v has no reason", e)
			}
		}
		for i, frag := range map[int]string{3: "empty", 5: "line 2", 6: "taken", 7: `"rigaa"`, 9: "riga, not osh", 10: "riga, not osh", 12: "found 3"} {
			for _, e := range res.Errors {
				if e.Line == i && !strings.Contains(e.Reason, frag) {
					t.Errorf("line %d: reason %q lacks %q", i, e.Reason, frag)
				}
			}
		}
		if n := userCount(t, s); n != 1 {
			t.Fatalf("dryRun=%v: a bad file wrote users: %d", dry, n)
		}
	}
}

func TestRosterFileLevelErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	var many strings.Builder
	many.WriteString(rosterHead)
	for i := range MaxRosterRows + 1 {
		fmt.Fprintf(&many, "s%05d,Student,osh,,\n", i)
	}
	for _, tc := range []struct {
		name, file, want string
	}{
		{"empty", "", "1:"},
		{"header only", rosterHead, "1:"},
		{"wrong header", "user,name,site,group,password\na1,A,osh,,\n", "1:"},
		{"too large", rosterHead + strings.Repeat("a", MaxRosterBytes), "0:"},
		{"too many rows", many.String(), fmt.Sprintf("%d:", MaxRosterRows+2)},
		{"bare quote, then a bad row", rosterHead + "a1,A,osh,,\na\"2,B,osh,,\nB B,C,osh,,\n", "3: 4:username"},
		{"unterminated quote", rosterHead + "a1,\"A,osh,,\n", "2:"},
	} {
		res, err := s.ParseRoster(ctx, []byte(tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := errorsAt(res); got != tc.want || res.Valid {
			t.Errorf("%s: errors %s (%+v), want %s", tc.name, got, res.Errors, tc.want)
		}
	}
	if n := userCount(t, s); n != 0 {
		t.Fatalf("parsing wrote %d users", n)
	}
}

// rosterFile returns a valid file of n students over two sites with a BOM
// and CRLF line ends: groups by name, by id and none; passwords given and not.
func rosterFile(n int, prefix, kgID string) string {
	var b strings.Builder
	b.WriteString("\xEF\xBB\xBF" + strings.ReplaceAll(rosterHead, "\n", "\r\n"))
	for i := range n {
		site, group, pw := "osh", "", ""
		switch i % 4 {
		case 0:
			group = "kg-2026-a" // by name, any case
		case 1:
			group = kgID
		case 2:
			site, group = "riga", "LV-2026-A"
		}
		if i%2 == 0 {
			pw = fmt.Sprintf("password-%d", i)
		}
		fmt.Fprintf(&b, "%s%02d,\"Student %d, Jr.\",%s,%s,%s\r\n", prefix, i, i, site, group, pw)
	}
	return b.String()
}

func TestRosterValidImport(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	lv := mustGroup(t, s, "LV-2026-A", "riga")
	file := []byte(rosterFile(50, "st", kg.ID))

	dry, err := s.ImportRoster(ctx, file, true)
	if err != nil || !dry.Valid || dry.Rows != 50 || dry.Created != 0 || len(dry.Errors) != 0 || len(dry.Users) != 50 {
		t.Fatalf("dry run = valid %v rows %d created %d errors %+v, %v", dry.Valid, dry.Rows, dry.Created, dry.Errors, err)
	}
	if dry.Users[0].Line != 2 || dry.Users[0].GroupID != kg.ID || dry.Users[2].GroupID != lv.ID || dry.Users[3].GroupID != "" || dry.Users[1].Password != "" {
		t.Fatalf("dry run rows %+v", dry.Users[:4])
	}
	if n := userCount(t, s); n != 0 {
		t.Fatalf("dry run wrote %d users", n)
	}

	res, err := s.ImportRoster(ctx, file, false)
	if err != nil || !res.Valid || res.Created != 50 {
		t.Fatalf("import = valid %v created %d errors %+v, %v", res.Valid, res.Created, res.Errors, err)
	}
	students, err := s.Users(ctx, Filter{Role: RoleStudent})
	if err != nil || len(students) != 50 {
		t.Fatalf("%d students after import, %v", len(students), err)
	}
	inKG, _ := s.Users(ctx, Filter{GroupID: kg.ID})
	inLV, _ := s.Users(ctx, Filter{GroupID: lv.ID, SiteID: "riga"})
	if len(inKG) != 26 || len(inLV) != 12 {
		t.Fatalf("%d in KG, %d in LV; want 26 and 12", len(inKG), len(inLV))
	}
	for i, row := range res.Users {
		u, err := s.Get(ctx, row.ID)
		if err != nil || u.Username != row.Username || u.DisplayName != fmt.Sprintf("Student %d, Jr.", i) || !u.Active || u.SiteID != row.SiteID || u.GroupID != row.GroupID {
			t.Fatalf("row %+v stored as %+v, %v", row, u, err)
		}
		given := i%2 == 0
		if given == (row.Password != "") {
			t.Fatalf("row %d: returned password %q; want one only when generated", i, row.Password)
		}
		if i < 4 { // argon2 per sign-in; a few prove the hashes
			pw := row.Password
			if given {
				pw = fmt.Sprintf("password-%d", i)
			}
			if _, err := s.Authenticate(ctx, row.Username, pw); err != nil {
				t.Fatalf("%s cannot sign in with %q: %v", row.Username, pw, err)
			}
		}
	}
	// Importing the same file again: every row is taken now.
	again, err := s.ImportRoster(ctx, file, false)
	if err != nil || again.Valid || len(again.Errors) != 50 || again.Errors[0].Reason != `username "st00" is already taken` {
		t.Fatalf("second import = %+v, %v", again.Errors[:min(2, len(again.Errors))], err)
	}
}

// TestRosterTakenBetweenCheckAndWrite takes a username after the file was
// checked and before it is written; the script must refuse the whole file.
func TestRosterTakenBetweenCheckAndWrite(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	plain := NewStore(srv.Client, Options{Argon2Time: 1, Argon2Memory: 64, Argon2Threads: 1, SiteExists: knownSites("osh", "riga")})
	kg := mustGroup(t, plain, "KG-2026-A", "osh")
	mustGroup(t, plain, "LV-2026-A", "riga")

	var armed atomic.Bool
	opts := Options{Argon2Time: 1, Argon2Memory: 64, Argon2Threads: 1, SiteExists: knownSites("osh", "riga"),
		// The import reads the clock only when it writes: the last moment to steal a name.
		Now: func() time.Time {
			if armed.CompareAndSwap(true, false) {
				mustCreate(t, plain, NewUser{Username: "ST07", Password: "password1", DisplayName: "Thief", Role: RoleLecturer, SiteID: "osh"})
			}
			return time.Now()
		}}
	s := NewStore(srv.Client, opts)
	armed.Store(true)
	res, err := s.ImportRoster(ctx, []byte(rosterFile(20, "st", kg.ID)), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid || res.Created != 0 || errorsAt(res) != "9:username" {
		t.Fatalf("import = valid %v created %d errors %+v; want refused at line 9", res.Valid, res.Created, res.Errors)
	}
	for _, u := range res.Users {
		if u.ID != "" || u.Password != "" {
			t.Fatalf("refused import returned credentials: %+v", u)
		}
	}
	if n := userCount(t, s); n != 1 {
		t.Fatalf("%d users after a refused import, want only the thief", n)
	}
}

// TestRosterConcurrentImports races two files sharing usernames: exactly
// one is imported whole, the other writes nothing.
func TestRosterConcurrentImports(t *testing.T) {
	ctx := context.Background()
	s, _ := newSiteStore(t)
	kg := mustGroup(t, s, "KG-2026-A", "osh")
	mustGroup(t, s, "LV-2026-A", "riga")
	for round := range 5 {
		a := rosterFile(30, fmt.Sprintf("r%da", round), kg.ID)
		// b shares its last row's username with a's first.
		b := rosterFile(30, fmt.Sprintf("r%db", round), kg.ID) + fmt.Sprintf("r%da00,Clash,osh,,\r\n", round)
		var wg sync.WaitGroup
		results := make([]ImportResult, 2)
		for i, f := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.ImportRoster(ctx, []byte(f), false)
				if err != nil {
					t.Errorf("import: %v", err)
				}
				results[i] = res
			}()
		}
		wg.Wait()
		if (results[0].Created == 0) == (results[1].Created == 0) {
			t.Fatalf("round %d: created %d and %d; want exactly one file imported", round, results[0].Created, results[1].Created)
		}
	}
	// Every user of each round's winning file exists, none of the loser's
	// (b's clashing row carries a's first username).
	users, _ := s.List(ctx, "")
	byPrefix := map[string]int{}
	for _, u := range users {
		byPrefix[u.Username[:3]]++
	}
	for round := range 5 {
		na, nb := byPrefix[fmt.Sprintf("r%da", round)], byPrefix[fmt.Sprintf("r%db", round)]
		if !(na == 30 && nb == 0) && !(na == 0 && nb == 30) && !(na == 1 && nb == 30) {
			t.Fatalf("round %d: %d users from a, %d from b; partial import", round, na, nb)
		}
	}
}
