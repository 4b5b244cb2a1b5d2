package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/persistence"
)

// daemonFile is the file in the data dir where a running daemon records
// its address and identity, so that read commands given that data dir talk
// to that daemon and no other.
const daemonFile = "daemon.json"

// identityTimeout bounds the identity check of a daemon (a stopped or hung
// process accepts connections but never answers).
const identityTimeout = 2 * time.Second

// Errors of the read path, tested with errors.Is.
var (
	// errNoStore means the data dir holds no store: read commands never
	// create one.
	errNoStore = errors.New("no sessiond store")
	// errWrongDaemon means the daemon at the --listen address serves
	// another data dir.
	errWrongDaemon = errors.New("the daemon serves another data dir")
	// errNoAnswer means a daemon holds the data dir but does not answer.
	errNoAnswer = errors.New("the daemon holding the data dir does not answer")
)

// newIdentity describes this daemon for the data dir's daemon.json and
// /api/v1/identity.
func newIdentity(dataDir, listen string) (*api.Identity, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return &api.Identity{
		InstanceID: hex.EncodeToString(b), DataDir: abs, Listen: listen,
		PID: os.Getpid(), Version: version, StartedAt: time.Now().UTC().Truncate(time.Second),
	}, nil
}

// writeIdentity records id in <data dir>/daemon.json atomically (a temp
// file, fsync, rename, fsync of the directory), readable by the owner only.
func writeIdentity(dataDir string, id *api.Identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", daemonFile, err)
	}
	path := filepath.Join(dataDir, daemonFile)
	f, err := os.CreateTemp(dataDir, daemonFile+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename: nothing to remove
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// removeIdentity deletes daemon.json if it is still id's (a later daemon
// may have replaced it).
func removeIdentity(dataDir string, id *api.Identity) error {
	cur, err := readIdentity(dataDir)
	if err != nil || cur.InstanceID != id.InstanceID {
		return nil
	}
	if err := os.Remove(filepath.Join(dataDir, daemonFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", filepath.Join(dataDir, daemonFile), err)
	}
	return nil
}

// readIdentity reads <data dir>/daemon.json; an absent file is
// os.ErrNotExist.
func readIdentity(dataDir string) (api.Identity, error) {
	path := filepath.Join(dataDir, daemonFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return api.Identity{}, fmt.Errorf("read %s: %w", path, err)
	}
	var id api.Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return api.Identity{}, fmt.Errorf("read %s: %w", path, err)
	}
	return id, nil
}

// dialAddr is the address a local client uses for a listen address: an
// unspecified host (0.0.0.0, ::, "") means the loopback one.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if ip != nil && ip.To4() == nil {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}

// sameDir reports whether two paths name the same directory.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// source finds who answers for the data dir:
//
//   - with --listen on the command: the daemon at that address, which must
//     serve this data dir (else errWrongDaemon);
//   - else the daemon recorded in the data dir's daemon.json, if it
//     answers with the same instance id and data dir;
//   - else the store itself, opened read-only. Read commands never create
//     or write a store, so a missing store (errNoStore) or one that needs
//     the recovery a writer open does is an error saying what to do.
func (a *app) source(ctx context.Context, explicitListen bool) (source, error) {
	dataDir, err := filepath.Abs(a.cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", a.cfg.DataDir, err)
	}
	if explicitListen {
		cl := a.client(dialAddr(a.cfg.Run.Listen))
		id, err := fetchIdentity(ctx, cl)
		if errors.Is(err, api.ErrUnauthorized) {
			return nil, fmt.Errorf("the sessiond on %s requires its API token: set [api] token or SESSIOND_API_TOKEN: %w", a.cfg.Run.Listen, err)
		}
		if err != nil {
			return nil, fmt.Errorf("no sessiond answers on %s (--listen): %w", a.cfg.Run.Listen, err)
		}
		if !sameDir(id.DataDir, dataDir) {
			return nil, fmt.Errorf("%w: the sessiond on %s serves the data dir %s, not %s: pass --data-dir %s, or drop --listen to use the daemon of %s",
				errWrongDaemon, a.cfg.Run.Listen, id.DataDir, dataDir, id.DataDir, dataDir)
		}
		return &daemonSource{cl: cl}, nil
	}
	rec, recErr := readIdentity(dataDir)
	if recErr == nil {
		cl := a.client(dialAddr(rec.Listen))
		id, err := fetchIdentity(ctx, cl)
		if err == nil && id.InstanceID == rec.InstanceID && sameDir(id.DataDir, dataDir) {
			return &daemonSource{cl: cl}, nil
		}
		if errors.Is(err, api.ErrUnauthorized) {
			return nil, fmt.Errorf("the sessiond serving %s on %s requires its API token: set [api] token or SESSIOND_API_TOKEN: %w", dataDir, rec.Listen, err)
		}
		if err == nil {
			a.log.Debug("the address in daemon.json is served by another daemon; reading the store",
				"listen", rec.Listen, "serves", id.DataDir)
		} else {
			a.log.Debug("the daemon in daemon.json does not answer; reading the store", "listen", rec.Listen, "err", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "MANIFEST")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: run `sessiond scan` or `sessiond run` to create it, or pass the --data-dir of an existing store", errNoStore, dataDir)
		}
		return nil, fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	st, err := persistence.Open(dataDir, persistence.Options{ReadOnly: true, IdleTimeout: a.cfg.Run.IdleTimeout.Duration})
	switch {
	case errors.Is(err, persistence.ErrLocked) && recErr == nil:
		return nil, fmt.Errorf("%w: the data dir %s is held by sessiond (pid %d per %s) but nothing answers on %s: it may be starting, stopped (SIGSTOP) or hung; wait, or restart it",
			errNoAnswer, dataDir, rec.PID, daemonFile, rec.Listen)
	case errors.Is(err, persistence.ErrLocked):
		return nil, fmt.Errorf("%w: the data dir %s is held by another sessiond process (a running `scan`, or a daemon that is still starting or does not answer); wait for it, or stop it",
			errNoAnswer, dataDir)
	case err != nil:
		return nil, fmt.Errorf("cannot open the store in %s read-only (%w); if sessiond was killed, the store needs the recovery a writer does and read commands never write: start `sessiond run` or run `sessiond scan` once, then retry",
			dataDir, err)
	}
	return &storeSource{st: st, q: api.Query{Store: st, NotFound: persistence.ErrSessionNotFound}, status: a.offlineStatus}, nil
}

// client is an API client for addr carrying the configured token.
func (a *app) client(addr string) *api.Client {
	return &api.Client{Base: "http://" + addr, Token: a.cfg.API.Token}
}

func fetchIdentity(ctx context.Context, cl *api.Client) (api.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	return cl.Identity(ctx)
}
