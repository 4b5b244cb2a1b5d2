// Package persistence is sessiond's Badger store: the versioned key layout,
// codecs, atomic commits with optimistic version checks, the gapless event
// log and the usage-claim index. It has no actors: the store actor is its
// only writer, and readers (API, CLI) use read-only transactions from any
// goroutine.
package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/sessiond/sessiond/session"
)

// Options configure a Store.
type Options struct {
	// IdleTimeout: a session whose newest record is older than this is
	// completed (default 10m).
	IdleTimeout time.Duration
	// ReadOnly opens the store without taking the writer lock (CLI reads
	// while no daemon runs).
	ReadOnly bool
	// InMemory keeps everything in memory (tests).
	InMemory bool
	// SyncWrites makes every commit durable against power loss (slower).
	SyncWrites bool
	Logger     *slog.Logger
}

// Store is an open data directory.
type Store struct {
	db     *badger.DB
	dir    string
	opts   Options
	log    *slog.Logger
	head   atomic.Uint64 // last committed event sequence
	closed atomic.Bool
	// claimSet holds a hash of every stored claim key (writer only): most
	// claims are new, and a Get that misses walks every level of the LSM.
	claimSet map[uint64]struct{}
	// staleClaims: Claude Code claims counted by an older sessiond
	staleClaims bool
}

// Open opens (creating if needed) the store in dir. A directory held by
// another process fails with ErrLocked.
func Open(dir string, opts Options) (*Store, error) {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	bo := badger.DefaultOptions(dir)
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir %q: %w", dir, err)
		}
	}
	// A small footprint for a desktop daemon (see reference/libraries.md):
	// small memtables and caches, 64 MiB value-log files, compression on.
	bo = bo.WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithBaseTableSize(2 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2).
		WithCompression(options.Snappy).
		// checkFiles verified every table before the open; every block
		// read is verified too, so damage that appears later is an error
		// (or a stopped iterator), never garbage.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithDetectConflicts(false). // one writer: conflicts are checked by version
		WithSyncWrites(opts.SyncWrites).
		WithReadOnly(opts.ReadOnly).
		// (WithLoggingLevel installs Badger's own stderr logger: never
		// call it after WithLogger; slog filters the levels.)
		WithLogger(badgerLogger{opts.Logger.With("component", "badger")})
	if !opts.InMemory {
		// Before Badger touches the directory: it skips or deletes
		// damaged tables without a word (see checkFiles).
		if err := whileNoWriter(dir, func() error { return checkFiles(dir) }); err != nil {
			if isDamage(err) {
				return nil, damaged(dir, err)
			}
			return nil, fmt.Errorf("check store %q: %w", dir, err)
		}
	}
	if !opts.InMemory && !opts.ReadOnly {
		// Only when no other process holds the directory: an empty
		// memtable of a running daemon is not debris.
		err := whileUnlocked(dir, func() error { return removeEmptyMemtables(dir, opts.Logger) })
		if err != nil {
			return nil, err
		}
	}
	db, err := openBadger(bo)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("open store %q: %w: stop the other sessiond or use another --data-dir", dir, ErrLocked)
		}
		if opts.ReadOnly && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open store %q: %w: no data yet, run `sessiond scan` or `sessiond run` first", dir, err)
		}
		if isDamage(err) {
			return nil, damaged(dir, err)
		}
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, opts: opts, log: opts.Logger, claimSet: map[uint64]struct{}{}}
	if err := s.init(); err != nil {
		_ = db.Close()
		if isDamage(err) {
			return nil, damaged(dir, err)
		}
		return nil, err
	}
	return s, nil
}

// openBadger opens Badger, turning a panic on the opening goroutine (a
// damaged value log or memtable) into an error.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("badger panicked while opening: %v", r)
		}
	}()
	return badger.Open(bo)
}

// isDamage tells a damaged store from an environment problem (permissions,
// a full disk, a missing directory) that the user fixes outside sessiond.
func isDamage(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrDamaged), errors.Is(err, ErrCorrupt):
		return true
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission),
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE),
		errors.Is(err, ErrLocked), errors.Is(err, ErrSchema):
		return false
	}
	// Any other system error (quota, memory for a mapping, a filesystem
	// without mmap) is the environment's, except an I/O error.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == syscall.EIO
	}
	return true
}

func (s *Store) init() error {
	return s.update(func(txn *badger.Txn) error {
		it, err := txn.Get(keySchema)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			if s.opts.ReadOnly {
				return nil
			}
			if err := txn.Set(keyClaimRules, []byte(claimRules)); err != nil {
				return err
			}
			return txn.Set(keySchema, []byte(schemaVersion))
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if string(v) != schemaVersion {
			return fmt.Errorf("data dir %q has schema %q, this sessiond reads %q: %w", s.dir, v, schemaVersion, ErrSchema)
		}
		if err := s.checkClaimRules(txn); err != nil {
			return err
		}
		if !s.opts.ReadOnly {
			err := scan(txn, pfxClaim, false, func(k, _ []byte) error {
				s.claimSet[xxhash.Sum64(k)] = struct{}{}
				return nil
			})
			if err != nil {
				return fmt.Errorf("load claim index: %w", err)
			}
		}
		it, err = txn.Get(keyHead)
		if err == nil {
			err = it.Value(func(b []byte) error { s.head.Store(u64(b)); return nil })
		}
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("read event head: %w", err)
		}
		return nil
	})
}

// removeEmptyMemtables deletes zero-length memtable and value-log files. A
// process killed between creating a new .mem or .vlog file and sizing it
// leaves one behind, and Badger (v4.9.6) then refuses to open ("while
// opening fid: N err: Create a new file"). An empty file holds no write,
// so removing it loses nothing (Badger creates the next one anew).
func removeEmptyMemtables(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read data dir %q: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.Size() != 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove empty log file %q left by a crash: %w", p, err)
		}
		log.Warn("removed an empty log file left by a crash", "path", p)
	}
	return nil
}

// update runs fn in a read-write transaction (read-only in ReadOnly mode).
func (s *Store) update(fn func(*badger.Txn) error) error {
	if s.opts.ReadOnly {
		return s.view(fn)
	}
	return s.db.Update(fn)
}

// view runs fn in a read-only transaction. A panic in Badger's read path
// (a table damaged after it was opened) becomes an ErrDamaged error.
func (s *Store) view(fn func(*badger.Txn) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = damaged(s.dir, fmt.Errorf("reading the store panicked: %v", r))
		}
	}()
	return s.db.View(fn)
}

// IdleTimeout is how long a session may go without records before it is completed.
func (s *Store) IdleTimeout() time.Duration { return s.opts.IdleTimeout }

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// Close flushes and closes the store. Later calls return ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	var errs []error
	if !s.opts.ReadOnly && !s.opts.InMemory {
		if err := s.db.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync store: %w", err))
		}
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	return errors.Join(errs...)
}

// Sync makes every committed write durable.
func (s *Store) Sync() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.ReadOnly || s.opts.InMemory {
		return nil
	}
	return s.db.Sync()
}

// RunValueLogGC rewrites value-log files until none is worth it.
func (s *Store) RunValueLogGC(ctx context.Context) error {
	if s.opts.InMemory || s.opts.ReadOnly {
		return nil
	}
	for ctx.Err() == nil && !s.closed.Load() {
		err := s.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("value-log gc: %w", err)
		}
	}
	return nil
}

// Head is the sequence of the last committed event (0: none).
func (s *Store) Head() (uint64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if s.opts.ReadOnly {
		var h uint64
		err := s.view(func(txn *badger.Txn) error {
			it, err := txn.Get(keyHead)
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return it.Value(func(b []byte) error { h = u64(b); return nil })
		})
		return h, err
	}
	return s.head.Load(), nil
}

// Session reads one session.
func (s *Store) Session(k session.Key) (session.Record, error) {
	var r session.Record
	if s.closed.Load() {
		return r, ErrClosed
	}
	err := s.view(func(txn *badger.Txn) error {
		ok, err := getJSON(txn, sessionKey(k), &r)
		if err == nil && !ok {
			err = fmt.Errorf("%s: %w", k, ErrSessionNotFound)
		}
		return err
	})
	return r, err
}

// Sessions lists the sessions passing f, ordered by start time, then key.
func (s *Store) Sessions(f Filter) ([]session.Record, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := []session.Record{}
	pfx := pfxSession
	if f.Provider != "" {
		pfx = append(join(pfxSession, string(f.Provider)), sep)
	}
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, pfx, true, func(k, v []byte) error {
			var r session.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("session %q: %w: %w", k, ErrCorrupt, err)
			}
			if f.Match(&r) {
				out = append(out, r)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b session.Record) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		if a.Key.Less(b.Key) {
			return -1
		}
		if b.Key.Less(a.Key) {
			return 1
		}
		return 0
	})
	return out, err
}

// Events returns up to limit events with Seq > since, in order.
func (s *Store) Events(since uint64, limit int) ([]session.Event, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if limit <= 0 {
		limit = 1000
	}
	if since == math.MaxUint64 {
		return []session.Event{}, nil // since+1 would wrap to the start of the log
	}
	out := make([]session.Event, 0, min(limit, 256))
	err := s.view(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = pfxEvent
		opt.PrefetchSize = min(limit, 100)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek(eventKey(since + 1)); it.ValidForPrefix(pfxEvent) && len(out) < limit; it.Next() {
			var e session.Event
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("event %x: %w: %w", it.Item().Key(), ErrCorrupt, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// SessionFiles lists the checkpoints of one session.
func (s *Store) SessionFiles(k session.Key) ([]session.Checkpoint, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var out []session.Checkpoint
	err := s.view(func(txn *badger.Txn) error {
		var err error
		out, err = loadCheckpoints(txn, k)
		return err
	})
	return out, err
}

// Backup writes a full backup of the store to w.
func (s *Store) Backup(w io.Writer) error {
	if s.closed.Load() {
		return ErrClosed
	}
	_, err := s.db.Backup(w, 0)
	return err
}

// Restore loads a backup made by Backup into this (empty) store.
func (s *Store) Restore(r io.Reader) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.db.Load(r, 16); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return s.init()
}

func loadCheckpoints(txn *badger.Txn, k session.Key) ([]session.Checkpoint, error) {
	var out []session.Checkpoint
	_, err := getJSON(txn, ckptKey(k), &out)
	return out, err
}

func scan(txn *badger.Txn, pfx []byte, values bool, fn func(k, v []byte) error) error {
	opt := badger.DefaultIteratorOptions
	opt.Prefix = pfx
	opt.PrefetchValues = values
	it := txn.NewIterator(opt)
	defer it.Close()
	for it.Seek(pfx); it.ValidForPrefix(pfx); it.Next() {
		item := it.Item()
		k := item.Key()
		var err error
		if values {
			err = item.Value(func(v []byte) error { return fn(k, v) })
		} else {
			err = fn(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func getJSON(txn *badger.Txn, k []byte, v any) (bool, error) {
	it, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = it.Value(func(b []byte) error { return json.Unmarshal(b, v) })
	if err != nil {
		return false, fmt.Errorf("decode %q: %w: %w", k, ErrCorrupt, err)
	}
	return true, nil
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) { b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Warningf(f string, a ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(f, a...))
	if strings.Contains(msg, "might be too small") || strings.HasPrefix(msg, "Cache life expectancy") {
		// Badger's cache monitor, every minute while reads are rare (a
		// daemon at rest): advice for a database server, not a warning.
		b.l.Debug(msg)
		return
	}
	b.l.Warn(msg)
}
func (b badgerLogger) Infof(f string, a ...any)  { b.l.Debug(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Debugf(f string, a ...any) { b.l.Debug(strings.TrimSpace(fmt.Sprintf(f, a...))) }
