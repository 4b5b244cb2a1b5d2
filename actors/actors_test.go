package actors_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

// collector forwards every EventsCommitted it receives to a channel.
type collector struct{ ch chan<- session.Event }

func (c *collector) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*messages.EventsCommitted); ok {
		for _, e := range m.Events {
			c.ch <- e
		}
	}
}

func TestStoreGroupCommitsAndBusDeliversInOrder(t *testing.T) {
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := metrics.New("test")
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	hub := actors.NewHub(0)
	bus := sys.Root.Spawn(actor.PropsFromProducer(actors.NewBusActor(actors.BusConfig{Store: st, Hub: hub})))
	store := sys.Root.Spawn(actor.PropsFromProducer(actors.NewStoreActor(actors.StoreConfig{Store: st, Bus: bus, Metrics: m})))
	defer func() {
		_ = sys.Root.PoisonFuture(store).Wait()
		_ = sys.Root.PoisonFuture(bus).Wait()
	}()

	// a late subscriber from 0 gets the replay, then live events, in order
	got := make(chan session.Event, 1000)
	const n = 200
	futures := make([]*actor.Future, n)
	for i := range n {
		k := session.Key{Provider: session.ClaudeCode, ID: session.ID(string(rune('a'+i%26)) + string(rune('a'+i/26)))}
		d := session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}
		d.Observe(time.Now())
		futures[i] = sys.Root.RequestFuture(store, &messages.CommitSession{Commit: persistence.Commit{
			Key: k, Files: []persistence.FileUpdate{{Checkpoint: session.Checkpoint{Path: "/f", Offset: 1, Size: 1}, Delta: d}},
		}}, 10*time.Second)
		if i == n/2 {
			sub := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &collector{ch: got} }))
			sys.Root.RequestWithCustomSender(bus, &messages.Subscribe{Since: 0}, sub)
			defer sys.Root.Stop(sub)
		}
	}
	for i, f := range futures {
		res, err := f.Result()
		if err != nil {
			t.Fatal(err)
		}
		if r := res.(*messages.CommitSessionResult).Result; r.Err != nil || len(r.Events) != 1 {
			t.Fatalf("commit %d: %+v", i, r)
		}
	}
	for want := uint64(1); want <= n; want++ {
		select {
		case e := <-got:
			if e.Seq != want {
				t.Fatalf("got seq %d, want %d", e.Seq, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d", want)
		}
	}
	select {
	case <-hub.Changed(n - 1):
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not advance")
	}
	if batches := testutil.CollectAndCount(m.StoreCommitBatchSize); batches == 0 {
		t.Fatal("no batch observed")
	}
}

// failingStore answers every commit with an error and records fails.
type failingStore struct{ fails chan<- string }

func (f *failingStore) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.CommitSession:
		ctx.Respond(&messages.CommitSessionResult{Result: persistence.Result{Err: errors.New("disk full")}})
	case *messages.FailSession:
		f.fails <- m.Fail.Reason
		ctx.Respond(&messages.FailSessionResult{Result: persistence.Result{Err: errors.New("disk full")}})
	}
}

func TestSessionWhoseCommitsFailFreesItsSlot(t *testing.T) {
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	fails := make(chan string, 10)
	store := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &failingStore{fails: fails} }))
	root := filepath.Join(t.TempDir(), "projects")
	sid := "99999999-0000-4000-8000-000000000001"
	line := `{"type":"user","sessionId":"` + sid + `","timestamp":"2026-01-01T00:00:00Z","message":{"content":"hi"}}` + "\n"
	if err := os.MkdirAll(filepath.Join(root, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "p", sid+".jsonl"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	prov := sys.Root.Spawn(actor.PropsFromProducer(actors.NewProviderActor(actors.ProviderConfig{
		Provider: claudecode.New(), Roots: []string{root},
		Session: actors.SessionConfig{Store: st, StorePID: store, MaxRetries: 1},
	})))
	defer func() {
		_ = sys.Root.PoisonFuture(prov).Wait()
		_ = sys.Root.PoisonFuture(store).Wait()
	}()
	res, err := sys.Root.RequestFuture(prov, &messages.AwaitIdle{}, 20*time.Second).Result()
	if err != nil {
		t.Fatalf("AwaitIdle did not answer: %v", err)
	}
	if r := res.(*messages.AwaitIdleResult); r.Files != 1 {
		t.Fatalf("AwaitIdle = %+v", r)
	}
	select {
	case reason := <-fails:
		if !strings.Contains(reason, "disk full") {
			t.Fatalf("fail reason %q", reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("session not marked failed")
	}
}
