//go:build !unix

package attendance

import "os"

// lockFile does nothing where flock is not available: run one server per
// outbox directory.
func lockFile(*os.File) error { return nil }

// syncDir does nothing where directories cannot be fsynced.
func syncDir(string) error { return nil }
