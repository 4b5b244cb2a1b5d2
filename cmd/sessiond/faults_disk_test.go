package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
)

// diskStatus is the part of /api/v1/status these tests read.
type diskStatus struct {
	EventHead uint64 `json:"event_head"`
	Store     struct {
		Paused       bool   `json:"paused"`
		FreeBytes    uint64 `json:"free_bytes"`
		MinFreeBytes uint64 `json:"min_free_bytes"`
		HeldCommits  int    `json:"held_commits"`
	} `json:"store"`
}

// smallDisk mounts a tmpfs of size bytes on a fresh directory for the
// test's data dir, or skips the test where that is not possible (not
// Linux, not root, no mount permission).
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux to mount a small tmpfs")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// freeBytes is what an unprivileged writer may still use on dir's filesystem.
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fillTo writes a ballast file in dir until at most left bytes are free
// (left 0: until the filesystem refuses with ENOSPC).
func fillTo(t *testing.T, dir string, left uint64) string {
	t.Helper()
	p := filepath.Join(dir, "ballast")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		free := freeBytes(t, dir)
		if left > 0 && free <= left {
			return p
		}
		n := uint64(len(chunk))
		if left > 0 && free-left < n {
			n = free - left
		}
		if _, err := f.Write(chunk[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return p
			}
			t.Fatal(err)
		}
	}
}

// logBuf collects a daemon's log while it runs (written by exec's copying
// goroutine, read by the test).
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged starts `sessiond run` logging at info into log.
func (h *home) startLogged(log *logBuf) *daemon {
	h.t.Helper()
	return h.startWith(freePort(h.t), log, "--log-level", "info")
}

func (d *daemon) status(t *testing.T) diskStatus {
	t.Helper()
	var st diskStatus
	resp, err := http.Get("http://" + d.addr + "/api/v1/status")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

func (d *daemon) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return v
		}
	}
	return ""
}

// waitFor polls cond until it holds, failing the test after limit or when
// the daemon exits.
func (d *daemon) waitFor(t *testing.T, log *logBuf, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s\n%s", what, log)
		}
		select {
		case err := <-d.done:
			t.Fatalf("daemon exited while waiting until %s: %v\n%s", what, err, tailN(log.String(), 4000))
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// TestDiskFullPausesAndResumes runs the daemon with its data dir on a small
// tmpfs. Started on a full disk it must wait for space before opening the
// store. Then the filesystem is filled, first below the free-space floor and
// then to ENOSPC, while sessions grow: the daemon must stay alive, say it
// paused (status, metrics, log), resume by itself once the ballast is
// removed, and end with every session exactly as the independent count has
// it. Last, stopped while paused on a full disk, it must exit cleanly, and
// the next start must pick up what was held.
func TestDiskFullPausesAndResumes(t *testing.T) {
	const floor = 48 << 20
	disk := smallDisk(t, 192<<20)
	h := newHome(t, claudetest.Options{TotalBytes: 2 << 20, Seed: 21, SubagentFraction: -1, ReplayFraction: -1})
	h.data = filepath.Join(disk, "data")
	cfg := filepath.Join(h.dir, "sessiond.toml")
	if err := os.WriteFile(cfg, []byte("[store]\nmin_free = \"48MiB\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env = append(h.env, "SESSIOND_CONFIG="+cfg)
	var paths []string
	_ = filepath.WalkDir(filepath.Join(h.dir, ".claude", "projects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) < 2 {
		t.Fatalf("corpus too small: %d files", len(paths))
	}
	log := &logBuf{} // of the running daemon
	seed := int64(0)
	appendAll := func() {
		for _, p := range paths {
			seed++
			if err := claudetest.AppendSession(p, 2, seed); err != nil {
				t.Fatal(err)
			}
		}
	}
	// pauseAndResume fills the disk to left bytes free, appends to every
	// session and checks the daemon holds the commits, alive and paused;
	// then it removes the ballast and checks the daemon resumes.
	pauseAndResume := func(d *daemon, left uint64) {
		t.Helper()
		ballast := fillTo(t, disk, left)
		appendAll()
		d.waitFor(t, log, "the daemon holds commits while paused", 15*time.Second, func() bool {
			st := d.status(t)
			return st.Store.Paused && st.Store.HeldCommits > 0
		})
		st := d.status(t)
		if st.Store.MinFreeBytes != floor || st.Store.FreeBytes >= floor {
			t.Errorf("status while paused: %+v", st.Store)
		}
		if v := d.metric(t, "sessiond_store_paused"); v != "1" {
			t.Errorf("sessiond_store_paused = %q while paused", v)
		}
		c := h.cmd("status")
		c.Env = append(c.Env, "SESSIOND_LISTEN="+d.addr)
		if out, err := c.Output(); err != nil || !strings.Contains(string(out), "PAUSED:") {
			t.Errorf("sessiond status while paused: %v\n%s", err, out)
		}
		head := st.EventHead
		if err := os.Remove(ballast); err != nil {
			t.Fatal(err)
		}
		d.waitFor(t, log, "the daemon resumes", 15*time.Second, func() bool {
			st := d.status(t)
			return !st.Store.Paused && st.Store.HeldCommits == 0 && st.EventHead > head
		})
		if v := d.metric(t, "sessiond_store_paused"); v != "0" {
			t.Errorf("sessiond_store_paused = %q after resuming", v)
		}
	}
	ready := func(d *daemon) {
		t.Helper()
		d.waitFor(t, log, "the daemon is ready", 60*time.Second, func() bool {
			code, err := httpGet("http://" + d.addr + "/readyz")
			return err == nil && code == http.StatusOK
		})
	}
	caughtUp := func(d *daemon) {
		t.Helper()
		d.waitFor(t, log, "the sessions match the files", 15*time.Second, func() bool {
			var buf bytes.Buffer
			c := h.cmd("sessions", "--json")
			c.Env = append(c.Env, "SESSIOND_LISTEN="+d.addr)
			c.Stdout = &buf
			if c.Run() != nil {
				return false
			}
			return h.matches(buf.Bytes())
		})
	}

	// started on a full disk, it waits for space before opening the store
	h.run("scan")
	ballast := fillTo(t, disk, 0)
	d := h.startLogged(log)
	d.waitFor(t, log, "the daemon waits for space", 15*time.Second, func() bool {
		return strings.Contains(log.String(), "waiting for free space")
	})
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	ready(d)
	if v := d.metric(t, "sessiond_store_paused"); v != "0" {
		t.Fatalf("sessiond_store_paused = %q at start", v)
	}

	// below the floor, with some space left
	pauseAndResume(d, floor/2)
	caughtUp(d)
	// no space at all
	pauseAndResume(d, 0)
	caughtUp(d)
	logged := log.String()
	if n := strings.Count(logged, "ingestion paused"); n != 2 {
		t.Errorf("%d pause warnings, want 2:\n%s", n, logged)
	}
	if n := strings.Count(logged, "ingestion resumed"); n != 2 {
		t.Errorf("%d resume notes, want 2:\n%s", n, logged)
	}
	if !strings.Contains(logged, "data_dir="+h.data) {
		t.Errorf("the pause warning does not name the data dir %s:\n%s", h.data, logged)
	}

	// stopped while paused on a full disk: a clean exit, nothing lost
	ballast = fillTo(t, disk, 0)
	appendAll()
	d.waitFor(t, log, "the daemon holds commits while paused", 15*time.Second, func() bool {
		st := d.status(t)
		return st.Store.Paused && st.Store.HeldCommits > 0
	})
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM while paused: %v\n%s", err, tailN(log.String(), 4000))
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	log = &logBuf{}
	d = h.startLogged(log)
	ready(d)
	caughtUp(d)
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, log)
	}
	h.expect(h.sessions())
}

func tailN(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// matches reports whether a `sessions --json` output has every session of
// the reference count with its tokens and counts (h.expect then reports any
// other difference).
func (h *home) matches(out []byte) bool {
	var views []api.SessionView
	if json.Unmarshal(out, &views) != nil {
		return false
	}
	want, err := claudetest.Count(filepath.Join(h.dir, ".claude"))
	if err != nil {
		h.t.Fatal(err)
	}
	if len(views) != len(want) {
		return false
	}
	for _, v := range views {
		w, ok := want[v.Key]
		if !ok || v.Record.Tokens != w.Tokens || v.Counts != w.Counts {
			return false
		}
	}
	return true
}
