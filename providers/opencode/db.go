package opencode

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/sqliteread"
)

// busyTimeout is how long a query waits for a lock before SQLITE_BUSY. In WAL
// mode readers wait only while another connection recovers the WAL.
const busyTimeout = 2 * time.Second

// dsnOptions are how connections are opened: read-only (never written,
// never created), query_only, and a busy timeout; see sqliteread.DSN.
var dsnOptions = sqliteread.Options{BusyTimeout: busyTimeout, QueryOnly: true}

// busyPolicy is how a read that found the database busy or locked is
// retried: five attempts over about 0.8 s of pauses (20 ms, tripled each
// time).
var busyPolicy = sqliteread.Policy{
	Attempts: 5,
	Pause: func(n int) time.Duration {
		d := 20 * time.Millisecond
		for range n {
			d *= 3
		}
		return d
	},
}

// database is one OpenCode SQLite database, opened read-only for as long as
// the provider lives: a pool of connections (safe for concurrent ReadDocs)
// and one dedicated connection for listings, whose PRAGMA data_version tells
// whether anyone committed since the last listing.
type database struct {
	path    string
	dataDir string

	// hmu guards the handle.
	hmu      sync.Mutex
	db       *sql.DB
	dev, ino uint64

	// snap is the latest list of the database's sessions, published by
	// every listing; readers never lock.
	snap   atomic.Pointer[snapshot]
	loadMu sync.Mutex // serializes first loads of snap by other readers

	rows rowCache // digests of the sessions being worked in

	// emu serializes expand; it guards the listing state (listing.go).
	emu sync.Mutex
	listing
}

// schema is what the database's tables offer; absent optional columns read
// as NULL or 0.
type schema struct {
	version int64 // PRAGMA schema_version it was read at
	// sessions are the session tables: session, and session_v2 (OpenCode 2)
	sessions []sessionTable
	// columns of message, part and session_message (newer builds); nil
	// when the table is absent or lacks a column sessiond reads
	message, part, v2 map[string]bool
}

// sessionTable is a table of session rows.
type sessionTable struct {
	name string
	cols map[string]bool
}

// sessionTableNames are the tables that can hold session rows, in the order
// a session row is looked up.
var sessionTableNames = [2]string{"session", "session_v2"}

func newDatabase(path, dataDir string) *database {
	d := &database{path: path, dataDir: dataDir}
	d.resetLocked()
	return d
}

// handle returns a pool to read the database with, and release, to call
// when done. The pool is the database's own, opened (again when the file
// was replaced) as needed and kept. But a database in WAL mode needs its
// -wal and -shm files to be read, and a reader creates them when the agent
// closed the database; so while no pool is open and the database is closed
// (no -shm, and no -wal or an empty one: sqliteread.Immutable), a
// one-connection immutable pool is opened for this operation only (the main
// file changes only when a checkpoint copies a WAL back, long after the
// agent opened the database again and created its files); persistent
// reports which. It returns fs.ErrNotExist when the file is gone.
func (d *database) handle() (db *sql.DB, release func(), persistent bool, err error) {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	fi, err := os.Stat(d.path)
	if err != nil {
		d.closeLocked()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, fs.ErrNotExist
		}
		return nil, nil, false, err
	}
	var dev, ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		dev, ino = uint64(st.Dev), st.Ino //nolint:unconvert // Dev is not uint64 everywhere
	}
	if d.db != nil && (dev != d.dev || ino != d.ino) {
		d.closeLocked() // replaced: a new database
	}
	if d.db == nil && sqliteread.Immutable(d.path) {
		db, err := sql.Open("sqlite", sqliteread.DSN(d.path, true, dsnOptions))
		if err != nil {
			return nil, nil, false, err
		}
		db.SetMaxOpenConns(1)
		return db, func() { _ = db.Close() }, false, nil
	}
	if d.db == nil {
		db, err := sql.Open("sqlite", sqliteread.DSN(d.path, false, dsnOptions))
		if err != nil {
			return nil, nil, false, err
		}
		db.SetMaxOpenConns(4)
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
		d.db, d.dev, d.ino = db, dev, ino
	}
	return d.db, func() {}, true, nil
}

// temporary marks an error of a busy database as worth retrying soon
// (once: retry already marks the error of its last attempt).
func temporary(err error) error {
	if sqliteread.Busy(err) && !errors.Is(err, providers.ErrTemporary) {
		return fmt.Errorf("%w: %w", providers.ErrTemporary, err)
	}
	return err
}

// closeLocked closes the pool (hmu held). The listing state is reset by the
// next expand, which notices its connection is stale.
func (d *database) closeLocked() {
	if d.db != nil {
		_ = d.db.Close()
		d.db = nil
		d.snap.Store(nil)
	}
}

// Close closes the database's connections.
func (d *database) Close() {
	d.emu.Lock()
	d.resetLocked()
	d.emu.Unlock()
	d.hmu.Lock()
	d.closeLocked()
	d.hmu.Unlock()
}

// retry runs fn until it succeeds, fails with something other than
// SQLITE_BUSY or SQLITE_LOCKED, or the attempts of busyPolicy ran out (the
// error then wraps providers.ErrTemporary).
func retry(ctx context.Context, fn func() error) error {
	return busyPolicy.Retry(ctx, fn)
}

// readSchema reads which tables and columns exist. A database without any
// of the three tables (just created, migrations pending) gives nil and no
// error; one with only some of them, or without their key columns, gives
// ErrSchema.
func readSchema(ctx context.Context, q querier) (*schema, error) {
	s := &schema{}
	if err := q.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&s.version); err != nil {
		return nil, err
	}
	cols := func(table string) (map[string]bool, error) {
		rows, err := q.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			m[name] = true
		}
		return m, rows.Err()
	}
	found := false
	for _, name := range sessionTableNames {
		c, err := cols(name)
		if err != nil {
			return nil, err
		}
		found = found || len(c) > 0
		if c["id"] {
			s.sessions = append(s.sessions, sessionTable{name: name, cols: c})
		}
	}
	for _, t := range []struct {
		name string
		dst  *map[string]bool
		need []string
	}{
		{"message", &s.message, []string{"id", "session_id", "data"}},
		{"part", &s.part, []string{"id", "session_id", "data"}},
		{"session_message", &s.v2, []string{"id", "session_id", "type", "data"}},
	} {
		c, err := cols(t.name)
		if err != nil {
			return nil, err
		}
		found = found || len(c) > 0
		ok := len(c) > 0
		for _, n := range t.need {
			ok = ok && c[n]
		}
		if ok {
			*t.dst = c
		}
	}
	switch {
	case !found:
		return nil, nil // no tables yet
	case len(s.sessions) == 0:
		return nil, fmt.Errorf("%w: no session table with an id column", ErrSchema)
	case s.message == nil && s.v2 == nil:
		return nil, fmt.Errorf("%w: no message table with id, session_id and data columns", ErrSchema)
	}
	return s, nil
}

// col returns column name of a table if it exists, else the SQL expression
// alt.
func col(cols map[string]bool, name, alt string) string {
	if cols[name] {
		return name
	}
	return alt
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// snapshot returns the database's sessions, listing them first if no
// listing ran yet. A database that cannot be read holds nothing.
func (d *database) snapshot(ctx context.Context) *snapshot {
	if s := d.snap.Load(); s != nil {
		return s
	}
	d.loadMu.Lock()
	defer d.loadMu.Unlock()
	if s := d.snap.Load(); s != nil {
		return s
	}
	db, release, _, err := d.handle()
	if err != nil {
		return &snapshot{}
	}
	defer release()
	var s *snapshot
	err = retry(ctx, func() error {
		sc, err := readSchema(ctx, db)
		if err != nil || sc == nil {
			s = &snapshot{}
			return err
		}
		s = &snapshot{sessions: map[string]snapSession{}}
		return listSessions(ctx, db, sc, s)
	})
	if err != nil || s == nil {
		return &snapshot{} // not published: tried again next time
	}
	d.snap.CompareAndSwap(nil, s)
	return d.snap.Load()
}

// listSessions reads the session rows past the rowids s has seen into s.
func listSessions(ctx context.Context, q querier, sc *schema, s *snapshot) error {
	for i, st := range sc.sessions {
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT rowid, id, %s, %s FROM %s WHERE rowid > ?",
			col(st.cols, "parent_id", "NULL"), col(st.cols, "time_updated", "0"), st.name), s.maxRowid[i])
		if err != nil {
			return err
		}
		for rows.Next() {
			var rowid int64
			var id string
			var parent sql.NullString
			var updated sql.NullInt64
			if err := rows.Scan(&rowid, &id, &parent, &updated); err != nil {
				rows.Close()
				return err
			}
			if _, dup := s.sessions[id]; !dup || i == 0 {
				s.sessions[id] = snapSession{parent: parent.String, updated: updated.Int64}
			}
			s.maxRowid[i] = max(s.maxRowid[i], rowid)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// sessionRow reads one session's row: from session, else session_v2.
func sessionRow(ctx context.Context, q querier, sc *schema, id string, cols ...string) (found bool, dest []sql.NullString, err error) {
	for _, st := range sc.sessions {
		exprs := make([]string, len(cols))
		for i, c := range cols {
			exprs[i] = "CAST(" + col(st.cols, c, "NULL") + " AS TEXT)"
		}
		dest = make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE id = ?", strings.Join(exprs, ", "), st.name), id).Scan(ptrs...)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		return err == nil, dest, err
	}
	return false, nil, nil
}
