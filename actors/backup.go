package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
)

// BackupConfig configures the automatic backups.
type BackupConfig struct {
	Store *persistence.Store
	// Dir receives the backups (<data_dir>/backups).
	Dir string
	// Interval between backups (> 0); the first is written one interval
	// after the start.
	Interval time.Duration
	// Keep is how many backups are kept (at least 1): older ones are deleted.
	Keep    int
	Metrics *metrics.Metrics // optional: sessiond_backups_total{result}
	Logger  *slog.Logger
}

// BackupActor writes a full backup of the store every Interval into
// Dir/sessiond-<UTC time>.bak (atomically: temp file, fsync, rename) and
// deletes the oldest beyond Keep. The blocking work runs in a goroutine the
// actor owns: started with the actor, cancelled (the backup in hand
// aborts at its next write) and awaited when it stops. Failures are logged
// and counted; the next tick tries again.
type BackupActor struct {
	cfg    BackupConfig
	log    *slog.Logger
	total  *prometheus.CounterVec
	cancel context.CancelFunc
	done   chan struct{}
}

// BackupPrefix and BackupSuffix frame the automatic backups' file names.
const (
	BackupPrefix = "sessiond-"
	BackupSuffix = ".bak"
)

// NewBackupActor returns the producer of the backup actor.
func NewBackupActor(cfg BackupConfig) actor.Producer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Keep = max(cfg.Keep, 1)
	var total *prometheus.CounterVec
	if cfg.Metrics != nil {
		total = backupsTotal(cfg.Metrics.Registry())
	}
	return func() actor.Actor {
		return &BackupActor{cfg: cfg, log: cfg.Logger.With("actor", "backup"), total: total}
	}
}

// backupsTotal registers sessiond_backups_total{result} once per registry.
func backupsTotal(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Name:      "backups_total",
		Help:      "Automatic backups written (result=ok) or failed (result=error).",
	}, []string{"result"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return prev
			}
		}
		return nil
	}
	c.WithLabelValues("ok")
	c.WithLabelValues("error")
	return c
}

// Receive routes messages.
func (a *BackupActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *messages.BackupDone:
		a.onDone(m)
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	case *actor.Stopped:
	default:
		unhandled(a.log, m)
	}
}

func (a *BackupActor) start(ctx actor.Context) {
	if err := os.MkdirAll(a.cfg.Dir, 0o700); err != nil {
		a.log.Error("cannot create the backup directory; automatic backups are off", "dir", a.cfg.Dir, "err", err)
		a.count("error")
		return
	}
	removeTemps(a.cfg.Dir, a.log)
	gctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	root, self := ctx.ActorSystem().Root, ctx.Self()
	go a.loop(gctx, func(m *messages.BackupDone) { root.Send(self, m) })
}

// stop cancels the loop and waits for it: a backup in hand aborts at its
// next write.
func (a *BackupActor) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	<-a.done
	a.cancel, a.done = nil, nil
}

func (a *BackupActor) loop(ctx context.Context, report func(*messages.BackupDone)) {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m := a.backup(ctx, now.UTC())
			if ctx.Err() != nil {
				return
			}
			report(m)
		}
	}
}

// backup writes one backup and prunes the oldest (runs on the loop goroutine).
func (a *BackupActor) backup(ctx context.Context, now time.Time) *messages.BackupDone {
	name := BackupPrefix + now.Format("20060102T150405.000Z") + BackupSuffix
	path := filepath.Join(a.cfg.Dir, name)
	size, err := a.cfg.Store.BackupToFile(ctx, path)
	if err != nil {
		return &messages.BackupDone{Path: path, Err: err}
	}
	pruned, err := pruneBackups(a.cfg.Dir, a.cfg.Keep)
	return &messages.BackupDone{Path: path, Size: size, Pruned: pruned, Err: err}
}

func (a *BackupActor) onDone(m *messages.BackupDone) {
	if m.Err != nil {
		a.log.Error("automatic backup failed; the next one is tried at the next interval", "path", m.Path, "err", m.Err)
		a.count("error")
		return
	}
	a.count("ok")
	a.log.Info("automatic backup written", "path", m.Path, "bytes", m.Size, "deleted_old", len(m.Pruned))
}

func (a *BackupActor) count(result string) {
	if a.total != nil {
		a.total.WithLabelValues(result).Inc()
	}
}

// ListBackups returns the automatic backups in dir, oldest first.
func ListBackups(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		n := e.Name()
		if !e.IsDir() && strings.HasPrefix(n, BackupPrefix) && strings.HasSuffix(n, BackupSuffix) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out) // the UTC timestamps sort as text
	return out, nil
}

func pruneBackups(dir string, keep int) ([]string, error) {
	all, err := ListBackups(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var pruned []string
	for len(all) > keep {
		if err := os.Remove(all[0]); err != nil {
			return pruned, fmt.Errorf("delete old backup: %w", err)
		}
		pruned = append(pruned, all[0])
		all = all[1:]
	}
	return pruned, nil
}

// removeTemps deletes the temporary files of backups interrupted by a crash.
func removeTemps(dir string, log *slog.Logger) {
	m, _ := filepath.Glob(filepath.Join(dir, "."+BackupPrefix+"*"+BackupSuffix+".tmp-*"))
	for _, p := range m {
		if err := os.Remove(p); err == nil {
			log.Info("removed an interrupted backup", "path", p)
		}
	}
}
