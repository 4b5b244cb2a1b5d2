package gemini

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// registry finds project directories from what Gemini CLI keeps next to the
// conversations: <gemini>/projects.json ({"projects":{"/abs/root":"slug"}})
// and the <gemini>/tmp/<slug>/.project_root markers holding the root. It
// knows the tmp roots the provider was given (Roots and Match register
// them) and caches each file's parse until its size or modification time
// changes, so a lookup costs a stat or two. It is safe for concurrent use:
// several session actors parse at once.
type registry struct {
	roots atomic.Pointer[[]string] // tmp roots, copy on write

	mu    sync.Mutex
	files map[string]*projectsFile // by projects.json path
	marks map[string]*markerScan   // by tmp root
	now   func() time.Time
}

// index maps project identifiers to project directories.
type index struct {
	byHash  map[string]string // SHA-256 hex of a directory → the directory
	byShort map[string]string // its first 16 hex digits → the directory
	bySlug  map[string]string // slug (the tmp/<slug> name) → the directory
	slugOf  map[string]string // directory → slug
}

func newIndex() index {
	return index{byHash: map[string]string{}, byShort: map[string]string{}, bySlug: map[string]string{}, slugOf: map[string]string{}}
}

func (x index) add(dir, slug string) {
	sum := sha256.Sum256([]byte(dir))
	h := hex.EncodeToString(sum[:])
	x.byHash[h], x.byShort[h[:16]] = dir, dir
	if slug != "" {
		x.bySlug[slug], x.slugOf[dir] = dir, slug
	}
}

// dir returns the directory a projectHash (a SHA-256, its 16-digit prefix
// or a slug) names, or "".
func (x index) dir(id string) string {
	switch len(id) {
	case 64:
		if d, ok := x.byHash[id]; ok {
			return d
		}
	case 16:
		if d, ok := x.byShort[id]; ok {
			return d
		}
	}
	return x.bySlug[id]
}

// stamp tells whether a file changed since it was read.
type stamp struct {
	exists bool
	size   int64
	mod    time.Time
}

func stampOf(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{exists: true, size: fi.Size(), mod: fi.ModTime()}
}

// projectsFile is the parse of one projects.json.
type projectsFile struct {
	st stamp
	x  index
}

// markerScan is what the .project_root markers under one tmp root said.
type markerScan struct {
	st stamp // of the root directory
	at time.Time
	x  index
}

// maxRegistryFile bounds what is read of projects.json or a marker.
const maxRegistryFile = 4 << 20

// rescanAfter is how old a marker scan may be before a lookup it cannot
// answer scans again (a marker written inside an existing directory does
// not change the root's modification time).
const rescanAfter = 10 * time.Second

func newRegistry() *registry {
	return &registry{files: map[string]*projectsFile{}, marks: map[string]*markerScan{}, now: time.Now}
}

// addRoot registers a tmp root (<gemini>/tmp).
func (r *registry) addRoot(root string) {
	if r == nil || root == "" {
		return
	}
	if p := r.roots.Load(); p != nil && slices.Contains(*p, root) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var roots []string
	if p := r.roots.Load(); p != nil {
		if slices.Contains(*p, root) {
			return
		}
		roots = slices.Clone(*p)
	}
	roots = append(roots, root)
	r.roots.Store(&roots)
}

func (r *registry) rootList() []string {
	if p := r.roots.Load(); p != nil {
		return *p
	}
	return nil
}

// cwd returns the project directory of a projectHash, or "" when neither a
// projects.json nor a marker of any known root names it.
func (r *registry) cwd(id string) string {
	if r == nil || id == "" {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, root := range r.rootList() {
		if d := r.projects(root).x.dir(id); d != "" {
			return d
		}
		if d := r.markers(root, id).x.dir(id); d != "" {
			return d
		}
	}
	return ""
}

// slugFor returns the slug directory name the project whose SHA-256 is hash
// moved to under root, or "".
func (r *registry) slugFor(root, hash string) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if x := r.projects(root).x; x.byHash[hash] != "" {
		if s := x.slugOf[x.byHash[hash]]; s != "" {
			return s
		}
	}
	x := r.markers(root, hash).x
	return x.slugOf[x.byHash[hash]]
}

// projects returns the parse of root's projects.json (empty if it is
// missing or unreadable). r.mu is held.
func (r *registry) projects(root string) *projectsFile {
	path := filepath.Join(filepath.Dir(root), "projects.json")
	st := stampOf(path)
	if f := r.files[path]; f != nil && f.st == st {
		return f
	}
	f := &projectsFile{st: st, x: newIndex()}
	if data, err := readSmall(path); err == nil {
		var v struct {
			Projects map[string]string `json:"projects"`
		}
		if json.Unmarshal(data, &v) == nil {
			for dir, slug := range v.Projects {
				f.x.add(dir, slug)
			}
		}
	}
	r.files[path] = f
	return f
}

// markers returns the scan of root's <slug>/.project_root markers, scanning
// again when root changed, or when the scan is older than rescanAfter and
// cannot answer id. r.mu is held.
func (r *registry) markers(root, id string) *markerScan {
	st := stampOf(root)
	m := r.marks[root]
	if m != nil && m.st == st && (m.x.dir(id) != "" || r.now().Sub(m.at) < rescanAfter) {
		return m
	}
	m = &markerScan{st: st, at: r.now(), x: newIndex()}
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			data, err := readSmall(filepath.Join(root, e.Name(), ".project_root"))
			if dir := string(bytes.TrimSpace(data)); err == nil && dir != "" {
				m.x.add(dir, e.Name())
			}
		}
	}
	r.marks[root] = m
	return m
}

// readSmall reads a file of at most maxRegistryFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxRegistryFile))
}
