//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// whileUnlocked runs fn if no process holds the data directory's lock
// (the flock Badger takes on the directory), holding it meanwhile; if another
// process holds it, fn is skipped: Badger's own open reports ErrLocked.
func whileUnlocked(dir string, fn func() error) error {
	// Badger (dir_unix.go) flocks the directory itself; LOCK only holds
	// its pid.
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no directory yet: nothing left behind
	}
	if err != nil {
		return fmt.Errorf("open lock of data dir %q: %w", dir, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // held by a running sessiond
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}
