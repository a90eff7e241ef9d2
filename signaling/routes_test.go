package signaling

import (
	"encoding/json"
	"github.com/bomca/lecturelink/account"
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

// routeCase is how the route-role test calls one route: the path (with ids
// filled in) and a body. as names the user who plays each role, for routes
// whose handler also checks ownership (e.g. only a lecture's own lecturer).
type routeCase struct {
	path string
	body func() string
	as   map[string]string // role → username; default: the env's user of that role
}

// baseRouteCases covers the routes of the walking skeleton.
func baseRouteCases(e *env) map[string]routeCase {
	newLecture := func() string {
		return `{"title":"Risk analysis","topic":"Profiling","start":"` + time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339) +
			`","durationMinutes":90,"lecturerId":"` + e.users["lecturer"].ID + `","siteId":"osh"}`
	}
	return map[string]routeCase{
		"POST /api/session":      {path: "/api/session", body: func() string { return `{"username":"student1","password":"` + testPassword + `"}` }},
		"DELETE /api/session":    {path: "/api/session"},
		"GET /api/me":            {path: "/api/me"},
		"GET /api/sites":         {path: "/api/sites"},
		"GET /api/users":         {path: "/api/users?role=lecturer"},
		"GET /api/lectures":      {path: "/api/lectures"},
		"POST /api/lectures":     {path: "/api/lectures", body: newLecture},
		"GET /api/lectures/{id}": {path: "/api/lectures/" + e.lecture.ID},
	}
}

// roleUsers names the env's user for each role.
var roleUsers = map[string]string{"admin": "admin", "lecturer": "lecturer", "student": "student1", "operator": "operator"}

// TestRouteRoles calls every route in the server's route table as every
// role and anonymously: roles the route admits succeed, other roles get 403
// and anonymous callers 401, always with a JSON error.
func TestRouteRoles(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := baseRouteCases(e)
	for _, more := range []map[string]routeCase{scheduleRouteCases(e), peopleRouteCases(e), attendanceRouteCases(e)} {
		for k, v := range more {
			cases[k] = v
		}
	}
	for _, r := range e.server.apiRoutes() {
		c, ok := cases[r.pattern]
		if !ok {
			t.Errorf("route %q has no case in the route-role test", r.pattern)
			continue
		}
		method, _, _ := strings.Cut(r.pattern, " ")
		for role, username := range roleUsers {
			if u, ok := c.as[role]; ok {
				username = u
			}
			body := ""
			if c.body != nil {
				body = c.body()
			}
			var out map[string]json.RawMessage
			status := e.do(method, c.path, e.session(username), body, &out)
			if r.pattern == "DELETE /api/session" || r.pattern == "PUT /api/me/password" { // both end the session
				delete(e.cookies, username)
			}
			allowed := r.public || len(r.roles) == 0 || contains(roleNames(r.roles), role)
			if allowed && (status < 200 || status > 299) {
				t.Errorf("%s as %s: %d %s, want success", r.pattern, role, status, out["error"])
			}
			if !allowed && (status != http.StatusForbidden || out["error"] == nil) {
				t.Errorf("%s as %s: %d %v, want 403 with a JSON error", r.pattern, role, status, out)
			}
		}
		if r.public {
			continue
		}
		body := ""
		if c.body != nil {
			body = c.body()
		}
		var out map[string]json.RawMessage
		if status := e.do(method, c.path, nil, body, &out); status != http.StatusUnauthorized || out["error"] == nil {
			t.Errorf("%s anonymously: %d %v, want 401 with a JSON error", r.pattern, status, out)
		}
	}
}

func roleNames(roles []account.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
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
