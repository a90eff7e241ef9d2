package signaling

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func decode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

// TestRouteRoles calls every API route as every role: allowed calls
// succeed, the others get 401 or 403 with a JSON error.
func TestRouteRoles(t *testing.T) {
	e := newEnv(t, envOptions{})
	cookies := map[string]*http.Cookie{"": nil}
	for _, who := range []string{"admin", "lecturer", "lecturer2", "student1"} {
		cookies[who] = e.login(who)
	}
	newLecture := func() string {
		return `{"title":"Risk analysis","topic":"Profiling","start":"` + time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339) +
			`","durationMinutes":90,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"osh"}`
	}
	routes := []struct {
		method, path string
		body         func() string
		allowed      []string // who gets a 2xx; anonymous always gets 401
	}{
		{"GET", "/api/me", nil, []string{"admin", "lecturer", "lecturer2", "student1"}},
		{"GET", "/api/sites", nil, []string{"admin", "lecturer", "lecturer2", "student1"}},
		{"GET", "/api/users", nil, []string{"admin"}},
		{"GET", "/api/users?role=lecturer", nil, []string{"admin"}},
		{"GET", "/api/lectures", nil, []string{"admin", "lecturer", "lecturer2", "student1"}},
		{"POST", "/api/lectures", newLecture, []string{"admin"}},
		{"GET", "/api/lectures/" + e.lecture.ID, nil, []string{"admin", "lecturer", "lecturer2", "student1"}},
		{"GET", "/api/lectures/" + e.lecture.ID + "/attendance", nil, []string{"admin", "lecturer"}},
		{"DELETE", "/api/session", nil, []string{"admin", "lecturer", "lecturer2", "student1"}},
	}
	for _, r := range routes {
		for who, cookie := range cookies {
			body := ""
			if r.body != nil {
				body = r.body()
			}
			var out map[string]json.RawMessage
			status := e.do(r.method, r.path, cookie, body, &out)
			want := http.StatusForbidden
			switch {
			case who == "":
				want = http.StatusUnauthorized
			case contains(r.allowed, who):
				want = 0
			}
			if want == 0 {
				if status < 200 || status > 299 {
					t.Errorf("%s %s as %s: %d %s", r.method, r.path, who, status, out["error"])
				}
				continue
			}
			if status != want || out["error"] == nil {
				t.Errorf("%s %s as %q: %d %v, want %d with a JSON error", r.method, r.path, who, status, out, want)
			}
		}
		if r.method == "DELETE" {
			for who := range cookies {
				if who != "" {
					cookies[who] = e.login(who)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLectureVisibility checks who sees which lectures and the lecture validation.
func TestLectureVisibility(t *testing.T) {
	e := newEnv(t, envOptions{})
	var list struct{ Lectures []LectureView }
	e.do("GET", "/api/lectures?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+
		time.Now().Add(3*time.Hour).UTC().Format(time.RFC3339), e.login("lecturer2"), "", &list)
	if len(list.Lectures) != 1 || list.Lectures[0].ID != e.other.ID || list.Lectures[0].SiteName != "Riga" ||
		list.Lectures[0].LecturerName != "Ilze Ozola" || list.Lectures[0].SiteTimeZone != "Europe/Riga" {
		t.Fatalf("lecturer2 sees %+v, want only their own lecture with names", list.Lectures)
	}
	e.do("GET", "/api/lectures?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+
		time.Now().Add(3*time.Hour).UTC().Format(time.RFC3339), e.login("student1"), "", &list)
	if len(list.Lectures) != 2 || list.Lectures[0].ID != e.lecture.ID {
		t.Fatalf("student sees %+v, want both lectures in start order", list.Lectures)
	}

	admin := e.login("admin")
	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct{ name, body, field string }{
		{"empty title", `{"title":"","topic":"t","start":"` + start + `","durationMinutes":60,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"osh"}`, "title"},
		{"student lecturer", `{"title":"x","topic":"t","start":"` + start + `","durationMinutes":60,"lecturerId":"` + e.users["student1"].ID + `","siteId":"osh"}`, "lecturerId"},
		{"unknown site", `{"title":"x","topic":"t","start":"` + start + `","durationMinutes":60,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"mars"}`, "siteId"},
		{"zero duration", `{"title":"x","topic":"t","start":"` + start + `","durationMinutes":0,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"osh"}`, "durationMinutes"},
		{"unknown field", `{"title":"x","color":"red"}`, ""},
		{"not JSON", `{"title":`, ""},
	} {
		var out struct{ Error apiError }
		if status := e.do("POST", "/api/lectures", admin, c.body, &out); status != http.StatusBadRequest ||
			out.Error.Code != "bad_request" || out.Error.Field != c.field || out.Error.Message == "" {
			t.Errorf("%s: %d %+v, want 400 bad_request about field %q", c.name, status, out, c.field)
		}
	}
	var out struct{ Error apiError }
	big := `{"title":"` + strings.Repeat("x", 70<<10) + `"}`
	if status := e.do("POST", "/api/lectures", admin, big, &out); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d %+v", status, out)
	}
	if status := e.do("GET", "/api/lectures/lec_missing", admin, "", &out); status != http.StatusNotFound || out.Error.Code != "not_found" {
		t.Errorf("unknown lecture: %d %+v", status, out)
	}
}

// TestSessionCookie checks the cookie's attributes and sign-out.
func TestSessionCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login("student1")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie %+v lacks HttpOnly, Secure or SameSite", c)
	}
	var out struct{ Error apiError }
	if status := e.do("POST", "/api/session", nil, `{"username":"student1","password":"wrong"}`, &out); status != http.StatusUnauthorized || out.Error.Code != "bad_credentials" {
		t.Fatalf("wrong password: %d %+v", status, out)
	}
	if status := e.do("DELETE", "/api/session", c, "", nil); status != http.StatusNoContent {
		t.Fatalf("sign-out: %d", status)
	}
	if status := e.do("GET", "/api/me", c, "", &out); status != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d", status)
	}
	// A cross-site form post is refused by the CSRF check.
	req, _ := http.NewRequest("POST", e.http.URL+"/api/lectures", strings.NewReader(`{}`))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(e.login("admin"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
	}
}
