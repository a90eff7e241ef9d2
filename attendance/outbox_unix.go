//go:build unix

package attendance

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the outbox, so that two processes
// never append to and truncate the same file. The kernel drops the lock
// when the process dies, so a crash leaves nothing to clean up.
func lockFile(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("attendance: outbox %s is in use by another process: %w", f.Name(), err)
	}
	return nil
}

// syncDir makes the directory's entries (a newly created outbox) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
