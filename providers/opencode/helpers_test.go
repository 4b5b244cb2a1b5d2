package opencode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
)

const t0 = int64(1772442000000) // 2026-03-02T09:00:00Z

func userData(created int64) []byte {
	return opencodetest.JSON(map[string]any{"role": "user", "time": map[string]int64{"created": created}, "agent": "build"})
}

func assistantData(created int64, model string, in, out int64) []byte {
	return opencodetest.JSON(map[string]any{
		"role": "assistant", "time": map[string]int64{"created": created, "completed": created + 1000},
		"modelID": model, "providerID": "anthropic", "path": map[string]string{"cwd": "/home/dev/shop", "root": "/home/dev/shop"},
		"cost": 0.001, "tokens": map[string]any{"input": in, "output": out, "reasoning": 0, "cache": map[string]int64{"read": 0, "write": 0}},
	})
}

func toolData(status string) []byte {
	return opencodetest.JSON(map[string]any{"type": "tool", "callID": "c", "tool": "bash", "state": map[string]any{"status": status, "input": map[string]any{}}})
}

// newDB creates dataDir/opencode.db (or another name) with one session.
func newDB(t testing.TB, dataDir, name, sid string) *opencodetest.Writer {
	t.Helper()
	w, err := opencodetest.Create(filepath.Join(dataDir, name), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if sid != "" {
		must(t, w.Session(opencodetest.Session{ID: sid, Directory: "/home/dev/shop", Created: t0, Updated: t0}))
	}
	return w
}

// turn writes a user message and an assistant message with a tool part
// (n numbers the messages) into session sid.
func turn(t testing.TB, w *opencodetest.Writer, sid string, n int, in, out int64, status string) {
	t.Helper()
	turnAt(t, w, sid, n, t0, in, out, status)
}

// turnAt is turn with times from base (epoch ms).
func turnAt(t testing.TB, w *opencodetest.Writer, sid string, n int, base, in, out int64, status string) {
	t.Helper()
	at := base + int64(n)*10_000
	uid, aid := fmt.Sprintf("msg_%s_%04du", sid, n), fmt.Sprintf("msg_%s_%04da", sid, n)
	must(t, w.Message(opencodetest.Message{ID: uid, SessionID: sid, Created: at, Updated: at, Data: userData(at)}))
	must(t, w.Message(opencodetest.Message{ID: aid, SessionID: sid, Created: at + 1, Updated: at + 1, Data: assistantData(at+1, "claude-sonnet-4-5", in, out)}))
	must(t, w.Part(opencodetest.Part{ID: fmt.Sprintf("prt_%s_%04d", sid, n), MessageID: aid, SessionID: sid, Created: at + 2, Updated: at + 2, Data: toolData(status)}))
}

// expand lists one container and returns its documents by session document path.
func expand(t testing.TB, p *Provider, path string) map[string]providers.Doc {
	t.Helper()
	docs, err := p.Expand(context.Background(), path)
	if err != nil {
		t.Fatalf("Expand(%s): %v", path, err)
	}
	out := map[string]providers.Doc{}
	for _, d := range docs {
		if _, dup := out[d.Path]; dup {
			t.Fatalf("Expand(%s) listed %s twice", path, d.Path)
		}
		out[d.Path] = d
	}
	return out
}

// read reads and parses one document.
func read(t testing.TB, p *Provider, path string) session.Delta {
	t.Helper()
	data, err := p.ReadDoc(context.Background(), path)
	if err != nil {
		t.Fatalf("ReadDoc(%s): %v", path, err)
	}
	var d session.Delta
	if err := (&Parser{}).Document(data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// newProvider returns a provider closed when the test ends, with a clock
// the test moves (hotFor is shortened to keep the test data hot).
func newProvider(t testing.TB) (*Provider, *time.Time) {
	p := New()
	now := time.UnixMilli(t0 + 3_600_000) // an hour after the test data starts
	p.now = func() time.Time { return now }
	p.hotFor = 2 * time.Hour
	t.Cleanup(func() { p.Close() })
	return p, &now
}

func providers_env(home, db string) providers.Env {
	return providers.Env{Home: home, Getenv: func(k string) string {
		if k == "OPENCODE_DB" {
			return db
		}
		return ""
	}}
}

// writeFileNow writes a file in place (truncate, write), as Bun.write did.
func writeFileNow(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// testProvider returns a provider closed when the test ends.
func testProvider(t testing.TB) *Provider {
	p := New()
	t.Cleanup(func() { p.Close() })
	return p
}
