package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Accounts made by provision are named after the prefix, so they are easy
// to recognise and a second run finds (and reuses) them:
//
//	site      <prefix>            "Load test <prefix>", time zone UTC
//	lecturer  <prefix>-lecturer
//	students  <prefix>-s0001 …
//
// and all have the tool's password.

func lecturerName(prefix string) string       { return prefix + "-lecturer" }
func studentName(prefix string, i int) string { return fmt.Sprintf("%s-s%04d", prefix, i+1) }

// provisioned is what the subscribers and publishers sign in with.
type provisioned struct {
	lectureID string
	lecturer  string
	students  []string // one account per subscriber
}

// provision creates, as the admin, what a run needs and is missing: the
// site, the lecturer, n students and a lecture that can be started now.
func provision(ctx context.Context, admin *api, prefix, password string, n, minutes int) (provisioned, error) {
	p := provisioned{lecturer: lecturerName(prefix)}
	err := admin.do(ctx, http.MethodPost, "/api/sites", map[string]string{
		"id": prefix, "name": "Load test " + prefix, "institution": "lecturelink load generator",
		"timeZone": "UTC", "networkNotes": "loopback"}, nil)
	if err := allowConflict(err); err != nil {
		return p, fmt.Errorf("creating site %q: %w", prefix, err)
	}

	err = admin.do(ctx, http.MethodPost, "/api/users", map[string]string{
		"username": p.lecturer, "displayName": "Load test lecturer", "role": "lecturer",
		"siteId": prefix, "groupId": "", "password": password}, nil)
	if err := allowConflict(err); err != nil {
		return p, fmt.Errorf("creating lecturer %q: %w", p.lecturer, err)
	}
	var users struct {
		Users []user `json:"users"`
	}
	if err := admin.do(ctx, http.MethodGet, "/api/users?siteId="+url.QueryEscape(prefix), nil, &users); err != nil {
		return p, fmt.Errorf("listing the load-test accounts: %w", err)
	}
	have := map[string]user{}
	for _, u := range users.Users {
		have[u.Username] = u
	}
	lect, ok := have[p.lecturer]
	if !ok || lect.Role != "lecturer" {
		return p, fmt.Errorf("account %q exists but is not a lecturer at site %q; choose another -prefix", p.lecturer, prefix)
	}

	var csv strings.Builder
	missing := 0
	csv.WriteString("username,display_name,site,group,password\n")
	for i := range n {
		name := studentName(prefix, i)
		p.students = append(p.students, name)
		if _, ok := have[name]; ok {
			continue
		}
		missing++
		fmt.Fprintf(&csv, "%s,Load test student %d,%s,,%s\n", name, i+1, prefix, password)
	}
	if missing > 0 {
		// The server hashes every password (tens of ms each): allow time.
		ictx, cancel := context.WithTimeout(ctx, time.Duration(missing)*200*time.Millisecond+30*time.Second)
		defer cancel()
		// The client's overall timeout is for quick calls; this one is
		// bounded by ictx.
		imp := *admin
		imp.client = &http.Client{Transport: admin.client.Transport}
		if err := imp.do(ictx, http.MethodPost, "/api/users/import", csv.String(), nil); err != nil {
			return p, fmt.Errorf("importing %d load-test students: %w", missing, err)
		}
	}

	id, err := lectureNow(ctx, admin, lect.ID, prefix, minutes)
	if err != nil {
		return p, err
	}
	p.lectureID = id
	return p, nil
}

// allowConflict treats "already exists" as success: provisioning is idempotent.
func allowConflict(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}

// lectureNow finds the lecturer's lecture that is live, or scheduled and
// startable now, or creates one starting now. An ended lecture keeps its
// slot (the scheduler refuses overlapping lectures of one lecturer), so a
// new one starts when the latest such slot ends, which must be within the
// server's start-early window.
func lectureNow(ctx context.Context, admin *api, lecturerID, site string, minutes int) (string, error) {
	now := time.Now().UTC()
	var me struct {
		StartEarlyMinutes int `json:"startEarlyMinutes"`
	}
	if err := admin.do(ctx, http.MethodGet, "/api/me", nil, &me); err != nil {
		return "", fmt.Errorf("reading the server's settings: %w", err)
	}
	early := time.Duration(me.StartEarlyMinutes) * time.Minute
	q := url.Values{"from": {now.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {now.Add(24 * time.Hour).Format(time.RFC3339)},
		"lecturerId": {lecturerID}}
	var list struct {
		Lectures []lecture `json:"lectures"`
	}
	if err := admin.do(ctx, http.MethodGet, "/api/lectures?"+q.Encode(), nil, &list); err != nil {
		return "", fmt.Errorf("listing the load-test lectures: %w", err)
	}
	start := now.Truncate(time.Second)
	for _, l := range list.Lectures {
		switch {
		case l.State == "live":
			return l.ID, nil
		case l.State == "scheduled" && l.Start.Sub(now) <= early-30*time.Second && l.end().After(now.Add(time.Minute)):
			return l.ID, nil
		case l.State != "cancelled" && l.end().After(start):
			start = l.end()
		}
	}
	if start.Sub(now) > early-30*time.Second {
		return "", fmt.Errorf("the load-test lecturer's earlier lectures fill the schedule until %s; wait, or pass -lecture", start.Format(time.RFC3339))
	}
	var reply struct {
		Lecture lecture `json:"lecture"`
	}
	err := admin.do(ctx, http.MethodPost, "/api/lectures", map[string]any{
		"title": "Load test", "topic": "synthetic media", "start": start, "durationMinutes": minutes,
		"lecturerId": lecturerID, "siteId": site}, &reply)
	if err != nil {
		return "", fmt.Errorf("creating the load-test lecture: %w", err)
	}
	return reply.Lecture.ID, nil
}
