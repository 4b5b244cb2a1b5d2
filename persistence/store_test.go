package persistence_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

func TestMain(m *testing.M) {
	if os.Getenv("SESSIOND_TEST_HOLD_LOCK") != "" {
		holdLock(os.Getenv("SESSIOND_TEST_HOLD_LOCK"))
		return
	}
	goleak.VerifyTestMain(m)
}

// holdLock opens a store and waits for stdin to close (second-process lock test).
func holdLock(dir string) {
	s, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	_, _ = os.Stdin.Read(make([]byte, 1))
	_ = s.Close()
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func open(t *testing.T) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(t.TempDir(), persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func key(id string) session.Key { return session.Key{Provider: session.ClaudeCode, ID: session.ID(id)} }

func commit(k session.Key, ver uint64, path string, from, to int64, d session.Delta) *persistence.Commit {
	return &persistence.Commit{
		Key: k, ExpectedVersion: ver, Now: t0.Add(time.Minute),
		Files: []persistence.FileUpdate{{
			Checkpoint: session.Checkpoint{Path: path, Offset: to, Size: to},
			FromOffset: from, Delta: d,
		}},
	}
}

func delta(user int64, at time.Time, claims ...session.Claim) session.Delta {
	d := session.Delta{Counts: session.Counts{UserMessages: user}, Records: user + int64(len(claims)), Claims: claims}
	d.Observe(at)
	for _, c := range claims {
		d.Observe(c.At)
	}
	return d
}

func one(t *testing.T, s *persistence.Store, op persistence.Op) persistence.Result {
	t.Helper()
	r := s.Apply([]persistence.Op{op})[0]
	if r.Err != nil {
		t.Fatalf("apply: %v", r.Err)
	}
	return r
}

func TestCommitCreatesAndUpdates(t *testing.T) {
	s := open(t)
	k := key("s1")
	u := session.Usage{Input: 10, Output: 5, CacheRead: 100}
	r := one(t, s, commit(k, 0, "/a.jsonl", 0, 100, delta(1, t0, session.Claim{Key: "m1", At: t0, Usage: u})))
	if r.Record.Version != 1 || r.Record.Tokens != u || r.Record.UserMessages != 1 {
		t.Fatalf("record = %+v", r.Record)
	}
	if len(r.Events) != 1 || r.Events[0].Kind != session.EventCreated || r.Events[0].Seq != 1 {
		t.Fatalf("events = %+v", r.Events)
	}
	// the same claim again (next line of the same response) adds nothing
	r = one(t, s, commit(k, 1, "/a.jsonl", 100, 200, delta(0, t0, session.Claim{Key: "m1", At: t0.Add(time.Second), Usage: u})))
	if r.Record.Tokens != u {
		t.Fatalf("duplicate claim counted: %+v", r.Record.Tokens)
	}
	got, err := s.Session(k)
	if err != nil || got.Version != 2 {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	if _, err := s.Session(key("nope")); !errors.Is(err, persistence.ErrSessionNotFound) {
		t.Fatalf("missing session err = %v", err)
	}
}

func TestVersionConflictWritesNothing(t *testing.T) {
	s := open(t)
	k := key("s1")
	one(t, s, commit(k, 0, "/a", 0, 10, delta(1, t0)))
	head, _ := s.Head()
	res := s.Apply([]persistence.Op{
		commit(k, 0, "/a", 10, 20, delta(1, t0)), // stale version
		commit(k, 1, "/a", 5, 20, delta(1, t0)),  // wrong offset
	})
	for i, r := range res {
		if !errors.Is(r.Err, persistence.ErrConcurrentModification) {
			t.Fatalf("op %d: err = %v, want conflict", i, r.Err)
		}
		var ce *persistence.ConflictError
		if !errors.As(r.Err, &ce) {
			t.Fatalf("op %d: not a ConflictError", i)
		}
	}
	if h, _ := s.Head(); h != head {
		t.Fatalf("head moved from %d to %d on failed commits", head, h)
	}
	got, _ := s.Session(k)
	if got.Version != 1 || got.UserMessages != 1 {
		t.Fatalf("failed commits changed the record: %+v", got)
	}
}

func TestFailedOpInBatchLeavesNoPartialWrite(t *testing.T) {
	s := open(t)
	a, b := key("a"), key("b")
	bad := commit(b, 0, "/b", 0, 10, delta(1, t0, session.Claim{Key: "x", At: t0, Usage: session.Usage{Input: 1}}))
	bad.Files = append(bad.Files, persistence.FileUpdate{Checkpoint: session.Checkpoint{Path: ""}}) // invalid second file
	res := s.Apply([]persistence.Op{commit(a, 0, "/a", 0, 10, delta(1, t0)), bad, commit(a, 1, "/a", 10, 20, delta(1, t0))})
	if res[0].Err != nil || res[2].Err != nil || !errors.Is(res[1].Err, persistence.ErrInvalidCommit) {
		t.Fatalf("results: %v / %v / %v", res[0].Err, res[1].Err, res[2].Err)
	}
	if _, err := s.Session(b); !errors.Is(err, persistence.ErrSessionNotFound) {
		t.Fatalf("failed op left a session: %v", err)
	}
	files, _ := s.SessionFiles(b)
	if len(files) != 0 {
		t.Fatalf("failed op left checkpoints: %+v", files)
	}
	// its claim must not exist either: claiming "x" for a counts fully
	r := one(t, s, commit(a, 2, "/a", 20, 30, delta(0, t0, session.Claim{Key: "x", At: t0.Add(time.Hour), Usage: session.Usage{Input: 1}})))
	if r.Record.Tokens.Input != 1 {
		t.Fatalf("claim from failed op leaked: %+v", r.Record.Tokens)
	}
	ev, _ := s.Events(0, 100)
	for i, e := range ev {
		if e.Seq != uint64(i+1) {
			t.Fatalf("gap in events: %+v", ev)
		}
	}
}

func TestConcurrentCommitsNeverLoseAnUpdate(t *testing.T) {
	// Many writers race to commit to one session; every one retries on
	// conflict. The store serialises Apply (as the store actor does); the
	// final totals must hold every writer's increments exactly once.
	s := open(t)
	k := key("hot")
	// dated: a file without a dated record is no session
	one(t, s, commit(k, 0, "/f", 0, 0, delta(0, t0)))
	var mu sync.Mutex // Apply's single-caller contract, as the actor provides
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/w%d", w)
			var off int64
			for range each {
				for {
					cur, err := s.Session(k)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					r := s.Apply([]persistence.Op{commit(k, cur.Version, path, off, off+1, delta(1, t0))})[0]
					mu.Unlock()
					if r.Err == nil {
						off++
						break
					}
					if !errors.Is(r.Err, persistence.ErrConcurrentModification) {
						t.Error(r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got, _ := s.Session(k)
	if got.UserMessages != writers*each {
		t.Fatalf("user messages = %d, want %d", got.UserMessages, writers*each)
	}
	if got.Files != writers+1 {
		t.Fatalf("files = %d", got.Files)
	}
}

func TestEventsGaplessAcrossBatchesAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var ops []persistence.Op
	for i := range 50 {
		ops = append(ops, commit(key(fmt.Sprint("s", i)), 0, "/p", 0, 1, delta(1, t0)))
	}
	ops = append(ops, commit(key("s0"), 0, "/p", 0, 1, delta(1, t0))) // conflict: no event
	s.Apply(ops)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	one(t, s, commit(key("s0"), 1, "/p", 1, 2, delta(1, t0)))
	ev, err := s.Events(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 51 {
		t.Fatalf("got %d events", len(ev))
	}
	for i, e := range ev {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	page, _ := s.Events(49, 10)
	if len(page) != 2 || page[0].Seq != 50 {
		t.Fatalf("page = %+v", page)
	}
	if h, _ := s.Head(); h != 51 {
		t.Fatalf("head = %d", h)
	}
}

func TestClaimOwnershipIndependentOfOrder(t *testing.T) {
	// Session "b" replays a's response m1 (a resume); m1 belongs to the
	// session with the earliest sighting, whichever is committed first.
	u := session.Usage{Input: 3, Output: 7, CacheWrite: 11}
	ua := delta(1, t0, session.Claim{Key: "m1", At: t0, Usage: u})
	ub := delta(1, t0.Add(time.Hour), session.Claim{Key: "m1", At: t0, Usage: u}, session.Claim{Key: "m2", At: t0.Add(time.Hour), Usage: u})
	for _, order := range []string{"ab", "ba"} {
		t.Run(order, func(t *testing.T) {
			s := open(t)
			for _, c := range order {
				if c == 'a' {
					one(t, s, commit(key("a"), 0, "/a", 0, 1, ua))
				} else {
					one(t, s, commit(key("b"), 0, "/b", 0, 1, ub))
				}
			}
			a, _ := s.Session(key("a"))
			b, _ := s.Session(key("b"))
			if a.Tokens != u || b.Tokens != u {
				t.Fatalf("a=%+v b=%+v, want each %+v", a.Tokens, b.Tokens, u)
			}
		})
	}
}

func TestIdleCompletionAndFail(t *testing.T) {
	s := open(t)
	k := key("s")
	now := time.Now().UTC()
	c := commit(k, 0, "/f", 0, 1, delta(1, now))
	c.Now = now
	r := one(t, s, c)
	if r.Record.Status != session.StatusActive {
		t.Fatalf("status = %s", r.Record.Status)
	}
	ev, err := s.CompleteIdle(now.Add(2 * time.Hour))
	if err != nil || len(ev) != 1 || ev[0].Kind != session.EventCompleted {
		t.Fatalf("CompleteIdle = %+v, %v", ev, err)
	}
	// old history is completed as soon as it is committed
	old := commit(key("old"), 0, "/o", 0, 1, delta(1, t0))
	old.Now = now
	r = one(t, s, old)
	if r.Record.Status != session.StatusCompleted || len(r.Events) != 2 || r.Events[1].Kind != session.EventCompleted {
		t.Fatalf("old session: %+v %+v", r.Record.Status, r.Events)
	}
	r = one(t, s, &persistence.Fail{Key: key("old"), Reason: "permission denied"})
	if r.Record.Status != session.StatusFailed || r.Events[0].Change.Reason != "permission denied" {
		t.Fatalf("fail: %+v", r)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "SESSIOND_TEST_HOLD_LOCK="+dir)
	stdin, _ := cmd.StdinPipe()
	var out bytes.Buffer
	pr, pw, _ := os.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 6)
	if _, err := pr.Read(buf); err != nil || string(buf[:5]) != "READY" {
		t.Fatalf("child: %q %v", buf, err)
	}
	_, err = persistence.Open(dir, persistence.Options{})
	if !errors.Is(err, persistence.ErrLocked) {
		t.Fatalf("second open err = %v, want ErrLocked", err)
	}
	stdin.Close()
	_ = cmd.Wait()
	_ = out
	s, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatalf("open after the other process exited: %v", err)
	}
	s.Close()
}

func TestBackupRestore(t *testing.T) {
	s := open(t)
	one(t, s, commit(key("a"), 0, "/a", 0, 1, delta(2, t0)))
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	s2, err := persistence.Open(filepath.Join(t.TempDir(), "r"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := s2.Session(key("a"))
	if err != nil || r.UserMessages != 2 {
		t.Fatalf("restored = %+v, %v", r, err)
	}
	if h, _ := s2.Head(); h != 1 {
		t.Fatalf("restored head = %d", h)
	}
}

func TestSameNewClaimTwiceInOneBatch(t *testing.T) {
	// Two sessions sight one new claim in the same group commit: the
	// second op must see the first op's entry, not start a fresh one.
	s := open(t)
	u := session.Usage{Input: 4}
	res := s.Apply([]persistence.Op{
		commit(key("a"), 0, "/a", 0, 1, delta(0, t0, session.Claim{Key: "m", At: t0, Usage: u})),
		commit(key("b"), 0, "/b", 0, 1, delta(0, t0.Add(time.Hour), session.Claim{Key: "m", At: t0.Add(time.Hour), Usage: u})),
	})
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	a, _ := s.Session(key("a"))
	b, _ := s.Session(key("b"))
	if a.Tokens != u || !b.Tokens.IsZero() {
		t.Fatalf("a=%+v b=%+v", a.Tokens, b.Tokens)
	}
}

func TestCostEstimatesAndUnknownUsage(t *testing.T) {
	s := open(t)
	d := delta(1, t0)
	d.Cost, d.UsageEstimated, d.Usage = 0.25, true, session.Usage{Input: 3}
	r := one(t, s, commit(key("est"), 0, "/a", 0, 1, d))
	if r.Record.CostUSD != 0.25 || !r.Record.TokensEstimated || r.Record.TokensUnknown {
		t.Fatalf("estimated: %+v", r.Record)
	}
	u := delta(1, t0)
	u.UsageUnknown = true
	r = one(t, s, commit(key("unk"), 0, "/b", 0, 1, u))
	if !r.Record.TokensUnknown {
		t.Fatalf("unknown: %+v", r.Record)
	}
	// usage appearing later makes it known
	k := delta(0, t0)
	k.Usage = session.Usage{Output: 1}
	r = one(t, s, commit(key("unk"), 1, "/b", 1, 2, k))
	if r.Record.TokensUnknown || r.Record.Tokens.Output != 1 {
		t.Fatalf("became known: %+v", r.Record)
	}
}

func TestOpenAfterCrashLeftAnEmptyMemtable(t *testing.T) {
	for _, name := range []string{"00099.mem", "000020.vlog"} {
		t.Run(name, func(t *testing.T) { openAfterEmptyLog(t, name) })
	}
}

func openAfterEmptyLog(t *testing.T, name string) {
	dir := t.TempDir()
	s, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	one(t, s, commit(key("a"), 0, "/a", 0, 1, delta(1, t0)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// what a SIGKILL between creating and sizing a log file leaves behind
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	defer s.Close()
	if r, err := s.Session(key("a")); err != nil || r.UserMessages != 1 {
		t.Fatalf("session after crash: %+v %v", r, err)
	}
}
