package sqliteread

import (
	"context"
	"database/sql"
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
