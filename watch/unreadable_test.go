package watch

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// emits counts the batches after the initial one that report p present.
func (c *collector) emits(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.batches[1:] {
		for _, f := range b.Files {
			if f.Path == p && !f.Removed {
				n++
			}
		}
	}
	return n
}

// lockedTree is a root with ok/a.jsonl and locked/b.jsonl, and a watcher
// whose listing of locked fails with EACCES while deny is set (root reads
// through chmod 000; the chmod below only makes the kernel send the
// IN_ATTRIB a real permission change sends).
func lockedTree(t *testing.T, reconcile, retry time.Duration) (w *Watcher, c *collector, logs *logCapture, locked, b string, deny *atomic.Bool) {
	t.Helper()
	root := t.TempDir()
	write(t, filepath.Join(root, "ok", "a.jsonl"), "a\n")
	locked = filepath.Join(root, "locked")
	b = filepath.Join(locked, "b.jsonl")
	write(t, b, "b\n")
	logs = &logCapture{}
	w, err := New(Config{Roots: []string{root}, Match: jsonl, Reconcile: reconcile, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	deny = &atomic.Bool{}
	w.testHookOpenDir = func(dir string) error {
		if dir == locked && deny.Load() {
			return syscall.EACCES
		}
		return nil
	}
	w.testRetryDelay = retry
	c = newCollector()
	startWatcher(t, w, c)
	if _, ok := c.present(b); !ok {
		t.Fatalf("initial listing lacks %s", b)
	}
	return w, c, logs, locked, b, deny
}

// A directory that becomes unreadable is reported (its files are handed
// over again, so their readers find out, and never reported removed), and
// is listed again within seconds once readable, even without any event.
func TestUnreadableDirectoryIsRetried(t *testing.T) {
	w, c, logs, locked, b, deny := lockedTree(t, time.Hour, 200*time.Millisecond)
	deny.Store(true)
	if err := os.Chmod(locked, 0o700); err != nil { // the IN_ATTRIB of chmod 000
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.emits(b) >= 1 }, "files of the unreadable directory handed over again")
	eventually(t, func() bool { return logs.count(slog.LevelWarn, locked) == 1 }, "unreadable directory logged")
	if st := w.Status(); st.LastError == "" {
		t.Errorf("Status.LastError empty while %s cannot be read", locked)
	}
	n := c.emits(b)
	deny.Store(false) // readable again, and no event says so
	eventually(t, func() bool { return c.emits(b) > n }, "directory listed again after it became readable")
	eventually(t, func() bool { return w.Status().LastError == "" }, "LastError cleared")
	if c.removals(b) != 0 {
		t.Errorf("%s reported removed while its directory could not be read", b)
	}
}

// In inotify mode the permission change itself makes the watcher look
// again at once (the retry is an hour away here).
func TestDirectoryChmodListsItAgain(t *testing.T) {
	_, c, _, locked, b, deny := lockedTree(t, time.Hour, time.Hour)
	deny.Store(true)
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.emits(b) >= 1 }, "files of the unreadable directory handed over again")
	n := c.emits(b)
	deny.Store(false)
	if err := os.Chmod(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.emits(b) > n }, "directory listed again after chmod")
}

// A reconcile while a directory cannot be read does not report its files
// removed: they are not known to be gone.
func TestReconcileKeepsFilesOfUnreadableDirectory(t *testing.T) {
	w, c, _, _, b, deny := lockedTree(t, 20*time.Millisecond, time.Hour)
	deny.Store(true)
	r0 := w.Status().Reconciles
	eventually(t, func() bool { return w.Status().Reconciles >= r0+5 }, "reconciles")
	if c.removals(b) != 0 {
		t.Fatalf("%s reported removed by a reconcile while its directory could not be read", b)
	}
	if _, ok := c.present(b); !ok {
		t.Fatalf("%s not present", b)
	}
}

// A chmod of a file is handed over: a read that failed may succeed now.
func TestFileChmodIsReported(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "x\n")
	c := newCollector()
	start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.emits(p) >= 1 }, "chmod reported")
}

// Attribute events that change nothing about access (an atime set, another
// reader's doing) are not reported again and again: a database a provider
// reads would otherwise be listed anew after every read, forever.
func TestAttributeEventsWithoutChangeAreQuiet(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "s.jsonl")
	write(t, p, "x\n")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	start(t, Config{Roots: []string{root}, Match: jsonl, Reconcile: time.Hour}, c)
	base := c.emits(p) // reports after the initial listing
	for i := range 20 {
		// same mtime, new atime: IN_ATTRIB, nothing else changes
		if err := os.Chtimes(p, time.Unix(int64(1_700_000_000+i), 0), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(p, 0o600); err != nil { // a real change, after them
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.emits(p) > base }, "chmod reported")
	if n := c.emits(p) - base; n > 2 {
		t.Fatalf("%d reports for 20 attribute events that changed nothing and one chmod", n)
	}
}

// A sweep of a large tree spaces the next one out, so an idle daemon over
// tens of thousands of files spends at most 0.1 % of a core reconciling
// (2 % polling); small trees keep the configured intervals.
func TestSweepIntervalBoundsItsDutyCycle(t *testing.T) {
	l := &loop{cfg: &Config{Reconcile: time.Minute, PollInterval: 2 * time.Second}, mode: ModeInotify}
	for _, c := range []struct {
		mode string
		took time.Duration
		want time.Duration
	}{
		{ModeInotify, 30 * time.Millisecond, time.Minute},
		{ModeInotify, 130 * time.Millisecond, 130 * time.Second},
		{ModePolling, 10 * time.Millisecond, 2 * time.Second},
		{ModePolling, 130 * time.Millisecond, 6500 * time.Millisecond},
	} {
		l.mode = c.mode
		if got := l.sweepInterval(c.took); got != c.want {
			t.Errorf("%s sweep that took %s: next in %s, want %s", c.mode, c.took, got, c.want)
		}
	}
}
