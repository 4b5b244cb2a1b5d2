package persistence

import (
	"encoding/json"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// TestOldPhantomRecordIsHiddenThenCreated: a store written by an older
// sessiond holds an active record dated 0001-01-01 for a file that is no
// session. It is left out of listings, never completed, and its first
// dated record announces it with a created event.
func TestOldPhantomRecordIsHiddenThenCreated(t *testing.T) {
	s, err := Open(t.TempDir(), Options{IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := session.Key{Provider: session.ClaudeCode, ID: "summary"}
	old := session.Record{Key: k, Project: "unknown", Status: session.StatusActive, Version: 1, Models: []string{}}
	b, _ := json.Marshal(&old)
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(sessionKey(k), b); err != nil {
			return err
		}
		return txn.Set(activeKey(k), putU64(uint64(time.Now().Add(-time.Hour).UnixNano())))
	})
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.Sessions(Filter{}); len(recs) != 0 {
		t.Fatalf("sessions = %+v, want the phantom left out", recs)
	}
	if ev, err := s.CompleteIdle(time.Now()); err != nil || len(ev) != 0 {
		t.Fatalf("CompleteIdle = %+v, %v; want nothing for a phantom", ev, err)
	}
	// still no dated record: no event, the version moves on
	now := time.Now().UTC()
	r := s.Apply([]Op{&Commit{Key: k, ExpectedVersion: 1, Now: now, Files: []FileUpdate{{
		Checkpoint: session.Checkpoint{Path: "/s.jsonl", Offset: 100, Size: 100},
		Delta:      session.Delta{Records: 1},
	}}}})[0]
	if r.Err != nil || len(r.Events) != 0 || r.Record.Version != 2 {
		t.Fatalf("undated commit: %+v", r)
	}
	d := session.Delta{Records: 1, Counts: session.Counts{UserMessages: 1}}
	d.Observe(now)
	r = s.Apply([]Op{&Commit{Key: k, ExpectedVersion: 2, Now: now, Files: []FileUpdate{{
		Checkpoint: session.Checkpoint{Path: "/s.jsonl", Offset: 200, Size: 200}, FromOffset: 100, Delta: d,
	}}}})[0]
	if r.Err != nil || len(r.Events) != 1 || r.Events[0].Kind != session.EventCreated || r.Record.Version != 3 {
		t.Fatalf("dated commit: %+v", r)
	}
	if recs, _ := s.Sessions(Filter{}); len(recs) != 1 || recs[0].UserMessages != 1 {
		t.Fatalf("sessions = %+v, want the session", recs)
	}
}
