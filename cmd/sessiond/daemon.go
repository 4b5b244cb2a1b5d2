package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
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
		} else if !anyExists(roots) {
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

func anyExists(paths []string) bool {
	for _, p := range paths {
		// a provider's root may be …/projects, created lazily: its parent counts
		for _, c := range []string{p, parentDir(p)} {
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				return true
			}
		}
	}
	return false
}

func parentDir(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return p
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
}

func (a *app) startCore() (*core, error) {
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
		Session:      actors.SessionConfig{PassivateAfter: a.cfg.Run.PassivateAfter.Duration, MaxLineBytes: a.cfg.Run.MaxLineBytes},
		Reconcile:    a.cfg.Watch.Reconcile.Duration,
		PollInterval: a.cfg.Watch.PollInterval.Duration,
		ForcePolling: a.cfg.Watch.ForcePolling,
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &core{store: st, sys: sys, tree: tree, metrics: m, started: time.Now(), setups: setups}, nil
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
	if err := c.store.Close(); err != nil && !errors.Is(err, persistence.ErrClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
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
