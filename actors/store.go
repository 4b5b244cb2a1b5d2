package actors

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// StoreConfig configures the store actor.
type StoreConfig struct {
	Store   *persistence.Store
	Bus     *actor.PID // where committed events go (nil: nowhere)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// SweepEvery is how often idle sessions are completed (default: a
	// tenth of the idle timeout, between 100ms and 30s).
	SweepEvery time.Duration
	// SyncEvery is how often the store is synced to disk (default 30s).
	SyncEvery time.Duration
	// GCEvery is how often value-log GC runs (default 10m).
	GCEvery time.Duration
}

// Store is the single writer to Badger. Commits that queue up while it is
// busy are applied together in one transaction (group commit): a CommitSession
// arriving when no flush is scheduled schedules one by sending itself
// storeFlush, so every commit already in the mailbox joins the batch.
type Store struct {
	cfg       StoreConfig
	log       *slog.Logger
	pending   []pendingOp
	applying  []pendingOp // the batch being applied
	scheduled bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

type pendingOp struct {
	op     persistence.Op
	sender *actor.PID
	fail   bool
}

type storeFlush struct{}
type storeSweep struct{}
type storeSync struct{}

// NewStore returns the producer of the store actor.
func NewStore(cfg StoreConfig) actor.Producer {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = min(max(cfg.Store.IdleTimeout()/10, 100*time.Millisecond), 30*time.Second)
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 30 * time.Second
	}
	if cfg.GCEvery <= 0 {
		cfg.GCEvery = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func() actor.Actor { return &Store{cfg: cfg, log: cfg.Logger.With("actor", "store")} }
}

// Receive routes messages.
func (s *Store) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *messages.CommitSession:
		s.enqueue(ctx, pendingOp{op: &m.Commit, sender: ctx.Sender()})
	case *messages.FailSession:
		s.enqueue(ctx, pendingOp{op: &m.Fail, sender: ctx.Sender(), fail: true})
	case *storeFlush:
		s.flush(ctx)
	case *storeSweep:
		s.sweep(ctx)
	case *storeSync:
		if err := s.cfg.Store.Sync(); err != nil && !errors.Is(err, persistence.ErrClosed) {
			s.log.Error("sync store", "err", err)
		}
	case *actor.Stopping:
		s.onStopping(ctx)
	case *actor.Restarting:
		s.onRestarting(ctx)
	case *actor.Stopped:
	default:
		unhandled(s.log, m)
	}
}

func (s *Store) onStarted(ctx actor.Context) {
	c, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	self, root := ctx.Self(), ctx.ActorSystem().Root
	tick := func(every time.Duration, msg any) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-c.Done():
					return
				case <-t.C:
					root.Send(self, msg)
				}
			}
		}()
	}
	tick(s.cfg.SweepEvery, &storeSweep{})
	tick(s.cfg.SyncEvery, &storeSync{})
	// Value-log GC rewrites files and may take a while: it runs in the
	// goroutine itself, which Badger allows beside the writer.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.GCEvery)
		defer t.Stop()
		for {
			select {
			case <-c.Done():
				return
			case <-t.C:
				if err := s.cfg.Store.RunValueLogGC(c); err != nil && !errors.Is(err, persistence.ErrClosed) {
					s.log.Warn("value-log gc", "err", err)
				}
			}
		}
	}()
	root.Send(self, &storeSweep{})
}

func (s *Store) enqueue(ctx actor.Context, p pendingOp) {
	s.pending = append(s.pending, p)
	if !s.scheduled {
		s.scheduled = true
		ctx.Send(ctx.Self(), &storeFlush{})
	}
}

func (s *Store) flush(ctx actor.Context) {
	s.scheduled = false
	if len(s.pending) == 0 {
		return
	}
	batch := s.pending
	s.pending = nil
	// kept until answered: a panic in Apply restarts us, and onRestarting
	// must answer these too
	s.applying = batch
	defer func() { s.applying = nil }()
	ops := make([]persistence.Op, len(batch))
	for i, p := range batch {
		ops[i] = p.op
	}
	start := time.Now()
	res := s.cfg.Store.Apply(ops)
	if m := s.cfg.Metrics; m != nil {
		m.StoreCommitDuration.Observe(time.Since(start).Seconds())
		m.StoreCommitBatchSize.Observe(float64(len(ops)))
	}
	var events []session.Event
	for i, r := range res {
		switch {
		case r.Err == nil:
			events = append(events, r.Events...)
		case errors.Is(r.Err, persistence.ErrConcurrentModification):
			s.countConflict()
		default:
			s.countError()
			s.log.Error("commit failed", "session", opKey(batch[i].op), "err", r.Err)
		}
		if batch[i].sender != nil {
			if batch[i].fail {
				ctx.Send(batch[i].sender, &messages.FailSessionResult{Result: r})
			} else {
				ctx.Send(batch[i].sender, &messages.CommitSessionResult{Result: r})
			}
		}
	}
	s.publish(ctx, events)
}

func (s *Store) publish(ctx actor.Context, events []session.Event) {
	if len(events) == 0 || s.cfg.Bus == nil {
		return
	}
	ctx.Send(s.cfg.Bus, &messages.EventsCommitted{Events: events})
}

func (s *Store) sweep(ctx actor.Context) {
	events, err := s.cfg.Store.CompleteIdle(time.Now())
	if err != nil {
		if !errors.Is(err, persistence.ErrClosed) {
			s.countError()
			s.log.Error("complete idle sessions", "err", err)
		}
		return
	}
	s.publish(ctx, events)
}

func (s *Store) onStopping(ctx actor.Context) {
	// Commits queued before the poison pill were handled; flush whatever
	// batch is still pending, then stop the timers and sync.
	s.flush(ctx)
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
	if err := s.cfg.Store.Sync(); err != nil && !errors.Is(err, persistence.ErrClosed) {
		s.log.Error("sync store at shutdown", "err", err)
	}
}

// onRestarting releases the timers and answers the ops still pending
// (the fresh instance starts empty): their senders retry.
func (s *Store) onRestarting(ctx actor.Context) {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
	for _, p := range append(s.applying, s.pending...) {
		if p.sender == nil {
			continue
		}
		r := persistence.Result{Err: ErrRestarted}
		if p.fail {
			ctx.Send(p.sender, &messages.FailSessionResult{Result: r})
		} else {
			ctx.Send(p.sender, &messages.CommitSessionResult{Result: r})
		}
	}
	s.pending, s.applying = nil, nil
}

func (s *Store) countConflict() {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.StoreConflictsTotal.Inc()
	}
}

func (s *Store) countError() {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.StoreErrorsTotal.Inc()
	}
}

func opKey(op persistence.Op) string {
	switch op := op.(type) {
	case *persistence.Commit:
		return op.Key.String()
	case *persistence.Fail:
		return op.Key.String()
	}
	return "?"
}

// unhandled logs a message no case routed.
func unhandled(log *slog.Logger, m any) {
	log.Warn("unhandled message", "type", typeName(m))
}
