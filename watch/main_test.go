package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// eventually polls cond until it holds, failing the test after a deadline.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf(format, args...), func() (bool, string) { return cond(), "" })
}

// collector records the batches a Watcher emits and the state they imply.
type collector struct {
	mu      sync.Mutex
	batches []Batch
	state   map[string]FileStat // present files
	removed map[string]int      // how often each path was reported removed

	inEmit     atomic.Int32
	concurrent atomic.Bool
	// hold, when set, is called at the start of every emit (outside mu)
	// with the batch's index; tests use it to block emit.
	hold func(i int)
	n    atomic.Int32
}

func newCollector() *collector {
	return &collector{state: map[string]FileStat{}, removed: map[string]int{}}
}

func (c *collector) emit(b Batch) {
	if c.inEmit.Add(1) > 1 {
		c.concurrent.Store(true)
	}
	defer c.inEmit.Add(-1)
	i := int(c.n.Add(1)) - 1
	if c.hold != nil {
		c.hold(i)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
	if b.Full {
		clear(c.state)
	}
	for _, f := range b.Files {
		if f.Removed {
			delete(c.state, f.Path)
			c.removed[f.Path]++
		} else {
			c.state[f.Path] = f
		}
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}

func (c *collector) batch(i int) Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches[i]
}

func (c *collector) present(p string) (FileStat, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.state[p]
	return st, ok
}

func (c *collector) removals(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed[p]
}

// hasSize reports whether p is present with the given size.
func (c *collector) hasSize(p string, size int64) bool {
	st, ok := c.present(p)
	return ok && st.Size == size
}

// start runs a Watcher for cfg until the test ends and waits for the
// initial Full batch.
func start(t *testing.T, cfg Config, c *collector) *Watcher {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return startWatcher(t, w, c)
}

func startWatcher(t *testing.T, w *Watcher, c *collector) *Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, c.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		if c.concurrent.Load() {
			t.Errorf("emit was called concurrently")
		}
	})
	eventually(t, func() bool { return c.count() >= 1 }, "initial batch")
	if b := c.batch(0); !b.Full {
		t.Fatalf("first batch is not Full: %+v", b)
	}
	return w
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t testing.TB, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

func jsonl(_, p string) bool { return strings.HasSuffix(p, ".jsonl") }

// logCapture is a slog.Handler that records messages by level.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCapture) WithGroup(string) slog.Handler      { return h }

// count returns how many records at level contain substr in their message
// or attributes.
func (h *logCapture) count(level slog.Level, substr string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level != level {
			continue
		}
		text := r.Message
		r.Attrs(func(a slog.Attr) bool { text += " " + a.String(); return true })
		if strings.Contains(text, substr) {
			n++
		}
	}
	return n
}
