package supervision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// ProviderSetup is one enabled provider and its roots.
type ProviderSetup struct {
	Provider providers.Provider
	Roots    []string
}

// Config is what the tree is built from.
type Config struct {
	System    *actor.ActorSystem
	Store     *persistence.Store
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	Providers []ProviderSetup
	// Session actor settings (Provider, Store, StorePID, Metrics are filled in).
	Session      actors.SessionConfig
	Reconcile    time.Duration
	PollInterval time.Duration
	ForcePolling bool
	// MaxLiveSessions bounds each provider's idle session actors
	// (actors.ProviderConfig.MaxLive; 0: its default).
	MaxLiveSessions int
	// SessionSpec overrides Sessions (tests).
	SessionSpec *Spec
	// BackupInterval > 0 spawns the backup actor: a full backup into
	// BackupDir this often, the newest BackupKeep kept.
	BackupInterval time.Duration
	BackupKeep     int
	BackupDir      string
	// MinFree is the store's free-space floor (see actors.StoreConfig).
	MinFree func(total uint64) uint64
}

// Tree is the running actor tree.
type Tree struct {
	sys       *actor.ActorSystem
	log       *slog.Logger
	Hub       *actors.Hub
	Store     *actor.PID
	Bus       *actor.PID
	Metrics   *actor.PID
	Providers map[session.Provider]*actor.PID
	Backup    *actor.PID // nil when automatic backups are off
	order     []session.Provider
	closers   []io.Closer // providers holding resources (database handles)
	stopped   bool
}

// Start spawns the tree: store, bus, metrics, then one actor per provider.
// The top-level actors hang under a guardian with the TopLevel policy.
func Start(cfg Config) (*Tree, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	head, err := cfg.Store.Head()
	if err != nil {
		return nil, err
	}
	t := &Tree{sys: cfg.System, log: cfg.Logger, Hub: actors.NewHub(head), Providers: map[session.Provider]*actor.PID{}}
	root := cfg.System.Root
	guard := actor.WithGuardian(TopLevel.Strategy())
	spawn := func(name string, p actor.Producer) (*actor.PID, error) {
		pid, err := root.SpawnNamed(actor.PropsFromProducer(p, guard), name)
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", name, err)
		}
		return pid, nil
	}
	if t.Bus, err = spawn("bus", actors.NewBusActor(actors.BusConfig{Store: cfg.Store, Hub: t.Hub, Logger: cfg.Logger})); err != nil {
		return nil, err
	}
	if t.Store, err = spawn("store", actors.NewStoreActor(actors.StoreConfig{Store: cfg.Store, Bus: t.Bus, Metrics: cfg.Metrics, Logger: cfg.Logger, MinFree: cfg.MinFree})); err != nil {
		return nil, t.abort(err)
	}
	if cfg.Metrics != nil {
		if t.Metrics, err = spawn("metrics", actors.NewMetricsActor(actors.MetricsConfig{Metrics: cfg.Metrics, Store: cfg.Store, Bus: t.Bus, Logger: cfg.Logger})); err != nil {
			return nil, t.abort(err)
		}
	}
	if cfg.BackupInterval > 0 {
		bc := actors.BackupConfig{Store: cfg.Store, Dir: cfg.BackupDir, Interval: cfg.BackupInterval, Keep: cfg.BackupKeep, Metrics: cfg.Metrics, Logger: cfg.Logger}
		if t.Backup, err = spawn("backup", actors.NewBackupActor(bc)); err != nil {
			return nil, t.abort(err)
		}
	}
	spec := Sessions
	if cfg.SessionSpec != nil {
		spec = *cfg.SessionSpec
	}
	for _, ps := range cfg.Providers {
		sc := cfg.Session
		sc.Store, sc.StorePID, sc.Metrics = cfg.Store, t.Store, cfg.Metrics
		id := ps.Provider.ID()
		if cfg.Metrics != nil {
			cfg.Metrics.InitProvider(string(id))
		}
		pc := actors.ProviderConfig{
			Provider: ps.Provider, Roots: ps.Roots, Session: sc, Logger: cfg.Logger,
			Reconcile: cfg.Reconcile, PollInterval: cfg.PollInterval, ForcePolling: cfg.ForcePolling,
			MaxLive: cfg.MaxLiveSessions,
		}
		props := actor.PropsFromProducer(actors.NewProviderActor(pc), guard, actor.WithSupervisor(spec.Strategy()))
		pid, err := root.SpawnNamed(props, "provider:"+string(id))
		if err != nil {
			return nil, t.abort(fmt.Errorf("spawn provider %s: %w", id, err))
		}
		t.Providers[id] = pid
		t.order = append(t.order, id)
		if c, ok := ps.Provider.(io.Closer); ok {
			t.closers = append(t.closers, c)
		}
	}
	return t, nil
}

func (t *Tree) abort(err error) error {
	_ = t.Shutdown(context.Background())
	return err
}

// AwaitIdle waits until every provider has read every file it knows of.
func (t *Tree) AwaitIdle(ctx context.Context) ([]messages.AwaitIdleResult, error) {
	var out []messages.AwaitIdleResult
	for _, id := range t.order {
		for {
			// The future is bounded by ctx: its own timeout is long so a
			// large scan fits, and it is dropped if ctx ends first.
			f := t.sys.Root.RequestFuture(t.Providers[id], &messages.AwaitIdle{}, 24*time.Hour)
			res, err := waitFuture(ctx, t.sys, f)
			if err != nil {
				return out, fmt.Errorf("wait for provider %s: %w", id, err)
			}
			r, ok := res.(*messages.AwaitIdleResult)
			if !ok {
				return out, fmt.Errorf("provider %s answered %T", id, res)
			}
			if errors.Is(r.Err, actors.ErrRestarted) {
				continue // the provider restarted: ask its new incarnation
			}
			out = append(out, *r)
			break
		}
	}
	return out, nil
}

// StoreStatus asks the store actor whether it is paused and how much room
// is left, for as long as ctx allows (at most 5 s).
func (t *Tree) StoreStatus(ctx context.Context) (*messages.StoreStatus, error) {
	res, err := waitFuture(ctx, t.sys, t.sys.Root.RequestFuture(t.Store, &messages.StoreStatusRequest{}, 5*time.Second))
	if err != nil {
		return nil, err
	}
	st, ok := res.(*messages.StoreStatus)
	if !ok {
		return nil, fmt.Errorf("store answered %T", res)
	}
	return st, nil
}

// ProviderStatus asks every provider for its status.
func (t *Tree) ProviderStatus(ctx context.Context) []messages.ProviderStatus {
	var out []messages.ProviderStatus
	for _, id := range t.order {
		f := t.sys.Root.RequestFuture(t.Providers[id], &messages.ProviderStatusRequest{}, 5*time.Second)
		res, err := waitFuture(ctx, t.sys, f)
		if st, ok := res.(*messages.ProviderStatus); ok && err == nil {
			out = append(out, *st)
		} else {
			out = append(out, messages.ProviderStatus{Provider: id, LastError: fmt.Sprintf("no status: %v", err)})
		}
	}
	return out
}

// waitFuture waits for f's answer for as long as ctx allows. The goroutine
// that waits on f is waitFuture's own: when ctx ends first, f is completed
// empty (its timer stopped, its late answer dropped as a dead letter) and
// that goroutine has ended by the time waitFuture returns.
func waitFuture(ctx context.Context, sys *actor.ActorSystem, f *actor.Future) (any, error) {
	done := make(chan struct{})
	var res any
	var err error
	go func() {
		res, err = f.Result()
		close(done)
	}()
	select {
	case <-done:
		return res, err
	case <-ctx.Done():
		sys.Root.Stop(f.PID()) // completes f: Result returns
		<-done
		return nil, ctx.Err()
	}
}

// Shutdown stops the tree in order, each step awaited with PoisonFuture:
// providers (each cancels its watch goroutine, then its sessions stop after
// the read in hand, whose commit is already queued at the store) → store
// (handles every queued commit, flushes, syncs) → bus → metrics. The store
// stops before the bus and the bus before metrics, so the events of the
// last flush still reach the counters; subscribers that miss any catch up
// from the log. ctx bounds the whole shutdown; an error means an actor may
// still be running, and the caller must then not close Badger under it.
func (t *Tree) Shutdown(ctx context.Context) error {
	if t.stopped {
		return nil
	}
	t.stopped = true
	var errs []error
	stop := func(name string, pid *actor.PID) {
		if pid == nil {
			return
		}
		if err := waitPoison(ctx, t.sys, pid); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", name, err))
		}
	}
	stop("backup", t.Backup) // first: a backup in hand aborts, the store stays open for the rest
	for _, id := range t.order {
		stop("provider "+string(id), t.Providers[id])
	}
	for _, c := range t.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close provider: %w", err))
		}
	}
	stop("store", t.Store)
	stop("bus", t.Bus)
	stop("metrics", t.Metrics)
	return errors.Join(errs...)
}

// waitPoison poisons pid and waits for it to stop, for as long as ctx
// allows (PoisonFuture's own timeout is a fixed 10 s, so we loop).
func waitPoison(ctx context.Context, sys *actor.ActorSystem, pid *actor.PID) error {
	f := sys.Root.PoisonFuture(pid)
	for {
		_, err := waitFuture(ctx, sys, f)
		if err == nil || errors.Is(err, actor.ErrDeadLetter) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, actor.ErrTimeout) {
			// still stopping: watch again
			f = sys.Root.PoisonFuture(pid)
			continue
		}
		return err
	}
}
