package watch

import "errors"

// Sentinel errors of package watch. Errors returned by the package wrap
// them with %w and name the path or setting at fault; test them with
// errors.Is.
var (
	// ErrNoRoots is returned by New when Config.Roots is empty.
	ErrNoRoots = errors.New("watch: no root directories configured")

	// ErrInvalidConfig is returned by New (and Run) for a setting that
	// cannot be used, such as an empty root or a negative interval.
	ErrInvalidConfig = errors.New("watch: invalid config")

	// ErrAlreadyRunning is returned by Run when Run was already called on
	// the same Watcher; create one Watcher per Run.
	ErrAlreadyRunning = errors.New("watch: Run already called on this Watcher")

	// ErrWatchLimit is the cause recorded when a watcher falls back to
	// polling: the kernel refused more inotify watches or instances
	// (ENOSPC, EMFILE), or Config.MaxWatches was reached.
	ErrWatchLimit = errors.New("inotify watch limit reached")
)
