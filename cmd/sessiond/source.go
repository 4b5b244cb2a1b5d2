package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// source answers the read commands, with the same results whoever answers:
// the daemon that serves the data dir (daemonSource, over its API) or, when
// none does, the store opened read-only (storeSource). app.source picks one.
type source interface {
	Sessions(ctx context.Context, f persistence.Filter) ([]api.SessionView, error)
	Stats(ctx context.Context, by string) (api.StatsView, error)
	// Events returns up to n events after since.
	Events(ctx context.Context, since uint64, n int) ([]session.Event, error)
	// Follow calls fn for every event after from as it is appended, until
	// ctx ends; only a daemon can.
	Follow(ctx context.Context, from uint64, fn func(session.Event) error) error
	Status(ctx context.Context) (statusView, error)
	// Backup writes a backup of the store to file, atomically, and returns
	// its size.
	Backup(ctx context.Context, file string) (int64, error)
	Close()
}

// errNeedsDaemon: the command can only be answered by a running daemon.
var errNeedsDaemon = errors.New("needs a running daemon (start it with `sessiond run`)")

// daemonSource asks the daemon's API.
type daemonSource struct{ cl *api.Client }

func (d *daemonSource) Sessions(ctx context.Context, f persistence.Filter) ([]api.SessionView, error) {
	q := url.Values{}
	set(q, "provider", string(f.Provider))
	set(q, "project", f.Project)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	views, err := d.cl.Sessions(ctx, q)
	return views, clientError(err)
}

func (d *daemonSource) Stats(ctx context.Context, by string) (api.StatsView, error) {
	sv, err := d.cl.Stats(ctx, by)
	return sv, clientError(err)
}

func (d *daemonSource) Events(ctx context.Context, since uint64, n int) ([]session.Event, error) {
	evs, err := d.cl.Events(ctx, since, n)
	return evs, clientError(err)
}

func (d *daemonSource) Follow(ctx context.Context, from uint64, fn func(session.Event) error) error {
	return d.cl.Follow(ctx, from, fn)
}

func (d *daemonSource) Status(ctx context.Context) (statusView, error) {
	var v statusView
	raw, err := d.cl.Status(ctx)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode status: %w", err)
	}
	return v, nil
}

func (d *daemonSource) Backup(ctx context.Context, file string) (int64, error) {
	var n int64
	err := persistence.WriteFileAtomic(file, func(w io.Writer) error {
		var err error
		n, err = d.cl.Backup(ctx, w)
		return err
	})
	return n, err
}

func (d *daemonSource) Close() {}

// storeSource reads the store opened read-only.
type storeSource struct {
	st     *persistence.Store
	q      api.Query // over st
	status func(*persistence.Store) statusView
}

func (s *storeSource) Sessions(_ context.Context, f persistence.Filter) ([]api.SessionView, error) {
	return s.q.Sessions(f)
}

func (s *storeSource) Stats(_ context.Context, by string) (api.StatsView, error) {
	return s.q.Stats(persistence.Filter{}, by)
}

func (s *storeSource) Events(_ context.Context, since uint64, n int) ([]session.Event, error) {
	return s.q.Events(since, n)
}

func (s *storeSource) Follow(context.Context, uint64, func(session.Event) error) error {
	return fmt.Errorf("--follow %w", errNeedsDaemon)
}

func (s *storeSource) Status(context.Context) (statusView, error) { return s.status(s.st), nil }

func (s *storeSource) Backup(ctx context.Context, file string) (int64, error) {
	return s.st.BackupToFile(ctx, file)
}

func (s *storeSource) Close() { _ = s.st.Close() }
