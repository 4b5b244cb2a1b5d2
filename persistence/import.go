package persistence

import (
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// Import stores records salvaged from another store, as they are, each with
// a created event carrying its totals. A record whose session already
// exists is skipped (the re-read from the agent's files wins) and not
// returned. An active record stays active and is completed by the idle
// timeout like any other. Import is for `sessiond store rebuild` and must
// not run while a store actor writes.
func (s *Store) Import(recs []session.Record, now time.Time) ([]session.Key, error) {
	if s.closed.Load() || s.opts.ReadOnly {
		return nil, ErrClosed
	}
	now = now.UTC()
	var done []session.Key
	var head uint64
	const batch = 200
	for i := 0; i < len(recs); i += batch {
		var added []session.Key
		err := s.db.Update(func(txn *badger.Txn) error {
			t := newTx(s, txn)
			t.begin()
			added = added[:0]
			for j := i; j < min(i+batch, len(recs)); j++ {
				r := recs[j]
				if r.Provider == "" || r.ID == "" {
					return fmt.Errorf("%w: imported record without a key", ErrInvalidCommit)
				}
				if r.Phantom() {
					continue // an older version's record of a file with no dated record: no session
				}
				_, exists, err := t.record(r.Key)
				if err != nil {
					return err
				}
				if exists {
					continue
				}
				rec := r
				rec.Version = max(rec.Version, 1)
				t.put(sessionKey(rec.Key), &staged{rec: &rec})
				if rec.Status == session.StatusActive {
					last := rec.EndedAt
					if last.IsZero() {
						last = now
					}
					t.put(activeKey(rec.Key), &staged{raw: putU64(uint64(last.UnixNano()))})
				}
				t.emit(now, &rec, session.EventCreated, session.Change{
					Tokens: rec.Tokens, Counts: rec.Counts, Models: rec.Models, Status: rec.Status,
					StartedAt: rec.StartedAt, EndedAt: rec.EndedAt, Duration: rec.DurationMS, Version: rec.Version,
				})
				added = append(added, rec.Key)
			}
			if err := t.flush(); err != nil {
				return err
			}
			head = t.head
			return t.writeHead()
		})
		if err != nil {
			return done, fmt.Errorf("import salvaged sessions: %w", err)
		}
		s.head.Store(head)
		done = append(done, added...)
	}
	return done, nil
}
