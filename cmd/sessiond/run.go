package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
)

func (a *app) runCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground until SIGINT/SIGTERM",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.run(cmd.Context()) },
	}
	cmd.Flags().StringVar(&a.rf.listen, "listen", "127.0.0.1:9791", "address of the HTTP API and /metrics (env SESSIOND_LISTEN)")
	cmd.Flags().DurationVar(&a.rf.idleTimeout, "idle-timeout", 10*time.Minute, "a session without new records for this long is completed (env SESSIOND_IDLE_TIMEOUT)")
	return cmd
}

func (a *app) run(ctx context.Context) error {
	c, err := a.startCore(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Run.Listen)
	if err != nil {
		_ = c.stop(context.Background())
		return fmt.Errorf("listen on %s: %w (is another program using it? choose another with --listen)", a.cfg.Run.Listen, err)
	}
	var ready atomic.Bool
	// API streams end when shutdown begins, so Server.Shutdown need not wait for them.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler: api.NewHandler(api.Config{
			Store: c.store, Hub: c.tree.Hub, NotFound: persistence.ErrSessionNotFound,
			Status:  func(ctx context.Context) (any, error) { return a.daemonStatus(ctx, c) },
			Metrics: c.metrics.Handler(), Ready: ready.Load, Logger: a.log, Done: baseCtx.Done(),
		}),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	var names []string
	for _, s := range c.setups {
		names = append(names, string(s.Provider.ID()))
	}
	a.log.Info("sessiond running", "listen", ln.Addr().String(), "data_dir", a.cfg.DataDir, "providers", names, "version", version)
	go func() {
		// ready once every provider has caught up with what is on disk
		if _, err := c.tree.AwaitIdle(baseCtx); err == nil {
			// The catch-up's garbage need not stay resident while idle.
			debug.FreeOSMemory()
			ready.Store(true)
			a.log.Info("initial scan complete; ready")
		}
	}()

	select {
	case <-ctx.Done():
	case err := <-srvDone:
		a.log.Error("HTTP server stopped", "err", err)
	}
	exitOnSecondSignal(a.log)
	a.log.Info("shutting down", "deadline", a.cfg.Run.ShutdownTimeout.Duration)
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Run.ShutdownTimeout.Duration)
	defer cancel()
	ready.Store(false)
	err = c.stop(sctx)
	cancelBase()
	if herr := srv.Shutdown(sctx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("stop HTTP server: %w", herr))
	}
	if err != nil {
		return err
	}
	a.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// statusView is the body of /api/v1/status and `sessiond status --json`.
type statusView struct {
	Version       string                    `json:"version"`
	Running       bool                      `json:"running"`
	UptimeSeconds float64                   `json:"uptime_seconds"`
	DataDir       string                    `json:"data_dir"`
	Store         storeStatus               `json:"store"`
	EventHead     uint64                    `json:"event_head"`
	Providers     []messages.ProviderStatus `json:"providers"`
}

type storeStatus struct {
	LSMBytes  int64 `json:"lsm_bytes"`
	VlogBytes int64 `json:"vlog_bytes"`
	DiskBytes int64 `json:"disk_bytes"`
	Sessions  int   `json:"sessions"`
	// Paused: the data dir's filesystem is below its free-space floor and
	// commits are held (HeldCommits) until it is not.
	Paused       bool   `json:"paused"`
	FreeBytes    uint64 `json:"free_bytes"`
	MinFreeBytes uint64 `json:"min_free_bytes"`
	HeldCommits  int    `json:"held_commits"`
}

func (a *app) daemonStatus(ctx context.Context, c *core) (any, error) {
	head, _ := c.store.Head()
	lsm, vlog := c.store.Size()
	v := statusView{
		Version: version, Running: true, UptimeSeconds: time.Since(c.started).Seconds(), DataDir: a.cfg.DataDir,
		Store:     storeStatus{LSMBytes: lsm, VlogBytes: vlog, DiskBytes: c.store.DiskUsage()},
		EventHead: head,
	}
	if recs, err := c.store.Sessions(persistence.Filter{}); err == nil {
		v.Store.Sessions = len(recs)
	}
	if res, err := c.sys.Root.RequestFuture(c.tree.Store, &messages.StoreStatusRequest{}, 5*time.Second).Result(); err == nil {
		if ss, ok := res.(*messages.StoreStatus); ok {
			v.Store.Paused, v.Store.FreeBytes, v.Store.MinFreeBytes, v.Store.HeldCommits = ss.Paused, ss.FreeBytes, ss.MinFreeBytes, ss.HeldCommits
		}
	}
	v.Providers = c.tree.ProviderStatus(ctx)
	return v, nil
}

// exitOnSecondSignal makes the next SIGINT/SIGTERM exit at once (130),
// for a shutdown that takes too long.
func exitOnSecondSignal(log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		log.Warn("second signal: exiting without finishing shutdown")
		os.Exit(130)
	}()
}
