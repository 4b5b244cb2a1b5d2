package persistence

import (
	"errors"
	"fmt"
)

// Sentinel errors of the store. Test with errors.Is.
var (
	// ErrSessionNotFound means no session is stored under the key.
	ErrSessionNotFound = errors.New("session not found")
	// ErrConcurrentModification means a commit's ExpectedVersion (or a
	// file's FromOffset) did not match the stored state: another writer
	// changed the session first. Nothing was written; reload and retry.
	ErrConcurrentModification = errors.New("session was modified concurrently")
	// ErrClosed means the store is closed (or closing) and takes no work.
	ErrClosed = errors.New("store is closed")
	// ErrLocked means another process holds the data directory.
	ErrLocked = errors.New("sessiond is already running (data dir locked)")
	// ErrSchema means the data directory was written by an incompatible version.
	ErrSchema = errors.New("unsupported store schema")
	// ErrCorrupt means a stored value cannot be decoded.
	ErrCorrupt = errors.New("store value is corrupt")
	// ErrInvalidCommit means a commit is malformed (caller bug).
	ErrInvalidCommit = errors.New("invalid commit")
)

// ConflictError details an ErrConcurrentModification.
type ConflictError struct {
	Key      string // the session
	Path     string // the file whose offset did not match ("" for a version mismatch)
	Expected uint64 // expected version or offset
	Actual   uint64 // stored version or offset
}

func (e *ConflictError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("session %s file %s: commit starts at offset %d but the stored offset is %d", e.Key, e.Path, e.Expected, e.Actual)
	}
	return fmt.Sprintf("session %s: expected version %d but the stored version is %d", e.Key, e.Expected, e.Actual)
}

// Unwrap makes errors.Is(err, ErrConcurrentModification) true.
func (e *ConflictError) Unwrap() error { return ErrConcurrentModification }

// ErrDamaged means the store's files are damaged (a checksum mismatch, a
// truncated or inconsistent MANIFEST, an unreadable table or value). The
// directory was not modified. Match with errors.Is; *DamagedError carries
// the details.
var ErrDamaged = errors.New("store is damaged")

// DamagedError details an ErrDamaged.
type DamagedError struct {
	Dir   string // the data directory
	Cause error  // what was found
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the store in %s is damaged: %v. sessiond did not modify it. "+
		"Run `sessiond store verify` to see what is damaged, then `sessiond store rebuild` "+
		"(moves it aside, re-reads the agents' files and keeps every session it can still read) "+
		"or `sessiond restore FILE` from a backup", e.Dir, e.Cause)
}

// Unwrap makes errors.Is(err, ErrDamaged) true and exposes the cause.
func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, e.Cause} }

func damaged(dir string, cause error) error {
	var de *DamagedError
	if errors.As(cause, &de) {
		return cause
	}
	return &DamagedError{Dir: dir, Cause: cause}
}
