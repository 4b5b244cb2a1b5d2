package persistence

import (
	"encoding/json"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// FileMark is the part of a stored checkpoint that routes a file to its
// session and tells whether the file changed since it was committed.
type FileMark struct {
	Key     session.Key
	Path    string
	Role    session.FileRole
	Mode    session.FileMode
	Version string
	Size    int64
	Offset  int64
	Ino     uint64
	ModTime time.Time
}

// markJSON decodes only a checkpoint's routing fields (its parser state
// and contribution are skipped, not allocated).
type markJSON struct {
	Path     string           `json:"path"`
	Role     session.FileRole `json:"role"`
	Mode     session.FileMode `json:"mode"`
	Version  string           `json:"version"`
	Identity struct {
		Ino uint64 `json:"ino"`
	} `json:"identity"`
	Size    int64     `json:"size"`
	Offset  int64     `json:"offset"`
	ModTime time.Time `json:"mod_time"`
}

// FileMarks calls fn with the mark of every file checkpoint of a provider,
// one at a time: a provider routing tens of thousands of files at start
// holds only what it keeps, not every checkpoint at once.
func (s *Store) FileMarks(p session.Provider, fn func(FileMark)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	pfx := append(join(pfxCkpt, string(p)), sep)
	var cks []markJSON
	return s.view(func(txn *badger.Txn) error {
		return scan(txn, pfx, true, func(k, v []byte) error {
			key, ok := splitKey(pfxCkpt, k)
			if !ok {
				return fmt.Errorf("checkpoint key %q: %w", k, ErrCorrupt)
			}
			cks = cks[:0]
			if err := json.Unmarshal(v, &cks); err != nil {
				return fmt.Errorf("checkpoints %q: %w: %w", k, ErrCorrupt, err)
			}
			for _, c := range cks {
				fn(FileMark{Key: key, Path: c.Path, Role: c.Role, Mode: c.Mode, Version: c.Version,
					Size: c.Size, Offset: c.Offset, Ino: c.Identity.Ino, ModTime: c.ModTime})
			}
			return nil
		})
	})
}
