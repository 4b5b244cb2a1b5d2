// Package config loads sessiond's settings: defaults, then a TOML file, then
// SESSIOND_* environment variables, then command-line flags (applied by
// cmd/sessiond). Each component has its own struct with defaults and
// Validate.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/pelletier/go-toml/v2"
)

// Duration is a time.Duration that reads "10m" style strings from TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	d.Duration = v
	return nil
}

// MarshalText renders the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is every setting.
type Config struct {
	DataDir   string    `toml:"data_dir"`
	Log       Log       `toml:"log"`
	Run       Run       `toml:"run"`
	Watch     Watch     `toml:"watch"`
	Store     Store     `toml:"store"`
	API       API       `toml:"api"`
	Providers Providers `toml:"providers"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`  // debug|info|warn|error
	Format string `toml:"format"` // text|json
}

// Run configures the daemon.
type Run struct {
	Listen          string   `toml:"listen"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	PassivateAfter  Duration `toml:"passivate_after"`
	// MaxLineBytes bounds one record of an append-only log: a longer line
	// is skipped and counted as malformed (default 64 MiB).
	MaxLineBytes int64 `toml:"max_line_bytes"`
}

// Store configures the data directory's safety nets.
type Store struct {
	// MinFree pauses ingestion while the data dir's filesystem has less
	// free space than this: a size ("256MiB", "2GB") or a share of the
	// filesystem ("1%"). Empty: 256 MiB or 1 % of the filesystem,
	// whichever is larger, but at most a tenth of a small filesystem (see
	// MinFreeBytes).
	MinFree string `toml:"min_free"`
	// BackupInterval > 0 makes the daemon write a full backup this often
	// into <data_dir>/backups (off by default).
	BackupInterval Duration `toml:"backup_interval"`
	// BackupKeep is how many automatic backups are kept (default 3).
	BackupKeep int `toml:"backup_keep"`
}

// DefaultMinFree is the free-space floor when store.min_free is unset, with
// DefaultMinFreePercent of the filesystem when that is larger.
const (
	DefaultMinFree        = 256 << 20
	DefaultMinFreePercent = 1.0
)

// MinFreeBytes is the free-space floor in bytes on a filesystem of total
// bytes. The setting must have passed Validate.
func (s Store) MinFreeBytes(total uint64) uint64 {
	v := strings.TrimSpace(s.MinFree)
	if v == "" {
		// On a filesystem too small for 256 MiB to make sense (a small
		// container volume, a tmpfs) a tenth of it, so the daemon does not
		// wait for space that can never be freed.
		return max(min(DefaultMinFree, total/10), uint64(float64(total)*DefaultMinFreePercent/100))
	}
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		f, _ := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		return uint64(float64(total) * f / 100)
	}
	n, _ := humanize.ParseBytes(v)
	return n
}

func (s Store) validate(bad func(setting, format string, a ...any)) {
	if v := strings.TrimSpace(s.MinFree); v != "" {
		if pct, ok := strings.CutSuffix(v, "%"); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64); err != nil || f < 0 || f >= 100 {
				bad("store.min_free", "%q is not a percentage from 0%% to 99%%", s.MinFree)
			}
		} else if _, err := humanize.ParseBytes(v); err != nil {
			bad("store.min_free", "%q is not a size such as \"256MiB\" or a percentage such as \"1%%\"", s.MinFree)
		}
	}
	if s.BackupInterval.Duration < 0 || s.BackupInterval.Duration > 0 && s.BackupInterval.Duration < time.Minute {
		bad("store.backup_interval", "%s: use 0 (off) or at least 1m", s.BackupInterval)
	}
	if s.BackupKeep < 1 {
		bad("store.backup_keep", "%d: keep at least 1 backup", s.BackupKeep)
	}
}

// API configures the HTTP API.
type API struct {
	// AllowRemote permits a non-loopback listen address; Token is then
	// required on every route but /healthz (Authorization: Bearer).
	AllowRemote bool   `toml:"allow_remote"`
	Token       string `toml:"token"`
	// AllowedHosts are extra Host header names (besides loopback ones) the
	// API answers, e.g. a reverse proxy's name.
	AllowedHosts []string `toml:"allowed_hosts"`
	// MaxConns bounds the open API connections (default 64), keeping file
	// descriptors for the daemon's own work.
	MaxConns int `toml:"max_conns"`
}

// MinTokenLength is the shortest accepted [api] token.
const MinTokenLength = 16

// Watch configures file watching.
type Watch struct {
	Reconcile    Duration `toml:"reconcile"`
	PollInterval Duration `toml:"poll_interval"`
	ForcePolling bool     `toml:"force_polling"`
}

// Providers selects and configures agents.
type Providers struct {
	// Enabled lists provider ids; empty means every provider whose root exists.
	Enabled []string `toml:"enabled"`
	// Roots overrides the discovered roots of a provider (by id).
	Roots map[string][]string `toml:"roots"`
}

// ErrInvalid marks a bad setting.
var ErrInvalid = errors.New("invalid configuration")

// Default returns the defaults; home and getenv locate the data dir.
func Default(home string, getenv func(string) string) Config {
	data := filepath.Join(home, ".local", "share", "sessiond")
	if x := getenv("XDG_DATA_HOME"); x != "" {
		data = filepath.Join(x, "sessiond")
	}
	return Config{
		DataDir: data,
		Log:     Log{Level: "info", Format: "text"},
		Run: Run{
			Listen:          "127.0.0.1:9791",
			IdleTimeout:     Duration{10 * time.Minute},
			ShutdownTimeout: Duration{30 * time.Second},
			PassivateAfter:  Duration{2 * time.Minute},
			MaxLineBytes:    64 << 20,
		},
		Store: Store{MinFree: "", BackupKeep: 3},
		API:   API{MaxConns: 64},
		Watch: Watch{Reconcile: Duration{time.Minute}, PollInterval: Duration{2 * time.Second}},
	}
}

// LoadFile reads a TOML file over c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	dec := toml.NewDecoder(strings.NewReader(string(b))).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			// Only the keys and their lines: the decoder's own text quotes
			// the lines around them, which may hold [api] token.
			var keys []string
			for _, e := range sm.Errors {
				row, _ := e.Position()
				keys = append(keys, fmt.Sprintf("%s (line %d)", strings.Join(e.Key(), "."), row))
			}
			return fmt.Errorf("config file %s: %w: unknown setting %s", path, ErrInvalid, strings.Join(keys, ", "))
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// LoadEnv applies SESSIOND_* variables over c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *Duration) error {
		if v := getenv(name); v != "" {
			if err := dst.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%s: %w: %w", name, ErrInvalid, err)
			}
		}
		return nil
	}
	str("SESSIOND_DATA_DIR", &c.DataDir)
	str("SESSIOND_LOG_LEVEL", &c.Log.Level)
	str("SESSIOND_LOG_FORMAT", &c.Log.Format)
	str("SESSIOND_LISTEN", &c.Run.Listen)
	if v := getenv("SESSIOND_PROVIDERS"); v != "" {
		c.Providers.Enabled = splitList(v)
	}
	str("SESSIOND_API_TOKEN", &c.API.Token)
	if v := getenv("SESSIOND_API_ALLOWED_HOSTS"); v != "" {
		c.API.AllowedHosts = splitList(v)
	}
	var errs []error
	if v := getenv("SESSIOND_API_ALLOW_REMOTE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SESSIOND_API_ALLOW_REMOTE=%q: %w: use true or false", v, ErrInvalid))
		}
		c.API.AllowRemote = b
	}
	if v := getenv("SESSIOND_API_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SESSIOND_API_MAX_CONNS=%q: %w: use a number", v, ErrInvalid))
		}
		c.API.MaxConns = n
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if v := getenv("SESSIOND_FORCE_POLLING"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("SESSIOND_FORCE_POLLING=%q: %w: use true or false", v, ErrInvalid)
		}
		c.Watch.ForcePolling = b
	}
	return errors.Join(dur("SESSIOND_IDLE_TIMEOUT", &c.Run.IdleTimeout), dur("SESSIOND_SHUTDOWN_TIMEOUT", &c.Run.ShutdownTimeout))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks every setting and names the bad one.
func (c *Config) Validate() error {
	var errs []error
	bad := func(setting, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %w: %s", setting, ErrInvalid, fmt.Sprintf(format, a...)))
	}
	if c.DataDir == "" {
		bad("data_dir", "empty; set --data-dir or SESSIOND_DATA_DIR")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if _, port, err := net.SplitHostPort(c.Run.Listen); err != nil {
		bad("run.listen", "%q is not host:port (%v)", c.Run.Listen, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("run.listen", "%q: port %q is not a number from 0 to 65535", c.Run.Listen, port)
	}
	if c.Run.IdleTimeout.Duration < time.Second {
		bad("run.idle_timeout", "%s is below 1s", c.Run.IdleTimeout)
	}
	if c.Run.ShutdownTimeout.Duration <= 0 {
		bad("run.shutdown_timeout", "%s: must be positive", c.Run.ShutdownTimeout)
	}
	if c.Run.PassivateAfter.Duration < time.Second {
		bad("run.passivate_after", "%s is below 1s", c.Run.PassivateAfter)
	}
	if c.Run.MaxLineBytes < 1<<10 {
		bad("run.max_line_bytes", "%d is below 1024", c.Run.MaxLineBytes)
	}
	c.Store.validate(bad)
	if c.API.MaxConns < 4 {
		bad("api.max_conns", "%d is below 4", c.API.MaxConns)
	}
	switch {
	case c.API.AllowRemote && c.API.Token == "":
		bad("api.token", "empty: api.allow_remote needs a token (set [api] token or SESSIOND_API_TOKEN)")
	case c.API.Token != "" && len(c.API.Token) < MinTokenLength:
		bad("api.token", "too short (%d characters): use at least %d random characters", len(c.API.Token), MinTokenLength)
	}
	if c.Watch.Reconcile.Duration < 100*time.Millisecond {
		bad("watch.reconcile", "%s is below 100ms", c.Watch.Reconcile)
	}
	if c.Watch.PollInterval.Duration < 10*time.Millisecond {
		bad("watch.poll_interval", "%s is below 10ms", c.Watch.PollInterval)
	}
	for _, p := range c.Providers.Enabled {
		if !Known(p) {
			bad("providers.enabled", "unknown provider %q (known: %s)", p, strings.Join(KnownProviders, ", "))
		}
	}
	for p := range c.Providers.Roots {
		if !Known(p) {
			bad("providers.roots", "unknown provider %q (known: %s)", p, strings.Join(KnownProviders, ", "))
		}
	}
	return errors.Join(errs...)
}

// KnownProviders are the provider ids this build can capture.
var KnownProviders = []string{"claude-code", "codex", "gemini-code", "opencode", "github-copilot", "cursor"}

// Known reports whether p is a provider id of this build.
func Known(p string) bool {
	for _, k := range KnownProviders {
		if k == p {
			return true
		}
	}
	return false
}
