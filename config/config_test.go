package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	c := Default("/home/u", env(nil))
	if c.DataDir != "/home/u/.local/share/sessiond" {
		t.Fatalf("default data dir %q", c.DataDir)
	}
	if d := Default("/home/u", env(map[string]string{"XDG_DATA_HOME": "/x"})); d.DataDir != "/x/sessiond" {
		t.Fatalf("XDG data dir %q", d.DataDir)
	}
	f := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(f, []byte("data_dir = \"/file\"\n[run]\nidle_timeout = \"5m\"\nlisten = \"127.0.0.1:1\"\n"), 0o600)
	if err := c.LoadFile(f); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/file" || c.Run.IdleTimeout.Duration != 5*time.Minute {
		t.Fatalf("file not applied: %+v", c)
	}
	if err := c.LoadEnv(env(map[string]string{"SESSIOND_DATA_DIR": "/env", "SESSIOND_IDLE_TIMEOUT": "1m"})); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/env" || c.Run.IdleTimeout.Duration != time.Minute || c.Run.Listen != "127.0.0.1:1" {
		t.Fatalf("env not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(f, []byte("bogus = 1\n"), 0o600)
	c := Default("/h", env(nil))
	if err := c.LoadFile(f); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key: %v", err)
	}
	c.Log.Level = "loud"
	c.Run.Listen = "nope"
	c.Providers.Enabled = []string{"vim"}
	err := c.Validate()
	for _, want := range []string{"log.level", "run.listen", "providers.enabled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := c.LoadEnv(env(map[string]string{"SESSIOND_IDLE_TIMEOUT": "soon"})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad env duration: %v", err)
	}
}

func TestProviderRoots(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(f, []byte("[providers.roots]\nclaude-code = [\"/x/projects\"]\n"), 0o600)
	c := Default("/h", env(nil))
	if err := c.LoadFile(f); err != nil {
		t.Fatal(err)
	}
	if got := c.Providers.Roots["claude-code"]; len(got) != 1 || got[0] != "/x/projects" {
		t.Fatalf("roots = %v", c.Providers.Roots)
	}
	c.Providers.Roots["vim"] = []string{"/v"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "providers.roots") {
		t.Fatalf("unknown provider in roots: %v", err)
	}
}

func TestAPISettings(t *testing.T) {
	c := Default("/h", env(nil))
	err := c.LoadEnv(env(map[string]string{
		"SESSIOND_API_TOKEN": "0123456789abcdef", "SESSIOND_API_ALLOW_REMOTE": "true",
		"SESSIOND_API_ALLOWED_HOSTS": "a.internal, b.internal", "SESSIOND_API_MAX_CONNS": "8",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.API.AllowRemote || c.API.Token != "0123456789abcdef" || c.API.MaxConns != 8 ||
		strings.Join(c.API.AllowedHosts, ",") != "a.internal,b.internal" {
		t.Fatalf("env not applied: %+v", c.API)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.API.Token = "" }, "api.token"},
		{func(c *Config) { c.API.Token = "short" }, "api.token"},
		{func(c *Config) { c.Run.Listen = "127.0.0.1:99999" }, `port "99999"`},
		{func(c *Config) { c.Run.Listen = "127.0.0.1:http" }, `port "http"`},
		{func(c *Config) { c.Run.Listen = "127.0.0.1:" }, `port ""`},
	} {
		c := c
		tc.edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
	for _, bad := range []map[string]string{{"SESSIOND_API_ALLOW_REMOTE": "yes please"}, {"SESSIOND_API_MAX_CONNS": "many"}} {
		c := Default("/h", env(nil))
		if err := c.LoadEnv(env(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// An unknown key is named with its line, never with the lines around it
// (they may hold the API token).
func TestUnknownKeyDoesNotQuoteTheToken(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(f, []byte("[api]\ntoken = \"s3cret-token-0123456789\"\nalow_remote = true\n"), 0o600)
	c := Default("/h", env(nil))
	err := c.LoadFile(f)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "api.alow_remote (line 3)") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %q", err)
	}
}

// The default free-space floor is 256 MiB or 1 %, but at most a tenth of
// a small filesystem.
func TestDefaultMinFree(t *testing.T) {
	var s Store
	for _, c := range []struct{ total, want uint64 }{
		{1 << 40, 1 << 40 / 100},
		{10 << 30, 256 << 20},
		{200 << 20, 20 << 20},
	} {
		if got := s.MinFreeBytes(c.total); got != c.want {
			t.Errorf("MinFreeBytes(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}
