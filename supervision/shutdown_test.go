package supervision_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// A stop during the first catch-up used to take 10 s: the provider kept
// spawning session actors for the changes still in its mailbox after it
// began stopping, those children were never told to stop, and the
// Terminated its watcher waited for came only when PoisonFuture timed out.
func TestShutdownDuringCatchUpIsPrompt(t *testing.T) {
	claude := filepath.Join(t.TempDir(), ".claude")
	if _, err := claudetest.Generate(claude, claudetest.Options{Files: 1500, TotalBytes: 30 << 20, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	for after := time.Duration(0); after <= 150*time.Millisecond; after += 15 * time.Millisecond {
		e := supervisiontest.New(t, claudecode.New(), filepath.Join(claude, "projects"))
		if after > 0 {
			time.Sleep(after) // the moment of the signal, not a wait for a condition
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		err := e.Tree.Shutdown(ctx)
		took := time.Since(start)
		cancel()
		if err != nil || took > 2*time.Second {
			t.Fatalf("shutdown %s after start: took %s, err %v", after, took, err)
		}
		e.Stop()
	}
}

// A first scan of a long history keeps a bounded number of session actors
// alive: beyond MaxLive a caught-up session is stopped at once instead of
// after PassivateAfter (minutes), and respawned from the store on change.
func TestCaughtUpSessionActorsAreBounded(t *testing.T) {
	claude := filepath.Join(t.TempDir(), ".claude")
	sum, err := claudetest.Generate(claude, claudetest.Options{Files: 400, TotalBytes: 6 << 20, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	e := supervisiontest.New(t, claudecode.New(), filepath.Join(claude, "projects"))
	e.Stop()
	e.MaxLive = 16
	e.Dir = filepath.Join(t.TempDir(), "data")
	e.Start()
	e.Idle()
	var active, sessions int
	supervisiontest.Eventually(t, "idle session actors stopped down to the bound", func() (bool, string) {
		st := e.Tree.ProviderStatus(context.Background())
		active, sessions = st[0].Active, st[0].Sessions
		return active <= e.MaxLive, fmt.Sprintf("%d actors live for %d sessions", active, sessions)
	})
	if sessions < 100 {
		t.Fatalf("only %d sessions in a corpus of %d files", sessions, sum.Files)
	}
	recs, err := e.Store.Sessions(persistence.Filter{})
	if err != nil || len(recs) < 100 {
		t.Fatalf("%d sessions stored, %v", len(recs), err)
	}
}
