// Package sqliteread opens agents' SQLite databases for reading only and
// retries reads a busy database refused. It is shared by the providers that
// read databases (Cursor, OpenCode): every connection is read-only (mode=ro)
// with a busy timeout, and a database in WAL mode that no connection has
// open is opened immutable, so that sessiond never creates a file in an
// agent's directory.
package sqliteread

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessiond/sessiond/providers"
)

// Options are how a provider's connections are opened.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock before
	// SQLITE_BUSY (a WAL reader only waits while the WAL index is being
	// recovered, or for a writer's exclusive lock in rollback-journal mode).
	BusyTimeout time.Duration
	// QueryOnly adds PRAGMA query_only(1) to the connection (OpenCode).
	QueryOnly bool
}

// DSN is the connection string of a read-only connection to the database
// at path: mode=ro (never written, never created) and the busy timeout;
// immutable=1 when immutable is set (see Immutable).
func DSN(path string, immutable bool, o Options) string {
	q := fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)", o.BusyTimeout.Milliseconds())
	if o.QueryOnly {
		q += "&_pragma=query_only(1)"
	}
	if immutable {
		q += "&immutable=1"
	}
	return "file:" + URIPath(path) + q
}

// URIPath renders a file path for an SQLite URI: slashes, an absolute
// form, and '%', '?', '#' and non-printable bytes escaped.
func URIPath(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x → /C:/x
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' || c == '?' || c == '#' || c <= ' ' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Immutable reports whether the database at path must be opened immutable:
// it is in WAL mode (its header's read and write versions are 2), it has no
// -shm file, and its -wal file is missing or holds no frame. No connection
// has it open (a connection in WAL mode keeps a -shm), and the main file
// holds every commit. A WAL database needs both files to be read, and a
// reader creates those missing; an immutable connection creates nothing.
// The main file only changes when a checkpoint copies a WAL back, long
// after an agent opened the database again, so such a connection is used
// for one operation and closed.
//
// A -wal that holds frames but has no -shm (its wal-index lost) is opened
// ro: SQLite then creates the -shm next to it, but no read-only way
// reads the WAL's commits without it (immutable ignores the WAL,
// readonly_shm=1 cannot open a missing -shm).
func Immutable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	var h [20]byte
	_, err = f.ReadAt(h[:], 0)
	f.Close()
	if err != nil || string(h[:16]) != "SQLite format 3\x00" || h[18] != 2 || h[19] != 2 {
		return false
	}
	if _, err := os.Lstat(path + "-shm"); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return noFrames(path + "-wal")
}

// WAL file layout (https://www.sqlite.org/walformat.html).
const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
)

// noFrames reports whether the WAL file at path is missing or too short to
// hold one frame (SQLite reads nothing from it then). A WAL whose header
// SQLite would not accept counts as holding frames: it is left to SQLite.
func noFrames(path string) bool {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if fi.Size() <= walHeaderSize {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [walHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false
	}
	if magic := binary.BigEndian.Uint32(h[0:]); magic != 0x377f0682 && magic != 0x377f0683 {
		return false
	}
	pageSize := int64(binary.BigEndian.Uint32(h[8:]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return false
	}
	return fi.Size() < walHeaderSize+walFrameHeaderSize+pageSize
}

// SQLite primary result codes that mean "try again".
const (
	codeBusy     = sqlite3.SQLITE_BUSY
	codeLocked   = sqlite3.SQLITE_LOCKED
	codeProtocol = sqlite3.SQLITE_PROTOCOL
)

// Busy reports whether err is SQLite's busy or locked error (a writer in
// the way).
func Busy(err error) bool {
	c, ok := code(err)
	return ok && (c == codeBusy || c == codeLocked)
}

// code returns the primary result code of an SQLite error in err's chain.
func code(err error) (int, bool) {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code() & 0xff, true
}

// Policy is how an operation on a busy database is retried.
type Policy struct {
	// Attempts is how many times the operation runs at most (at least once).
	Attempts int
	// Pause is the wait after the failed attempt n (0 for the first).
	Pause func(n int) time.Duration
	// Protocol counts SQLite's WAL-protocol error (a checkpoint in the
	// way) as busy too (Cursor).
	Protocol bool
}

// Retryable reports whether err is worth another attempt: SQLite's busy or
// locked error, and its WAL-protocol error if the policy says so.
func (p Policy) Retryable(err error) bool {
	c, ok := code(err)
	return ok && (c == codeBusy || c == codeLocked || p.Protocol && c == codeProtocol)
}

// Retry runs op, again after a pause while it fails with a Retryable error.
// When the attempts run out it returns op's last error wrapped in
// providers.ErrTemporary; when ctx ends during a pause, ctx's error and
// op's last error (both reachable with errors.Is and errors.As).
func (p Policy) Retry(ctx context.Context, op func() error) error {
	for n := 0; ; n++ {
		err := op()
		if err == nil || !p.Retryable(err) {
			return err
		}
		if n+1 >= p.Attempts {
			return fmt.Errorf("%w: %w", providers.ErrTemporary, err)
		}
		t := time.NewTimer(p.Pause(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
