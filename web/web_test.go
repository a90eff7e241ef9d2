package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFilesHasEntryPoints(t *testing.T) {
	files := Files()
	for _, name := range []string{"index.html", "app.js", "styles.css", "session.js", "strings.js"} {
		info, err := fs.Stat(files, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Size() == 0 {
			t.Fatalf("%s is empty", name)
		}
	}
}

func TestIndexIsCSPFriendly(t *testing.T) {
	b, err := fs.ReadFile(Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if !strings.Contains(html, `src="app.js"`) || !strings.Contains(html, `type="module"`) {
		t.Fatal("index.html does not load app.js as a module")
	}
	// Content-Security-Policy default-src 'self' forbids inline code and styles.
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Fatalf("index.html contains %q, which the CSP would block", bad)
		}
	}
}
