package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bomca/lecturelink/internal/redistest"
)

// lightOpts keeps argon2 cheap so tests stay fast; production uses the defaults.
var lightOpts = Options{Argon2Time: 1, Argon2Memory: 64, Argon2Threads: 1}

func newStore(t *testing.T, opts Options) (*Store, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	return NewStore(srv.Client, opts), srv
}

func mustCreate(t *testing.T, s *Store, nu NewUser) User {
	t.Helper()
	u, err := s.Create(context.Background(), nu)
	if err != nil {
		t.Fatalf("Create(%q): %v", nu.Username, err)
	}
	return u
}

func aliev() NewUser {
	return NewUser{Username: "Aliev", Password: "correct horse", DisplayName: "Marat Aliev", Role: RoleLecturer, SiteID: "osh"}
}

func TestPasswordHashRoundTrip(t *testing.T) {
	p := argonParams{time: 1, memory: 64, threads: 1}
	h1, err := hashPassword("lecturelink", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the given parameters", h1)
	}
	if strings.Count(h1, "$") != 5 {
		t.Fatalf("hash %q: want 6 $-separated parts", h1)
	}
	h2, _ := hashPassword("lecturelink", p)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"lecturelink", true}, {"lecturelinK", false}, {"", false}, {"lecturelink ", false}} {
		got, err := verifyPassword(tc.pw, h1)
		if err != nil || got != tc.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good, _ := hashPassword("x", argonParams{time: 1, memory: 64, threads: 1})
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":        "",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":  strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":    strings.Replace(good, "t=1", "t=0", 1),
		"bad salt b64": strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":    strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
	} {
		if ok, err := verifyPassword("x", h); ok || !errors.Is(err, errBadHash) {
			t.Errorf("%s: verify = %v, %v; want false, errBadHash", name, ok, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, srv := newStore(t, lightOpts)
	u := mustCreate(t, s, aliev())
	if !strings.HasPrefix(u.ID, "u_") || len(u.ID) < 10 {
		t.Fatalf("id %q: want u_ and a random suffix", u.ID)
	}

	got, err := s.Authenticate(ctx, "aliev", "correct horse")
	if err != nil {
		t.Fatalf("Authenticate with right password: %v", err)
	}
	if got != u {
		t.Fatalf("Authenticate = %+v, want %+v", got, u)
	}
	if _, err := s.Authenticate(ctx, "ALIEV", "correct horse"); err != nil {
		t.Fatalf("username must be case-insensitive: %v", err)
	}
	for _, tc := range []struct{ user, pw string }{
		{"aliev", "wrong horse"},
		{"aliev", ""},
		{"nobody", "correct horse"},
		{"", "correct horse"},
		{"aliev", strings.Repeat("x", 5000)},
	} {
		if _, err := s.Authenticate(ctx, tc.user, tc.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q...) = %v, want ErrBadCredentials", tc.user, tc.pw[:min(len(tc.pw), 10)], err)
		}
	}

	// The stored hash is a PHC string and the password is nowhere in clear.
	stored, err := srv.Client.HGet(ctx, userKey(u.ID), fPassword).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(stored, "horse") {
		t.Fatalf("stored password field %q", stored)
	}
	// The user returned by the public API does not carry the hash either.
	if js, _ := json.Marshal(got); strings.Contains(string(js), "argon") {
		t.Fatalf("User JSON carries the password hash: %s", js)
	}
}

func TestUnknownUsernameCostsAPasswordCheck(t *testing.T) {
	ctx := context.Background()
	// Default (production) argon2 parameters, so the hash dominates timing.
	s, _ := newStore(t, Options{})
	nu := aliev()
	mustCreate(t, s, nu)

	median := func(user string) time.Duration {
		var d [3]time.Duration
		for i := range d {
			start := time.Now()
			if _, err := s.Authenticate(ctx, user, "wrong password"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("Authenticate(%q): %v", user, err)
			}
			d[i] = time.Since(start)
		}
		a, b, c := d[0], d[1], d[2]
		return max(min(a, b), min(max(a, b), c))
	}
	median("nobody") // computes the dummy hash once
	known, unknown := median("aliev"), median("nobody")
	if unknown < known/3 {
		t.Fatalf("unknown user took %v, known user with wrong password %v: timing reveals usernames", unknown, known)
	}
	p, _, _, err := parsePHC(s.dummy())
	if err != nil || p != s.params() {
		t.Fatalf("dummy hash params %+v, %v; want %+v", p, err, s.params())
	}
}

func TestCreateRejectsDuplicateUsernameCaseInsensitively(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, lightOpts)
	first := mustCreate(t, s, aliev())
	dup := aliev()
	dup.Username = "aLIEV"
	if _, err := s.Create(ctx, dup); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	// Concurrent creates of one name: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nu := aliev()
			nu.Username = []string{"Berzins", "BERZINS", "berzins", "berzinS"}[i%4]
			if _, err := s.Create(ctx, nu); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrExists) {
				t.Errorf("Create: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent creates of one username succeeded, want 1", wins)
	}
	got, err := s.ByUsername(ctx, "ALIEV")
	if err != nil || got.ID != first.ID || got.Username != "Aliev" {
		t.Fatalf("ByUsername = %+v, %v; want the first user with its original spelling", got, err)
	}
}

func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, lightOpts)
	for _, tc := range []struct {
		name  string
		edit  func(*NewUser)
		field string
	}{
		{"empty username", func(n *NewUser) { n.Username = "" }, "username"},
		{"username with space", func(n *NewUser) { n.Username = "marat aliev" }, "username"},
		{"non-ASCII username", func(n *NewUser) { n.Username = "alíev" }, "username"},
		{"long username", func(n *NewUser) { n.Username = strings.Repeat("a", 65) }, "username"},
		{"short password", func(n *NewUser) { n.Password = "short" }, "password"},
		{"huge password", func(n *NewUser) { n.Password = strings.Repeat("p", 2000) }, "password"},
		{"blank display name", func(n *NewUser) { n.DisplayName = "   " }, "displayName"},
		{"unknown role", func(n *NewUser) { n.Role = "root" }, "role"},
		{"missing site", func(n *NewUser) { n.SiteID = "" }, "siteId"},
	} {
		nu := aliev()
		tc.edit(&nu)
		_, err := s.Create(ctx, nu)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want ErrInvalid naming %s", tc.name, err, tc.field)
		}
	}
	if users, _ := s.List(ctx, ""); len(users) != 0 {
		t.Fatalf("invalid creates left %d users", len(users))
	}
}

func TestGetAndList(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, lightOpts)
	a := mustCreate(t, s, aliev())
	b := mustCreate(t, s, NewUser{Username: "berzina", Password: "password1", DisplayName: "Anna Berzina", Role: RoleStudent, SiteID: "riga"})
	c := mustCreate(t, s, NewUser{Username: "admin", Password: "password1", DisplayName: "Zarina Admin", Role: RoleAdmin, SiteID: "bishkek"})

	got, err := s.Get(ctx, a.ID)
	if err != nil || got != a {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.Get(ctx, "u_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.ByUsername(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ByUsername(missing) = %v, want ErrNotFound", err)
	}

	all, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := userIDs(all); ids != strings.Join([]string{b.ID, a.ID, c.ID}, ",") {
		t.Fatalf("List order %s, want by display name Anna, Marat, Zarina", ids)
	}
	students, err := s.List(ctx, RoleStudent)
	if err != nil || userIDs(students) != b.ID {
		t.Fatalf("List(student) = %v, %v; want only %s", userIDs(students), err, b.ID)
	}
	if _, err := s.List(ctx, "root"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("List(root) = %v, want ErrInvalid", err)
	}
}

func userIDs(us []User) string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return strings.Join(ids, ",")
}

func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	opts := lightOpts
	opts.SessionTTL = time.Hour
	s, srv := newStore(t, opts)
	u := mustCreate(t, s, aliev())

	tok, err := s.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q: want 43 characters of unpadded base64url", tok)
	}
	tok2, _ := s.CreateSession(ctx, u.ID)
	if tok2 == tok {
		t.Fatal("two sessions share a token")
	}

	// Only the SHA-256 of the token is stored, with the TTL.
	sum := sha256.Sum256([]byte(tok))
	key := "ll:session:" + hex.EncodeToString(sum[:])
	keys, err := srv.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, tok) {
			t.Fatalf("key %q contains the token", k)
		}
		if v, _ := srv.Client.Get(ctx, k).Result(); strings.Contains(v, tok) {
			t.Fatalf("value of %q contains the token", k)
		}
	}
	// Age the key, then a lookup must slide it back to the full TTL.
	if err := srv.Client.Expire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionUser(ctx, tok)
	if err != nil || got != u {
		t.Fatalf("SessionUser = %+v, %v; want %+v", got, err, u)
	}
	if ttl := srv.Client.PTTL(ctx, key).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Fatalf("TTL after use = %v, want about 1h (sliding expiry)", ttl)
	}

	if err := s.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after DeleteSession: %v, want ErrNoSession", err)
	}
	if _, err := s.SessionUser(ctx, tok2); err != nil {
		t.Fatalf("deleting one session ended another: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), tok + "A"} {
		if _, err := s.SessionUser(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("SessionUser(%q) = %v, want ErrNoSession", bad, err)
		}
	}
	if _, err := s.CreateSession(ctx, "u_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CreateSession(missing) = %v, want ErrNotFound", err)
	}
}

func TestSessionExpiresWithoutUseAndSlidesWithUse(t *testing.T) {
	t.Parallel() // mostly sleeping
	ctx := context.Background()
	opts := lightOpts
	opts.SessionTTL = 800 * time.Millisecond
	s, _ := newStore(t, opts)
	u := mustCreate(t, s, aliev())
	used, _ := s.CreateSession(ctx, u.ID)
	idle, _ := s.CreateSession(ctx, u.ID)

	// Keep one session busy for longer than the TTL.
	for range 3 {
		time.Sleep(400 * time.Millisecond)
		if _, err := s.SessionUser(ctx, used); err != nil {
			t.Fatalf("a session in use expired: %v", err)
		}
	}
	if _, err := s.SessionUser(ctx, idle); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle session after 1.2s with a 0.8s TTL: %v, want ErrNoSession", err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := s.SessionUser(ctx, used); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session idle for longer than the TTL: %v, want ErrNoSession", err)
	}
}

func TestDeactivatedUser(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, lightOpts)
	nu := aliev()
	u := mustCreate(t, s, nu)
	tok, err := s.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	untouched, err := s.CreateSession(ctx, u.ID) // not used while deactivated
	if err != nil {
		t.Fatal(err)
	}

	if err := s.SetActive(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, u.ID); got.Active {
		t.Fatal("user still active after SetActive(false)")
	}
	if _, err := s.Authenticate(ctx, nu.Username, nu.Password); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("deactivated sign-in = %v, want ErrBadCredentials", err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("deactivated session = %v, want ErrNoSession", err)
	}
	if _, err := s.CreateSession(ctx, u.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateSession for deactivated user = %v, want ErrInvalid", err)
	}

	// Reactivation allows sign-in again but does not revive old sessions.
	if err := s.SetActive(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, nu.Username, nu.Password); err != nil {
		t.Fatalf("reactivated sign-in: %v", err)
	}
	if _, err := s.SessionUser(ctx, untouched); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session from before deactivation = %v after reactivation, want ErrNoSession", err)
	}
	if err := s.SetActive(ctx, "u_missing", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetActive(missing) = %v, want ErrNotFound", err)
	}
}
