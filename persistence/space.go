package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrSpaceUnsupported means free space cannot be measured on this platform:
// the daemon then never pauses for a full disk.
var ErrSpaceUnsupported = errors.New("free space cannot be measured on this platform")

// Space measures the free space of the filesystem holding a data directory
// and keeps the files Badger writes through memory maps allocated.
//
// Badger (v4.9.6) creates each memtable log (*.mem, twice the memtable
// size) and value-log file (*.vlog, twice the value-log file size) by
// truncating a new file to its full size and mapping it: the file is sparse,
// and a write through the map to a page the filesystem cannot back kills
// the process with SIGBUS instead of returning an error. Every commit is
// written to the current memtable log first, so Preallocate allocates the
// blocks of each memtable log as soon as it appears: a full disk then
// cannot fault a commit in that file. (The value log only receives values
// of 1 MiB or more, which sessiond does not write; it is left sparse, as is
// each table file Badger writes whole when it flushes a memtable or
// compacts: the free-space floor is what keeps room for those.)
//
// A Space has one owner (the store actor); Free may also be called from
// other goroutines.
type Space struct {
	dir string
	// allocated maps a memtable log's name to the size allocated.
	allocated   map[string]int64
	next        string // the name Badger gives its next memtable log
	unsupported bool   // the filesystem refused to preallocate
}

// NewSpace returns the Space of the data directory dir.
func NewSpace(dir string) *Space {
	return &Space{dir: dir, allocated: map[string]int64{}}
}

// Dir is the data directory.
func (s *Space) Dir() string { return s.dir }

// Free returns the bytes a process without special privileges may still
// write on the data directory's filesystem, and the filesystem's size.
func (s *Space) Free() (free, total uint64, err error) {
	free, total, err = statfs(s.dir)
	if err != nil {
		return 0, 0, fmt.Errorf("free space of data dir %q: %w", s.dir, err)
	}
	return free, total, nil
}

// Preallocate allocates the blocks of every memtable log in the data
// directory not allocated yet. An error wrapping syscall.ENOSPC means the
// filesystem is full; a filesystem that cannot preallocate is skipped.
//
// Badger numbers its memtable logs in sequence, so after the first call
// Preallocate only looks for the next one (one stat) and reads the
// directory when it has appeared.
func (s *Space) Preallocate() error {
	if s.unsupported {
		return nil
	}
	if s.next != "" {
		if _, err := os.Lstat(filepath.Join(s.dir, s.next)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read data dir %q: %w", s.dir, err)
	}
	seen := make(map[string]bool, len(s.allocated))
	maxFid := -1
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".mem") {
			continue
		}
		seen[name] = true
		if fid, err := strconv.Atoi(strings.TrimSuffix(name, ".mem")); err == nil {
			maxFid = max(maxFid, fid)
		}
		fi, err := e.Info()
		if err != nil || fi.Size() == 0 || s.allocated[name] == fi.Size() {
			continue // gone (flushed), or done
		}
		p := filepath.Join(s.dir, name)
		switch err := fallocate(p, fi.Size()); {
		case errors.Is(err, os.ErrNotExist):
		case errors.Is(err, errFallocateUnsupported):
			s.unsupported = true
			return nil
		case err != nil:
			return fmt.Errorf("allocate memtable log %q: %w", p, err)
		default:
			s.allocated[name] = fi.Size()
		}
	}
	for name := range s.allocated {
		if !seen[name] {
			delete(s.allocated, name)
		}
	}
	if maxFid >= 0 {
		s.next = fmt.Sprintf("%05d.mem", maxFid+1) // Badger's mtFilePath
	}
	return nil
}
