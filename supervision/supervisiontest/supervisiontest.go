// Package supervisiontest runs the real actor tree (store, bus, metrics,
// one provider) over temporary directories, for integration tests and
// benchmarks of providers.
package supervisiontest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision"
	"github.com/sessiond/sessiond/testkit"
)

// IgnoreThrottle is the goleak option for protoactor's dead-letter
// throttle timer, which outlives an actor system by up to a second.
const IgnoreThrottle = "github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"

// Env is a running tree with one provider watching Roots.
type Env struct {
	T       testing.TB
	Dir     string   // data dir
	Roots   []string // the provider's roots
	Prov    providers.Provider
	Store   *persistence.Store
	Tree    *supervision.Tree
	Metrics *metrics.Metrics
	// Options for the next Start (set before Start or Restart).
	IdleTimeout time.Duration
	ChunkBytes  int
	// MaxLive bounds the idle session actors (0: the default).
	MaxLive int
	// SessionConfig is the base session actor config (ChunkBytes above
	// wins when set).
	SessionConfig actors.SessionConfig
	sys           *actor.ActorSystem
}

// New starts a tree for prov over roots (the data dir is a temporary
// directory) and stops it when the test ends.
func New(t testing.TB, prov providers.Provider, roots ...string) *Env {
	t.Helper()
	e := &Env{T: t, Dir: filepath.Join(t.TempDir(), "data"), Roots: roots, Prov: prov, IdleTimeout: time.Hour, ChunkBytes: 64 << 10}
	e.Start()
	t.Cleanup(e.Stop)
	return e
}

// Start opens the store and starts the tree.
func (e *Env) Start() {
	e.T.Helper()
	st, err := persistence.Open(e.Dir, persistence.Options{IdleTimeout: e.IdleTimeout})
	if err != nil {
		e.T.Fatal(err)
	}
	e.Store = st
	e.Metrics = metrics.New("test")
	e.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	sc := e.SessionConfig
	if e.ChunkBytes > 0 {
		sc.ChunkBytes = e.ChunkBytes
	}
	tree, err := supervision.Start(supervision.Config{
		System: e.sys, Store: st, Metrics: e.Metrics,
		Providers:       []supervision.ProviderSetup{{Provider: e.Prov, Roots: e.Roots}},
		Session:         sc,
		Reconcile:       200 * time.Millisecond,
		MaxLiveSessions: e.MaxLive,
	})
	if err != nil {
		e.T.Fatal(err)
	}
	e.Tree = tree
}

// Stop shuts the tree down in order and closes the store (idempotent).
func (e *Env) Stop() {
	if e.Tree == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Tree.Shutdown(ctx); err != nil {
		e.T.Errorf("shutdown: %v", err)
	}
	if err := e.Store.Close(); err != nil {
		e.T.Errorf("close store: %v", err)
	}
	e.sys.Shutdown()
	e.Tree = nil
}

// Restart stops and starts the tree again over the same data dir.
func (e *Env) Restart() {
	e.Stop()
	e.Start()
}

// Idle waits until the provider has read every file it knows of.
func (e *Env) Idle() {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := e.Tree.AwaitIdle(ctx); err != nil {
		e.T.Fatal(err)
	}
}

// Eventually polls cond every 10 ms until it holds or 20 s pass.
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, what, cond)
}

// Session reads one session of the env's provider.
func (e *Env) Session(id session.ID) (session.Record, error) {
	return e.Store.Session(session.Key{Provider: e.Prov.ID(), ID: id})
}

// WaitSession polls until the session exists and cond holds, and returns it.
func (e *Env) WaitSession(id session.ID, cond func(r session.Record) bool) session.Record {
	e.T.Helper()
	var got session.Record
	Eventually(e.T, "session "+string(id), func() (bool, string) {
		r, err := e.Session(id)
		got = r
		return err == nil && cond(r), fmt.Sprintf("tokens=%+v counts=%+v status=%s err=%v", r.Tokens, r.Counts, r.Status, err)
	})
	return got
}

// Sessions lists every session of the env's provider, by id.
func (e *Env) Sessions() map[session.ID]session.Record {
	e.T.Helper()
	recs, err := e.Store.Sessions(persistence.Filter{Provider: e.Prov.ID()})
	if err != nil {
		e.T.Fatal(err)
	}
	out := make(map[session.ID]session.Record, len(recs))
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}
