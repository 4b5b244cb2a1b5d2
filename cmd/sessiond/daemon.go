package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/providers/codex"
	"github.com/sessiond/sessiond/providers/copilot"
	"github.com/sessiond/sessiond/providers/cursor"
	"github.com/sessiond/sessiond/providers/gemini"
	"github.com/sessiond/sessiond/providers/opencode"
	"github.com/sessiond/sessiond/supervision"
)

// command-local flags that override config
type runFlags struct {
	listen      string
	idleTimeout time.Duration
	provider    []string
}

func (a *app) applyCommandFlags(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("listen"); f != nil && f.Changed {
		a.cfg.Run.Listen = a.rf.listen
	}
	if f := cmd.Flags().Lookup("idle-timeout"); f != nil && f.Changed {
		a.cfg.Run.IdleTimeout = config.Duration{Duration: a.rf.idleTimeout}
	}
	if f := cmd.Flags().Lookup("provider"); f != nil && f.Changed && cmd.Name() == "scan" {
		a.cfg.Providers.Enabled = a.rf.provider
	}
	return nil
}

// allProviders is every provider of this build.
func allProviders() []providers.Provider {
	return []providers.Provider{claudecode.New(), codex.New(), gemini.New(), opencode.New(), copilot.New(), cursor.New()}
}

// enabledProviders picks the providers to run: those named in the config,
// else every provider with an existing root.
func (a *app) enabledProviders() []supervision.ProviderSetup {
	env := providers.Env{Home: a.home, Getenv: a.getenv}
	var out []supervision.ProviderSetup
	for _, p := range allProviders() {
		roots := p.Roots(env)
		if r := a.cfg.Providers.Roots[string(p.ID())]; len(r) > 0 {
			roots = r
		}
		if len(a.cfg.Providers.Enabled) > 0 {
			if !contains(a.cfg.Providers.Enabled, string(p.ID())) {
				continue
			}
		} else if !anyExists(roots, a.sharedDirs()) {
			a.log.Info("provider not found on this machine; skipped", "provider", p.ID(), "roots", roots)
			continue
		}
		out = append(out, supervision.ProviderSetup{Provider: p, Roots: roots})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// anyExists reports whether an agent is installed: one of its roots
// exists, or the agent's own directory holding it (a root may be
// …/projects, created lazily). A directory many programs share
// (~/.local/share, which sessiond's own data dir creates, ~/.config, the
// home directory) says nothing about an agent and does not count.
func anyExists(paths []string, shared map[string]bool) bool {
	for _, p := range paths {
		for _, c := range []string{p, filepath.Dir(p)} {
			if shared[filepath.Clean(c)] {
				continue
			}
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				return true
			}
		}
	}
	return false
}

// sharedDirs are the directories that hold many programs' data.
func (a *app) sharedDirs() map[string]bool {
	out := map[string]bool{"/": true}
	add := func(p string) {
		if p != "" {
			out[filepath.Clean(p)] = true
		}
	}
	add(a.home)
	for _, rel := range []string{".local", ".local/share", ".local/state", ".config", ".cache", "Library", "Library/Application Support", "AppData/Roaming", "AppData/Local"} {
		add(filepath.Join(a.home, rel))
	}
	add(a.getenv("XDG_DATA_HOME"))
	add(a.getenv("XDG_CONFIG_HOME"))
	add(a.getenv("XDG_STATE_HOME"))
	add(filepath.Dir(a.cfg.DataDir))
	return out
}

// core is an open store with a running actor tree.
type core struct {
	store   *persistence.Store
	sys     *actor.ActorSystem
	tree    *supervision.Tree
	metrics *metrics.Metrics
	started time.Time
	setups  []supervision.ProviderSetup
	// finalHead is the event head after the last flush (set by stop).
	finalHead uint64
	// minFree is the data dir's free-space floor ([store] min_free).
	minFree func(total uint64) uint64
}

func (a *app) startCore(ctx context.Context) (*core, error) {
	if err := a.awaitSpace(ctx); err != nil {
		return nil, err
	}
	st, err := persistence.Open(a.cfg.DataDir, persistence.Options{
		IdleTimeout: a.cfg.Run.IdleTimeout.Duration,
		Logger:      a.log,
	})
	if err != nil {
		if errors.Is(err, persistence.ErrLocked) {
			return nil, &exitError{code: 3, err: err}
		}
		return nil, err
	}
	m := metrics.New(version)
	// protoactor logs "actor system started" and the like at Info: keep
	// only its warnings and errors.
	plog := slog.New(levelFloor{a.log.Handler(), slog.LevelWarn}).With("component", "protoactor")
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return plog }),
		actor.WithDeadLetterThrottleCount(3),
	)
	setups := a.enabledProviders()
	tree, err := supervision.Start(supervision.Config{
		System: sys, Store: st, Metrics: m, Logger: a.log, Providers: setups,
		BackupInterval: a.cfg.Store.BackupInterval.Duration, BackupKeep: a.cfg.Store.BackupKeep, BackupDir: filepath.Join(a.cfg.DataDir, "backups"),
		Session:      actors.SessionConfig{PassivateAfter: a.cfg.Run.PassivateAfter.Duration, MaxLineBytes: a.cfg.Run.MaxLineBytes},
		Reconcile:    a.cfg.Watch.Reconcile.Duration,
		PollInterval: a.cfg.Watch.PollInterval.Duration,
		ForcePolling: a.cfg.Watch.ForcePolling,
		MinFree:      a.cfg.Store.MinFreeBytes,
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &core{store: st, sys: sys, tree: tree, metrics: m, started: time.Now(), setups: setups, minFree: a.cfg.Store.MinFreeBytes}, nil
}

// stop shuts the tree down in order and closes the store. If the deadline
// passes first the store is left open (an actor may still be writing):
// Badger replays its log at the next start, and committed data is safe.
func (c *core) stop(ctx context.Context) error {
	if err := c.tree.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown did not finish in time (%w); the next start resumes from the last commit", err)
	}
	c.finalHead, _ = c.store.Head()
	c.sys.Shutdown()
	if c.diskFull() {
		// Closing writes the memtable out as a table through a sparse
		// memory map, which a full filesystem answers with SIGBUS. The
		// store actor synced it: the next start replays it from its log.
		return nil
	}
	if err := c.store.Close(); err != nil && !errors.Is(err, persistence.ErrClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// awaitSpace waits while the data dir's filesystem is below its free-space
// floor before the store is opened. Opening writes: the lock file (on a full
// disk Badger fails with ENOSPC, and a supervisor would restart sessiond in
// a loop), new log files and the tables the last run's logs are flushed
// into, through sparse memory maps that a full filesystem answers with
// SIGBUS. ctx (a signal) ends the wait.
func (a *app) awaitSpace(ctx context.Context) error {
	dir := a.cfg.DataDir
	for { // the nearest existing directory: the data dir may not exist yet
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	sp := persistence.NewSpace(dir)
	waited := false
	for {
		free, total, err := sp.Free()
		floor := a.cfg.Store.MinFreeBytes(total)
		if err != nil || free >= floor {
			if waited {
				a.log.Info("disk space available again: opening the store", "data_dir", a.cfg.DataDir, "free", humanize.IBytes(free))
			}
			return nil
		}
		if !waited {
			a.log.Warn("disk nearly full: waiting for free space before opening the store; free space on that filesystem (or lower [store] min_free)",
				"data_dir", a.cfg.DataDir, "free", humanize.IBytes(free), "min_free", humanize.IBytes(floor))
			waited = true
		}
		select {
		case <-ctx.Done():
			return &exitError{code: 0, err: fmt.Errorf("stopped while waiting for free space for the data dir %s", a.cfg.DataDir)}
		case <-time.After(time.Second):
		}
	}
}

// diskFull reports whether the data dir's filesystem is below its
// free-space floor.
func (c *core) diskFull() bool {
	if c.minFree == nil {
		return false
	}
	free, total, err := persistence.NewSpace(c.store.Dir()).Free()
	return err == nil && free < c.minFree(total)
}

// levelFloor drops records below a minimum level.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(as), h.min}
}

func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}
