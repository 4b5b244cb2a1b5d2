package cursor

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Workspace links: which folder a composer was opened in. Cursor records
// no cwd in a conversation; the only link is a list of composer ids kept
// per workspace — workspaceStorage/<id>/state.vscdb, ItemTable key
// composer.composerData = {"allComposers":[{"composerId":…},…]}, whose
// sibling workspace.json names the folder ({"folder":"file:///…"}) — and,
// in recent builds, the global ItemTable key composer.composerHeaders =
// {"allComposers":[{"composerId":…,"workspaceIdentifier":{"id":…,
// "uri":{"fsPath":…}}}]}. The map is rebuilt on every listing from what
// changed (file sizes and times, the header row's rowid).

const (
	qItem     = `SELECT CAST(value AS BLOB) FROM ItemTable WHERE key = ?1`
	qItemMeta = `SELECT rowid, octet_length(value) FROM ItemTable WHERE key = ?1`

	keyWorkspaceComposers = "composer.composerData"
	keyGlobalHeaders      = "composer.composerHeaders"
)

// links is the composer → folder map of one User directory.
type links struct {
	built       bool
	workspaces  map[string]*workspace // by workspaceStorage directory name
	headerRow   rowMeta               // the composer.composerHeaders row as last read
	headers     []headerLink          // from composer.composerHeaders
	byWorkspace map[string]string     // composer id → folder, from workspace databases
	byHeader    map[string]string     // composer id → folder, from the global headers
}

// rowMeta identifies a row's content (Cursor rewrites rows whole).
type rowMeta struct{ rowid, size int64 }

// workspace is one workspaceStorage/<id> directory as last read.
type workspace struct {
	sig    string   // sizes and times of its files
	folder string   // from workspace.json ("" if none)
	ids    []string // composer ids its database lists
}

// headerLink is one entry of composer.composerHeaders.
type headerLink struct {
	id, workspace, folder string
}

// folder returns the folder linked to a composer ("" if none). The caller
// holds g.mu.
func (l *links) folder(id string) string {
	if f := l.byWorkspace[id]; f != "" {
		return f
	}
	return l.byHeader[id]
}

// linkedFolder returns the folder of a composer, building the links first
// if no listing has yet.
func (p *Provider) linkedFolder(ctx context.Context, g *globalState, id string) (string, error) {
	g.mu.Lock()
	built := g.links.built
	f := g.links.folder(id)
	g.mu.Unlock()
	if built {
		return f, nil
	}
	g.listMu.Lock()
	defer g.listMu.Unlock()
	c, done, err := g.conn()
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	err = retry(ctx, func() error { return p.refreshLinks(ctx, g, c) })
	done(err)
	if err != nil && !isNoTable(err) {
		return "", fmt.Errorf("cursor: read workspace links: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.links.folder(id), nil
}

// refreshLinks brings g.links up to date; c is a connection to g's
// database. Workspace databases that cannot be read keep what was read
// before and are tried again next time.
func (p *Provider) refreshLinks(ctx context.Context, g *globalState, c driver.Conn) error {
	g.mu.Lock()
	l := g.links
	g.mu.Unlock()
	changed := !l.built

	// the global headers (Cursor ≥ 3)
	var meta rowMeta
	found := false
	err := rows(ctx, c, qItemMeta, func(dest []driver.Value) error {
		meta, found = rowMeta{integer(dest[0]), integer(dest[1])}, true
		return nil
	}, keyGlobalHeaders)
	switch {
	case isNoTable(err):
		meta, found = rowMeta{}, false
	case err != nil:
		return err
	}
	if meta != l.headerRow {
		var value []byte
		if found {
			err := rows(ctx, c, qItem, func(dest []driver.Value) error {
				value = blob(dest[0])
				return nil
			}, keyGlobalHeaders)
			if err != nil {
				return err
			}
		}
		l.headers, l.headerRow, changed = parseHeaderLinks(value), meta, true
	}

	// the workspace databases
	wsRoot := filepath.Join(g.userDir, "workspaceStorage")
	entries, err := os.ReadDir(wsRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	next := make(map[string]*workspace, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(wsRoot, e.Name())
		sig := workspaceSig(dir)
		if w := l.workspaces[e.Name()]; w != nil && w.sig == sig {
			next[e.Name()] = w
			continue
		}
		changed = true
		w := &workspace{sig: sig, folder: workspaceFolder(dir)}
		ids, err := workspaceComposers(ctx, filepath.Join(dir, "state.vscdb"))
		if err != nil {
			if old := l.workspaces[e.Name()]; old != nil {
				w.ids = old.ids
			}
			w.sig = "" // read again next time
		} else {
			w.ids = ids
		}
		next[e.Name()] = w
	}
	if len(next) != len(l.workspaces) {
		changed = true
	}
	l.workspaces = next
	if changed {
		l.rebuild()
	}
	l.built = true
	g.mu.Lock()
	g.links = l
	g.mu.Unlock()
	return nil
}

// rebuild recomputes the maps from the workspaces and headers. Workspace
// databases are read in name order; the first to list a composer wins.
func (l *links) rebuild() {
	l.byWorkspace = map[string]string{}
	names := make([]string, 0, len(l.workspaces))
	for n := range l.workspaces {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w := l.workspaces[n]
		if w.folder == "" {
			continue
		}
		for _, id := range w.ids {
			if _, ok := l.byWorkspace[id]; !ok {
				l.byWorkspace[id] = w.folder
			}
		}
	}
	l.byHeader = map[string]string{}
	for _, h := range l.headers {
		f := ""
		if w := l.workspaces[h.workspace]; h.workspace != "" && w != nil {
			f = w.folder
		}
		if f == "" {
			f = h.folder
		}
		if f != "" {
			l.byHeader[h.id] = f
		}
	}
}

// workspaceSig summarises a workspace directory's files (sizes and
// modification times of state.vscdb, its -wal and workspace.json).
func workspaceSig(dir string) string {
	var b strings.Builder
	for _, name := range []string{"state.vscdb", "state.vscdb-wal", "workspace.json"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(&b, "%d.%d;", fi.Size(), fi.ModTime().UnixNano())
		} else {
			b.WriteString("-;")
		}
	}
	return b.String()
}

// workspaceFolder reads workspace.json: {"folder": uri} or, for a
// multi-root workspace, {"workspace": uri of the .code-workspace file},
// whose directory is used.
func workspaceFolder(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "workspace.json"))
	if err != nil {
		return ""
	}
	var w struct {
		Folder    string `json:"folder"`
		Workspace string `json:"workspace"`
	}
	if json.Unmarshal(data, &w) != nil {
		return ""
	}
	if f := fileFromURI(w.Folder); f != "" {
		return f
	}
	if f := fileFromURI(w.Workspace); f != "" {
		return filepath.Dir(f)
	}
	return ""
}

// fileFromURI turns a VS Code URI (file:///home/a/b, vscode-remote://
// ssh-remote+host/home/a/b, …) into its path; "" if it has none.
func fileFromURI(uri string) string {
	i := strings.Index(uri, ":")
	if i <= 0 {
		return ""
	}
	rest := uri[i+1:]
	if r, ok := strings.CutPrefix(rest, "//"); ok { // skip the authority
		j := strings.IndexByte(r, '/')
		if j < 0 {
			return ""
		}
		rest = r[j:]
	}
	if j := strings.IndexAny(rest, "?#"); j >= 0 {
		rest = rest[:j]
	}
	p, err := url.PathUnescape(rest)
	if err != nil || p == "" || p[0] != '/' {
		return ""
	}
	if len(p) >= 3 && p[2] == ':' { // /c:/Users → c:/Users
		p = p[1:]
	}
	return filepath.Clean(filepath.FromSlash(p))
}

// workspaceComposers lists the composer ids a workspace database links.
// A missing database or table lists none.
func workspaceComposers(ctx context.Context, path string) ([]string, error) {
	c, _, err := openReadOnly(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var value []byte
	err = retry(ctx, func() error {
		return rows(ctx, c, qItem, func(dest []driver.Value) error {
			value = blob(dest[0])
			return nil
		}, keyWorkspaceComposers)
	})
	if isNoTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v struct {
		All []struct {
			ID string `json:"composerId"`
		} `json:"allComposers"`
	}
	if json.Unmarshal(value, &v) != nil {
		return nil, nil
	}
	ids := make([]string, 0, len(v.All))
	for _, c := range v.All {
		if c.ID != "" {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// parseHeaderLinks reads composer.composerHeaders.
func parseHeaderLinks(value []byte) []headerLink {
	var v struct {
		All []struct {
			ID string `json:"composerId"`
			WI *struct {
				ID  string `json:"id"`
				URI *struct {
					FSPath   string `json:"fsPath"`
					Path     string `json:"path"`
					External string `json:"external"`
				} `json:"uri"`
			} `json:"workspaceIdentifier"`
		} `json:"allComposers"`
	}
	if len(value) == 0 || json.Unmarshal(value, &v) != nil {
		return []headerLink{}
	}
	out := make([]headerLink, 0, len(v.All))
	for _, c := range v.All {
		if c.ID == "" || c.WI == nil {
			continue
		}
		h := headerLink{id: c.ID, workspace: c.WI.ID}
		if u := c.WI.URI; u != nil {
			switch {
			case u.FSPath != "":
				h.folder = filepath.Clean(u.FSPath)
			case u.External != "":
				h.folder = fileFromURI(u.External)
			case u.Path != "":
				h.folder = filepath.Clean(filepath.FromSlash(u.Path))
			}
		}
		out = append(out, h)
	}
	return out
}
