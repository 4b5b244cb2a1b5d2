package actors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// fakeProvider matches every file as match and answers Resolve, Expand
// and ReadDoc with the test's functions.
type fakeProvider struct {
	match   providers.Match
	resolve func(path string, head []byte) (session.ID, error)
	expand  func(ctx context.Context, path string) ([]providers.Doc, error)
	readDoc func(ctx context.Context, docPath string) ([]byte, error)
}

func (f *fakeProvider) ID() session.Provider                        { return "fake" }
func (f *fakeProvider) Roots(providers.Env) []string                { return nil }
func (f *fakeProvider) Descend(root, path string) bool              { return true }
func (f *fakeProvider) NewParser(session.FileRole) providers.Parser { return docParser{} }
func (f *fakeProvider) Match(root, path string) (providers.Match, bool) {
	return f.match, true
}
func (f *fakeProvider) Resolve(path string, head []byte) (session.ID, error) {
	return f.resolve(path, head)
}
func (f *fakeProvider) Expand(ctx context.Context, path string) ([]providers.Doc, error) {
	return f.expand(ctx, path)
}
func (f *fakeProvider) ReadDoc(ctx context.Context, docPath string) ([]byte, error) {
	return f.readDoc(ctx, docPath)
}

type docParser struct{}

func (docParser) Line([]byte, *session.Delta)           {}
func (docParser) State() []byte                         { return nil }
func (docParser) Restore([]byte) error                  { return nil }
func (docParser) Document([]byte, *session.Delta) error { return nil }

// ownerEnv is a store, a store actor and a root holding one file, for a
// provider actor over a fakeProvider.
type ownerEnv struct {
	st    *persistence.Store
	sys   *actor.ActorSystem
	store *actor.PID
	root  string
	file  string
}

func newOwnerEnv(t *testing.T) *ownerEnv {
	t.Helper()
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	store := sys.Root.Spawn(actor.PropsFromProducer(actors.NewStoreActor(actors.StoreConfig{Store: st})))
	t.Cleanup(func() { _ = sys.Root.PoisonFuture(store).Wait() })
	root := t.TempDir()
	file := filepath.Join(root, "state.db")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &ownerEnv{st: st, sys: sys, store: store, root: root, file: file}
}

func (e *ownerEnv) spawn(p providers.Provider) *actor.PID {
	return e.sys.Root.Spawn(actor.PropsFromProducer(actors.NewProviderActor(actors.ProviderConfig{
		Provider: p, Roots: []string{e.root},
		Session: actors.SessionConfig{Store: e.st, StorePID: e.store},
	})))
}

func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// A busy container is listed again on a timer; the timer is the provider's:
// once the provider stops, it no longer fires (it would reach the stopped
// actor as a dead letter).
func TestProviderStopsItsExpandRetryTimer(t *testing.T) {
	e := newOwnerEnv(t)
	var deadRetries atomic.Int32
	sub := e.sys.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, retry := dl.Message.(*messages.ExpandAgain); retry {
				deadRetries.Add(1)
			}
		}
	})
	defer e.sys.EventStream.Unsubscribe(sub)
	var listings atomic.Int32
	relisted := make(chan struct{}, 1)
	prov := e.spawn(&fakeProvider{
		match: providers.Match{Container: true},
		expand: func(context.Context, string) ([]providers.Doc, error) {
			if listings.Add(1) >= 2 {
				signal(relisted)
			}
			return nil, fmt.Errorf("database is locked: %w", providers.ErrTemporary)
		},
	})
	// the busy answer arms the 1 s retry, which lists the container again
	// (and, busy again, arms the next one)
	await(t, relisted, "a second listing of the busy container")
	if err := e.sys.Root.PoisonFuture(prov).Wait(); err != nil {
		t.Fatal(err)
	}
	n := listings.Load()
	// the armed retry was due at most 1 s after the last busy answer
	time.Sleep(1500 * time.Millisecond)
	if d := deadRetries.Load(); d != 0 {
		t.Fatalf("%d container retries fired after the provider stopped", d)
	}
	if m := listings.Load(); m != n {
		t.Fatalf("the container was listed %d more times after the provider stopped", m-n)
	}
}

// A resolve goroutine is the provider's: the provider has not stopped
// while one is still running.
func TestProviderWaitsForItsResolveGoroutines(t *testing.T) {
	e := newOwnerEnv(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var returned atomic.Bool
	prov := e.spawn(&fakeProvider{
		match: providers.Match{Role: session.RoleMain, Mode: session.ModeAppend},
		resolve: func(string, []byte) (session.ID, error) {
			signal(entered)
			<-release
			returned.Store(true)
			return "", providers.ErrUnresolved
		},
	})
	await(t, entered, "a resolve of the file's head")
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	if err := e.sys.Root.PoisonFuture(prov).Wait(); err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Fatal("the provider stopped while its resolve goroutine was still running")
	}
}

// A session's database read runs inside its Receive; it ends when the
// provider stops (not after its 30 s timeout), and a read cut short so is
// not recorded as a failure of the session.
func TestSessionDatabaseReadEndsWhenProviderStops(t *testing.T) {
	e := newOwnerEnv(t)
	reading := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	id := session.ID("s1")
	prov := e.spawn(&fakeProvider{
		match: providers.Match{Container: true},
		expand: func(_ context.Context, path string) ([]providers.Doc, error) {
			return []providers.Doc{{Path: path + "#s1", ID: id, Role: session.RoleMain, Version: "1"}}, nil
		},
		readDoc: func(ctx context.Context, _ string) ([]byte, error) {
			signal(reading)
			<-ctx.Done()
			readErr <- ctx.Err()
			return nil, ctx.Err()
		},
	})
	await(t, reading, "a read of the session's document")
	start := time.Now()
	if err := e.sys.Root.PoisonFuture(prov).Wait(); err != nil {
		t.Fatalf("provider did not stop: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping took %s: the database read was not cut short", d)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the read ended with %v, want context.Canceled", err)
		}
	default:
		t.Fatal("the read had not ended when the provider stopped")
	}
	// the store handles what is queued (a FailSession would be) first
	if err := e.sys.Root.PoisonFuture(e.store).Wait(); err != nil {
		t.Fatal(err)
	}
	rec, err := e.st.Session(session.Key{Provider: "fake", ID: id})
	if err == nil && rec.Status == session.StatusFailed {
		t.Fatalf("a read cut short by the stop marked the session failed: %q", rec.FailReason)
	}
}
