package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no roots", Config{}, ErrNoRoots},
		{"empty root", Config{Roots: []string{"/tmp", ""}}, ErrInvalidConfig},
		{"negative reconcile", Config{Roots: []string{"/tmp"}, Reconcile: -time.Second}, ErrInvalidConfig},
		{"negative poll", Config{Roots: []string{"/tmp"}, PollInterval: -1}, ErrInvalidConfig},
		{"negative max watches", Config{Roots: []string{"/tmp"}, MaxWatches: -1}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: got %v, want %v", err, tt.want)
			}
		})
	}

	w, err := New(Config{Roots: []string{"rel/dir", "rel/dir", "/abs"}})
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	if want := []string{filepath.Join(cwd, "rel/dir"), "/abs"}; !slices.Equal(w.cfg.Roots, want) {
		t.Errorf("roots = %q, want %q", w.cfg.Roots, want)
	}
	if w.cfg.Reconcile != DefaultReconcile || w.cfg.PollInterval != DefaultPollInterval {
		t.Errorf("defaults not applied: %+v", w.cfg)
	}
	if got := w.Status().Mode; got != ModeInotify {
		t.Errorf("Mode = %q, want %q", got, ModeInotify)
	}
}

func TestRunOnceAndNilEmit(t *testing.T) {
	w, err := New(Config{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Run(nil emit) = %v, want ErrInvalidConfig", err)
	}
	c := newCollector()
	startWatcher(t, w, c)
	if err := w.Run(context.Background(), c.emit); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestInitialFullBatch(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "top.jsonl"), "1\n")
	write(t, filepath.Join(root, "a", "b", "x.jsonl"), "12\n")
	write(t, filepath.Join(root, "a", "y.txt"), "no")
	write(t, filepath.Join(root, "skip", "z.jsonl"), "excluded dir")
	empty := t.TempDir()

	c := newCollector()
	start(t, Config{
		Roots:   []string{root, empty},
		Descend: func(_, dir string) bool { return filepath.Base(dir) != "skip" },
		Match:   jsonl,
	}, c)

	b := c.batch(0)
	var got []string
	for _, f := range b.Files {
		got = append(got, f.Path)
		if f.Removed || f.Ino == 0 || f.ModTime.IsZero() {
			t.Errorf("bad entry %+v", f)
		}
	}
	want := []string{filepath.Join(root, "a", "b", "x.jsonl"), filepath.Join(root, "top.jsonl")}
	if !slices.Equal(got, want) {
		t.Fatalf("Full batch = %q, want %q", got, want)
	}
	if st, _ := c.present(want[0]); st.Size != 3 {
		t.Errorf("size = %d, want 3", st.Size)
	}

	// An empty root still yields a (empty) Full batch.
	c2 := newCollector()
	start(t, Config{Roots: []string{t.TempDir()}}, c2)
	if b := c2.batch(0); !b.Full || len(b.Files) != 0 {
		t.Fatalf("empty root: got %+v, want empty Full batch", b)
	}
}

func TestCreateWriteRemove(t *testing.T) {
	root := t.TempDir()
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)

	p := filepath.Join(root, "s.jsonl")
	write(t, p, "a\n")
	eventually(t, func() bool { return c.hasSize(p, 2) }, "created file reported")
	appendTo(t, p, "bc\n")
	eventually(t, func() bool { return c.hasSize(p, 5) }, "write reported")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.removals(p) == 1 }, "removal reported")
	if _, ok := c.present(p); ok {
		t.Fatal("removed file still present")
	}
	for i := 1; i < c.count(); i++ {
		if c.batch(i).Full {
			t.Errorf("batch %d is Full", i)
		}
	}
	eventually(t, func() bool { return w.Status().Files == 0 }, "Status.Files back to 0")
}

func TestAtomicSaveReportsPresent(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "old\n")
	old, err := Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)

	// Editor-style save: write a temporary file, rename it over the target.
	tmp := filepath.Join(root, ".s.jsonl.tmp")
	write(t, tmp, "new content\n")
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		st, ok := c.present(p)
		return ok && st.Ino != old.Ino && st.Size == 12
	}, "replacement reported with its new inode")

	// Delete and recreate at once: whatever the events, the end state is present.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	write(t, p, "again\n")
	eventually(t, func() bool { return c.hasSize(p, 6) }, "recreated file present")
	if n := c.removals(tmp); n != 0 {
		t.Errorf("unmatched temporary file reported removed %d times", n)
	}
}

func TestNewDirectoriesAreWatchedAndWalked(t *testing.T) {
	root := t.TempDir()
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)

	// mkdir -p plus a file at once: only the top directory's Create may
	// arrive; the walk on Create must still find the file.
	deep := filepath.Join(root, "x", "y", "z")
	f1 := filepath.Join(deep, "f.jsonl")
	write(t, f1, "1\n")
	eventually(t, func() bool { return c.hasSize(f1, 2) }, "file inside mkdir -p tree")

	// The new directories are watched: later files show up through events.
	f2 := filepath.Join(deep, "g.jsonl")
	write(t, f2, "22\n")
	eventually(t, func() bool { return c.hasSize(f2, 3) }, "later file in new directory")
	eventually(t, func() bool { return w.Status().Dirs == 4 }, "4 dirs watched, have %d", w.Status().Dirs)

	// Removing the tree reports every file in it removed.
	if err := os.RemoveAll(filepath.Join(root, "x")); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.removals(f1) == 1 && c.removals(f2) == 1 }, "tree removal")
	eventually(t, func() bool { return w.Status().Dirs == 1 }, "watches of removed dirs dropped, have %d", w.Status().Dirs)
}

func TestDirectoryMoveWithinTree(t *testing.T) {
	root := t.TempDir()
	oldF := filepath.Join(root, "a", "sub", "f.jsonl")
	write(t, oldF, "1\n")
	c := newCollector()
	start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)

	if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	newF := filepath.Join(root, "b", "sub", "f.jsonl")
	eventually(t, func() bool { return c.removals(oldF) == 1 && c.hasSize(newF, 2) }, "move reported as remove + create")

	// Events below the moved directory carry the new path.
	appendTo(t, newF, "23\n")
	eventually(t, func() bool { return c.hasSize(newF, 5) }, "write below moved directory")
	if _, ok := c.present(oldF); ok {
		t.Fatal("old path reported present again")
	}
}

// TestIgnoredEvents uses event order: once the sentinel file is reported,
// everything done before it has been handled.
func TestIgnoredEvents(t *testing.T) {
	root := t.TempDir()
	known := filepath.Join(root, "known.jsonl")
	write(t, known, "x\n")
	c := newCollector()
	start(t, Config{
		Roots:     []string{root},
		Match:     jsonl,
		Descend:   func(_, dir string) bool { return !strings.HasSuffix(dir, "skip") },
		Reconcile: time.Hour,
	}, c)

	// (a chmod is reported: see TestFileChmodIsReported)
	write(t, filepath.Join(root, "skip", "f.jsonl"), "excluded\n")
	write(t, filepath.Join(root, "notes.txt"), "unmatched\n")
	sentinel := filepath.Join(root, "sentinel.jsonl")
	write(t, sentinel, "s\n")
	eventually(t, func() bool { _, ok := c.present(sentinel); return ok }, "sentinel")

	for i := 1; i < c.count(); i++ {
		for _, f := range c.batch(i).Files {
			if f.Path != sentinel {
				t.Errorf("batch %d reports %s; want only the sentinel (excluded dirs and unmatched files are ignored)", i, f.Path)
			}
		}
	}
}

func TestCoalescesWhileEmitRuns(t *testing.T) {
	root := t.TempDir()
	a, b, cc := filepath.Join(root, "a.jsonl"), filepath.Join(root, "b.jsonl"), filepath.Join(root, "c.jsonl")
	c := newCollector()
	entered := make(chan struct{})
	release := make(chan struct{})
	c.hold = func(i int) {
		if i == 1 { // the first batch after the initial one
			close(entered)
			<-release
		}
	}
	w := start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)

	write(t, a, "1")
	<-entered // emit is now blocked on batch 1
	for range 5 {
		appendTo(t, a, "1")
	}
	write(t, b, "bb")
	write(t, cc, "ccc")
	// Events arrive in order, so once c.jsonl is known all of them are queued.
	eventually(t, func() bool { return w.Status().Files == 3 }, "changes collected while emit is blocked")
	close(release)

	eventually(t, func() bool { return c.count() >= 3 }, "batch after release")
	got := c.batch(2)
	var paths []string
	for _, f := range got.Files {
		paths = append(paths, f.Path)
	}
	if want := []string{a, b, cc}; !slices.Equal(paths, want) {
		t.Fatalf("coalesced batch = %q, want %q", paths, want)
	}
	if got.Files[0].Size != 6 {
		t.Errorf("a.jsonl size = %d, want the latest (6)", got.Files[0].Size)
	}
}

func TestOverflowTriggersFullRescan(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skip("no inotify queue limit to overflow:", err)
	}
	var queue int
	fmt.Sscan(string(raw), &queue)
	if queue <= 0 || queue > 65536 {
		t.Skipf("max_queued_events=%d: too large to overflow quickly", queue)
	}
	root := t.TempDir()
	w, err := New(Config{Roots: []string{root}, Reconcile: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Stall the loop on the first event so the kernel queue overflows.
	release := make(chan struct{})
	var once atomic.Bool
	w.testHookEvent = func(fsnotify.Event) bool {
		if once.CompareAndSwap(false, true) {
			<-release
		}
		return true
	}
	c := newCollector()
	startWatcher(t, w, c)

	write(t, filepath.Join(root, "trigger"), "")
	eventually(t, once.Load, "first event reached the loop")
	// fsnotify reads up to 4096 events at a time; queue+4096+2000 overflows.
	n := queue + 4096 + 2000
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(release)

	eventually(t, func() bool { return w.Status().Overflows >= 1 }, "overflow counted")
	st := w.Status()
	if st.Rescans < 1 || !strings.Contains(st.LastError, "overflow") {
		t.Errorf("status after overflow = %+v", st)
	}
	eventually(t, func() bool {
		for i := 1; i < c.count(); i++ {
			if b := c.batch(i); b.Full && len(b.Files) == n+1 {
				return true
			}
		}
		return false
	}, "Full batch with all %d files after the overflow", n+1)
}

func TestReconcileCatchesMissedChanges(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "1\n")
	w, err := New(Config{Roots: []string{root}, Match: jsonl, Reconcile: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.testHookEvent = func(fsnotify.Event) bool { return false } // lose every event
	c := newCollector()
	startWatcher(t, w, c)

	appendTo(t, p, "23\n")
	eventually(t, func() bool { return c.hasSize(p, 5) }, "missed write found by reconcile")

	q := filepath.Join(root, "new", "t.jsonl")
	write(t, q, "t\n")
	eventually(t, func() bool { return c.hasSize(q, 2) }, "missed file in missed directory found")
	eventually(t, func() bool { return w.Status().Dirs == 2 }, "reconcile watched the new directory")

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.removals(p) == 1 }, "missed removal found by reconcile")
	if st := w.Status(); st.Reconciles < 1 || st.Mode != ModeInotify {
		t.Errorf("status = %+v", st)
	}
}

func TestIdleEmitsNothing(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a", "s.jsonl"), "x\n")
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Reconcile: 10 * time.Millisecond}, c)
	eventually(t, func() bool { return w.Status().Reconciles >= 5 }, "reconciles ran")
	if n := c.count(); n != 1 {
		t.Fatalf("%d batches while idle, want only the initial one", n)
	}
}

func TestForcePolling(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "1\n")
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Match: jsonl, ForcePolling: true, PollInterval: 20 * time.Millisecond}, c)
	if _, ok := c.present(p); !ok {
		t.Fatal("initial Full batch misses the file")
	}

	appendTo(t, p, "2\n")
	eventually(t, func() bool { return c.hasSize(p, 4) }, "polled write")
	q := filepath.Join(root, "d", "e", "t.jsonl")
	write(t, q, "t\n")
	eventually(t, func() bool { return c.hasSize(q, 2) }, "polled new file in new dirs")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.removals(p) == 1 }, "polled removal")

	st := w.Status()
	if st.Mode != ModePolling || st.LastError != "" || st.Dirs != 3 {
		t.Errorf("status = %+v, want polling, no error, 3 dirs", st)
	}
}

func TestMaxWatchesFallsBackToPolling(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	write(t, filepath.Join(deep, "old.jsonl"), "o\n")
	logs := &logCapture{}
	c := newCollector()
	w := start(t, Config{
		Roots:        []string{root},
		Match:        jsonl,
		MaxWatches:   2,
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(logs),
	}, c)

	if _, ok := c.present(filepath.Join(deep, "old.jsonl")); !ok {
		t.Fatal("initial Full batch misses files beyond the watch cap")
	}
	st := w.Status()
	if st.Mode != ModePolling {
		t.Fatalf("Mode = %q, want polling", st.Mode)
	}
	for _, want := range []string{"MaxWatches=2", "falling back to polling every 20ms", ErrWatchLimit.Error()} {
		if !strings.Contains(st.LastError, want) {
			t.Errorf("LastError %q lacks %q", st.LastError, want)
		}
	}

	p := filepath.Join(deep, "new.jsonl")
	write(t, p, "n\n")
	eventually(t, func() bool { return c.hasSize(p, 2) }, "change seen by polling")
	eventually(t, func() bool { return w.Status().Reconciles >= 3 }, "several polls")
	if n := logs.count(slog.LevelWarn, "polling"); n != 1 {
		t.Errorf("%d Warn logs about polling, want 1", n)
	}
}

func TestIsWatchLimit(t *testing.T) {
	for _, err := range []error{syscall.ENOSPC, fmt.Errorf("add /x: %w", syscall.EMFILE), syscall.ENFILE} {
		if !isWatchLimit(err) {
			t.Errorf("isWatchLimit(%v) = false", err)
		}
	}
	for _, err := range []error{syscall.EACCES, os.ErrNotExist, errors.New("other")} {
		if isWatchLimit(err) {
			t.Errorf("isWatchLimit(%v) = true", err)
		}
	}
}

func TestUnreadableDirectorySkipped(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "ok", "a.jsonl"), "a\n")
	locked := filepath.Join(root, "locked")
	write(t, filepath.Join(locked, "b.jsonl"), "b\n")

	check := func(t *testing.T, w *Watcher, logs *logCapture) {
		c := newCollector()
		startWatcher(t, w, c)
		b := c.batch(0)
		if len(b.Files) != 1 || b.Files[0].Path != filepath.Join(root, "ok", "a.jsonl") {
			t.Fatalf("Full batch = %+v, want only ok/a.jsonl", b.Files)
		}
		if logs.count(slog.LevelWarn, locked) != 1 {
			t.Errorf("unreadable directory not logged once at Warn")
		}
		// The watcher keeps working.
		p := filepath.Join(root, "ok", "c.jsonl")
		write(t, p, "c\n")
		eventually(t, func() bool { return c.hasSize(p, 2) }, "later change")
		if mode := w.Status().Mode; mode != ModeInotify {
			t.Errorf("Mode = %q after an unreadable directory", mode)
		}
	}

	t.Run("chmod", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads chmod 000 directories; the hook variant covers this")
		}
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
		logs := &logCapture{}
		w, err := New(Config{Roots: []string{root}, Reconcile: time.Hour, Logger: slog.New(logs)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, w, logs)
	})
	t.Run("hook", func(t *testing.T) {
		logs := &logCapture{}
		w, err := New(Config{Roots: []string{root}, Reconcile: time.Hour, Logger: slog.New(logs)})
		if err != nil {
			t.Fatal(err)
		}
		w.testHookOpenDir = func(dir string) error {
			if dir == locked {
				return syscall.EACCES
			}
			return nil
		}
		check(t, w, logs)
	})
}

func TestSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	real := filepath.Join(outside, "real.jsonl")
	write(t, real, "target\n")
	write(t, filepath.Join(root, "sub", "f.jsonl"), "f\n")
	for link, target := range map[string]string{
		"loop":              root,                        // directory symlink loop
		"sub/up":            "..",                        // relative loop
		"outside":           outside,                     // directory outside the root
		"link.jsonl":        real,                        // symlink to a regular file
		"dangling.jsonl":    filepath.Join(root, "nope"), // broken link
		"sub/dirlink.jsonl": filepath.Join(root, "sub"),  // matching name, but a directory
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	realStat, err := Stat(real)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("matched", func(t *testing.T) {
		c := newCollector()
		start(t, Config{Roots: []string{root}, Match: jsonl}, c)
		var got []string
		for _, f := range c.batch(0).Files {
			got = append(got, strings.TrimPrefix(f.Path, root+"/"))
		}
		if want := []string{"link.jsonl", "sub/f.jsonl"}; !slices.Equal(got, want) {
			t.Fatalf("Full batch = %q, want %q", got, want)
		}
		if st, _ := c.present(filepath.Join(root, "link.jsonl")); st.Ino != realStat.Ino || st.Size != realStat.Size {
			t.Errorf("symlink reported as %+v, want the target's identity %+v", st, realStat)
		}
	})
	t.Run("rejected by Match", func(t *testing.T) {
		c := newCollector()
		start(t, Config{Roots: []string{root}, Match: func(r, p string) bool {
			return jsonl(r, p) && !strings.Contains(filepath.Base(p), "link")
		}}, c)
		if b := c.batch(0); len(b.Files) != 1 {
			t.Fatalf("Full batch = %+v, want only sub/f.jsonl", b.Files)
		}
	})
}

func TestRootAppearsVanishesReappears(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "home", ".agent", "sessions")
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)
	if b := c.batch(0); len(b.Files) != 0 {
		t.Fatalf("Full batch for a missing root = %+v", b.Files)
	}

	// Appears: noticed through the watch on the nearest existing parent,
	// not the (hour-long) reconcile.
	p := filepath.Join(root, "proj", "s.jsonl")
	write(t, p, "1\n")
	eventually(t, func() bool { return c.hasSize(p, 2) }, "file in a root that appeared")
	q := filepath.Join(root, "proj", "t.jsonl")
	write(t, q, "22\n")
	eventually(t, func() bool { return c.hasSize(q, 3) }, "the appeared root is watched")

	// Vanishes: its files are reported removed.
	if err := os.RemoveAll(filepath.Join(base, "home")); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.removals(p) == 1 && c.removals(q) == 1 }, "files of a vanished root removed")
	eventually(t, func() bool { return w.Status().Dirs == 0 && w.Status().Files == 0 }, "no dirs or files left: %+v", w.Status())

	// Reappears.
	write(t, p, "333\n")
	eventually(t, func() bool { return c.hasSize(p, 4) }, "file in a reappeared root")
	if st := w.Status(); st.Mode != ModeInotify {
		t.Errorf("Mode = %q", st.Mode)
	}
}

func TestRootAppearsWhilePolling(t *testing.T) {
	root := filepath.Join(t.TempDir(), "later")
	c := newCollector()
	start(t, Config{Roots: []string{root}, ForcePolling: true, PollInterval: 20 * time.Millisecond}, c)
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "1\n")
	eventually(t, func() bool { return c.hasSize(p, 2) }, "polling picks up the new root")
}

func TestNestedRootsReportOnce(t *testing.T) {
	outer := t.TempDir()
	inner := filepath.Join(outer, "inner")
	p := filepath.Join(inner, "s.jsonl")
	write(t, p, "1\n")
	var roots atomic.Value
	c := newCollector()
	start(t, Config{Roots: []string{outer, inner}, Match: func(root, path string) bool {
		roots.Store(root)
		return true
	}}, c)
	if b := c.batch(0); len(b.Files) != 1 {
		t.Fatalf("Full batch = %+v, want the file once", b.Files)
	}
	if got := roots.Load(); got != inner {
		t.Errorf("Match called with root %v, want the most specific root %s", got, inner)
	}
}

func TestInitialWalkIsFast(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, 100, 30)
	limit := 100 * time.Millisecond
	if raceEnabled {
		limit = time.Second
	}
	var best time.Duration
	for range 3 { // best of 3: the machine is shared
		c := newCollector()
		w, err := New(Config{Roots: []string{root}, Match: jsonl})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		begin := time.Now()
		go func() { done <- w.Run(ctx, c.emit) }()
		eventually(t, func() bool { return c.count() == 1 }, "initial batch")
		d := time.Since(begin)
		cancel()
		<-done
		if n := len(c.batch(0).Files); n != 3000 {
			t.Fatalf("Full batch has %d files, want 3000", n)
		}
		if best == 0 || d < best {
			best = d
		}
	}
	t.Logf("initial walk of 3000 files in 100 dirs: %v (race=%v)", best, raceEnabled)
	if best > limit {
		t.Errorf("initial walk took %v, want under %v", best, limit)
	}
}

// makeTree creates dirs directories of files .jsonl files each under root.
func makeTree(tb testing.TB, root string, dirs, files int) {
	tb.Helper()
	for d := range dirs {
		dir := filepath.Join(root, fmt.Sprintf("p%02d", d/10), fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := range files {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%03d.jsonl", f)), []byte("{}\n"), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func TestRootIsFileThenDirectory(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	write(t, root, "not a directory")
	c := newCollector()
	w := start(t, Config{Roots: []string{root}, Reconcile: time.Hour}, c)
	if b := c.batch(0); len(b.Files) != 0 {
		t.Fatalf("Full batch = %+v, want empty", b.Files)
	}
	if st := w.Status(); !strings.Contains(st.LastError, root) || !strings.Contains(st.LastError, "not a directory") {
		t.Errorf("LastError = %q, want it to name %s and the problem", st.LastError, root)
	}
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "1\n")
	eventually(t, func() bool { return c.hasSize(p, 2) }, "root became a directory")
}

func TestRootIsSymlinkToDirectory(t *testing.T) {
	real := t.TempDir()
	write(t, filepath.Join(real, "a.jsonl"), "a\n")
	root := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, root); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Config{Roots: []string{root}, Reconcile: time.Hour}, c)
	if _, ok := c.present(filepath.Join(root, "a.jsonl")); !ok {
		t.Fatalf("Full batch = %+v, want a.jsonl under the symlinked root", c.batch(0).Files)
	}
	p := filepath.Join(root, "sub", "b.jsonl")
	write(t, p, "bb\n")
	eventually(t, func() bool { return c.hasSize(p, 3) }, "change under the symlinked root, by its path")
}
