package watch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// follower commits what a Tail reads, the way a session actor does.
type follower struct {
	t     testing.TB
	tail  *Tail
	path  string
	mark  Mark
	lines []string
	skips [][2]int64
}

func newFollower(t testing.TB, path string, cfg TailConfig) *follower {
	return &follower{t: t, tail: NewTail(cfg), path: path}
}

// read reads once with budget and commits; it returns whether more remain.
func (f *follower) read(budget int) bool {
	f.t.Helper()
	r, err := f.tail.Open(f.path, f.mark)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	if r.Reset {
		f.lines, f.skips = nil, nil
	}
	end, more, err := r.Lines(budget, func(l []byte) { f.lines = append(f.lines, string(l)) },
		func(off, n int64) { f.skips = append(f.skips, [2]int64{off, n}) })
	if err != nil {
		f.t.Fatal(err)
	}
	h, l, err := r.Head(4096)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mark = Mark{Known: true, Dev: r.Stat.Dev, Ino: r.Stat.Ino, HeadHash: h, HeadLen: l, Offset: end}
	return more
}

func (f *follower) readAll(budget int) {
	for f.read(budget) {
	}
}

func TestTailGrowingLineReadsOnlyNewBytes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	const size = 4 << 20
	write(t, p, "a\n"+strings.Repeat("x", size))
	f := newFollower(t, p, TailConfig{ChunkBytes: 64 << 10})
	f.readAll(64 << 10)
	if !slices.Equal(f.lines, []string{"a"}) || f.mark.Offset != 2 {
		t.Fatalf("lines %q, offset %d", f.lines, f.mark.Offset)
	}
	if got := f.tail.BytesRead(); got > size+(64<<10)+3*4096 { // one chunk twice
		t.Fatalf("first read: %d bytes for a %d byte file", got, size+2)
	}
	for i := range 50 {
		before := f.tail.BytesRead()
		appendTo(t, p, "0123456789")
		f.readAll(64 << 10)
		if got := f.tail.BytesRead() - before; got > 10+4096+4096 {
			t.Fatalf("append %d of 10 bytes read %d bytes (the whole unfinished line is %d)", i, got, size+10*(i+1))
		}
	}
	before := f.tail.BytesRead()
	appendTo(t, p, "\nb\n")
	f.readAll(64 << 10)
	if got := f.tail.BytesRead() - before; got > 2*(size+500)+3*4096 {
		t.Fatalf("finishing the line read %d bytes", got)
	}
	if len(f.lines) != 3 || len(f.lines[1]) != size+500 || f.lines[2] != "b" || len(f.skips) != 0 {
		t.Fatalf("%d lines (%d bytes in the long one), skips %v", len(f.lines), len(f.lines[1]), f.skips)
	}
}

func TestTailSkipsLineAboveMaxWithoutHoldingIt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	write(t, p, "a\n")
	f := newFollower(t, p, TailConfig{ChunkBytes: 64 << 10, MaxLineBytes: 1 << 20})
	f.readAll(64 << 10)
	chunk := strings.Repeat("y", 1<<20)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc := ms.TotalAlloc
	for range 5 { // 5 MiB, growing
		appendTo(t, p, chunk)
		f.readAll(64 << 10)
	}
	appendTo(t, p, "\nb\r\n\n  \nc\n")
	f.readAll(64 << 10)
	runtime.ReadMemStats(&ms)
	if got := ms.TotalAlloc - alloc; got > 1<<20 {
		t.Errorf("skipping a 5 MiB line allocated %d bytes", got)
	}
	if !slices.Equal(f.lines, []string{"a", "b", "c"}) {
		t.Fatalf("lines %q", f.lines)
	}
	if !slices.Equal(f.skips, [][2]int64{{2, 5<<20 + 1}}) {
		t.Fatalf("skips %v, want the long line at offset 2", f.skips)
	}
	if f.mark.Offset != 2+5<<20+1+9 {
		t.Fatalf("offset %d", f.mark.Offset)
	}
	// short lines above the cap inside one chunk are skipped too
	g := newFollower(t, p, TailConfig{ChunkBytes: 64 << 10, MaxLineBytes: 1 << 10})
	write(t, p, "a\n"+strings.Repeat("z", 2000)+"\nb\n")
	g.readAll(0)
	if !slices.Equal(g.lines, []string{"a", "b"}) || !slices.Equal(g.skips, [][2]int64{{2, 2001}}) {
		t.Fatalf("lines %q skips %v", g.lines, g.skips)
	}
}

func TestTailBudgetAndRewrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.jsonl")
	var want []string
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "line %04d\n", i)
		want = append(want, fmt.Sprintf("line %04d", i))
	}
	write(t, p, b.String())
	f := newFollower(t, p, TailConfig{ChunkBytes: 4096})
	if !f.read(1000) {
		t.Fatal("a budgeted read reports nothing more")
	}
	if n := len(f.lines); n != 100 {
		t.Fatalf("budget of 1000 bytes read %d lines of 10 bytes", n)
	}
	f.readAll(1000)
	if !slices.Equal(f.lines, want) {
		t.Fatalf("lines differ after budgeted reads")
	}
	// a rewrite (new inode) reads from 0 and reports Reset
	tmp := filepath.Join(dir, "tmp")
	write(t, tmp, "new\n")
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	r, err := f.tail.Open(p, f.mark)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !r.Reset || r.From != 0 {
		t.Fatalf("rewrite: Reset=%v From=%d", r.Reset, r.From)
	}
	f.readAll(0)
	if !slices.Equal(f.lines, []string{"new"}) {
		t.Fatalf("after rewrite: %q", f.lines)
	}
}

// A read that is not committed (the commit failed) is read again from the
// committed offset, whatever the Tail scanned meanwhile.
func TestTailRereadsFromAnOlderMark(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	write(t, p, "a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	f := newFollower(t, p, TailConfig{ChunkBytes: 8})
	committed := f.mark
	f.readAll(0) // scans the unfinished line
	f.mark = committed
	f.lines = nil
	appendTo(t, p, "\n")
	f.readAll(0)
	if !slices.Equal(f.lines, []string{"a", strings.Repeat("b", 39)}) {
		t.Fatalf("lines %q", f.lines)
	}
}

func TestTailOpenFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	write(t, p, "a\n")
	tl := NewTail(TailConfig{Open: func(name string) (*os.File, error) {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}})
	if _, err := tl.Open(p, Mark{}); !os.IsPermission(err) {
		t.Fatalf("err = %v, want the injected EACCES", err)
	}
}

// FuzzTail: whatever the appends, budgets and cap, a Tail hands over the
// same lines, skips and offset as splitting the whole file at once.
func FuzzTail(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), []byte{3, 1, 7}, uint8(2), uint8(3))
	f.Add([]byte(strings.Repeat("x", 100)+"\ny\n"), []byte{50, 1, 1, 60}, uint8(0), uint8(10))
	f.Fuzz(func(t *testing.T, data, cuts []byte, budget, maxLine uint8) {
		if len(cuts) > 64 {
			cuts = cuts[:64]
		}
		p := filepath.Join(t.TempDir(), "s.jsonl")
		write(t, p, "")
		fw := newFollower(t, p, TailConfig{ChunkBytes: 8, MaxLineBytes: int64(maxLine%32) + 1})
		rest := data
		for _, c := range cuts {
			n := min(int(c), len(rest))
			appendTo(t, p, string(rest[:n]))
			rest = rest[n:]
			fw.readAll(int(budget % 16))
		}
		appendTo(t, p, string(rest))
		fw.readAll(int(budget % 16))

		// reference
		var lines []string
		var skips [][2]int64
		off := int64(0)
		max := int(maxLine%32) + 1
		for {
			i := bytes.IndexByte(data[off:], '\n')
			if i < 0 {
				break
			}
			l := data[off : off+int64(i)]
			switch {
			case len(l) > max:
				skips = append(skips, [2]int64{off, int64(i + 1)})
			case len(bytes.TrimSpace(bytes.TrimSuffix(l, []byte{'\r'}))) > 0:
				lines = append(lines, string(bytes.TrimSuffix(l, []byte{'\r'})))
			}
			off += int64(i + 1)
		}
		if !slices.Equal(fw.lines, lines) || !slices.Equal(fw.skips, skips) || fw.mark.Offset != off {
			t.Fatalf("got lines %q skips %v end %d\nwant lines %q skips %v end %d", fw.lines, fw.skips, fw.mark.Offset, lines, skips, off)
		}
	})
}
