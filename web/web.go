// Package web owns the lecturelink browser app: the static files under app/
// (index.html, styles.css and plain ES modules, type-checked with
// `tsc --checkJs`, no bundler) that the server serves at the site root.
//
// The app talks to the server only through the HTTP JSON API described in
// docs/api.md and the WebSocket protocol described in docs/protocol.md.
package web

import (
	"embed"
	"io/fs"
)

//go:embed app
var app embed.FS

// Files returns the browser app as a file system rooted at the app
// directory, so the entry page is "index.html" and the main module "app.js".
func Files() fs.FS {
	sub, err := fs.Sub(app, "app")
	if err != nil {
		// fs.Sub only fails for an invalid path; "app" is a constant.
		panic(err)
	}
	return sub
}
