package actors_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

func backupsTotal(t *testing.T, m *metrics.Metrics, result string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sessiond_backups_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBackupActorRotates: backups are written every interval, the newest
// Keep are kept, each one restores, and stopping the actor stops its
// goroutine (goleak).
func TestBackupActorRotates(t *testing.T) {
	dir := t.TempDir()
	st, err := persistence.Open(filepath.Join(dir, "data"), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := session.Key{Provider: session.ClaudeCode, ID: "a"}
	if r := st.Apply([]persistence.Op{&persistence.Commit{Key: k, Files: []persistence.FileUpdate{{
		Checkpoint: session.Checkpoint{Path: "/a", Offset: 1, Size: 1},
		Delta:      session.Delta{Counts: session.Counts{UserMessages: 4}, FirstAt: time.Unix(1700000000, 0).UTC(), LastAt: time.Unix(1700000000, 0).UTC()}, // dated: a session
	}}}})[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
	m := metrics.New("test")
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	bdir := filepath.Join(dir, "data", "backups")
	pid := sys.Root.Spawn(actor.PropsFromProducer(actors.NewBackupActor(actors.BackupConfig{
		Store: st, Dir: bdir, Interval: 20 * time.Millisecond, Keep: 2, Metrics: m,
	})))
	waitFor(t, "4 backups", func() bool { return backupsTotal(t, m, "ok") >= 4 })
	if err := sys.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := actors.ListBackups(bdir)
	if err != nil || len(got) != 2 {
		t.Fatalf("backups kept: %v, %v; want 2", got, err)
	}
	if m, _ := filepath.Glob(filepath.Join(bdir, ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	f, err := os.Open(got[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst, err := persistence.Open(filepath.Join(dir, "restored"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Restore(f); err != nil {
		t.Fatal(err)
	}
	if r, err := dst.Session(k); err != nil || r.UserMessages != 4 {
		t.Fatalf("restored = %+v, %v", r, err)
	}
}

// TestBackupActorCountsFailures: a backup that fails (the store is closed)
// is counted and leaves no file behind; the actor keeps running.
func TestBackupActorCountsFailures(t *testing.T) {
	dir := t.TempDir()
	st, err := persistence.Open(filepath.Join(dir, "data"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	m := metrics.New("test")
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	bdir := filepath.Join(dir, "backups")
	pid := sys.Root.Spawn(actor.PropsFromProducer(actors.NewBackupActor(actors.BackupConfig{Store: st, Dir: bdir, Interval: 10 * time.Millisecond, Keep: 1, Metrics: m})))
	waitFor(t, "2 failures", func() bool { return backupsTotal(t, m, "error") >= 2 })
	if err := sys.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(bdir); len(es) != 0 {
		t.Errorf("a failed backup left files: %v", es)
	}
}
