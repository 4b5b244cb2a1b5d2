package persistence

import (
	"time"

	"github.com/sessiond/sessiond/session"
)

// Commit is one atomic change to one session, as sent by its session actor.
type Commit struct {
	Key session.Key
	// ExpectedVersion is the session version the writer last saw; 0 means
	// the session must not exist yet. A mismatch fails the commit with
	// ErrConcurrentModification and writes nothing.
	ExpectedVersion uint64
	Files           []FileUpdate
	// Now is the commit's wall-clock time (zero: time.Now()).
	Now time.Time
}

// FileUpdate advances (or resets) one file of the session.
type FileUpdate struct {
	// Checkpoint is the file's new checkpoint. Its Contribution and
	// Retained are ignored: the store derives them from the stored ones
	// and Delta.
	Checkpoint session.Checkpoint
	// FromOffset is where Delta starts; it must equal the stored offset of
	// the file (0 for a new or reset file).
	FromOffset int64
	// Reset replaces the file's previous contribution by Delta: the file
	// was rewritten or truncated (documents are reset on every read). The
	// spend the contribution loses is kept in the checkpoint's Retained
	// and the file's claims stay: tokens once counted stay counted.
	Reset bool
	// RenamedFrom is the file's previous path when it was moved (same
	// inode, e.g. Codex archiving a rollout): its checkpoint, contribution
	// and claims move to the new path; FromOffset is checked against it.
	RenamedFrom string
	Delta       session.Delta
}

// Fail marks a session failed with a reason.
type Fail struct {
	Key    session.Key
	Reason string
	Now    time.Time
}

// Result is the outcome of one Commit or Fail.
type Result struct {
	Record session.Record       // the session after the change (zero on error)
	Files  []session.Checkpoint // the stored checkpoints of the files updated
	Events []session.Event      // events this change produced, in sequence order (including other sessions' updates)
	Err    error
}

// Filter selects sessions.
type Filter struct {
	Provider session.Provider // "" = all
	Project  string           // "" = all
	Since    time.Time        // sessions that ended at or after Since; zero = all
}

// Match reports whether r passes the filter.
// Records that are not sessions (Record.Phantom: written by an older
// sessiond for a file without any dated record) never pass.
func (f Filter) Match(r *session.Record) bool {
	if r.Phantom() {
		return false
	}
	if f.Provider != "" && r.Provider != f.Provider {
		return false
	}
	if f.Project != "" && r.Project != f.Project {
		return false
	}
	if !f.Since.IsZero() && r.EndedAt.Before(f.Since) {
		return false
	}
	return true
}
