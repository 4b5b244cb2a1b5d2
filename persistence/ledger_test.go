package persistence_test

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// The ledger is monotonic: a response once counted stays counted when its
// file is truncated, rewritten, rewound or replaced (issue 6, §5).

var (
	uA = session.Usage{Input: 10, Output: 1, CacheRead: 100}
	uB = session.Usage{Input: 20, Output: 2, CacheWrite: 200}
	uC = session.Usage{Input: 40, Output: 4, Reasoning: 3}
)

// head is a file identity: inode 7, a head hash h over n bytes.
func head(h uint64, n int64) session.FileIdentity {
	return session.FileIdentity{Dev: 1, Ino: 7, HeadHash: h, HeadLen: n}
}

// update is a FileUpdate of path in mode with direct usage u at time at.
func update(path string, mode session.FileMode, id session.FileIdentity, from, to int64, reset bool, at time.Time, u session.Usage) persistence.FileUpdate {
	d := session.Delta{Usage: u, Records: 1, Counts: session.Counts{AssistantMessages: 1}}
	d.Observe(at)
	return persistence.FileUpdate{
		Checkpoint: session.Checkpoint{Path: path, Mode: mode, Identity: id, Offset: to, Size: to},
		FromOffset: from, Reset: reset, Delta: d,
	}
}

func commitOf(k session.Key, ver uint64, fus ...persistence.FileUpdate) *persistence.Commit {
	return &persistence.Commit{Key: k, ExpectedVersion: ver, Now: t0.Add(time.Minute), Files: fus}
}

func codexKey(id string) session.Key { return session.Key{Provider: session.Codex, ID: session.ID(id)} }

// tokenChange sums the token change of the events of k.
func tokenChange(evs []session.Event, k session.Key) session.Usage {
	var u session.Usage
	for _, e := range evs {
		if e.Key == k {
			u = u.Add(e.Change.Tokens)
		}
	}
	return u
}

func TestLedgerResetKeepsClaims(t *testing.T) {
	// Claude Code: a file truncated at a line boundary, then re-read from
	// its start, still counts the responses it lost; later ones add.
	s := open(t)
	k := key("a")
	one(t, s, commit(k, 0, "/a", 0, 200, delta(1, t0,
		session.Claim{Key: "m1", At: t0, Usage: uA}, session.Claim{Key: "m2", At: t0.Add(time.Second), Usage: uB})))
	reset := commit(k, 1, "/a", 0, 100, delta(1, t0, session.Claim{Key: "m1", At: t0, Usage: uA}))
	reset.Files[0].Reset = true
	r := one(t, s, reset)
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after truncation tokens = %+v, want %+v", r.Record.Tokens, want)
	}
	if u := tokenChange(r.Events, k); !u.IsZero() {
		t.Fatalf("truncation reported a token change %+v", u)
	}
	r = one(t, s, commit(k, r.Record.Version, "/a", 100, 150, delta(0, t0, session.Claim{Key: "m3", At: t0.Add(2 * time.Second), Usage: uC})))
	if want := uA.Add(uB).Add(uC); r.Record.Tokens != want {
		t.Fatalf("after append tokens = %+v, want %+v", r.Record.Tokens, want)
	}
	// a later copy of a response revises it upwards, once
	bigger := uB
	bigger.Output = 50
	r = one(t, s, commit(k, r.Record.Version, "/a", 150, 160, delta(0, t0, session.Claim{Key: "m2", At: t0.Add(time.Second), Usage: bigger})))
	if want := uA.Add(bigger).Add(uC); r.Record.Tokens != want {
		t.Fatalf("after a revised copy tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

func TestLedgerRewriteKeepsClaimWithItsOwner(t *testing.T) {
	// a's file is rewritten without m1, which b's later line also shows:
	// m1 stays a's (its earliest sighting), b gains nothing.
	s := open(t)
	one(t, s, commit(key("a"), 0, "/a", 0, 1, delta(0, t0, session.Claim{Key: "m1", At: t0, Usage: uA})))
	one(t, s, commit(key("b"), 0, "/b", 0, 1, delta(0, t0.Add(time.Hour), session.Claim{Key: "m1", At: t0.Add(time.Hour), Usage: uA})))
	reset := commit(key("a"), 1, "/a", 0, 1, delta(1, t0))
	reset.Files[0].Reset = true
	r := one(t, s, reset)
	if r.Record.Tokens != uA || r.Record.UserMessages != 1 {
		t.Fatalf("a after rewrite = %+v", r.Record)
	}
	b, _ := s.Session(key("b"))
	if !b.Tokens.IsZero() {
		t.Fatalf("b = %+v, want nothing (m1 stays a's)", b.Tokens)
	}
	for _, e := range r.Events {
		if e.Key == key("b") {
			t.Fatalf("b was updated by a's rewrite: %+v", e)
		}
	}
}

func TestLedgerAppendTruncatedKeepsDirectUsage(t *testing.T) {
	// Direct usage, append file, truncated to a prefix (same inode, same
	// head): the cut responses stay counted, later appends add.
	s := open(t)
	k := codexKey("t")
	id := head(42, 4096)
	r := one(t, s, commitOf(k, 0, update("/t", session.ModeAppend, id, 0, 8000, false, t0, uA.Add(uB))))
	r = one(t, s, commitOf(k, r.Record.Version, update("/t", session.ModeAppend, id, 0, 5000, true, t0, uA)))
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after truncation tokens = %+v, want %+v", r.Record.Tokens, want)
	}
	if r.Record.AssistantMessages != 1 {
		t.Fatalf("counts follow the file: assistant messages = %d, want 1", r.Record.AssistantMessages)
	}
	if u := tokenChange(r.Events, k); !u.IsZero() {
		t.Fatalf("truncation reported a token change %+v", u)
	}
	r = one(t, s, commitOf(k, r.Record.Version, update("/t", session.ModeAppend, id, 5000, 6000, false, t0.Add(time.Second), uC)))
	if want := uA.Add(uB).Add(uC); r.Record.Tokens != want {
		t.Fatalf("after append tokens = %+v, want %+v", r.Record.Tokens, want)
	}
	// the same responses again (the prefix re-read once more) add nothing
	r = one(t, s, commitOf(k, r.Record.Version, update("/t", session.ModeAppend, id, 0, 6000, true, t0, uA.Add(uC))))
	if want := uA.Add(uB).Add(uC); r.Record.Tokens != want {
		t.Fatalf("after a second re-read tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

func TestLedgerCopytruncateKeepsEverything(t *testing.T) {
	// logrotate copytruncate: the file is cut to nothing and the agent
	// appends; the new content (another head) adds to all of the old.
	for _, tc := range []struct {
		name    string
		newHead session.FileIdentity
	}{
		{"full head changed", head(99, 4096)},
		{"short new head, later records", head(99, 300)},
		{"new inode", session.FileIdentity{Dev: 1, Ino: 8, HeadHash: 99, HeadLen: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			k := codexKey("c")
			r := one(t, s, commitOf(k, 0, update("/c", session.ModeAppend, head(42, 4096), 0, 8000, false, t0, uA.Add(uB))))
			r = one(t, s, commitOf(k, r.Record.Version, update("/c", session.ModeAppend, tc.newHead, 0, 300, true, t0.Add(time.Hour), uC)))
			if want := uA.Add(uB).Add(uC); r.Record.Tokens != want {
				t.Fatalf("after copytruncate tokens = %+v, want %+v", r.Record.Tokens, want)
			}
			if u := tokenChange(r.Events, k); u != uC {
				t.Fatalf("event token change = %+v, want the new content's %+v", u, uC)
			}
		})
	}
}

func TestLedgerCopytruncateSeenEmpty(t *testing.T) {
	// the daemon sees the file empty first, then the appends
	s := open(t)
	k := codexKey("e")
	r := one(t, s, commitOf(k, 0, update("/e", session.ModeAppend, head(42, 4096), 0, 8000, false, t0, uA)))
	empty := update("/e", session.ModeAppend, session.FileIdentity{Dev: 1, Ino: 7}, 0, 0, true, time.Time{}, session.Usage{})
	empty.Delta = session.Delta{}
	r = one(t, s, commitOf(k, r.Record.Version, empty))
	if r.Record.Tokens != uA {
		t.Fatalf("emptied file: tokens = %+v, want %+v", r.Record.Tokens, uA)
	}
	r = one(t, s, commitOf(k, r.Record.Version, update("/e", session.ModeAppend, head(5, 100), 0, 100, false, t0.Add(time.Hour), uB)))
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after append tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

func TestLedgerShortHeadPrefixIsNotCountedTwice(t *testing.T) {
	// A small file (head shorter than HeadSize) truncated to a prefix: the
	// store cannot compare hashes, the records' times tell it is the same
	// content: the prefix is not added again.
	s := open(t)
	k := codexKey("p")
	r := one(t, s, commitOf(k, 0, update("/p", session.ModeAppend, head(42, 900), 0, 900, false, t0, uA)))
	r = one(t, s, commitOf(k, r.Record.Version, update("/p", session.ModeAppend, head(42, 900), 900, 1500, false, t0.Add(time.Second), uB)))
	r = one(t, s, commitOf(k, r.Record.Version, update("/p", session.ModeAppend, head(43, 600), 0, 600, true, t0, uA)))
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after truncation tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

func TestLedgerDocumentsKeepSpend(t *testing.T) {
	// Whole documents (Gemini .json, Copilot) and database documents
	// (OpenCode, Cursor) are re-read whole: a document losing a request
	// keeps its spend; a grown document adds only what is new.
	for _, mode := range []session.FileMode{session.ModeWhole, session.ModeVirtual} {
		t.Run(map[session.FileMode]string{session.ModeWhole: "whole", session.ModeVirtual: "virtual"}[mode], func(t *testing.T) {
			s := open(t)
			k := session.Key{Provider: session.OpenCode, ID: "d"}
			doc := func(ver uint64, at time.Time, u session.Usage, cost float64, model string) *persistence.Commit {
				fu := update("/d", mode, session.FileIdentity{}, 0, 1, true, at, u)
				fu.Delta.Cost = cost
				fu.Delta.Models = []string{model}
				return commitOf(k, ver, fu)
			}
			r := one(t, s, doc(0, t0, uA.Add(uB), 0.5, "m-ab"))
			// a request removed (undo, rewind, compaction)
			r = one(t, s, doc(r.Record.Version, t0, uA, 0.2, "m-a"))
			if want := uA.Add(uB); r.Record.Tokens != want || math.Abs(r.Record.CostUSD-0.5) > 1e-9 {
				t.Fatalf("after losing a request: tokens %+v cost %v, want %+v and 0.5", r.Record.Tokens, r.Record.CostUSD, want)
			}
			if len(r.Record.Models) != 2 {
				t.Fatalf("models = %v, want the lost request's model kept", r.Record.Models)
			}
			// a new request
			r = one(t, s, doc(r.Record.Version, t0, uA.Add(uC), 0.4, "m-a"))
			if want := uA.Add(uB).Add(uC); r.Record.Tokens != want || math.Abs(r.Record.CostUSD-0.7) > 1e-9 {
				t.Fatalf("after a new request: tokens %+v cost %v, want %+v and 0.7", r.Record.Tokens, r.Record.CostUSD, want)
			}
			if u := tokenChange(r.Events, k); u != uC {
				t.Fatalf("event token change = %+v, want %+v", u, uC)
			}
		})
	}
}

func TestLedgerRenameKeepsRetained(t *testing.T) {
	s := open(t)
	k := codexKey("m")
	r := one(t, s, commitOf(k, 0, update("/m", session.ModeAppend, head(42, 4096), 0, 8000, false, t0, uA.Add(uB))))
	r = one(t, s, commitOf(k, r.Record.Version, update("/m", session.ModeAppend, head(42, 4096), 0, 5000, true, t0, uA)))
	mv := update("/archive/m", session.ModeAppend, head(42, 4096), 5000, 6000, false, t0.Add(time.Second), uC)
	mv.RenamedFrom = "/m"
	r = one(t, s, commitOf(k, r.Record.Version, mv))
	if want := uA.Add(uB).Add(uC); r.Record.Tokens != want || r.Record.Files != 1 {
		t.Fatalf("after move tokens = %+v files %d, want %+v and 1", r.Record.Tokens, r.Record.Files, want)
	}
}

func TestLedgerSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k := codexKey("r")
	r := one(t, s, commitOf(k, 0, update("/r", session.ModeAppend, head(42, 4096), 0, 8000, false, t0, uA.Add(uB))))
	one(t, s, commitOf(k, r.Record.Version, update("/r", session.ModeAppend, head(42, 4096), 0, 5000, true, t0, uA)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ := s.Session(k)
	r = one(t, s, commitOf(k, got.Version, update("/r", session.ModeAppend, head(42, 4096), 5000, 6000, false, t0.Add(time.Second), uC)))
	if want := uA.Add(uB).Add(uC); r.Record.Tokens != want {
		t.Fatalf("after reopen and append tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

// Phantom sessions: a file with no dated record is not a session.

func TestPhantomFileCreatesNoSession(t *testing.T) {
	s := open(t)
	k := key("passwd")
	garbage := session.Delta{Malformed: 30}
	r := one(t, s, commit(k, 0, "/passwd.jsonl", 0, 1200, garbage))
	if r.Record.Version != 0 || len(r.Events) != 0 {
		t.Fatalf("garbage file: version %d events %+v, want no session", r.Record.Version, r.Events)
	}
	if _, err := s.Session(k); !errors.Is(err, persistence.ErrSessionNotFound) {
		t.Fatalf("Session = %v, want not found", err)
	}
	if recs, _ := s.Sessions(persistence.Filter{}); len(recs) != 0 {
		t.Fatalf("sessions = %+v, want none", recs)
	}
	// its checkpoint is kept, so the file is not read again
	files, err := s.SessionFiles(k)
	if err != nil || len(files) != 1 || files[0].Offset != 1200 {
		t.Fatalf("checkpoints = %+v, %v", files, err)
	}
	if ev, err := s.CompleteIdle(t0.Add(24 * time.Hour)); err != nil || len(ev) != 0 {
		t.Fatalf("CompleteIdle = %+v, %v", ev, err)
	}
	if h, _ := s.Head(); h != 0 {
		t.Fatalf("event head = %d, want 0", h)
	}
}

func TestPhantomBecomesSessionWithItsFirstDatedRecord(t *testing.T) {
	// A Claude file holding only summary lines (no timestamps), then a
	// dated line appended: the session appears with a created event that
	// carries both commits' totals.
	s := open(t)
	k := key("summary")
	summaries := session.Delta{Records: 3}
	r := one(t, s, commit(k, 0, "/s.jsonl", 0, 300, summaries))
	if r.Record.Version != 0 {
		t.Fatalf("summary-only: version %d, want 0", r.Record.Version)
	}
	r = one(t, s, commit(k, r.Record.Version, "/s.jsonl", 300, 400, delta(1, t0.Add(time.Hour), session.Claim{Key: "m1", At: t0.Add(time.Hour), Usage: uA})))
	if r.Record.Version != 1 || r.Record.Tokens != uA || !r.Record.StartedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("record = %+v", r.Record)
	}
	if len(r.Events) != 1 || r.Events[0].Kind != session.EventCreated || r.Events[0].Change.Tokens != uA {
		t.Fatalf("events = %+v, want one created", r.Events)
	}
	if recs, _ := s.Sessions(persistence.Filter{}); len(recs) != 1 {
		t.Fatalf("sessions = %d, want 1", len(recs))
	}
}

func TestPhantomWithSpendIsASession(t *testing.T) {
	// usage is never dropped: an undated file that reports usage is kept
	s := open(t)
	k := codexKey("undated")
	d := session.Delta{Records: 1, Usage: uA}
	r := one(t, s, commit(k, 0, "/u", 0, 10, d))
	if r.Record.Version != 1 || r.Record.Tokens != uA {
		t.Fatalf("record = %+v", r.Record)
	}
}

func TestPhantomFailedSessionIsListed(t *testing.T) {
	s := open(t)
	k := key("unreadable")
	one(t, s, &persistence.Fail{Key: k, Reason: "permission denied"})
	recs, _ := s.Sessions(persistence.Filter{})
	if len(recs) != 1 || recs[0].Status != session.StatusFailed {
		t.Fatalf("sessions = %+v, want the failed one", recs)
	}
}

func TestLedgerDroppedUsageIsKept(t *testing.T) {
	// Gemini CLI's $rewindTo read incrementally: the parser subtracts the
	// rewound responses from the contribution and reports them dropped.
	s := open(t)
	k := session.Key{Provider: session.GeminiCode, ID: "g"}
	id := head(42, 4096)
	r := one(t, s, commitOf(k, 0, update("/g", session.ModeAppend, id, 0, 5000, false, t0, uA.Add(uB))))
	rewind := update("/g", session.ModeAppend, id, 5000, 5020, false, t0, session.Usage{}.Sub(uB))
	rewind.Delta.Dropped = uB
	r = one(t, s, commitOf(k, r.Record.Version, rewind))
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after a rewind tokens = %+v, want %+v", r.Record.Tokens, want)
	}
	// the file truncated and re-read: the rewind is read again, its
	// dropped usage is not kept twice
	reread := update("/g", session.ModeAppend, id, 0, 5020, true, t0, uA)
	reread.Delta.Dropped = uB
	r = one(t, s, commitOf(k, r.Record.Version, reread))
	if want := uA.Add(uB); r.Record.Tokens != want {
		t.Fatalf("after a re-read tokens = %+v, want %+v", r.Record.Tokens, want)
	}
}

func TestPhantomThatComesToOwnAClaimBecomesASession(t *testing.T) {
	// Undated sightings sort last; among them the smaller session id
	// owns. "a" (undated, zero usage) is known by its checkpoints only;
	// "b" then sights the same response, undated, with usage: a owns it
	// and so becomes a session.
	s := open(t)
	r := one(t, s, commit(key("a"), 0, "/a", 0, 10, session.Delta{Records: 1, Claims: []session.Claim{{Key: "m1"}}}))
	if r.Record.Version != 0 {
		t.Fatalf("a: version %d, want 0 (no session yet)", r.Record.Version)
	}
	r = one(t, s, commit(key("b"), 0, "/b", 0, 10, session.Delta{Records: 1, Claims: []session.Claim{{Key: "m1", Usage: uA}}}))
	a, err := s.Session(key("a"))
	if err != nil || a.Tokens != uA || a.Version != 1 {
		t.Fatalf("a = %+v, %v; want it to own m1", a, err)
	}
	created := false
	for _, e := range r.Events {
		created = created || e.Key == key("a") && e.Kind == session.EventCreated && e.Change.Tokens == uA
	}
	if !created {
		t.Fatalf("events = %+v, want a created", r.Events)
	}
}

// A store that remembers a file with no dated record (its checkpoint, no
// session) is sound: verify passes, so a backup of it can be restored.
func TestPhantomFileStoreVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	one(t, s, commit(key("passwd"), 0, "/passwd.jsonl", 0, 1200, session.Delta{Malformed: 30}))
	one(t, s, commit(key("real"), 0, "/real.jsonl", 0, 10, delta(1, t0)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := persistence.Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
