package watch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch modes reported in Status.Mode.
const (
	// ModeInotify means changes arrive as fsnotify events, backed by the
	// periodic reconcile.
	ModeInotify = "inotify"
	// ModePolling means the watcher stat-walks its roots every PollInterval.
	ModePolling = "polling"
)

// Batch is one delivery of changed files to the emit callback.
type Batch struct {
	// Files are the changed files, sorted by path, each path at most once
	// with its latest state.
	Files []FileStat
	// Full marks a complete listing (the initial scan and every rescan
	// after an overflow): Files holds every matching file under all roots,
	// plus a Removed entry for each file reported earlier that is gone.
	Full bool
}

// Status is a snapshot of a Watcher's health.
type Status struct {
	// Mode is ModeInotify or ModePolling.
	Mode string
	// Dirs is the number of directories watched (in polling mode: walked).
	Dirs int
	// Files is the number of matching files currently known.
	Files int
	// LastError describes the last watcher-level problem (fallback to
	// polling, inotify errors, overflow, an unusable root); "" if none.
	LastError string
	// Overflows counts inotify event queue overflows.
	Overflows int64
	// Rescans counts full rescans after the initial scan.
	Rescans int64
	// Reconciles counts periodic stat sweeps (reconciles in inotify mode,
	// polls in polling mode).
	Reconciles int64
}

// Watcher watches the roots of one Config. Create it with New and start it
// with Run, once.
type Watcher struct {
	cfg     Config
	running atomic.Bool

	mu     sync.Mutex
	status Status

	// Test hooks, set before Run and read only by Run's goroutine.
	// testHookEvent sees every fsnotify event first; returning false drops it.
	testHookEvent func(fsnotify.Event) bool
	// testHookOpenDir, when it returns an error, makes opening dir fail.
	testHookOpenDir func(dir string) error
	// testRetryDelay, when set, replaces firstRetry.
	testRetryDelay time.Duration
}

// New validates cfg, applies its defaults and returns a Watcher that is not
// yet running. Errors wrap ErrNoRoots or ErrInvalidConfig.
func New(cfg Config) (*Watcher, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg}
	w.status.Mode = ModeInotify
	if cfg.ForcePolling {
		w.status.Mode = ModePolling
	}
	return w, nil
}

// Run watches until ctx is cancelled, then returns nil. It calls emit from
// a goroutine of its own, never concurrently: first with one Full batch
// listing every matching file (even if there are none), then with the files
// that changed. Changes that happen while emit runs are collected, one
// entry per path, and delivered together by the next call, so a slow emit
// sees fewer, larger batches instead of a backlog.
//
// emit should return promptly: Run waits for a call in progress before it
// returns, and every goroutine Run started has exited when it returns.
// Run may be called only once per Watcher (ErrAlreadyRunning).
func (w *Watcher) Run(ctx context.Context, emit func(Batch)) error {
	if emit == nil {
		return fmt.Errorf("%w: Run needs a non-nil emit callback", ErrInvalidConfig)
	}
	if !w.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	return newLoop(ctx, w).run(emit)
}

// Status returns a snapshot of the watcher's health. It is safe to call
// from any goroutine, before, during and after Run.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

func (w *Watcher) setStatus(s Status) {
	w.mu.Lock()
	w.status = s
	w.mu.Unlock()
}
