package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatAndStatFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	write(t, p, "hello\n")
	st, err := Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Path != p || st.Size != 6 || st.Ino == 0 || st.ModTime.IsZero() || st.Removed {
		t.Fatalf("Stat = %+v", st)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fst, err := StatFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if !sameStat(st, fst) || fst.Path != p {
		t.Fatalf("StatFile = %+v, want %+v", fst, st)
	}

	// Replacing the file changes the identity seen by Stat but not StatFile.
	write(t, p+".tmp", "hello\n")
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	st2, err := Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Ino == fst.Ino {
		t.Errorf("replaced file kept inode %d", st2.Ino)
	}

	if _, err := Stat(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestHeadHash(t *testing.T) {
	dir := t.TempDir()
	open := func(name, data string) *os.File {
		t.Helper()
		p := filepath.Join(dir, name)
		write(t, p, data)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	long := strings.Repeat("0123456789", 2000) // 20000 bytes: several chunks
	a := open("a", long)
	b := open("b", long+"more")
	c := open("c", "X"+long[1:])

	ha, na, err := HeadHash(a, 10000)
	if err != nil || na != 10000 {
		t.Fatalf("HeadHash(a) = %d, %d, %v", ha, na, err)
	}
	if hb, nb, _ := HeadHash(b, 10000); hb != ha || nb != na {
		t.Errorf("same head, different hash: %x/%d vs %x/%d", hb, nb, ha, na)
	}
	if hc, _, _ := HeadHash(c, 10000); hc == ha {
		t.Errorf("changed head, same hash %x", hc)
	}
	// n beyond the size hashes the whole file and says so.
	hAll, nAll, err := HeadHash(a, 1<<20)
	if err != nil || nAll != int64(len(long)) {
		t.Fatalf("HeadHash(a, 1MiB) = %d, %v; want length %d", nAll, err, len(long))
	}
	if hb, _, _ := HeadHash(b, len(long)); hb != hAll {
		t.Errorf("prefix hash differs")
	}
	// ReadAt leaves the offset alone.
	if off, _ := a.Seek(0, 1); off != 0 {
		t.Errorf("offset moved to %d", off)
	}
	if h0, n0, err := HeadHash(a, 0); err != nil || n0 != 0 || h0 == 0 {
		t.Errorf("HeadHash(a, 0) = %x, %d, %v", h0, n0, err)
	}
	empty := open("empty", "")
	if _, n, err := HeadHash(empty, 1024); err != nil || n != 0 {
		t.Errorf("HeadHash(empty) = %d, %v", n, err)
	}
}
