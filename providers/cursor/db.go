package cursor

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/sessiond/sessiond/providers/sqliteread"
)

// Reading Cursor's databases. Every connection is opened read-only
// (mode=ro) with a busy timeout, through the pure-Go modernc.org/sqlite
// driver used directly (database/sql would start a goroutine per handle).
// Every query is one statement in autocommit mode: its read transaction
// lasts as long as the statement, never across calls, so the agent's
// checkpoints are never held back for long.

// busyTimeout is how long a statement waits for a lock (a WAL reader only
// waits while the WAL index is being recovered, or for a writer's
// exclusive lock in rollback-journal mode). A variable for tests.
var busyTimeout = time.Second

// busyPolicy is how an operation that found the database busy is retried:
// twice more, after a short pause; SQLite's WAL-protocol error (a
// checkpoint in the way) counts as busy.
var busyPolicy = sqliteread.Policy{
	Attempts: 3,
	Pause:    func(n int) time.Duration { return time.Duration(50*(n+1)) * time.Millisecond },
	Protocol: true,
}

// dsn is the connection string of a read-only connection to path
// (immutable when sqliteread.Immutable says so: such a connection is used
// for one operation and closed, see pool).
func dsn(path string, immutable bool) string {
	return sqliteread.DSN(path, immutable, sqliteread.Options{BusyTimeout: busyTimeout})
}

// openReadOnly opens a read-only connection to the database at path; it
// reports fs.ErrNotExist when there is no file there, and whether the
// connection is immutable (see dsn).
func openReadOnly(path string) (driver.Conn, bool, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, false, err
	}
	immutable := sqliteread.Immutable(path)
	var drv sqlite.Driver
	c, err := drv.Open(dsn(path, immutable))
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", path, err)
	}
	return c, immutable, nil
}

// rows runs a query and calls fn for each row (values as the driver gives
// them: int64, float64, string, []byte or nil); fn may keep no reference
// to dest. It returns fn's first error.
func rows(ctx context.Context, c driver.Conn, query string, fn func(dest []driver.Value) error, args ...driver.Value) error {
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return errors.New("cursor: driver connection cannot query")
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	r, err := q.QueryContext(ctx, query, named)
	if err != nil {
		return err
	}
	dest := make([]driver.Value, len(r.Columns()))
	for {
		err := r.Next(dest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.Close()
			return err
		}
		if err := fn(dest); err != nil {
			r.Close()
			return err
		}
	}
	return r.Close()
}

// retry runs op, again after a pause while it fails because the database
// is busy or locked (see busyPolicy); when the attempts run out the error
// wraps providers.ErrTemporary.
func retry(ctx context.Context, op func() error) error {
	return busyPolicy.Retry(ctx, op)
}

// isBusy reports whether err is SQLite's busy, locked or WAL-protocol
// error (a writer or a checkpoint in the way).
func isBusy(err error) bool { return busyPolicy.Retryable(err) }

// isNoTable reports whether err says a table is missing (an older or newer
// schema, or a database that is not Cursor's).
func isNoTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// blob returns a column value as bytes (TEXT and BLOB alike).
func blob(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

// keyOf returns a key column's value as a string.
func keyOf(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// integer returns a column value as an int64 (0 unless it is one).
func integer(v driver.Value) int64 {
	if n, ok := v.(int64); ok {
		return n
	}
	return 0
}

// pool keeps a few read-only connections to one database for reuse. A
// connection is reopened when the database file is replaced (new inode);
// immutable connections are never kept.
type pool struct {
	path string
	mu   sync.Mutex
	id   fileID
	idle []driver.Conn
	imm  map[driver.Conn]bool // connections handed out immutable
}

// fileID identifies a file: its device and inode (zero where unknown).
type fileID struct{ dev, ino uint64 }

// maxIdle is how many idle connections a pool keeps.
const maxIdle = 2

// get returns a connection and whether the database file was replaced
// since the pool's last connection (caches keyed by row must be dropped).
func (p *pool) get() (driver.Conn, bool, error) {
	fi, err := os.Stat(p.path)
	if err != nil {
		return nil, false, err
	}
	id := identify(fi)
	p.mu.Lock()
	replaced := p.id != (fileID{}) && p.id != id
	if p.id != id {
		for _, c := range p.idle {
			c.Close()
		}
		p.idle, p.id = nil, id
	}
	if n := len(p.idle); n > 0 && !sqliteread.Immutable(p.path) {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, replaced, nil
	}
	p.mu.Unlock()
	c, imm, err := openReadOnly(p.path)
	if err != nil {
		return nil, replaced, err
	}
	if imm {
		p.mu.Lock()
		if p.imm == nil {
			p.imm = map[driver.Conn]bool{}
		}
		p.imm[c] = true
		p.mu.Unlock()
	}
	return c, replaced, nil
}

// put returns a connection for reuse; broken and immutable connections
// are closed.
func (p *pool) put(c driver.Conn, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	imm := p.imm[c]
	delete(p.imm, c)
	if broken || imm || len(p.idle) >= maxIdle {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// close closes the idle connections.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
}
