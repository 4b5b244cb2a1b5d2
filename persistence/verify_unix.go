//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// whileNoWriter runs fn unless a process holds the data directory's lock
// exclusively (a running sessiond), holding a shared lock meanwhile. It
// creates nothing: with no LOCK file there is no writer.
func whileNoWriter(dir string, fn func() error) error {
	f, err := os.Open(filepath.Join(dir, "LOCK"))
	if errors.Is(err, os.ErrNotExist) {
		return fn()
	}
	if err != nil {
		return fmt.Errorf("open lock of data dir %q: %w", dir, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return nil // held by a running sessiond: Badger's open reports ErrLocked
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}
