package persistence

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BackupToFile writes a full backup to path atomically (see WriteFileAtomic)
// and returns its size.
func (s *Store) BackupToFile(path string) (int64, error) {
	var n int64
	err := WriteFileAtomic(path, func(w io.Writer) error {
		cw := &countWriter{w: w}
		err := s.Backup(cw)
		n = cw.n
		return err
	})
	return n, err
}

// WriteFileAtomic writes path through fn: into a temporary file in the same
// directory, fsynced, then renamed over path and the directory fsynced. On
// any error path is untouched and the temporary file removed.
func WriteFileAtomic(path string, fn func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create a temporary file next to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := fn(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", f.Name(), path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
