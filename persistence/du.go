package persistence

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// DiskUsage is the space the data directory takes on disk, by part.
// Badger preallocates its value-log and memtable files sparsely (a 3 MB
// store has a 128 MiB .vlog on paper), so these are allocated blocks, as
// du reports them, not apparent sizes.
type DiskUsage struct {
	LSM   int64 `json:"lsm_bytes"`   // tables (*.sst)
	Vlog  int64 `json:"vlog_bytes"`  // value log (*.vlog)
	Other int64 `json:"other_bytes"` // memtables, MANIFEST, backups, the rest
	Total int64 `json:"disk_bytes"`
}

// OnDisk measures the data directory (not for an in-memory store).
func (s *Store) OnDisk() DiskUsage { return DirUsage(s.dir) }

// DirUsage measures dir as DiskUsage describes.
func DirUsage(dir string) DiskUsage {
	var u DiskUsage
	if dir == "" {
		return u
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		n := allocated(fi)
		switch {
		case strings.HasSuffix(p, ".sst"):
			u.LSM += n
		case strings.HasSuffix(p, ".vlog"):
			u.Vlog += n
		default:
			u.Other += n
		}
		u.Total += n
		return nil
	})
	return u
}
