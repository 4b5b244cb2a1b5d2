package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/netutil"

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
	remote, err := a.checkListen(ctx)
	if err != nil {
		return err
	}
	c, err := a.startCore(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Run.Listen)
	if err != nil {
		_ = c.stop(context.Background())
		return listenError(a.cfg.Run.Listen, err)
	}
	// Past max_conns, connections wait in the kernel's accept queue: idle
	// clients cannot take the descriptors the daemon needs for its files.
	ln = netutil.LimitListener(ln, a.cfg.API.MaxConns)
	id, err := newIdentity(a.cfg.DataDir, ln.Addr().String())
	if err == nil {
		err = writeIdentity(a.cfg.DataDir, id)
	}
	if err != nil {
		_ = ln.Close()
		_ = c.stop(context.Background())
		return err
	}
	defer func() {
		if err := removeIdentity(a.cfg.DataDir, id); err != nil {
			a.log.Warn("could not remove the daemon file", "err", err)
		}
	}()
	if remote {
		a.log.Warn("the API listens on a non-loopback address: other machines can reach it; every route but /healthz requires the [api] token",
			"listen", ln.Addr().String())
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
			Identity: id, Token: a.cfg.API.Token, AllowedHosts: a.cfg.API.AllowedHosts, AllowRemote: a.cfg.API.AllowRemote,
		}),
		ReadHeaderTimeout: 5 * time.Second,
		// Idle keep-alive connections are closed, freeing their slot of
		// max_conns and their descriptor.
		IdleTimeout: 60 * time.Second,
		BaseContext: func(net.Listener) context.Context { return baseCtx },
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
	// The API stops first: a request in flight (a backup streams for
	// minutes) must not read Badger while the store closes. Cancelling
	// the base context ends streams and backups at their next write.
	cancelBase()
	herr := srv.Shutdown(sctx)
	err = c.stop(sctx)
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("stop HTTP server: %w", herr))
	}
	if err != nil {
		return err
	}
	a.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// checkListen resolves the listen address and refuses a non-loopback one
// unless [api] allow_remote and a token allow it; remote reports whether the
// API will be reachable from other machines.
func (a *app) checkListen(ctx context.Context) (remote bool, err error) {
	addr := a.cfg.Run.Listen
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen on %s: %w: set --listen to host:port", addr, err)
	}
	var ips []netip.Addr
	switch ip, perr := netip.ParseAddr(host); {
	case host == "":
		remote = true // every interface
	case perr == nil:
		ips = []netip.Addr{ip}
	default:
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ips, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		if err != nil {
			return false, fmt.Errorf("listen on %s: cannot resolve host %q (%w): set --listen to host:port with a resolvable host or an IP address", addr, host, err)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			remote = true
		}
	}
	if remote && !(a.cfg.API.AllowRemote && a.cfg.API.Token != "") {
		return true, fmt.Errorf("listen on %s: %w: other machines could read every session; set [api] allow_remote = true and an [api] token (or SESSIOND_API_ALLOW_REMOTE=true and SESSIOND_API_TOKEN) to allow it, or listen on 127.0.0.1",
			addr, errRemoteListen)
	}
	return remote, nil
}

// errRemoteListen refuses a non-loopback listen address without
// [api] allow_remote and a token.
var errRemoteListen = errors.New("not a loopback address")

// listenError explains a failed listen; only "address in use" suggests
// that another program holds the port.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: %w (is another program using it? choose another with --listen)", addr, err)
	}
	return fmt.Errorf("listen on %s: %w: set --listen to a host:port this machine can bind", addr, err)
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

// storeStatus sizes are bytes allocated on disk (as du counts them).
type storeStatus struct {
	LSMBytes  int64  `json:"lsm_bytes"`
	VlogBytes int64  `json:"vlog_bytes"`
	DiskBytes int64  `json:"disk_bytes"`
	Sessions  int    `json:"sessions"`
	Error     string `json:"error,omitempty"`
	// Paused: the data dir's filesystem is below its free-space floor and
	// commits are held (HeldCommits) until it is not.
	Paused       bool   `json:"paused"`
	FreeBytes    uint64 `json:"free_bytes"`
	MinFreeBytes uint64 `json:"min_free_bytes"`
	HeldCommits  int    `json:"held_commits"`
	// RebuildNeeded: figures counted by an older sessiond that only
	// `sessiond store rebuild` corrects (persistence.Store.StaleClaims).
	RebuildNeeded bool `json:"rebuild_needed,omitempty"`
}

func (a *app) daemonStatus(ctx context.Context, c *core) (any, error) {
	head, _ := c.store.Head()
	v := statusView{
		Version: version, Running: true, UptimeSeconds: time.Since(c.started).Seconds(), DataDir: a.cfg.DataDir,
		EventHead: head,
	}
	v.Store, v.Providers = storeView(c.store, c.tree.ProviderStatus(ctx), false)
	ss, err := c.tree.StoreStatus(ctx)
	if err != nil {
		v.Store.Error = fmt.Sprintf("store actor: %v", err) // not "not paused": unknown
	} else {
		v.Store.Paused, v.Store.FreeBytes, v.Store.MinFreeBytes, v.Store.HeldCommits = ss.Paused, ss.FreeBytes, ss.MinFreeBytes, ss.HeldCommits
	}
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
