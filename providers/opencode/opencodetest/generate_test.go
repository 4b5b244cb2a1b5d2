package opencodetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestGenerateReproducible(t *testing.T) {
	a, err := Generate(t.TempDir(), Options{TotalBytes: 1 << 20, Seed: 4, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(t.TempDir(), Options{TotalBytes: 1 << 20, Seed: 4, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Sessions, b.Sessions) || a.Rows != b.Rows || len(a.Sessions) == 0 {
		t.Fatalf("same seed, different corpora: %d/%d sessions", len(a.Sessions), len(b.Sessions))
	}
	for id, e := range a.Sessions {
		if e.UserMessages == 0 || e.AssistantMessages < e.UserMessages || e.FirstAt == 0 || e.LastAt < e.FirstAt || e.Output < e.Reasoning {
			t.Errorf("%s: implausible %+v", id, e)
		}
	}
}

func TestAllLegacy(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 256 << 10, Seed: 1, AllLegacy: true})
	if err != nil {
		t.Fatal(err)
	}
	for id := range sum.Sessions {
		if _, err := os.Stat(LegacySessionPath(dir, "global", id)); err != nil {
			t.Errorf("%s: no legacy session file: %v", id, err)
		}
	}
	msgs, _ := filepath.Glob(filepath.Join(dir, "storage", "message", "*", "*.json"))
	parts, _ := filepath.Glob(filepath.Join(dir, "storage", "part", "*", "*.json"))
	if len(msgs) == 0 || len(parts) == 0 || int64(len(msgs)+len(parts)) != sum.Rows {
		t.Errorf("%d message and %d part files, %d rows", len(msgs), len(parts), sum.Rows)
	}
	for _, f := range msgs[:1] {
		var m map[string]any
		data, _ := os.ReadFile(f)
		if err := json.Unmarshal(data, &m); err != nil || m["id"] == nil || m["sessionID"] == nil || m["role"] == nil {
			t.Errorf("legacy message %s: %v %v", f, m, err)
		}
	}
}

func TestWithIDs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"role":"user"}`, `{"id":"m","sessionID":"s","role":"user"}`},
		{` {} `, `{"id":"m","sessionID":"s"}`},
		{`{"role":`, `{"role":`},
		{`[1]`, `[1]`},
		{``, ``},
	} {
		if got := string(withIDs([]byte(tc.in), "id", "m", "sessionID", "s")); got != tc.want {
			t.Errorf("withIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
