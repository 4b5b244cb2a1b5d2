package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// TestBackupRoute streams a real store's backup over a real HTTP server and
// loads it into a fresh store.
func TestBackupRoute(t *testing.T) {
	st, err := persistence.Open(filepath.Join(t.TempDir(), "src"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := session.Key{Provider: session.ClaudeCode, ID: "a"}
	r := st.Apply([]persistence.Op{&persistence.Commit{Key: k, Files: []persistence.FileUpdate{{
		Checkpoint: session.Checkpoint{Path: "/a", Offset: 1, Size: 1},
		Delta:      session.Delta{Counts: session.Counts{UserMessages: 3}, FirstAt: time.Unix(1700000000, 0).UTC(), LastAt: time.Unix(1700000000, 0).UTC()}, // dated: a session
	}}}})[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	srv := httptest.NewServer(api.NewHandler(api.Config{Store: st}))
	defer srv.Close()
	var buf bytes.Buffer
	n, err := (&api.Client{Base: srv.URL}).Backup(context.Background(), &buf)
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	dst, err := persistence.Open(filepath.Join(t.TempDir(), "dst"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.Session(k); err != nil || got.UserMessages != 3 {
		t.Fatalf("restored = %+v, %v", got, err)
	}
}

// TestBackupCutShort: a backup that fails after sending bytes lacks the
// trailer, and the client says so instead of keeping a partial file.
func TestBackupCutShort(t *testing.T) {
	fail := errors.New("disk on fire")
	srv := httptest.NewServer(api.NewHandler(api.Config{Store: newFakeStore(nil), Backup: func(_ context.Context, w io.Writer) error {
		_, _ = w.Write(bytes.Repeat([]byte{1}, 1000))
		return fail
	}}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := (&api.Client{Base: srv.URL}).Backup(ctx, io.Discard)
	if !errors.Is(err, api.ErrIncompleteBackup) {
		t.Fatalf("Backup = %d, %v; want ErrIncompleteBackup", n, err)
	}
	// a store without backups: 404
	srv2 := httptest.NewServer(api.NewHandler(api.Config{Store: newFakeStore(nil)}))
	defer srv2.Close()
	if _, err := (&api.Client{Base: srv2.URL}).Backup(ctx, io.Discard); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("no backup support: %v", err)
	}
}
