package watch

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// Defaults of TailConfig.
const (
	// DefaultChunkBytes is the read buffer of a Tail.
	DefaultChunkBytes = 1 << 20
	// DefaultMaxLineBytes is the longest line a Tail hands over.
	DefaultMaxLineBytes = 64 << 20
)

// TailConfig configures a Tail.
type TailConfig struct {
	// ChunkBytes is the size of one read (DefaultChunkBytes if zero).
	ChunkBytes int
	// MaxLineBytes bounds a line, without its newline (DefaultMaxLineBytes
	// if zero). A longer line is skipped without ever being held in
	// memory whole, and reported to Lines' skip callback.
	MaxLineBytes int64
	// Open opens a file for reading (os.Open if nil); tests inject faults.
	Open func(name string) (*os.File, error)
}

// Tail reads the lines appended to one file past the offset its reader
// committed. It keeps, between reads, how far past that offset it already
// searched for the end of an unfinished line: a line written in many small
// appends is searched only in the new bytes and read whole once, when its
// newline arrives; a line longer than MaxLineBytes is streamed past.
//
// A Tail belongs to one goroutine (the reader of the file). Its memory is a
// few words: buffers come from a bounded free list shared by all Tails.
type Tail struct {
	cfg TailConfig
	// The unfinished line at offset base of file (dev, ino) holds no
	// newline in [base, scanned). Valid only while ok.
	ok       bool
	dev, ino uint64
	base     int64
	scanned  int64
	// read counts the bytes read from files, for tests and benchmarks.
	read int64
}

// NewTail returns a Tail with cfg's defaults applied.
func NewTail(cfg TailConfig) *Tail {
	if cfg.ChunkBytes <= 0 {
		cfg.ChunkBytes = DefaultChunkBytes
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.Open == nil {
		cfg.Open = os.Open
	}
	return &Tail{cfg: cfg}
}

// BytesRead is the total number of bytes the Tail read from files.
func (t *Tail) BytesRead() int64 { return t.read }

// Mark is what a reader committed of a file: its identity and the offset
// after the last complete line it consumed.
type Mark struct {
	// Known is false for a file never committed: it is read from 0.
	Known bool
	// Dev, Ino, HeadHash and HeadLen identify the committed file (see
	// HeadHash).
	Dev, Ino uint64
	HeadHash uint64
	HeadLen  int64
	// Offset is the committed offset.
	Offset int64
}

// Reader is one open read of a Tail's file. Close it when done.
type Reader struct {
	t *Tail
	f *os.File
	// Stat is the open file's state.
	Stat FileStat
	// Reset reports that the file is not the one committed (another inode,
	// shorter than the offset, or a changed head): read it from 0 and
	// replace what it contributed.
	Reset bool
	// From is where reading starts: the committed offset, or 0 for a new
	// or reset file.
	From int64
}

// Open opens path and compares it with m. The error of a missing file
// satisfies errors.Is(err, fs.ErrNotExist).
func (t *Tail) Open(path string, m Mark) (*Reader, error) {
	f, err := t.cfg.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{t: t, f: f}
	if r.Stat, err = StatFile(f); err != nil {
		f.Close()
		return nil, err
	}
	if m.Known {
		switch st := r.Stat; {
		case st.Ino != m.Ino || st.Dev != m.Dev, st.Size < m.Offset:
			r.Reset = true
		case m.HeadLen > 0:
			h, l, err := HeadHash(f, int(m.HeadLen))
			if err != nil {
				f.Close()
				return nil, err
			}
			t.read += l
			r.Reset = h != m.HeadHash || l != m.HeadLen
		}
		if !r.Reset {
			r.From = m.Offset
		}
	}
	return r, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Head returns HeadHash of the open file's first n bytes.
func (r *Reader) Head(n int) (hash uint64, length int64, err error) {
	hash, length, err = HeadHash(r.f, n)
	r.t.read += length
	return hash, length, err
}

// Lines reads the complete lines from r.From on, about budget bytes of them
// (more only to finish a line; budget <= 0 reads to the end of the file).
// It calls line with each line that is not blank, without its "\n" or
// "\r\n" (the slice is valid only during the call), and skip with the
// offset and length (newline included) of each line longer than
// MaxLineBytes. It returns the offset after the last line handed over or
// skipped, and whether complete lines may remain past it.
func (r *Reader) Lines(budget int, line func([]byte), skip func(off, n int64)) (end int64, more bool, err error) {
	t, size := r.t, r.Stat.Size
	if !t.ok || r.Reset || t.dev != r.Stat.Dev || t.ino != r.Stat.Ino || t.base != r.From || t.scanned > size {
		t.ok, t.dev, t.ino, t.base, t.scanned = true, r.Stat.Dev, r.Stat.Ino, r.From, r.From
	}
	defer func() {
		if err != nil {
			t.ok = false
		}
	}()
	bp := getBuf(t.cfg.ChunkBytes)
	defer putBuf(bp, t.cfg.ChunkBytes)
	buf := (*bp)[:cap(*bp)]
	pos, used := r.From, int64(0)
	for pos < size {
		if budget > 0 && used >= int64(budget) {
			return pos, true, nil
		}
		if t.scanned > pos {
			// inside a long line: search the bytes not searched yet
			n, done, err := r.longLine(buf, pos, line, skip)
			if err != nil || !done {
				return pos, false, err
			}
			pos, used = pos+n, used+n
			continue
		}
		want := min(size-pos, int64(len(buf)))
		if budget > 0 {
			want = min(want, int64(budget)-used)
		}
		n, err := r.readAt(buf[:want], pos)
		if err != nil {
			return pos, false, err
		}
		if n == 0 {
			break // shrunk under us: the next read sees it
		}
		i := bytes.LastIndexByte(buf[:n], '\n')
		if i < 0 {
			t.base, t.scanned = pos, pos+int64(n) // no newline there
			continue
		}
		off := pos
		for l := range bytes.SplitAfterSeq(buf[:i+1], []byte{'\n'}) {
			r.emit(l, off, line, skip)
			off += int64(len(l))
		}
		pos, used = pos+int64(i+1), used+int64(i+1)
		t.base, t.scanned = pos, pos
	}
	return pos, false, nil
}

// longLine continues the search for the newline ending the line at
// t.base, past t.scanned. When found (done), the line is handed over (read
// whole once) or skipped, and n is its length.
func (r *Reader) longLine(buf []byte, start int64, line func([]byte), skip func(off, n int64)) (n int64, done bool, err error) {
	t, size := r.t, r.Stat.Size
	for t.scanned < size {
		m, err := r.readAt(buf[:min(size-t.scanned, int64(len(buf)))], t.scanned)
		if err != nil {
			return 0, false, err
		}
		if m == 0 {
			return 0, false, nil
		}
		j := bytes.IndexByte(buf[:m], '\n')
		if j < 0 {
			t.scanned += int64(m)
			continue
		}
		n = t.scanned + int64(j) + 1 - start
		t.base, t.scanned = start+n, start+n
		if n-1 > t.cfg.MaxLineBytes {
			skip(start, n)
			return n, true, nil
		}
		whole := buf // the search is over: reuse its buffer if the line fits
		if n > int64(len(buf)) {
			whole = make([]byte, n)
		}
		whole = whole[:n]
		k, err := r.readAt(whole, start)
		if err != nil {
			return 0, false, err
		}
		if int64(k) < n || whole[n-1] != '\n' {
			// Changed under us (a rewrite or truncation): not an error
			// of the file. Forget the scan state; the change's own event
			// brings a read that sees it.
			t.ok = false
			return 0, false, nil
		}
		r.emit(whole, start, line, skip)
		return n, true, nil
	}
	return 0, false, nil
}

// emit hands over one line (with its newline) unless it is blank or too
// long.
func (r *Reader) emit(l []byte, off int64, line func([]byte), skip func(off, n int64)) {
	body := bytes.TrimSuffix(l, []byte{'\n'})
	if int64(len(body)) > r.t.cfg.MaxLineBytes {
		skip(off, int64(len(l)))
		return
	}
	body = bytes.TrimSuffix(body, []byte{'\r'})
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	line(body)
}

// readAt reads len(p) bytes at off, or fewer at the end of the file.
func (r *Reader) readAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	r.t.read += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, err
	}
	return n, nil
}

// Read buffers are reused: every reader reads through one, and without
// reuse a cold scan's garbage, not its live data, sets the process size. A
// bounded free list (unlike sync.Pool) survives garbage collections.
var freeBufs = make(chan *[]byte, 16)

func getBuf(size int) *[]byte {
	select {
	case b := <-freeBufs:
		if cap(*b) >= size {
			return b
		}
	default:
	}
	b := make([]byte, 0, size)
	return &b
}

func putBuf(b *[]byte, size int) {
	if cap(*b) > 2*size {
		return // don't keep a buffer much larger than asked for
	}
	*b = (*b)[:0]
	select {
	case freeBufs <- b:
	default:
	}
}
