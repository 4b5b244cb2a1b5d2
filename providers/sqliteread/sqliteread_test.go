package sqliteread

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/providers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// create makes a database at path in the given journal mode holding n
// rows, and returns the writer's handle (one connection, left open).
func create(t *testing.T, path, mode string, n int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+URIPath(path)+"?_pragma=journal_mode("+mode+")&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := db.Exec("INSERT INTO t VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// count reads the rows of t through a read-only connection.
func count(t *testing.T, path string, immutable bool) int {
	t.Helper()
	db, err := sql.Open("sqlite", DSN(path, immutable, Options{BusyTimeout: time.Second, QueryOnly: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("count %s (immutable %v): %v", path, immutable, err)
	}
	return n
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// TestClosedWALImmutable: a WAL database its writer closed has neither
// -wal nor -shm; it is opened immutable, read whole, and no file appears
// next to it. (Opened ro only, SQLite would create both.)
func TestClosedWALImmutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := create(t, path, "WAL", 3)
	if Immutable(path) {
		t.Fatal("Immutable while the writer has the database open")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"-wal", "-shm"} {
		if exists(path + s) {
			t.Fatalf("%s left after the writer closed", s)
		}
	}
	if !Immutable(path) {
		t.Fatal("closed WAL database not Immutable")
	}
	if n := count(t, path, Immutable(path)); n != 3 {
		t.Errorf("read %d rows, want 3", n)
	}
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		if exists(path + s) {
			t.Errorf("reading created %s", s)
		}
	}
}

// TestOpenWALReadOnly: a WAL database its writer holds open is read ro
// (not immutable), commits still in the WAL included.
func TestOpenWALReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := create(t, path, "WAL", 2)
	if Immutable(path) {
		t.Fatal("open WAL database Immutable")
	}
	if n := count(t, path, false); n != 2 {
		t.Errorf("read %d rows, want 2", n)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (9)"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, path, Immutable(path)); n != 3 {
		t.Errorf("after a commit: read %d rows, want 3", n)
	}
}

// TestRollbackJournalNotImmutable: Immutable is only for WAL databases.
func TestRollbackJournalNotImmutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := create(t, path, "DELETE", 1)
	db.Close()
	if Immutable(path) || Immutable(path+".none") {
		t.Error("rollback-journal or missing database Immutable")
	}
	if n := count(t, path, false); n != 1 {
		t.Errorf("read %d rows, want 1", n)
	}
}

// TestBusyRetriedThenTemporary: a database a writer holds locked is tried
// Attempts times, then the error says temporary (providers.ErrTemporary)
// and still carries SQLite's busy error; once the lock is gone the same
// operation succeeds.
func TestBusyRetriedThenTemporary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := create(t, path, "DELETE", 1)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	r, err := sql.Open("sqlite", DSN(path, false, Options{BusyTimeout: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := Policy{Attempts: 3, Pause: func(int) time.Duration { return time.Millisecond }}
	attempts := 0
	op := func() error {
		attempts++
		var n int
		return r.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n)
	}
	err = p.Retry(ctx, op)
	if !errors.Is(err, providers.ErrTemporary) || !Busy(err) || !p.Retryable(err) {
		t.Errorf("under an exclusive lock: %v, want temporary and busy", err)
	}
	if attempts != 3 {
		t.Errorf("%d attempts, want 3", attempts)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = p.Retry(cctx, op)
	if !errors.Is(err, context.Canceled) || !Busy(err) || errors.Is(err, providers.ErrTemporary) {
		t.Errorf("cancelled: %v, want canceled and busy, not temporary", err)
	}

	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	attempts = 0
	if err := p.Retry(ctx, op); err != nil || attempts != 1 {
		t.Errorf("after the lock: %v after %d attempts", err, attempts)
	}
}

// TestRetryOtherErrors: an error that is not a busy database is returned
// at once, unwrapped.
func TestRetryOtherErrors(t *testing.T) {
	boom := errors.New("boom")
	attempts := 0
	err := Policy{Attempts: 5, Pause: func(int) time.Duration { return time.Hour }, Protocol: true}.Retry(context.Background(), func() error {
		attempts++
		return boom
	})
	if err != boom || attempts != 1 { //nolint:errorlint // returned as is
		t.Errorf("got %v after %d attempts", err, attempts)
	}
	if Busy(boom) || (Policy{Protocol: true}).Retryable(boom) {
		t.Error("a plain error counted as busy")
	}
}

func TestURIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/home/ana/state.vscdb":                                 "/home/ana/state.vscdb",
		"/Users/ana/Library/Application Support/Cursor/x.vscdb": "/Users/ana/Library/Application%20Support/Cursor/x.vscdb",
		"/tmp/a?b#c%d": "/tmp/a%3Fb%23c%25d",
		"rel/x.db":     "/rel/x.db",
	} {
		if got := URIPath(in); got != want {
			t.Errorf("URIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDSN(t *testing.T) {
	o := Options{BusyTimeout: 2 * time.Second}
	if got, want := DSN("/a b/x.db", false, o), "file:/a%20b/x.db?mode=ro&_pragma=busy_timeout(2000)"; got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
	o.QueryOnly = true
	if got, want := DSN("/x.db", true, o), "file:/x.db?mode=ro&_pragma=busy_timeout(2000)&_pragma=query_only(1)&immutable=1"; got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
}

// copyFile copies a file byte for byte.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// closedWAL makes a WAL database at path holding n rows, its writer closed
// (neither -wal nor -shm left).
func closedWAL(t *testing.T, path string, n int) {
	t.Helper()
	db := create(t, path, "WAL", n)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEmptyWALWithoutSHM: a WAL database with an empty -wal (or one too
// short for a frame) and no -shm holds every commit in its main file; it
// is opened immutable, and no -shm appears in the agent's directory. A ro
// connection, as before, creates the -shm.
func TestEmptyWALWithoutSHM(t *testing.T) {
	for name, wal := range map[string][]byte{"empty": {}, "header only": walHeader(4096)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			closedWAL(t, path, 3)
			if err := os.WriteFile(path+"-wal", wal, 0o600); err != nil {
				t.Fatal(err)
			}
			if !Immutable(path) {
				t.Fatal("WAL database with an empty -wal and no -shm not Immutable")
			}
			if n := count(t, path, Immutable(path)); n != 3 {
				t.Errorf("read %d rows, want 3", n)
			}
			if exists(path + "-shm") {
				t.Error("reading created -shm")
			}

			// Why: a ro connection creates the missing -shm.
			ro := filepath.Join(t.TempDir(), "state.db")
			copyFile(t, path, ro)
			copyFile(t, path+"-wal", ro+"-wal")
			if n := count(t, ro, false); n != 3 {
				t.Errorf("ro: read %d rows, want 3", n)
			}
			if !exists(ro + "-shm") {
				t.Error("a ro connection created no -shm (SQLite changed: Immutable may be too strict)")
			}
		})
	}
}

// walHeader is a WAL file header (no frame) for pages of size.
func walHeader(size uint32) []byte {
	h := make([]byte, walHeaderSize)
	binary.BigEndian.PutUint32(h[0:], 0x377f0682)
	binary.BigEndian.PutUint32(h[4:], 3007000)
	binary.BigEndian.PutUint32(h[8:], size)
	return h
}

// TestWALFramesWithoutSHM: a -wal holding commits whose -shm is gone is
// not opened immutable (that would ignore the WAL's commits); ro reads
// them.
func TestWALFramesWithoutSHM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := create(t, path, "WAL", 4) // no checkpoint: the rows are in the WAL
	lost := filepath.Join(t.TempDir(), "state.db")
	copyFile(t, path, lost)
	copyFile(t, path+"-wal", lost+"-wal")
	db.Close()
	if Immutable(lost) {
		t.Fatal("a -wal with frames opened immutable")
	}
	if n := count(t, lost, false); n != 4 {
		t.Errorf("read %d rows, want 4", n)
	}
}

// TestNoFrames: what counts as a WAL without frames.
func TestNoFrames(t *testing.T) {
	dir := t.TempDir()
	frame := append(walHeader(512), make([]byte, walFrameHeaderSize+512)...)
	for name, c := range map[string]struct {
		data []byte
		want bool
	}{
		"short":         {[]byte{1, 2, 3}, true},
		"header":        {walHeader(1), true}, // 1 is 65536
		"partial frame": {append(walHeader(512), make([]byte, 100)...), true},
		"one frame":     {frame, false},
		"bad magic":     {append(make([]byte, walHeaderSize), make([]byte, 600)...), false},
		"bad page size": {append(walHeader(1000), make([]byte, 2000)...), false},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := noFrames(p); got != c.want {
			t.Errorf("%s: noFrames = %v, want %v", name, got, c.want)
		}
	}
	if !noFrames(filepath.Join(dir, "none")) {
		t.Error("missing WAL has frames")
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if noFrames(filepath.Join(dir, "d")) {
		t.Error("a directory counted as an empty WAL")
	}
}
