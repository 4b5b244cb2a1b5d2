package supervision

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/messages"
)

// ignoreThrottle is supervisiontest.IgnoreThrottle (which this internal
// test cannot import: supervisiontest imports supervision).
const ignoreThrottle = "github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"

// silent never answers.
type silent struct{}

func (silent) Receive(actor.Context) {}

// A request whose answer never comes (AwaitIdle's future lives 24 h) must
// not leave its waiting goroutine behind once the caller's ctx ends.
func TestWaitFutureLeavesNoGoroutineWhenCtxEnds(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return silent{} }))
	defer func() { _ = sys.Root.PoisonFuture(pid).Wait() }()
	before := goleak.IgnoreCurrent()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := waitFuture(ctx, sys, sys.Root.RequestFuture(pid, &messages.AwaitIdle{}, 24*time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waitFuture = %v, want the ctx's deadline", err)
	}
	goleak.VerifyNone(t, before, goleak.IgnoreAnyFunction(ignoreThrottle))
}
