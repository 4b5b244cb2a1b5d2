package actors

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dustin/go-humanize"

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
	// MinFree is the free-space floor of the data dir's filesystem for a
	// filesystem of total bytes (config.Store.MinFreeBytes); nil: free
	// space is not watched. Below the floor ingestion pauses: see StoreActor.
	MinFree func(total uint64) uint64
	// Space measures free space (default: persistence.NewSpace on the
	// store's directory, when MinFree is set).
	Space SpaceMeter
	// SpaceEvery is how often free space is checked besides before every
	// batch (default 1s).
	SpaceEvery time.Duration
}

// SpaceMeter measures the free space of the store's filesystem and keeps
// Badger's memory-mapped logs allocated (see persistence.Space).
type SpaceMeter interface {
	Free() (free, total uint64, err error)
	Preallocate() error
}

// StoreActor is the single writer to Badger. Commits that queue up while it is
// busy are applied together in one transaction (group commit): a CommitSession
// arriving when no flush is scheduled schedules one by sending itself
// StoreFlush, so every commit already in the mailbox joins the batch.
//
// A full disk pauses it. Before every batch, and every SpaceEvery, it
// measures the free space of the data dir's filesystem; below the floor
// (MinFree) it stops writing: commits are held unanswered (their sessions
// keep their committed offsets and read nothing more, so at most MaxBusy
// sessions per provider wait, each with one commit), and idle sweeps and
// value-log GC stop. Once the free space is back above the floor plus a
// margin it applies the held commits and carries on. Nothing is lost and
// no session is marked failed for it. Stopped while paused, it answers the
// held commits ErrClosed: their sessions re-read those bytes at the next
// start.
type StoreActor struct {
	cfg       StoreConfig
	log       *slog.Logger
	pending   []pendingOp
	applying  []pendingOp // the batch being applied
	scheduled bool
	ctx       context.Context // ends when the actor stops
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	gcCancel  context.CancelFunc // set while a value-log GC runs

	space       SpaceMeter // nil: free space is not watched
	paused      bool
	free, floor uint64 // at the last check
	spaceErr    string // the last free-space error logged
}

type pendingOp struct {
	op     persistence.Op
	sender *actor.PID
	fail   bool
}

// NewStoreActor returns the producer of the store actor.
func NewStoreActor(cfg StoreConfig) actor.Producer {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = min(max(cfg.Store.IdleTimeout()/10, 100*time.Millisecond), 30*time.Second)
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 30 * time.Second
	}
	if cfg.GCEvery <= 0 {
		cfg.GCEvery = 10 * time.Minute
	}
	if cfg.SpaceEvery <= 0 {
		cfg.SpaceEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func() actor.Actor {
		s := &StoreActor{cfg: cfg, log: cfg.Logger.With("actor", "store"), space: cfg.Space}
		if s.space == nil && cfg.MinFree != nil {
			s.space = persistence.NewSpace(cfg.Store.Dir())
		}
		return s
	}
}

// Receive routes messages.
func (s *StoreActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *messages.CommitSession:
		s.enqueue(ctx, pendingOp{op: &m.Commit, sender: ctx.Sender()})
	case *messages.FailSession:
		s.enqueue(ctx, pendingOp{op: &m.Fail, sender: ctx.Sender(), fail: true})
	case *messages.StoreFlush:
		s.flush(ctx)
	case *messages.StoreSweep:
		s.sweep(ctx)
	case *messages.StoreSync:
		if err := s.cfg.Store.Sync(); err != nil && !errors.Is(err, persistence.ErrClosed) {
			s.log.Error("sync store", "err", err)
		}
	case *messages.StoreCheckSpace:
		s.checkSpace(ctx)
	case *messages.StoreGC:
		s.startGC(ctx)
	case *messages.StoreGCDone:
		s.endGC()
	case *messages.StoreStatusRequest:
		ctx.Respond(&messages.StoreStatus{Paused: s.paused, FreeBytes: s.free, MinFreeBytes: s.floor, HeldCommits: len(s.pending)})
	case *actor.Stopping:
		s.onStopping(ctx)
	case *actor.Restarting:
		s.onRestarting(ctx)
	case *actor.Stopped:
	default:
		unhandled(s.log, m)
	}
}

func (s *StoreActor) onStarted(ctx actor.Context) {
	c, cancel := context.WithCancel(context.Background())
	s.ctx, s.cancel = c, cancel
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
	tick(s.cfg.SweepEvery, &messages.StoreSweep{})
	tick(s.cfg.SyncEvery, &messages.StoreSync{})
	tick(s.cfg.GCEvery, &messages.StoreGC{})
	if s.space != nil {
		tick(s.cfg.SpaceEvery, &messages.StoreCheckSpace{})
		s.checkSpace(ctx)
		s.preallocate() // the memtable log Open started
	}
	root.Send(self, &messages.StoreSweep{})
}

// startGC starts a value-log GC unless one runs or ingestion is paused.
// GC rewrites files and may take a while: it runs in a goroutine of its
// own, which Badger allows beside the writer, and reports StoreGCDone.
func (s *StoreActor) startGC(ctx actor.Context) {
	if s.gcCancel != nil || s.paused {
		return
	}
	c, cancel := context.WithCancel(s.ctx)
	s.gcCancel = cancel
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.cfg.Store.RunValueLogGC(c); err != nil && !errors.Is(err, persistence.ErrClosed) {
			s.log.Warn("value-log gc", "err", err)
		}
		root.Send(self, &messages.StoreGCDone{})
	}()
}

// endGC forgets the GC run that reported it is done.
func (s *StoreActor) endGC() {
	if s.gcCancel != nil {
		s.gcCancel()
		s.gcCancel = nil
	}
}

func (s *StoreActor) enqueue(ctx actor.Context, p pendingOp) {
	s.pending = append(s.pending, p)
	s.schedule(ctx)
}

// schedule makes the pending ops flush soon (not while paused: they are
// held until space returns).
func (s *StoreActor) schedule(ctx actor.Context) {
	if !s.scheduled && !s.paused && len(s.pending) > 0 {
		s.scheduled = true
		ctx.Send(ctx.Self(), &messages.StoreFlush{})
	}
}

func (s *StoreActor) flush(ctx actor.Context) {
	s.scheduled = false
	if len(s.pending) == 0 {
		return
	}
	if s.checkSpace(ctx); s.paused {
		return // held
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
	var held []pendingOp
	for i, r := range res {
		switch {
		case noSpace(r.Err):
			// nothing of it was written: hold it until space returns
			held = append(held, batch[i])
			continue
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
	if len(held) > 0 {
		s.pending = append(held, s.pending...)
		s.pause("a write failed: no space left on the data dir's filesystem")
	}
	// the batch may have started a new memtable log: allocate it now
	s.preallocate()
}

func (s *StoreActor) publish(ctx actor.Context, events []session.Event) {
	if len(events) == 0 || s.cfg.Bus == nil {
		return
	}
	ctx.Send(s.cfg.Bus, &messages.EventsCommitted{Events: events})
}

func (s *StoreActor) sweep(ctx actor.Context) {
	if s.checkSpace(ctx); s.paused {
		return // completing sessions writes too
	}
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

func (s *StoreActor) onStopping(ctx actor.Context) {
	// Commits queued before the poison pill were handled; flush whatever
	// batch is still pending, then stop the timers and sync. Commits held
	// for lack of space are answered ErrClosed: their sessions resume from
	// their committed offsets at the next start.
	s.flush(ctx)
	s.answerPending(ctx, persistence.ErrClosed)
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
func (s *StoreActor) onRestarting(ctx actor.Context) {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
	s.pending = append(s.applying, s.pending...)
	s.applying = nil
	s.answerPending(ctx, ErrRestarted)
}

// answerPending answers every pending op with err.
func (s *StoreActor) answerPending(ctx actor.Context, err error) {
	for _, p := range s.pending {
		if p.sender == nil {
			continue
		}
		r := persistence.Result{Err: err}
		if p.fail {
			ctx.Send(p.sender, &messages.FailSessionResult{Result: r})
		} else {
			ctx.Send(p.sender, &messages.CommitSessionResult{Result: r})
		}
	}
	s.pending = nil
}

// checkSpace measures the free space and pauses below the floor, or
// resumes once it is back above the floor plus a margin (so a filesystem
// hovering at the floor does not flap) and the memtable logs are allocated.
func (s *StoreActor) checkSpace(ctx actor.Context) {
	if s.space == nil {
		s.resumeUnmeasured(ctx)
		return
	}
	free, total, err := s.space.Free()
	if err != nil {
		s.resumeUnmeasured(ctx)
		// unknown: keep the current state
		if msg := err.Error(); msg != s.spaceErr {
			s.spaceErr = msg
			if errors.Is(err, persistence.ErrSpaceUnsupported) {
				s.log.Info("free space is not watched on this platform", "err", err)
			} else {
				s.log.Warn("cannot measure free space; ingestion is not paused for a full disk meanwhile", "err", err)
			}
		}
		return
	}
	s.spaceErr = ""
	s.free, s.floor = free, s.cfg.MinFree(total)
	if m := s.cfg.Metrics; m != nil {
		m.StoreFreeBytes.Set(float64(free))
		m.StoreMinFreeBytes.Set(float64(s.floor))
	}
	switch {
	case !s.paused && free < s.floor:
		s.pause("free space is below the floor")
	case s.paused && free >= s.floor+resumeMargin(s.floor) && s.preallocate():
		s.paused = false
		s.log.Info("disk space available again: ingestion resumed", "data_dir", s.cfg.Store.Dir(),
			"free", humanize.IBytes(free), "min_free", humanize.IBytes(s.floor), "held_commits", len(s.pending))
		s.schedule(ctx)
	}
	if m := s.cfg.Metrics; m != nil && !s.paused {
		m.StorePaused.Set(0) // also after a restart that found space again
	}
}

// resumeUnmeasured resumes a store paused by an ENOSPC from Badger where
// free space cannot be measured: the held commits are tried again at the
// next check, and a disk still full pauses it again.
func (s *StoreActor) resumeUnmeasured(ctx actor.Context) {
	if !s.paused {
		return
	}
	s.paused = false
	s.log.Info("retrying the held commits after a full disk (free space cannot be measured here)", "held_commits", len(s.pending))
	if m := s.cfg.Metrics; m != nil {
		m.StorePaused.Set(0)
	}
	s.schedule(ctx)
}

// noSpace reports whether err says the filesystem is full. Badger wraps
// some errors as text only (y.Wrapf formats with %+v), so the message is
// checked too.
func noSpace(err error) bool {
	return err != nil && (errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error()))
}

// resumeMargin is how far above the floor free space must rise before a
// paused store resumes: a tenth of the floor, at most 64 MiB.
func resumeMargin(floor uint64) uint64 { return min(floor/10, 64<<20) }

func (s *StoreActor) pause(why string) {
	if s.paused {
		return
	}
	s.paused = true
	if s.gcCancel != nil {
		s.gcCancel() // a running GC stops after the file in hand
	}
	if m := s.cfg.Metrics; m != nil {
		m.StorePaused.Set(1)
	}
	s.log.Warn("disk nearly full: ingestion paused; free space on that filesystem (or lower [store] min_free) and sessiond resumes by itself, losing nothing",
		"reason", why, "data_dir", s.cfg.Store.Dir(), "free", humanize.IBytes(s.free), "min_free", humanize.IBytes(s.floor))
}

// preallocate allocates new memtable logs; it reports false (and pauses)
// when the filesystem has no room for them.
func (s *StoreActor) preallocate() bool {
	if s.space == nil {
		return true
	}
	err := s.space.Preallocate()
	switch {
	case err == nil:
		return true
	case noSpace(err):
		s.pause("no space left to allocate the store's write-ahead log")
		return false
	default:
		if msg := err.Error(); msg != s.spaceErr {
			s.spaceErr = msg
			s.log.Warn("cannot preallocate the store's write-ahead log", "err", err)
		}
		return true
	}
}

func (s *StoreActor) countConflict() {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.StoreConflictsTotal.Inc()
	}
}

func (s *StoreActor) countError() {
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
