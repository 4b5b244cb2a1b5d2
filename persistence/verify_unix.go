//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// whileNoWriter runs fn unless a process holds the data directory's lock
// exclusively (a running sessiond: Badger flocks the directory itself),
// holding a shared lock meanwhile. It creates nothing.
func whileNoWriter(dir string, fn func() error) error {
	f, err := os.Open(dir)
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

// InUse reports whether a process (a running sessiond) holds the data
// directory's lock (Badger's flock on the directory).
func InUse(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
