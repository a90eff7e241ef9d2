package signaling

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bomca/lecturelink/account"
)

// signIn signs in through the API with a given password and returns the
// status and, on success, the session cookie.
func (e *env) signIn(username, password string) (int, *http.Cookie) {
	e.t.Helper()
	resp, err := http.Post(e.http.URL+"/api/session", "application/json",
		strings.NewReader(`{"username":"`+username+`","password":"`+password+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return resp.StatusCode, c
		}
	}
	return resp.StatusCode, nil
}

// wantFieldError checks a 400 naming field.
func wantFieldError(t *testing.T, what string, status int, out struct{ Error apiError }, field string) {
	t.Helper()
	if status != http.StatusBadRequest || out.Error.Code != "bad_request" || out.Error.Field != field || out.Error.Message == "" {
		t.Errorf("%s: %d %+v, want 400 about %s", what, status, out.Error, field)
	}
}

func TestGroupRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.session("admin")
	var created struct{ Group account.Group }
	if status := e.do("POST", "/api/groups", admin, `{"name":"KG-2026-A","siteId":"osh"}`, &created); status != http.StatusCreated ||
		created.Group.Name != "KG-2026-A" || created.Group.SiteID != "osh" || !strings.HasPrefix(created.Group.ID, "g_") {
		t.Fatalf("create group: %d %+v", status, created)
	}
	e.do("POST", "/api/groups", admin, `{"name":"LV-2026-A","siteId":"riga"}`, nil)
	var out struct{ Error apiError }
	if status := e.do("POST", "/api/groups", admin, `{"name":"kg-2026-a","siteId":"osh"}`, &out); status != http.StatusConflict || out.Error.Code != "conflict" {
		t.Errorf("duplicate group: %d %+v, want 409", status, out)
	}
	status := e.do("POST", "/api/groups", admin, `{"name":"X","siteId":"mars"}`, &out)
	wantFieldError(t, "unknown site", status, out, "siteId")
	status = e.do("POST", "/api/groups", admin, `{"name":"","siteId":"osh"}`, &out)
	wantFieldError(t, "empty name", status, out, "name")

	var list struct{ Groups []account.Group }
	if e.do("GET", "/api/groups?siteId=osh", e.session("operator"), "", &list); len(list.Groups) != 1 || list.Groups[0].ID != created.Group.ID {
		t.Fatalf("groups at osh: %+v", list.Groups)
	}
	if e.do("GET", "/api/groups", e.session("lecturer"), "", &list); len(list.Groups) != 2 {
		t.Fatalf("all groups: %+v", list.Groups)
	}
}

func TestUserRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.session("admin")
	var g struct{ Group account.Group }
	e.do("POST", "/api/groups", admin, `{"name":"KG-2026-A","siteId":"osh"}`, &g)

	var created struct{ User account.User }
	body := `{"username":"tursunov","displayName":"Bakyt Tursunov","role":"student","siteId":"osh","groupId":"` + g.Group.ID + `","password":"` + testPassword + `"}`
	if status := e.do("POST", "/api/users", admin, body, &created); status != http.StatusCreated ||
		created.User.GroupID != g.Group.ID || !created.User.Active || created.User.Role != account.RoleStudent {
		t.Fatalf("create user: %d %+v", status, created)
	}
	var out struct{ Error apiError }
	if status := e.do("POST", "/api/users", admin, strings.Replace(body, "tursunov", "TURSUNOV", 1), &out); status != http.StatusConflict || out.Error.Code != "conflict" {
		t.Errorf("taken username: %d %+v, want 409", status, out)
	}
	for _, c := range []struct{ name, from, to, field string }{
		{"unknown site", `"siteId":"osh"`, `"siteId":"mars"`, "siteId"},
		{"group of another site", `"siteId":"osh"`, `"siteId":"riga"`, "groupId"},
		{"lecturer in a group", `"role":"student"`, `"role":"lecturer"`, "groupId"},
		{"unknown role", `"role":"student"`, `"role":"root"`, "role"},
		{"short password", testPassword, "short", "password"},
		{"bad username", `"username":"other"`, `"username":"t u"`, "username"},
	} {
		b := strings.Replace(strings.Replace(body, "tursunov", "other", 1), c.from, c.to, 1)
		status := e.do("POST", "/api/users", admin, b, &out)
		wantFieldError(t, c.name, status, out, c.field)
	}

	var list struct{ Users []account.User }
	e.do("GET", "/api/users?groupId="+g.Group.ID, admin, "", &list)
	if len(list.Users) != 1 || list.Users[0].ID != created.User.ID {
		t.Fatalf("users in the group: %+v", list.Users)
	}
	e.do("GET", "/api/users?siteId=riga&role=student", admin, "", &list)
	if len(list.Users) != 2 {
		t.Fatalf("riga students: %+v", list.Users)
	}
	status := e.do("GET", "/api/users?active=maybe", admin, "", &out)
	wantFieldError(t, "bad active filter", status, out, "active")

	// Edit: a new name, then a move to Riga without a group there is refused.
	var patched struct{ User account.User }
	if status := e.do("PATCH", "/api/users/"+created.User.ID, admin, `{"displayName":"Bakyt T."}`, &patched); status != http.StatusOK ||
		patched.User.DisplayName != "Bakyt T." || patched.User.GroupID != g.Group.ID {
		t.Fatalf("rename: %d %+v", status, patched)
	}
	status = e.do("PATCH", "/api/users/"+created.User.ID, admin, `{"siteId":"riga"}`, &out)
	wantFieldError(t, "move keeping the group", status, out, "groupId")
	if status := e.do("PATCH", "/api/users/u_missing", admin, `{"displayName":"x"}`, &out); status != http.StatusNotFound {
		t.Errorf("patch of a missing user: %d", status)
	}
	status = e.do("PATCH", "/api/users/"+e.users["admin"].ID, admin, `{"active":false}`, &out)
	wantFieldError(t, "admin deactivating themselves", status, out, "active")
	status = e.do("PATCH", "/api/users/"+e.users["admin"].ID, admin, `{"role":"student"}`, &out)
	wantFieldError(t, "admin demoting themselves", status, out, "role")
}

// TestDeactivation: a deactivated user loses their session and socket,
// cannot sign in, and stays listed; reactivation lets them sign in again.
func TestDeactivation(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.session("admin")
	student := e.session("student1")
	ws := e.dial("student1")
	id := e.users["student1"].ID

	var patched struct{ User account.User }
	if status := e.do("PATCH", "/api/users/"+id, admin, `{"active":false}`, &patched); status != http.StatusOK || patched.User.Active {
		t.Fatalf("deactivate: %d %+v", status, patched)
	}
	if status := e.do("GET", "/api/me", student, "", nil); status != http.StatusUnauthorized {
		t.Fatalf("session of a deactivated user: %d, want 401", status)
	}
	select {
	case <-ws.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the deactivated user's WebSocket stayed open")
	}
	if status, _ := e.signIn("student1", testPassword); status != http.StatusUnauthorized {
		t.Fatalf("sign-in of a deactivated user: %d, want 401", status)
	}
	var list struct{ Users []account.User }
	e.do("GET", "/api/users?active=false", admin, "", &list)
	if len(list.Users) != 1 || list.Users[0].ID != id {
		t.Fatalf("inactive users: %+v", list.Users)
	}
	e.do("PATCH", "/api/users/"+id, admin, `{"active":true}`, nil)
	if status, _ := e.signIn("student1", testPassword); status != http.StatusOK {
		t.Fatalf("sign-in after reactivation: %d", status)
	}
}

func TestPasswordRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.session("admin")
	old := e.session("student1")
	id := e.users["student1"].ID

	var out struct{ Error apiError }
	status := e.do("POST", "/api/users/"+id+"/password", admin, `{"password":"short"}`, &out)
	wantFieldError(t, "short reset", status, out, "password")
	if status := e.do("POST", "/api/users/u_missing/password", admin, `{"password":"long enough"}`, &out); status != http.StatusNotFound {
		t.Errorf("reset of a missing user: %d", status)
	}
	if status := e.do("POST", "/api/users/"+id+"/password", admin, `{"password":"reset by admin"}`, nil); status != http.StatusNoContent {
		t.Fatalf("reset: %d", status)
	}
	if status := e.do("GET", "/api/me", old, "", nil); status != http.StatusUnauthorized {
		t.Fatalf("session after a reset: %d, want 401", status)
	}
	if status, _ := e.signIn("student1", testPassword); status != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", status)
	}
	status, cur := e.signIn("student1", "reset by admin")
	if status != http.StatusOK {
		t.Fatalf("new password after reset: %d", status)
	}

	// The student now chooses their own password.
	status = e.do("PUT", "/api/me/password", cur, `{"currentPassword":"wrong","newPassword":"my own secret"}`, &out)
	wantFieldError(t, "wrong current password", status, out, "currentPassword")
	status = e.do("PUT", "/api/me/password", cur, `{"currentPassword":"reset by admin","newPassword":"short"}`, &out)
	wantFieldError(t, "short new password", status, out, "newPassword")
	other := e.login("student2") // someone else's session is untouched
	req, _ := http.NewRequest("PUT", e.http.URL+"/api/me/password", strings.NewReader(`{"currentPassword":"reset by admin","newPassword":"my own secret"}`))
	req.AddCookie(cur)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var fresh *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			fresh = c
		}
	}
	if resp.StatusCode != http.StatusNoContent || fresh == nil || fresh.Value == cur.Value || !fresh.HttpOnly {
		t.Fatalf("change: %d, cookie %+v; want 204 and a new session cookie", resp.StatusCode, fresh)
	}
	if status := e.do("GET", "/api/me", cur, "", nil); status != http.StatusUnauthorized {
		t.Fatalf("the old session after a change: %d, want 401", status)
	}
	var me struct{ User account.User }
	if status := e.do("GET", "/api/me", fresh, "", &me); status != http.StatusOK || me.User.ID != id {
		t.Fatalf("the new session: %d %+v", status, me)
	}
	if status := e.do("GET", "/api/me", other, "", nil); status != http.StatusOK {
		t.Fatalf("another user's session: %d", status)
	}
	if status, _ := e.signIn("student1", "my own secret"); status != http.StatusOK {
		t.Fatalf("sign-in with the changed password: %d", status)
	}
}

// importResult is the reply of POST /api/users/import.
type importResult struct {
	account.ImportResult
	Error *apiError
}

// importCSV posts a roster and decodes the reply.
func (e *env) importCSV(cookie *http.Cookie, csv string, dryRun bool) (int, importResult) {
	e.t.Helper()
	var out importResult
	status := e.do("POST", fmt.Sprintf("/api/users/import?dryRun=%v", dryRun), cookie, csv, &out)
	return status, out
}

func TestRosterImportRoute(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.session("admin")
	var kg struct{ Group account.Group }
	e.do("POST", "/api/groups", admin, `{"name":"KG-2026-A","siteId":"osh"}`, &kg)

	bad := "\xEF\xBB\xBFusername,display_name,site,group,password\n" +
		"newstudent,New Student,osh,KG-2026-A,\n" + // 2: fine
		"student1,Taken,riga,,\n" + // 3: taken
		"another,Another,rigaa,,\n" + // 4: unknown site
		"third,Third,riga,KG-2026-A,\n" + // 5: group of another site
		"fourth,Fourth\n" // 6: columns
	status, res := e.importCSV(admin, bad, true)
	if status != http.StatusOK || res.Valid || res.Rows != 5 || res.Created != 0 {
		t.Fatalf("dry run of a bad file: %d %+v", status, res)
	}
	var lines []string
	for _, er := range res.Errors {
		lines = append(lines, fmt.Sprintf("%d:%s", er.Line, er.Column))
	}
	if got := strings.Join(lines, " "); got != "3:username 4:site 5:group 6:" {
		t.Fatalf("errors %s (%+v)", got, res.Errors)
	}
	status, res = e.importCSV(admin, bad, false)
	if status != http.StatusBadRequest || res.Valid || len(res.Errors) != 4 || res.Error == nil || res.Error.Code != "bad_request" {
		t.Fatalf("import of a bad file: %d %+v", status, res)
	}
	var list struct{ Users []account.User }
	if e.do("GET", "/api/users?groupId="+kg.Group.ID, admin, "", &list); len(list.Users) != 0 {
		t.Fatalf("a refused import created %+v", list.Users)
	}

	good := "username,display_name,site,group,password\n" +
		"newstudent,New Student,osh,kg-2026-a,\n" +
		"given,Given Password,riga,," + testPassword + "\n"
	if status, res = e.importCSV(admin, good, true); status != http.StatusOK || !res.Valid || res.Created != 0 {
		t.Fatalf("dry run of a good file: %d %+v", status, res)
	}
	status, res = e.importCSV(admin, good, false)
	if status != http.StatusCreated || !res.Valid || res.Created != 2 || len(res.Users) != 2 {
		t.Fatalf("import: %d %+v", status, res)
	}
	generated := res.Users[0].Password
	if generated == "" || res.Users[1].Password != "" || res.Users[0].GroupID != kg.Group.ID {
		t.Fatalf("imported rows %+v: want a generated password only for the first", res.Users)
	}
	status, cookie := e.signIn("newstudent", generated)
	if status != http.StatusOK {
		t.Fatalf("the imported student cannot sign in: %d", status)
	}
	var me struct{ User account.User }
	e.do("GET", "/api/me", cookie, "", &me)
	if me.User.Role != account.RoleStudent || me.User.SiteID != "osh" || me.User.GroupID != kg.Group.ID || me.User.DisplayName != "New Student" {
		t.Fatalf("imported student %+v", me.User)
	}

	var out struct{ Error apiError }
	big := "username,display_name,site,group,password\n" + strings.Repeat("x", account.MaxRosterBytes)
	if status := e.do("POST", "/api/users/import", admin, big, &out); status != http.StatusRequestEntityTooLarge || out.Error.Code != "too_large" {
		t.Fatalf("oversized roster: %d %+v", status, out)
	}
}
