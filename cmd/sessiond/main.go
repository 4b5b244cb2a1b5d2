// Command sessiond captures the sessions of AI coding agents: it follows
// their log files, keeps every session with exact token usage in an embedded
// store with an ordered event log, exports Prometheus metrics and serves a
// loopback API. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sessiond/sessiond/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// app holds what every command shares.
type app struct {
	cfg    config.Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	home   string

	// flags
	configFile  string
	dataDir     string
	logLevel    string
	logFormat   string
	rf          runFlags
	cpuProfile  string
	memProfile  string
	stopProfile func()
	jsonOut     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := a.root().ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "sessiond",
		Short:         "Capture the sessions of AI coding agents, exactly and live",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.dataDir, "data-dir", "", "data directory (env SESSIOND_DATA_DIR; default $XDG_DATA_HOME/sessiond or ~/.local/share/sessiond)")
	f.StringVar(&a.configFile, "config", "", "TOML config file (env SESSIOND_CONFIG; optional)")
	f.StringVar(&a.logLevel, "log-level", "", "log level: debug|info|warn|error (default info)")
	f.StringVar(&a.logFormat, "log-format", "", "log format: text|json (default text)")
	f.StringVar(&a.cpuProfile, "cpu-profile", "", "write a CPU profile of the command to FILE")
	_ = f.MarkHidden("cpu-profile")
	f.StringVar(&a.memProfile, "mem-profile", "", "write an allocation profile of the command to FILE")
	_ = f.MarkHidden("mem-profile")
	root.PersistentPostRunE = func(*cobra.Command, []string) error {
		if a.stopProfile != nil {
			a.stopProfile()
		}
		if a.memProfile != "" {
			f, err := os.Create(a.memProfile)
			if err != nil {
				return fmt.Errorf("--mem-profile: %w", err)
			}
			defer f.Close()
			return pprof.Lookup("allocs").WriteTo(f, 0)
		}
		return nil
	}
	root.AddCommand(a.runCmd(), a.scanCmd(), a.sessionsCmd(), a.statsCmd(), a.eventsCmd(), a.statusCmd())
	root.AddCommand(a.storeCmd(), a.backupCmd(), a.restoreCmd())
	return root
}

// setup loads the configuration (defaults < file < env < flags) and the logger.
func (a *app) setup(cmd *cobra.Command) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("find home directory: %w (set HOME)", err)
	}
	a.home = home
	a.cfg = config.Default(home, a.getenv)
	file := a.configFile
	if file == "" {
		file = a.getenv("SESSIOND_CONFIG")
	}
	if file != "" {
		if err := a.cfg.LoadFile(file); err != nil {
			return err
		}
	}
	if err := a.cfg.LoadEnv(a.getenv); err != nil {
		return err
	}
	if a.dataDir != "" {
		a.cfg.DataDir = a.dataDir
	}
	if a.logLevel != "" {
		a.cfg.Log.Level = a.logLevel
	}
	if a.logFormat != "" {
		a.cfg.Log.Format = a.logFormat
	}
	if err := a.applyCommandFlags(cmd); err != nil {
		return err
	}
	if err := a.cfg.Validate(); err != nil {
		return err
	}
	a.log = newLogger(a.stderr, a.cfg.Log)
	if a.cpuProfile != "" {
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		a.stopProfile = func() { pprof.StopCPUProfile(); _ = f.Close() }
	}
	return nil
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
