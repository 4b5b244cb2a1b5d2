// Package messages holds every message the actors exchange: commands
// (imperative), events (past tense) and replies (…Result, with Err). They are
// plain structs, always sent as pointers; slices and maps in them are owned by
// the receiver once sent.
package messages

import (
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// FileStat is what a watcher saw of a file.
type FileStat struct {
	Path    string
	Size    int64
	ModTime time.Time
	Dev     uint64
	Ino     uint64
	Removed bool // the file is gone
}

// FilesChanged tells a provider actor that files under its roots changed.
type FilesChanged struct {
	Files []FileStat
	// Full is true when Files is a complete listing of the roots (initial
	// scan, overflow rescan): files not in it may be gone.
	Full bool
}

// FileChanged tells a session actor that one of its files changed.
type FileChanged struct {
	File    FileStat
	Role    session.FileRole
	Mode    session.FileMode
	Version string // ModeVirtual: the document's version
	// Seq numbers the changes a provider sends one session; SessionCaughtUp
	// echoes the highest it has handled, so a stale answer is recognised.
	Seq uint64
}

// CommitSession asks the store to commit one session change atomically.
type CommitSession struct {
	Commit persistence.Commit
}

// CommitSessionResult answers CommitSession.
type CommitSessionResult struct {
	Result persistence.Result
}

// FailSession asks the store to mark a session failed.
type FailSession struct {
	Fail persistence.Fail
}

// FailSessionResult answers FailSession.
type FailSessionResult struct {
	Result persistence.Result
}

// EventsCommitted carries committed events, in sequence order, from the
// store to the bus and from the bus to subscribers.
type EventsCommitted struct {
	Events []session.Event
}

// Subscribe registers the sender with the bus; events after Since are
// delivered, replayed from the log first if needed.
type Subscribe struct {
	Since uint64
}

// Unsubscribe removes the sender from the bus.
type Unsubscribe struct{}

// SessionCaughtUp tells the provider a session actor has read every file it
// was told about to the size it was told.
type SessionCaughtUp struct {
	Key session.Key
	Seq uint64 // the highest FileChanged.Seq handled
}

// SessionFailed tells the provider a session actor gave up on its session.
type SessionFailed struct {
	Key    session.Key
	Reason string
}

// AwaitIdle asks a provider to reply AwaitIdleResult once every file known
// at the time of asking has been read to its size (used by `scan`).
type AwaitIdle struct{}

// AwaitIdleResult answers AwaitIdle.
type AwaitIdleResult struct {
	Provider session.Provider
	Files    int
	// Sessions is how many session ids the provider's current files route
	// to (IDs lists them): a file that holds no dated record yet routes to
	// an id the store does not list.
	Sessions int
	IDs      []session.ID
	Err      error
}

// ProviderStatusRequest asks a provider actor for its status.
type ProviderStatusRequest struct{}

// ProviderStatus answers ProviderStatusRequest.
type ProviderStatus struct {
	Provider  session.Provider `json:"provider"`
	Roots     []string         `json:"roots"`
	WatchMode string           `json:"watch_mode"` // inotify | polling
	Dirs      int              `json:"watched_dirs"`
	Files     int              `json:"files"`
	Sessions  int              `json:"sessions"`
	Active    int              `json:"active_actors"`
	Failed    []string         `json:"failed_sessions,omitempty"`
	LastError string           `json:"last_error,omitempty"`
}

// StoreStatusRequest asks the store actor for its status.
type StoreStatusRequest struct{}

// StoreStatus answers StoreStatusRequest.
type StoreStatus struct {
	// Paused is true while commits are held because the data dir's
	// filesystem has less free space than MinFreeBytes.
	Paused bool
	// FreeBytes is the free space at the last check (0 if unknown).
	FreeBytes uint64
	// MinFreeBytes is the free-space floor (0: no floor).
	MinFreeBytes uint64
	// HeldCommits is how many commits wait to be applied.
	HeldCommits int
}
