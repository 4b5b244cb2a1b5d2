package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// BackupTrailer is the HTTP trailer GET /api/v1/backup ends with: "ok" when
// the whole backup was written. A stream cut short (the daemon stopped, the
// store failed) lacks it, so a client never mistakes a partial backup for
// a whole one.
const BackupTrailer = "Sessiond-Backup"

// backup streams a full backup of the store (Badger's backup format, what
// `sessiond restore` loads) as application/octet-stream.
func (s *server) backup(w http.ResponseWriter, r *http.Request) {
	fn := s.cfg.Backup
	if fn == nil {
		if b, ok := s.cfg.Store.(interface {
			BackupTo(context.Context, io.Writer) (int64, error)
		}); ok {
			fn = func(ctx context.Context, w io.Writer) error { _, err := b.BackupTo(ctx, w); return err }
		}
	}
	if fn == nil {
		writeError(w, http.StatusNotFound, errors.New("this daemon does not serve backups"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="sessiond.bak"`)
	w.Header().Set("Trailer", BackupTrailer)
	w.WriteHeader(http.StatusOK)
	if err := fn(r.Context(), w); err != nil {
		// The status is sent: the missing trailer tells the client.
		s.log.Error("backup over the API failed", "err", err)
		return
	}
	w.Header().Set(BackupTrailer, "ok")
}

// ErrIncompleteBackup means the daemon's backup stream ended before the
// whole backup was sent.
var ErrIncompleteBackup = errors.New("the backup stream ended before the backup was complete")

// Backup streams a full backup from the daemon's GET /api/v1/backup into w.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	resp, err := c.do(ctx, "/api/v1/backup", nil, "application/octet-stream")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET /api/v1/backup: %w: %w", ErrIncompleteBackup, err)
	}
	if resp.Trailer.Get(BackupTrailer) != "ok" {
		return n, fmt.Errorf("GET /api/v1/backup: %w (%d bytes received)", ErrIncompleteBackup, n)
	}
	return n, nil
}
