package watch

import (
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"time"
)

// FileStat is what the watcher saw of a file at one moment.
type FileStat struct {
	// Path is the file's path as found below its root (for a symlink, the
	// link's path; the other fields describe the link's target).
	Path string
	// Size is the file's size in bytes.
	Size int64
	// ModTime is the file's modification time.
	ModTime time.Time
	// Dev and Ino identify the file (zero where the platform has no inodes).
	Dev, Ino uint64
	// Removed reports that the file is gone. The other fields then hold
	// what was last reported for the path.
	Removed bool
}

// sameStat reports whether a and b show no observable change: same size,
// modification time and identity.
func sameStat(a, b FileStat) bool {
	return a.Size == b.Size && a.ModTime.Equal(b.ModTime) && a.Ino == b.Ino && a.Dev == b.Dev
}

func fileStatOf(path string, fi fs.FileInfo) FileStat {
	dev, ino := devIno(fi)
	return FileStat{Path: path, Size: fi.Size(), ModTime: fi.ModTime(), Dev: dev, Ino: ino}
}

// Stat returns the FileStat of path, following symlinks. The error is the
// *fs.PathError of os.Stat, so errors.Is(err, fs.ErrNotExist) works.
func Stat(path string) (FileStat, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return FileStat{}, err
	}
	return fileStatOf(path, fi), nil
}

// StatFile returns the FileStat of an open file, with Path set to f.Name().
// Comparing it with Stat of the same path tells whether the path still
// names the open file.
func StatFile(f *os.File) (FileStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return FileStat{}, err
	}
	return fileStatOf(f.Name(), fi), nil
}

// headChunk bounds the buffer HeadHash reads into.
const headChunk = 8 << 10

// HeadHash returns the 64-bit FNV-1a hash of the first min(n, size) bytes of
// f and how many bytes that was. It reads with ReadAt, so f's offset is left
// alone and concurrent readers are safe. n <= 0 hashes nothing (length 0).
//
// A reader stores (hash, length) with its checkpoint; later, HeadHash with
// n = length gives a smaller length or (barring a hash collision) a
// different hash when those first bytes were rewritten.
func HeadHash(f *os.File, n int) (hash uint64, length int64, err error) {
	h := fnv.New64a()
	buf := make([]byte, min(max(n, 0), headChunk))
	for length < int64(n) {
		want := min(int64(len(buf)), int64(n)-length)
		m, rerr := f.ReadAt(buf[:want], length)
		h.Write(buf[:m]) //nolint:errcheck // hash.Hash.Write never fails
		length += int64(m)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	return h.Sum64(), length, nil
}
