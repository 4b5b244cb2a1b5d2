package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/config"
)

// Every provider of the build can be named in the config, and only those.
func TestProvidersMatchConfig(t *testing.T) {
	var ids []string
	for _, p := range allProviders() {
		ids = append(ids, string(p.ID()))
	}
	slices.Sort(ids)
	known := slices.Clone(config.KnownProviders)
	slices.Sort(known)
	if !slices.Equal(ids, known) {
		t.Fatalf("providers %v, config knows %v", ids, known)
	}
}

// sessiond's own data dir creates ~/.local/share; that must not make
// OpenCode (whose root is ~/.local/share/opencode) look installed, while an
// agent's own directory (~/.claude for the lazily created
// ~/.claude/projects) still counts.
func TestProviderPresentOnlyWithItsOwnDirectory(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{".local/share/sessiond", ".claude", ".config"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a := &app{home: home, getenv: func(string) string { return "" }, log: slog.New(slog.DiscardHandler)}
	a.cfg = config.Default(home, a.getenv)
	var got []string
	for _, s := range a.enabledProviders() {
		got = append(got, string(s.Provider.ID()))
	}
	if !slices.Equal(got, []string{"claude-code"}) {
		t.Fatalf("enabled %v, want only claude-code", got)
	}
	if err := os.MkdirAll(filepath.Join(home, ".local/share/opencode"), 0o755); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, s := range a.enabledProviders() {
		got = append(got, string(s.Provider.ID()))
	}
	if !slices.Contains(got, "opencode") {
		t.Fatalf("enabled %v, want opencode once its directory exists", got)
	}
}
