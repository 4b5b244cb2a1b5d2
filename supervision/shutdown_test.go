package supervision_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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
