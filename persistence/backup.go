package persistence

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BackupTo writes a full backup to w and returns its size. It stops with
// ctx (the next write fails), so a caller that must close the store can
// end a backup in progress.
func (s *Store) BackupTo(ctx context.Context, w io.Writer) (int64, error) {
	cw := &ctxWriter{ctx: ctx, w: w}
	err := s.Backup(cw)
	return cw.n, err
}

// BackupToFile writes a full backup to path atomically (see WriteFileAtomic)
// and returns its size.
func (s *Store) BackupToFile(ctx context.Context, path string) (int64, error) {
	var n int64
	err := WriteFileAtomic(path, func(w io.Writer) error {
		var err error
		n, err = s.BackupTo(ctx, w)
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
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s to make the rename durable: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s after renaming %s: %w", dir, filepath.Base(path), err)
	}
	return nil
}

// ctxWriter counts what it writes and fails once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
