package main_test

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
)

type statusBody struct {
	Store struct {
		LSMBytes  int64 `json:"lsm_bytes"`
		VlogBytes int64 `json:"vlog_bytes"`
		DiskBytes int64 `json:"disk_bytes"`
		Sessions  int   `json:"sessions"`
	} `json:"store"`
	Providers []struct {
		Provider string `json:"provider"`
		Files    int    `json:"files"`
		Sessions int    `json:"sessions"`
	} `json:"providers"`
}

// After a restart a provider's sessions are the stored sessions (not the
// actors or files seen since the start: that was 0, or the file count),
// and the store's size is what it takes on disk, not Badger's sparse
// preallocation (a 128 MiB value log for a few MB of data).
func TestStatusCountsStoredSessionsAndBytesOnDisk(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 4 << 20, Seed: 11, SubagentFraction: 0.5})
	h.run("scan")
	stored := len(h.sessions())
	var offline statusBody
	if err := json.Unmarshal([]byte(h.run("status", "--json")), &offline); err != nil {
		t.Fatal(err)
	}
	d := h.start(freePort(t))
	d.ready(t)
	raw, err := d.client().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var live statusBody
	if err := json.Unmarshal(raw, &live); err != nil {
		t.Fatal(err)
	}
	du := persistence.DirUsage(h.data)
	for name, st := range map[string]statusBody{"offline": offline, "daemon": live} {
		if len(st.Providers) != 1 || st.Providers[0].Sessions != stored || st.Store.Sessions != stored {
			t.Errorf("%s status: %+v, want %d sessions for claude-code", name, st, stored)
		}
		if st.Store.VlogBytes >= 64<<20 || st.Store.DiskBytes > 2*du.Total+1<<20 {
			t.Errorf("%s status: store %+v; du of the data dir is %d bytes", name, st.Store, du.Total)
		}
	}
	if live.Providers[0].Files < stored {
		t.Errorf("daemon status: %d files for %d sessions", live.Providers[0].Files, stored)
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
