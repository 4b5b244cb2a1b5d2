//go:build linux

package persistence_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// allocated is how many bytes of path the filesystem has backed.
func allocated(t *testing.T, path string) (size, alloc int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size(), fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestSpacePreallocatesBadgerMemtableLogs opens a real store: Badger's
// memtable log is a sparse file, and Preallocate backs all of it.
func TestSpacePreallocatesBadgerMemtableLogs(t *testing.T) {
	dir := t.TempDir()
	st, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mems []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mem") {
			mems = append(mems, filepath.Join(dir, e.Name()))
		}
	}
	if len(mems) == 0 {
		t.Fatal("no memtable log in a freshly opened store")
	}
	for _, p := range mems {
		if size, alloc := allocated(t, p); alloc >= size {
			t.Skipf("%s is not sparse here (%d of %d bytes allocated)", p, alloc, size)
		}
	}
	sp := persistence.NewSpace(dir)
	if err := sp.Preallocate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range mems {
		size, alloc := allocated(t, p)
		if alloc == 0 {
			t.Skip("this filesystem does not preallocate")
		}
		if alloc < size {
			t.Errorf("%s: %d of %d bytes allocated", p, alloc, size)
		}
	}
	if err := sp.Preallocate(); err != nil { // nothing new: a no-op
		t.Fatal(err)
	}
	// the memtable log Badger starts next (numbered in sequence) is seen
	last := mems[len(mems)-1]
	var fid int
	if _, err := fmt.Sscanf(filepath.Base(last), "%05d.mem", &fid); err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, fmt.Sprintf("%05d.mem", fid+1))
	if err := os.WriteFile(next, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(next, 16<<20); err != nil {
		t.Fatal(err)
	}
	if err := sp.Preallocate(); err != nil {
		t.Fatal(err)
	}
	if size, alloc := allocated(t, next); alloc < size {
		t.Errorf("the next memtable log: %d of %d bytes allocated", alloc, size)
	}
}

func TestSpaceFree(t *testing.T) {
	dir := t.TempDir()
	free, total, err := persistence.NewSpace(dir).Free()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if total != st.Blocks*uint64(st.Frsize) || free == 0 || free > total {
		t.Fatalf("free %d of %d; statfs says %d blocks of %d, %d available", free, total, st.Blocks, st.Frsize, st.Bavail)
	}
	if _, _, err := persistence.NewSpace(filepath.Join(dir, "missing")).Free(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing dir: %v", err)
	}
}

// TestPreallocatedLogSurvivesFullDisk commits to a store on a full tmpfs in
// a child process: with its memtable log preallocated the commits are
// written; with the log left sparse, as Badger leaves it, the same commits
// kill the process with SIGBUS.
func TestPreallocatedLogSurvivesFullDisk(t *testing.T) {
	if mode := os.Getenv("SESSIOND_SPACE_CHILD"); mode != "" {
		fullDiskChild(t, os.Getenv("SESSIOND_SPACE_DIR"), mode == "prealloc")
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	for _, mode := range []string{"prealloc", "sparse"} {
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v %s", err, out)
		}
		c := exec.Command(os.Args[0], "-test.run=^TestPreallocatedLogSurvivesFullDisk$", "-test.v")
		c.Env = append(os.Environ(), "SESSIOND_SPACE_CHILD="+mode, "SESSIOND_SPACE_DIR="+dir)
		out, err := c.CombinedOutput()
		_ = exec.Command("umount", "-l", dir).Run()
		switch {
		case mode == "prealloc" && (err != nil || !strings.Contains(string(out), "committed on a full disk")):
			t.Errorf("preallocated: %v\n%s", err, tail(out))
		case mode == "sparse" && (err == nil || !strings.Contains(string(out), "SIGBUS")):
			t.Errorf("sparse: want a SIGBUS (the fault preallocation prevents), got %v\n%s", err, tail(out))
		}
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-2000):] }

func fullDiskChild(t *testing.T, dir string, prealloc bool) {
	st, err := persistence.Open(filepath.Join(dir, "data"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if prealloc {
		if err := persistence.NewSpace(st.Dir()).Preallocate(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "ballast"))
	if err != nil {
		t.Fatal(err)
	}
	for chunk := make([]byte, 1<<20); ; {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for i := range 200 {
		d := session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}
		d.Observe(time.Now())
		k := session.Key{Provider: session.ClaudeCode, ID: session.ID(fmt.Sprintf("s%04d", i))}
		res := st.Apply([]persistence.Op{&persistence.Commit{Key: k, Files: []persistence.FileUpdate{
			{Checkpoint: session.Checkpoint{Path: "/f" + string(k.ID), Offset: 1, Size: 1}, Delta: d}}}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	if err := st.Sync(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("committed on a full disk")
	// no Close: it would write the memtable out as a table, which needs
	// space (sessiond leaves it in its log on a full disk too)
	os.Exit(0)
}
