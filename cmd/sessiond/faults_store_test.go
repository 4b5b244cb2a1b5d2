package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// runFail runs sessiond expecting a non-zero exit within a minute and
// returns stdout and stderr.
func (h *home) runFail(args ...string) (string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	c := h.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			h.t.Fatalf("sessiond %v: want a non-zero exit, got %v\n%s%s", args, err, out.String(), errb.String())
		}
	case <-time.After(time.Minute):
		_ = c.Process.Kill()
		<-done
		h.t.Fatalf("sessiond %v: still running after a minute (it should refuse)\n%s", args, errb.String())
	}
	return out.String(), errb.String()
}

// copyDir copies a data dir (flat: Badger keeps no subdirectories).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// dirState lists the names, sizes and contents' hash of the files of dir
// (the LOCK file aside).
func dirState(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		if e.Name() == "LOCK" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %x\n", e.Name(), len(data), fnv(data))
	}
	return b.String()
}

func fnv(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func biggest(t *testing.T, dir, suffix string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if len(m) == 0 {
		t.Fatalf("no %s file in %s", suffix, dir)
	}
	slices.SortFunc(m, func(a, b string) int {
		fa, _ := os.Stat(a)
		fb, _ := os.Stat(b)
		return int(fb.Size() - fa.Size())
	})
	return m[0]
}

func flipBytes(t *testing.T, path string, off int64, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := off; i < off+int64(n) && i < int64(len(b)); i++ {
		b[i] ^= 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStoreDamage damages a scanned store three ways. Each time `run`
// refuses to start naming the data dir and what to do, `store verify`
// reports the damage, neither changes a byte, and `store rebuild` brings
// back every session: from the agents' files, or from the damaged store
// for the sessions whose files are gone.
func TestStoreDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	base := newHome(t, claudetest.Options{TotalBytes: 3 << 20, Seed: 21, SubagentFraction: -1, ReplayFraction: -1})
	base.run("scan")
	want := base.sessions()
	base.expect(want)
	if len(want) < 5 {
		t.Fatalf("corpus too small: %d sessions", len(want))
	}
	pristine := filepath.Join(t.TempDir(), "pristine")
	copyDir(t, base.data, pristine)

	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// dropFiles deletes agent files before the rebuild: their sessions
		// must come back from the damaged store.
		dropFiles bool
	}{
		{"sst-64-bytes", func(t *testing.T, dir string) {
			p := biggest(t, dir, ".sst")
			fi, _ := os.Stat(p)
			flipBytes(t, p, fi.Size()/2, 64)
		}, false},
		{"manifest-cut-in-half", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "MANIFEST")
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"vlog-header", func(t *testing.T, dir string) { flipBytes(t, biggest(t, dir, ".vlog"), 0, 16) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &home{t: t, dir: base.dir, data: filepath.Join(t.TempDir(), "data")}
			copyDir(t, pristine, h.data)
			c.damage(t, h.data)
			before := dirState(t, h.data)

			_, stderr := h.runFail("run", "--listen", freePort(t))
			for _, want := range []string{h.data, "damaged", "sessiond store verify", "sessiond store rebuild", "sessiond restore"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("run's message lacks %q:\n%s", want, stderr)
				}
			}
			if _, stderr := h.runFail("sessions"); !strings.Contains(stderr, h.data) || !strings.Contains(stderr, "damaged") {
				t.Errorf("sessions on a damaged store:\n%s", stderr)
			}
			out, stderr := h.runFail("store", "verify")
			if !strings.Contains(out+stderr, "problem") {
				t.Errorf("verify did not report the damage:\n%s%s", out, stderr)
			}
			if after := dirState(t, h.data); after != before {
				t.Fatalf("the damaged store was modified:\nbefore\n%s\nafter\n%s", before, after)
			}

			// rebuild, with some agent files gone when the case says so
			var dropped []session.Key
			if c.dropFiles {
				h.dir = t.TempDir()
				if err := os.CopyFS(filepath.Join(h.dir, ".claude"), os.DirFS(filepath.Join(base.dir, ".claude"))); err != nil {
					t.Fatal(err)
				}
				dropped = dropSessions(t, filepath.Join(h.dir, ".claude"), 3)
			}
			out = h.run("store", "rebuild")
			t.Logf("rebuild:\n%s", out)
			for _, want := range []string{"moved " + h.data, "sessions re-read from the agents' files", "sessions restored from the damaged store"} {
				if !strings.Contains(out, want) {
					t.Errorf("rebuild report lacks %q", want)
				}
			}
			if m, _ := filepath.Glob(h.data + ".damaged-*"); len(m) != 1 || dirState(t, m[0]) != before {
				t.Errorf("the damaged store was not kept as it was: %v", m)
			}
			got := h.sessions()
			if !c.dropFiles {
				h.expect(got)
				if !strings.Contains(out, "damaged table blocks") && !strings.Contains(out, "every session") {
					t.Errorf("rebuild report does not say what could not be recovered")
				}
				return
			}
			if len(got) != len(want) {
				t.Errorf("after rebuild %d sessions, want %d", len(got), len(want))
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Errorf("session %s lost", k)
					continue
				}
				if g.Record.Tokens != w.Record.Tokens || g.Counts != w.Counts || !g.StartedAt.Equal(w.StartedAt) {
					t.Errorf("session %s: tokens %+v, want %+v", k, g.Record.Tokens, w.Record.Tokens)
				}
			}
			for _, k := range dropped {
				if !strings.Contains(out, k.String()) {
					t.Errorf("rebuild report does not list %s as restored from the damaged store", k)
				}
			}
			h.run("store", "verify")
		})
	}
}

// dropSessions deletes the transcript files of n sessions (every file whose
// first record names them) and returns their keys.
func dropSessions(t *testing.T, root string, n int) []session.Key {
	t.Helper()
	want, err := claudetest.Count(root)
	if err != nil {
		t.Fatal(err)
	}
	var keys []session.Key
	for k := range want {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b session.Key) int { return strings.Compare(string(a.ID), string(b.ID)) })
	keys = keys[:n]
	for _, k := range keys {
		m, _ := filepath.Glob(filepath.Join(root, "projects", "*", string(k.ID)+".jsonl"))
		if len(m) != 1 {
			t.Fatalf("files of %s: %v", k, m)
		}
		if err := os.Remove(m[0]); err != nil {
			t.Fatal(err)
		}
	}
	after, err := claudetest.Count(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(want)-n {
		t.Fatalf("dropping %d sessions left %d of %d", n, len(after), len(want))
	}
	return keys
}

// TestBackupWhileRunningAndRestore backs up through a running daemon's API,
// restores into a fresh data dir and compares `sessions --json`; restore
// refuses a non-empty data dir without --force and moves it aside with it.
func TestBackupWhileRunningAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	h := newHome(t, claudetest.Options{TotalBytes: 2 << 20, Seed: 23})
	h.run("scan")
	wantJSON := h.run("sessions", "--json")

	d := h.start(freePort(t))
	d.ready(t)
	file := filepath.Join(t.TempDir(), "sessiond.bak")
	bc := h.cmd("backup", file)
	bc.Env = append(bc.Env, "SESSIOND_LISTEN="+d.addr)
	var errb bytes.Buffer
	bc.Stderr = &errb
	if out, err := bc.Output(); err != nil || !strings.Contains(string(out), "backed up") {
		t.Fatalf("backup while running: %v %s\n%s", err, out, errb.String())
	}
	// restore refuses while the daemon holds the data dir
	if _, stderr := h.runFail("restore", file, "--force"); !strings.Contains(stderr, "running sessiond") {
		t.Errorf("restore while running: %s", stderr)
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.stderr)
	}

	fresh := &home{t: t, dir: h.dir, data: filepath.Join(t.TempDir(), "restored")}
	fresh.run("restore", file)
	if got := fresh.run("sessions", "--json"); got != wantJSON {
		t.Fatalf("restored sessions differ from the original")
	}

	// a non-empty data dir: refused, then moved aside with --force
	_, stderr := fresh.runFail("restore", file)
	if !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "--force") {
		t.Errorf("restore into a non-empty dir: %s", stderr)
	}
	out := fresh.run("restore", "--force", file)
	if m, _ := filepath.Glob(fresh.data + ".replaced-*"); len(m) != 1 || !strings.Contains(out, m[0]) {
		t.Errorf("--force did not keep the old store aside: %v\n%s", m, out)
	}
	if got := fresh.run("sessions", "--json"); got != wantJSON {
		t.Fatalf("sessions differ after restore --force")
	}
	// a truncated backup is refused and changes nothing
	b, _ := os.ReadFile(file)
	cut := filepath.Join(t.TempDir(), "cut.bak")
	_ = os.WriteFile(cut, b[:len(b)/2], 0o600)
	empty := &home{t: t, dir: h.dir, data: filepath.Join(t.TempDir(), "e")}
	empty.runFail("restore", cut)
	if _, err := os.Stat(empty.data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed restore left %s behind", empty.data)
	}
	if left, _ := filepath.Glob(empty.data + ".restoring-*"); len(left) > 0 {
		t.Errorf("a failed restore left its temporary store behind: %v", left)
	}
}
