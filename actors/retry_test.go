package actors_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers/claudecode"
)

// A session whose file cannot be read retries on a timer; the timer is the
// actor's: once the actor stops, no retry fires (it would reach a dead
// actor as a dead letter).
func TestSessionRetryTimerStopsWithTheActor(t *testing.T) {
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	var deadRetries atomic.Int32
	sub := sys.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, retry := dl.Message.(*messages.SessionRetry); retry {
				deadRetries.Add(1)
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	store := sys.Root.Spawn(actor.PropsFromProducer(actors.NewStoreActor(actors.StoreConfig{Store: st})))
	root := filepath.Join(t.TempDir(), "projects")
	sid := "99999999-0000-4000-8000-000000000002"
	if err := os.MkdirAll(filepath.Join(root, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	line := `{"type":"user","sessionId":"` + sid + `","timestamp":"2026-01-01T00:00:00Z","message":{"content":"hi"}}` + "\n"
	if err := os.WriteFile(filepath.Join(root, "p", sid+".jsonl"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	denied := func(name string) (*os.File, error) {
		opens.Add(1)
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	prov := sys.Root.Spawn(actor.PropsFromProducer(actors.NewProviderActor(actors.ProviderConfig{
		Provider: claudecode.New(), Roots: []string{root},
		Session: actors.SessionConfig{Store: st, StorePID: store, Open: denied},
	})))
	if _, err := sys.Root.RequestFuture(prov, &messages.AwaitIdle{}, 20*time.Second).Result(); err != nil {
		t.Fatalf("AwaitIdle did not answer (a failing session must not hold the provider busy): %v", err)
	}
	if opens.Load() == 0 {
		t.Fatal("the file was never opened")
	}
	if err := sys.Root.PoisonFuture(prov).Wait(); err != nil {
		t.Fatal(err)
	}
	_ = sys.Root.PoisonFuture(store).Wait()
	// the first retry was due 1 s after the failure
	time.Sleep(1500 * time.Millisecond)
	if n := deadRetries.Load(); n != 0 {
		t.Fatalf("%d retries fired after the session actor stopped", n)
	}
}
