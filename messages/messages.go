// Package messages holds every message the actors exchange: commands
// (imperative), events (past tense) and replies (…Result, with Err). They are
// plain structs, always sent as pointers; slices and maps in them are owned by
// the receiver once sent.
package messages

import (
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/watch"
)

// FilesChanged tells a provider actor that files under its roots changed.
// The stats are watch's own: watch produces them and owns the type.
type FilesChanged struct {
	Files []watch.FileStat
	// Full is true when Files is a complete listing of the roots (initial
	// scan, overflow rescan): files not in it may be gone.
	Full bool
}

// FileChanged tells a session actor that one of its files changed.
type FileChanged struct {
	File    watch.FileStat
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

// WatchStopped tells a provider actor that its watcher failed and its watch
// goroutine ended; Err is why (a stop the actor asked for sends none).
type WatchStopped struct {
	Err error
}

// FileResolved tells a provider actor which session a file whose head had to
// be read belongs to (Err: it could not tell).
type FileResolved struct {
	Stat watch.FileStat
	ID   session.ID
	Err  error
}

// Expanded tells a provider actor what sessions a database container holds.
type Expanded struct {
	Container string
	Docs      []providers.Doc
	Err       error
}

// ExpandAgain tells a provider actor to list a busy container again.
type ExpandAgain struct {
	Container string
}

// SessionStarted tells the provider a session actor (re)started and wants to
// hear of all its files again.
type SessionStarted struct {
	Key session.Key
}

// SessionIdle tells the provider a session actor idled (it may be stopped).
type SessionIdle struct {
	Key session.Key
}

// SessionPanicked tells the provider why a session actor is failing.
type SessionPanicked struct {
	Key    session.Key
	Reason string
}

// SessionRecovered tells the provider that a failed session committed again
// (its failure is over).
type SessionRecovered struct {
	Key session.Key
}

// SessionStopped tells a provider actor, behind the messages already in its
// mailbox, that one of its session actors terminated.
type SessionStopped struct {
	Key session.Key
}

// SessionRetry tells a session actor to read its files again after a
// temporary failure.
type SessionRetry struct{}

// DocUnread tells the provider that a virtual document's announced version
// was not committed (unreadable, gone), so it is announced again on the
// container's next change.
type DocUnread struct {
	Path string
}

// StoreFlush tells the store actor to apply the commits it holds as one batch.
type StoreFlush struct{}

// StoreSweep tells the store actor to complete the sessions idle too long.
type StoreSweep struct{}

// StoreSync tells the store actor to sync the store to disk.
type StoreSync struct{}

// StoreCheckSpace tells the store actor to check the data dir's free space.
type StoreCheckSpace struct{}

// StoreGC tells the store actor to start a value-log garbage collection.
type StoreGC struct{}

// StoreGCDone tells the store actor that its garbage collection ended.
type StoreGCDone struct{}

// BackupDone reports one backup attempt to the backup actor.
type BackupDone struct {
	Path   string
	Size   int64
	Pruned []string
	Err    error
}
