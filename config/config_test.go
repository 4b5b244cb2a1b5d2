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
