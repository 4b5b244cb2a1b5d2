package actors_test

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// fakeSpace is a filesystem whose free space the test sets.
type fakeSpace struct {
	free     atomic.Uint64
	noRoom   atomic.Bool // Preallocate fails with ENOSPC
	prealloc atomic.Int64
}

func (f *fakeSpace) Free() (free, total uint64, err error) { return f.free.Load(), 1 << 30, nil }

func (f *fakeSpace) Preallocate() error {
	f.prealloc.Add(1)
	if f.noRoom.Load() {
		return fmt.Errorf("allocate memtable log: %w", syscall.ENOSPC)
	}
	return nil
}

type spaceEnv struct {
	t     *testing.T
	st    *persistence.Store
	sys   *actor.ActorSystem
	store *actor.PID
	m     *metrics.Metrics
	space *fakeSpace
	n     int
}

const testFloor = 100 << 20

func newSpaceEnv(t *testing.T) *spaceEnv { return newSpaceEnvIdle(t, time.Hour) }

func newSpaceEnvIdle(t *testing.T, idle time.Duration) *spaceEnv {
	t.Helper()
	st, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	e := &spaceEnv{t: t, st: st, m: metrics.New("test"), space: &fakeSpace{}}
	e.space.free.Store(1 << 30)
	e.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	e.store = e.sys.Root.Spawn(actor.PropsFromProducer(actors.NewStoreActor(actors.StoreConfig{
		Store: st, Metrics: e.m, Space: e.space, SpaceEvery: 5 * time.Millisecond, SweepEvery: 5 * time.Millisecond,
		MinFree: func(uint64) uint64 { return testFloor },
	})))
	t.Cleanup(func() {
		_ = e.sys.Root.PoisonFuture(e.store).Wait()
		_ = st.Close()
	})
	return e
}

// commit sends one new session's commit; the answer arrives on the channel.
func (e *spaceEnv) commit() <-chan persistence.Result {
	e.n++
	k := session.Key{Provider: session.ClaudeCode, ID: session.ID(fmt.Sprintf("s%03d", e.n))}
	d := session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}
	d.Observe(time.Now())
	f := e.sys.Root.RequestFuture(e.store, &messages.CommitSession{Commit: persistence.Commit{
		Key: k, Files: []persistence.FileUpdate{{Checkpoint: session.Checkpoint{Path: "/f" + string(k.ID), Offset: 1, Size: 1}, Delta: d}},
	}}, 30*time.Second)
	ch := make(chan persistence.Result, 1)
	go func() {
		res, err := f.Result()
		if err != nil {
			ch <- persistence.Result{Err: err}
			return
		}
		ch <- res.(*messages.CommitSessionResult).Result
	}()
	return ch
}

func (e *spaceEnv) status() *messages.StoreStatus {
	e.t.Helper()
	res, err := e.sys.Root.RequestFuture(e.store, &messages.StoreStatusRequest{}, 5*time.Second).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return res.(*messages.StoreStatus)
}

func (e *spaceEnv) waitStatus(what string, cond func(*messages.StoreStatus) bool) *messages.StoreStatus {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s: %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStoreHoldsCommitsBelowTheFloorAndResumes(t *testing.T) {
	e := newSpaceEnv(t)
	if r := <-e.commit(); r.Err != nil {
		t.Fatal(r.Err)
	}
	head, _ := e.st.Head()

	e.space.free.Store(testFloor - 1)
	held := []<-chan persistence.Result{e.commit(), e.commit()}
	st := e.waitStatus("two commits are held", func(s *messages.StoreStatus) bool { return s.Paused && s.HeldCommits == 2 })
	if st.FreeBytes != testFloor-1 || st.MinFreeBytes != testFloor {
		t.Fatalf("status: %+v", st)
	}
	if v := testutil.ToFloat64(e.m.StorePaused); v != 1 {
		t.Fatalf("sessiond_store_paused = %v while paused", v)
	}
	if v := testutil.ToFloat64(e.m.StoreMinFreeBytes); v != testFloor {
		t.Fatalf("sessiond_store_min_free_bytes = %v", v)
	}
	// above the floor but within the margin: still paused
	e.space.free.Store(testFloor + 1)
	e.waitStatus("a check saw the new free space", func(s *messages.StoreStatus) bool { return s.FreeBytes == testFloor+1 })
	if st := e.status(); !st.Paused || st.HeldCommits != 2 {
		t.Fatalf("resumed within the margin: %+v", st)
	}
	for _, ch := range held {
		select {
		case r := <-ch:
			t.Fatalf("a held commit was answered while paused: %+v", r)
		default:
		}
	}
	if h, _ := e.st.Head(); h != head {
		t.Fatalf("event head moved from %d to %d while paused", head, h)
	}

	e.space.free.Store(2 * testFloor)
	for i, ch := range held {
		select {
		case r := <-ch:
			if r.Err != nil || len(r.Events) != 1 {
				t.Fatalf("held commit %d: %+v", i, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("held commit %d not applied after resuming", i)
		}
	}
	if st := e.status(); st.Paused || st.HeldCommits != 0 {
		t.Fatalf("after resuming: %+v", st)
	}
	if v := testutil.ToFloat64(e.m.StorePaused); v != 0 {
		t.Fatalf("sessiond_store_paused = %v after resuming", v)
	}
	if h, _ := e.st.Head(); h != head+2 {
		t.Fatalf("event head %d, want %d", h, head+2)
	}
}

func TestStoreWithoutRoomForItsLogPauses(t *testing.T) {
	e := newSpaceEnv(t)
	if r := <-e.commit(); r.Err != nil {
		t.Fatal(r.Err)
	}
	// the next batch starts a memtable log the filesystem cannot back: the
	// batch itself is written (the log it began in is allocated), and the
	// store pauses before the next
	e.space.noRoom.Store(true)
	if r := <-e.commit(); r.Err != nil {
		t.Fatal(r.Err)
	}
	ch := e.commit()
	e.waitStatus("the commit is held", func(s *messages.StoreStatus) bool { return s.Paused && s.HeldCommits == 1 })
	// plenty of free space, but the log still cannot be allocated
	calls := e.space.prealloc.Load()
	e.waitStatus("the store retried the allocation", func(*messages.StoreStatus) bool { return e.space.prealloc.Load() > calls+2 })
	if st := e.status(); !st.Paused {
		t.Fatalf("resumed without its log allocated: %+v", st)
	}
	e.space.noRoom.Store(false)
	select {
	case r := <-ch:
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held commit not applied")
	}
}

func TestStoreStoppedWhilePausedAnswersClosed(t *testing.T) {
	e := newSpaceEnv(t)
	e.space.free.Store(0)
	ch := e.commit()
	e.waitStatus("the commit is held", func(s *messages.StoreStatus) bool { return s.Paused && s.HeldCommits == 1 })
	if err := e.sys.Root.PoisonFuture(e.store).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if !errors.Is(r.Err, persistence.ErrClosed) {
			t.Fatalf("held commit answered %v, want ErrClosed", r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held commit not answered at stop")
	}
	if h, _ := e.st.Head(); h != 0 {
		t.Fatalf("a held commit was written: head %d", h)
	}
}

func TestStoreCompletesNoSessionWhilePaused(t *testing.T) {
	const idle = 200 * time.Millisecond
	e := newSpaceEnvIdle(t, idle)
	if r := <-e.commit(); r.Err != nil {
		t.Fatal(r.Err)
	}
	k := session.Key{Provider: session.ClaudeCode, ID: "s001"}
	e.space.free.Store(0)
	e.waitStatus("paused", func(s *messages.StoreStatus) bool { return s.Paused })
	// a sweep every 5 ms: long past the idle timeout, nothing is written
	time.Sleep(3 * idle)
	if r, err := e.st.Session(k); err != nil || r.Status != session.StatusActive {
		t.Fatalf("while paused: %s %v", r.Status, err)
	}
	e.space.free.Store(1 << 30)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := e.st.Session(k)
		if err == nil && r.Status == session.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not completed after resuming: %s %v", r.Status, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
