package actors_test

import (
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
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/testkit"
)

type gate struct {
	store *actor.PID
	hold  *atomic.Bool
	nheld *atomic.Int32 // commits held so far, for the test to poll
	held  []*actor.PID
	msgs  []any
}
type release struct{}

func (g *gate) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.CommitSession, *messages.FailSession:
		if g.hold.Load() {
			g.held = append(g.held, ctx.Sender())
			g.msgs = append(g.msgs, m)
			g.nheld.Add(1)
			return
		}
		ctx.Forward(g.store)
	case *release:
		g.hold.Store(false)
		for i, m := range g.msgs {
			ctx.RequestWithCustomSender(g.store, m, g.held[i])
		}
		g.msgs, g.held = nil, nil
	}
}

func moveReply(sid string, n int, in int64) string {
	return fmt.Sprintf(`{"type":"assistant","uuid":"a%d","cwd":"/x","sessionId":%q,"timestamp":"2026-01-01T00:00:%02dZ","requestId":"req_%d","message":{"id":"msg_%d","model":"m","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":%d,"output_tokens":1}}}`+"\n", n, sid, n, n, n, in)
}

func moveAppend(t *testing.T, p, s string) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

func TestMoveDuringInflightCommit(t *testing.T) {
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	store := sys.Root.Spawn(actor.PropsFromProducer(actors.NewStoreActor(actors.StoreConfig{Store: st})))
	hold, nheld := &atomic.Bool{}, &atomic.Int32{}
	g := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &gate{store: store, hold: hold, nheld: nheld} }))
	root := filepath.Join(t.TempDir(), "projects")
	sid := "99999999-0000-4000-8000-000000000002"
	p := filepath.Join(root, "p", sid+".jsonl")
	moved := filepath.Join(root, "q", sid+".jsonl")
	// told: the size of the moved file the provider last told the session of.
	told := &atomic.Int64{}
	tell := actor.WithSenderMiddleware(func(next actor.SenderFunc) actor.SenderFunc {
		return func(c actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
			if m, ok := env.Message.(*messages.FileChanged); ok && m.File.Path == moved {
				told.Store(m.File.Size)
			}
			next(c, target, env)
		}
	})
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.MkdirAll(filepath.Join(root, "q"), 0o755)
	moveAppend(t, p, moveReply(sid, 1, 10))
	prov := sys.Root.Spawn(actor.PropsFromProducer(actors.NewProviderActor(actors.ProviderConfig{
		Provider: claudecode.New(), Roots: []string{root},
		Session: actors.SessionConfig{Store: st, StorePID: g},
	}), tell))
	defer func() {
		_ = sys.Root.PoisonFuture(prov).Wait()
		_ = sys.Root.PoisonFuture(g).Wait()
		_ = sys.Root.PoisonFuture(store).Wait()
	}()
	key := session.Key{Provider: session.ClaudeCode, ID: session.ID(sid)}
	wait := func(in int64) session.Record {
		var r session.Record
		for i := 0; i < 100; i++ {
			r, _ = st.Session(key)
			if r.Tokens.Input == in {
				return r
			}
			time.Sleep(50 * time.Millisecond)
		}
		return r
	}
	if r := wait(10); r.Tokens.Input != 10 {
		t.Fatalf("first: %+v", r.Tokens)
	}
	hold.Store(true)
	moveAppend(t, p, moveReply(sid, 2, 5)) // commit held
	testkit.Eventually(t, 10*time.Second, "the gate to hold the second commit", func() (bool, string) {
		return nheld.Load() > 0, ""
	})
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	moveAppend(t, moved, moveReply(sid, 3, 7))
	fi, err := os.Stat(moved)
	if err != nil {
		t.Fatal(err)
	}
	// The session hears of the new path (at its full size) while its commit
	// is held.
	testkit.Eventually(t, 10*time.Second, "the provider to tell the session of "+moved, func() (bool, string) {
		return told.Load() == fi.Size(), fmt.Sprintf("told of %d bytes of %d", told.Load(), fi.Size())
	})
	sys.Root.Send(g, &release{})
	r := wait(22)
	files, _ := st.SessionFiles(key)
	for _, f := range files {
		t.Logf("ck %s off=%d", f.Path, f.Offset)
	}
	if r.Tokens.Input != 22 {
		t.Fatalf("after move during commit: input=%d, want 22", r.Tokens.Input)
	}
}
