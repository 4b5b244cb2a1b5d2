//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// whileUnlocked runs fn if no process holds the data directory's lock
// (the flock Badger takes on dir/LOCK), holding it meanwhile; if another
// process holds it, fn is skipped: Badger's own open reports ErrLocked.
func whileUnlocked(dir string, fn func() error) error {
	// Badger opens (creating) the same file and flocks it; a clean close
	// removes it, a crash leaves it.
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
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
