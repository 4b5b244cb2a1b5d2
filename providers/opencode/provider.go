package opencode

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Provider is the OpenCode integration. It reads OpenCode's SQLite
// databases (opencode.db and its channel variants, ≥ v1.2) and its legacy
// storage/ tree of JSON files (< v1.2), one document per session, deduplicated
// by session id. It keeps a read-only handle per database and caches of what
// it listed; it is safe for concurrent use. Create it with New.
type Provider struct {
	mu     sync.Mutex
	custom map[string]string    // OPENCODE_DB (absolute, cleaned) → its data dir, from Roots
	dbs    map[string]*database // by database path
	trees  map[string]*legacyTree
	fams   map[string]*family // by data dir

	// Tuning of database listings (see database.expand); tests shorten them.
	hotFor    time.Duration // a session with new rows is re-aggregated for this long
	fullEvery time.Duration // every session is re-aggregated this often
	now       func() time.Time
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Expander = (*Provider)(nil)
	_ io.Closer          = (*Provider)(nil)
)

// New returns the OpenCode provider.
func New() *Provider {
	return &Provider{
		custom:    map[string]string{},
		dbs:       map[string]*database{},
		trees:     map[string]*legacyTree{},
		fams:      map[string]*family{},
		hotFor:    10 * time.Minute,
		fullEvery: 5 * time.Minute,
		now:       time.Now,
	}
}

// ID returns session.OpenCode ("opencode").
func (*Provider) ID() session.Provider { return session.OpenCode }

// Roots returns OpenCode's data directory, $XDG_DATA_HOME/opencode, else
// <home>/.local/share/opencode (on macOS too: OpenCode follows XDG there).
// When $OPENCODE_DB names a database outside it (an absolute path, or a
// relative one with directories, resolved against the data directory), that
// database's directory is a root as well; ":memory:" is ignored. The
// provider remembers such a database as belonging to the data directory, so
// its sessions are deduplicated with the others.
func (p *Provider) Roots(env providers.Env) []string {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var data string
	if x := strings.TrimSpace(getenv("XDG_DATA_HOME")); x != "" {
		data = filepath.Join(x, "opencode")
	} else if env.Home != "" {
		data = filepath.Join(env.Home, ".local", "share", "opencode")
	}
	if data == "" {
		return []string{}
	}
	roots := []string{data}
	if db := strings.TrimSpace(getenv("OPENCODE_DB")); db != "" && db != ":memory:" {
		if !filepath.IsAbs(db) {
			db = filepath.Join(data, db)
		}
		db = filepath.Clean(db)
		p.mu.Lock()
		p.custom[db] = data
		p.mu.Unlock()
		if dir := filepath.Dir(db); dir != data {
			roots = append(roots, dir)
		}
	}
	return roots
}

// Descend reports whether the directory at path can hold files sessiond
// reads: storage, storage/session, storage/session/<projectID>,
// storage/message and storage/message/<sessionID>. Parts (storage/part/…,
// one directory per message) are not watched: they are read with their
// session (see Expand).
func (*Provider) Descend(root, path string) bool {
	parts := providers.Rel(root, path)
	switch {
	case parts == nil:
		return false
	case len(parts) == 0:
		return true
	case parts[0] != "storage":
		return false
	case len(parts) == 1:
		return true
	case len(parts) <= 3:
		return parts[1] == "session" || parts[1] == "message"
	}
	return false
}

// Match places the files sessiond reads. Every one is a container whose
// changes are expanded into session documents (see Expand):
//
//	opencode.db, opencode-<channel>.db, $OPENCODE_DB (and their -wal, -shm, -journal)
//	storage/session/<projectID>/<sessionID>.json
//	storage/message/<sessionID>/<messageID>.json
func (p *Provider) Match(root, path string) (providers.Match, bool) {
	parts := providers.Rel(root, path)
	switch len(parts) {
	case 1:
		if p.isDB(filepath.Join(root, dbBase(parts[0]))) {
			return providers.Match{Container: true}, true
		}
	case 4:
		if parts[0] == "storage" && (parts[1] == "session" || parts[1] == "message") &&
			strings.HasSuffix(parts[3], ".json") && len(parts[3]) > len(".json") {
			return providers.Match{Container: true}, true
		}
	}
	return providers.Match{}, false
}

// dbBase strips the suffix of a database's companion file.
func dbBase(name string) string {
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		if s, ok := strings.CutSuffix(name, suf); ok {
			return s
		}
	}
	return name
}

// isDBName reports whether a file name is one of OpenCode's database names:
// opencode.db, or opencode-<channel>.db for a non-empty channel.
func isDBName(name string) bool {
	if name == "opencode.db" {
		return true
	}
	mid, ok := strings.CutPrefix(name, "opencode-")
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, ".db")
	return ok && mid != ""
}

// isDB reports whether path (a main database file) is one of OpenCode's.
func (p *Provider) isDB(path string) bool {
	if isDBName(filepath.Base(path)) {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.custom[filepath.Clean(path)]
	return ok
}

// dataDirOf returns the data directory a database belongs to.
func (p *Provider) dataDirOf(dbPath string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.custom[filepath.Clean(dbPath)]; ok {
		return d
	}
	return filepath.Dir(dbPath)
}

// Resolve is never needed: Match places every file it accepts. It returns
// an error wrapping providers.ErrUnresolved.
func (*Provider) Resolve(path string, _ []byte) (session.ID, error) {
	return "", fmt.Errorf("opencode: %s: %w", path, providers.ErrUnresolved)
}

// NewParser returns the document parser; the role does not change the rules.
func (*Provider) NewParser(session.FileRole) providers.Parser { return &Parser{} }

// docPath names the document of session id of a data directory. One path per
// session id whatever holds it (a database, another database, the legacy
// tree), so a session is never counted twice.
func docPath(dataDir, id string) string { return dataDir + "#" + id }

// splitDocPath splits a document path into its data directory and session id.
func splitDocPath(p string) (dataDir, id string, err error) {
	i := strings.LastIndexByte(p, '#')
	if i <= 0 || i == len(p)-1 || strings.ContainsAny(p[i+1:], `/\`) {
		return "", "", fmt.Errorf("%w: %q", ErrDocPath, p)
	}
	return p[:i], p[i+1:], nil
}

// legacyFile tells a legacy file's data directory and session: the parent of
// storage/, and the session id from the path (storage/session/<projectID>/<sessionID>.json
// or storage/message/<sessionID>/<messageID>.json).
func legacyFile(path string) (dataDir, id string, ok bool) {
	dir := filepath.Dir(path)
	kind := filepath.Dir(dir)
	storage := filepath.Dir(kind)
	if filepath.Base(storage) != "storage" {
		return "", "", false
	}
	switch filepath.Base(kind) {
	case "session":
		id = strings.TrimSuffix(filepath.Base(path), ".json")
	case "message":
		id = filepath.Base(dir)
	default:
		return "", "", false
	}
	return filepath.Dir(storage), id, id != ""
}

// Expand lists the sessions a changed file holds. For a database: one
// document per session with messages, named "<data dir>#<session id>", whose
// Version changes whenever its session, message or part rows may have
// changed; a child session (parent_id) is a subagent document of its root
// session. For a legacy file: the document of its session, unless a
// database of the same data directory holds that session (the database
// wins). A session held by several databases is listed by the one whose
// session row was updated last.
func (p *Provider) Expand(ctx context.Context, path string) ([]providers.Doc, error) {
	if dataDir, id, ok := legacyFile(path); ok {
		return p.tree(dataDir).expand(ctx, p, id, path)
	}
	if !p.isDB(path) {
		return nil, nil
	}
	return p.db(path).expand(ctx, p)
}

// ReadDoc returns the document of one session (see Expand) built from the
// rows of the database that holds it or, if none does, from the legacy
// storage tree. It returns an error wrapping fs.ErrNotExist when the session
// is gone.
func (p *Provider) ReadDoc(ctx context.Context, path string) ([]byte, error) {
	dataDir, id, err := splitDocPath(path)
	if err != nil {
		return nil, err
	}
	for _, db := range p.holders(ctx, dataDir, id) {
		data, found, err := db.readDoc(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("opencode: read session %s from %s: %w", id, db.path, err)
		}
		if found {
			return data, nil
		}
	}
	data, err := p.tree(dataDir).readDoc(id)
	if err != nil {
		return nil, fmt.Errorf("opencode: read session %s from %s: %w", id, filepath.Join(dataDir, "storage"), err)
	}
	return data, nil
}

// db returns the database at path (not opened yet).
func (p *Provider) db(path string) *database {
	path = filepath.Clean(path)
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dbs[path]
	if d == nil {
		dataDir := filepath.Dir(path)
		if dd, ok := p.custom[path]; ok {
			dataDir = dd
		}
		d = newDatabase(path, dataDir)
		p.dbs[path] = d
	}
	return d
}

// tree returns the legacy tree of a data directory.
func (p *Provider) tree(dataDir string) *legacyTree {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.trees[dataDir]
	if t == nil {
		t = newLegacyTree(dataDir)
		p.trees[dataDir] = t
	}
	return t
}

// family is the databases of one data directory, listed again when the
// directory changes.
type family struct {
	mu      sync.Mutex
	modTime time.Time
	listed  bool
	paths   []string
}

// members returns the databases of a data directory, best first: opencode.db,
// then opencode-<channel>.db by name, then $OPENCODE_DB.
func (p *Provider) members(dataDir string) []*database {
	p.mu.Lock()
	f := p.fams[dataDir]
	if f == nil {
		f = &family{}
		p.fams[dataDir] = f
	}
	var custom []string
	for db, dd := range p.custom {
		if dd == dataDir && filepath.Dir(db) != dataDir {
			custom = append(custom, db)
		}
	}
	p.mu.Unlock()
	slices.Sort(custom)

	f.mu.Lock()
	fi, err := os.Stat(dataDir)
	if err != nil {
		f.listed, f.paths = false, nil
	} else if !f.listed || !fi.ModTime().Equal(f.modTime) {
		f.listed, f.modTime, f.paths = true, fi.ModTime(), nil
		if ents, err := os.ReadDir(dataDir); err == nil {
			for _, e := range ents {
				if name := e.Name(); !e.IsDir() && p.isDB(filepath.Join(dataDir, name)) {
					f.paths = append(f.paths, filepath.Join(dataDir, name))
				}
			}
		}
		slices.SortFunc(f.paths, func(a, b string) int {
			if ra, rb := rank(a), rank(b); ra != rb {
				return ra - rb
			}
			return strings.Compare(a, b)
		})
	}
	paths := append(slices.Clone(f.paths), custom...)
	f.mu.Unlock()

	out := make([]*database, 0, len(paths))
	for _, path := range paths {
		out = append(out, p.db(path))
	}
	return out
}

// rank orders the databases of a data directory: opencode.db first.
func rank(path string) int {
	switch name := filepath.Base(path); {
	case name == "opencode.db":
		return 0
	case isDBName(name):
		return 1
	}
	return 2
}

// holders returns the databases of a data directory that hold session id,
// the one that updated it last first (ties: the better ranked one).
func (p *Provider) holders(ctx context.Context, dataDir, id string) []*database {
	type held struct {
		db      *database
		updated int64
	}
	var hs []held
	for _, db := range p.members(dataDir) {
		if s, ok := db.snapshot(ctx).sessions[id]; ok {
			hs = append(hs, held{db, s.updated})
		}
	}
	slices.SortStableFunc(hs, func(a, b held) int {
		switch {
		case a.updated > b.updated:
			return -1
		case a.updated < b.updated:
			return 1
		}
		return 0
	})
	out := make([]*database, len(hs))
	for i, h := range hs {
		out[i] = h.db
	}
	return out
}

// winner returns the database that lists session id of a data directory
// (nil if none holds it).
func (p *Provider) winner(ctx context.Context, dataDir, id string) *database {
	if hs := p.holders(ctx, dataDir, id); len(hs) > 0 {
		return hs[0]
	}
	return nil
}

// parentOf returns the parent session of id in a data directory: from the
// databases that hold it, else from its legacy session file.
func (p *Provider) parentOf(ctx context.Context, dataDir, id string) (string, bool) {
	for _, db := range p.members(dataDir) {
		if s, ok := db.snapshot(ctx).sessions[id]; ok {
			return s.parent, true
		}
	}
	return p.tree(dataDir).parentOf(id)
}

// rootOf follows parent links from session id up to the session it rolls up
// into: the topmost known ancestor, or the id of a parent that is known
// nowhere (deleted, or not written yet).
func (p *Provider) rootOf(ctx context.Context, dataDir, id string, parentOf func(string) (string, bool)) string {
	seen := map[string]bool{id: true}
	cur := id
	for range 64 {
		parent, known := parentOf(cur)
		if !known {
			parent, known = p.parentOf(ctx, dataDir, cur)
		}
		if !known || parent == "" || seen[parent] {
			return cur
		}
		seen[parent] = true
		cur = parent
	}
	return cur
}

// role is the file role of a session rolling up into root.
func role(id, root string) session.FileRole {
	if id == root {
		return session.RoleMain
	}
	return session.RoleSubagent
}

// errNotExist wraps fs.ErrNotExist for a session that is gone.
func errNotExist(id string) error {
	return fmt.Errorf("session %s: %w", id, fs.ErrNotExist)
}

// Close closes the provider's database handles (they are opened again if
// the provider is used afterwards). sessiond closes it after the provider's
// actors stopped.
func (p *Provider) Close() error {
	p.mu.Lock()
	dbs := make([]*database, 0, len(p.dbs))
	for _, d := range p.dbs {
		dbs = append(dbs, d)
	}
	p.mu.Unlock()
	for _, d := range dbs {
		d.Close()
	}
	return nil
}
