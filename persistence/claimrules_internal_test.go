package persistence

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// TestOldClaimsAskForARebuild: Claude Code claims stored by a sessiond
// older than the background-session rules (no claim-rules mark) cannot be
// told apart from new ones, so the figures stay as counted then: Open
// says once that `sessiond store rebuild` re-reads them, and
// StaleClaims reports it. A store created now, or one without Claude Code
// claims, is not stale.
func TestOldClaimsAskForARebuild(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Open(dir, Options{IdleTimeout: time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if s.StaleClaims() {
		t.Error("a new store is stale")
	}
	k := session.Key{Provider: session.ClaudeCode, ID: "s1"}
	d := session.Delta{Records: 1, Claims: []session.Claim{{Key: "m1", At: time.Now(), Usage: session.Usage{Input: 1}}}}
	d.Observe(time.Now())
	if r := s.Apply([]Op{&Commit{Key: k, Files: []FileUpdate{{Checkpoint: session.Checkpoint{Path: "/p/s1.jsonl", Offset: 1, Size: 1}, Delta: d}}}})[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{IdleTimeout: time.Hour, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if s.StaleClaims() || strings.Contains(logs.String(), "rebuild") {
		t.Errorf("a store written by this sessiond is stale: %s", logs.String())
	}
	// as an older sessiond left it: no mark
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyClaimRules) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if s, err = Open(dir, Options{IdleTimeout: time.Hour, Logger: log}); err != nil {
			t.Fatal(err)
		}
		if !s.StaleClaims() {
			t.Error("an old store is not stale")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "sessiond store rebuild"); n != 2 {
		t.Errorf("%d warnings over two opens, want one each:\n%s", n, logs.String())
	}
	rs, err := Open(dir, Options{IdleTimeout: time.Hour, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if !rs.StaleClaims() {
		t.Error("read-only open of an old store is not stale")
	}
}
