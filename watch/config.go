package watch

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"time"
)

// Default intervals used when the Config leaves them zero.
const (
	// DefaultReconcile is the default interval of the stat-only reconcile sweep.
	DefaultReconcile = time.Minute
	// DefaultPollInterval is the default interval of the stat walk in polling mode.
	DefaultPollInterval = 2 * time.Second
)

// Config configures one Watcher: the roots of one provider.
type Config struct {
	// Roots are the directories to watch. They may not exist yet: the
	// watcher then waits for them to appear. Relative paths are made
	// absolute; duplicates are dropped.
	Roots []string
	// Descend reports whether to walk and watch dir, a directory below
	// root (never called for root itself). Nil descends everywhere.
	Descend func(root, dir string) bool
	// Match reports whether the regular file (or symlink to one) at path,
	// below root, is reported. Nil reports every file.
	Match func(root, path string) bool
	// Reconcile is the interval of the periodic stat-only sweep that
	// catches whatever events missed. Zero means DefaultReconcile.
	Reconcile time.Duration
	// PollInterval is the interval of the stat walk in polling mode. Zero
	// means DefaultPollInterval.
	PollInterval time.Duration
	// ForcePolling never uses fsnotify: the watcher polls from the start.
	ForcePolling bool
	// MaxWatches caps the number of directories watched with inotify;
	// reaching it switches to polling. Zero means no cap (the kernel's
	// fs.inotify.max_user_watches still applies).
	MaxWatches int
	// Logger receives the watcher's logs. Nil discards them.
	Logger *slog.Logger
}

// normalize validates cfg and returns a copy with defaults applied and its
// roots cleaned, made absolute, deduplicated and sorted longest first (so
// the first root containing a path is the most specific one).
func (cfg Config) normalize() (Config, error) {
	if len(cfg.Roots) == 0 {
		return cfg, fmt.Errorf("%w: set Config.Roots to the directories to watch", ErrNoRoots)
	}
	roots := make([]string, 0, len(cfg.Roots))
	seen := make(map[string]bool, len(cfg.Roots))
	for i, r := range cfg.Roots {
		if r == "" {
			return cfg, fmt.Errorf("%w: Roots[%d] is empty; give a directory path or drop the entry", ErrInvalidConfig, i)
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return cfg, fmt.Errorf("%w: root %q cannot be made absolute (%w); give an absolute path", ErrInvalidConfig, r, err)
		}
		if !seen[abs] {
			seen[abs] = true
			roots = append(roots, abs)
		}
	}
	sort.SliceStable(roots, func(i, j int) bool { return len(roots[i]) > len(roots[j]) })
	cfg.Roots = roots

	switch {
	case cfg.Reconcile < 0:
		return cfg, fmt.Errorf("%w: Reconcile is %s; use 0 for the default (%s) or a positive interval", ErrInvalidConfig, cfg.Reconcile, DefaultReconcile)
	case cfg.PollInterval < 0:
		return cfg, fmt.Errorf("%w: PollInterval is %s; use 0 for the default (%s) or a positive interval", ErrInvalidConfig, cfg.PollInterval, DefaultPollInterval)
	case cfg.MaxWatches < 0:
		return cfg, fmt.Errorf("%w: MaxWatches is %d; use 0 for no cap or a positive count", ErrInvalidConfig, cfg.MaxWatches)
	}
	if cfg.Reconcile == 0 {
		cfg.Reconcile = DefaultReconcile
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
