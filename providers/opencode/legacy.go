package opencode

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// legacyTree is the storage/ tree OpenCode wrote before v1.2 in one data
// directory: storage/session/<projectID>/<sessionID>.json,
// storage/message/<sessionID>/<messageID>.json and
// storage/part/<messageID>/<partID>.json, each object in its own file,
// rewritten whole on every update.
type legacyTree struct {
	dataDir string
	storage string

	mu sync.Mutex
	// index maps session ids to their session files; a project directory
	// is listed again when its modification time changes.
	index  map[string]string
	listed map[string]time.Time
	infos  map[string]cachedInfo     // session file → digested
	stamps map[string]*legacyVersion // session id → its files at the last walk
}

type cachedInfo struct {
	stamp uint64
	info  sessionInfo
	ok    bool
}

// legacyVersion is a session's files as last walked: the session file's
// stamp, each message file's stamp (sorted by name hash) and the Version
// they make.
type legacyVersion struct {
	version  string
	messages int
	session  uint64
	files    []fileStamp
}

type fileStamp struct{ name, stamp uint64 }

func newLegacyTree(dataDir string) *legacyTree {
	return &legacyTree{
		dataDir: dataDir, storage: filepath.Join(dataDir, "storage"),
		index: map[string]string{}, listed: map[string]time.Time{},
		infos: map[string]cachedInfo{}, stamps: map[string]*legacyVersion{},
	}
}

// stampOf identifies a file's content as cheaply as a stat can: size,
// modification time (ns) and inode. 0 means absent.
func stampOf(fi fs.FileInfo) uint64 {
	h := fnv.New64a()
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	fmt.Fprintf(h, "%d/%d/%d", fi.Size(), fi.ModTime().UnixNano(), ino)
	return h.Sum64() | 1
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// has reports whether the walk v still describes the file at path (a
// session file or a message file of the session), given its stat.
func (v *legacyVersion) has(path string, fi fs.FileInfo, statErr error, isSession bool) bool {
	var stamp uint64
	if statErr == nil {
		stamp = stampOf(fi)
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return false
	}
	if isSession {
		return v.session == stamp
	}
	n := nameHash(filepath.Base(path))
	i, found := slices.BinarySearchFunc(v.files, n, func(f fileStamp, n uint64) int { return cmp.Compare(f.name, n) })
	if !found {
		return stamp == 0
	}
	return v.files[i].stamp == stamp
}

// expand returns the document of the session a changed legacy file belongs
// to, or nothing when a database of the data directory holds the session,
// or the session has no message file.
func (t *legacyTree) expand(ctx context.Context, p *Provider, id, changed string) ([]providers.Doc, error) {
	if p.winner(ctx, t.dataDir, id) != nil {
		return nil, nil // the database's listing names it
	}
	fi, statErr := os.Stat(changed)
	isSession := filepath.Base(filepath.Dir(filepath.Dir(changed))) == "session"
	t.mu.Lock()
	v := t.stamps[id]
	if v == nil || !v.has(changed, fi, statErr, isSession) {
		v = t.walk(id)
		t.stamps[id] = v
	}
	t.mu.Unlock()
	if v.messages == 0 {
		return nil, nil
	}
	root := p.rootOf(ctx, t.dataDir, id, func(string) (string, bool) { return "", false })
	return []providers.Doc{{Path: docPath(t.dataDir, id), ID: session.ID(root), Role: role(id, root), Version: v.version}}, nil
}

// walk stats a session's files (mu held).
func (t *legacyTree) walk(id string) *legacyVersion {
	v := &legacyVersion{}
	if path := t.lookup(id); path != "" {
		if fi, err := os.Stat(path); err == nil {
			v.session = stampOf(fi)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(t.storage, "message", id))
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		v.files = append(v.files, fileStamp{name: nameHash(e.Name()), stamp: stampOf(fi)})
	}
	slices.SortFunc(v.files, func(a, b fileStamp) int { return cmp.Compare(a.name, b.name) })
	v.messages = len(v.files)
	h := fnv.New64a()
	fmt.Fprintf(h, "%x", v.session)
	for _, f := range v.files {
		fmt.Fprintf(h, ";%x=%x", f.name, f.stamp)
	}
	v.version = fmt.Sprintf("fs:%d:%x", v.messages, h.Sum64())
	return v
}

// lookup returns the session file of id ("" if none), listing the project
// directories that changed since they were last listed (mu held).
func (t *legacyTree) lookup(id string) string {
	if path := t.index[id]; path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
		delete(t.index, id)
	}
	dir := filepath.Join(t.storage, "session")
	projects, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, pe := range projects {
		if !pe.IsDir() {
			continue
		}
		pdir := filepath.Join(dir, pe.Name())
		fi, err := os.Stat(pdir)
		if err != nil || fi.ModTime().Equal(t.listed[pdir]) {
			continue
		}
		ents, err := os.ReadDir(pdir)
		if err != nil {
			continue
		}
		t.listed[pdir] = fi.ModTime()
		for _, e := range ents {
			if sid, ok := strings.CutSuffix(e.Name(), ".json"); ok && sid != "" && !e.IsDir() {
				t.index[sid] = filepath.Join(pdir, e.Name())
			}
		}
	}
	return t.index[id]
}

// info returns the digested session file of id (mu held).
func (t *legacyTree) info(id string) (sessionInfo, bool) {
	path := t.lookup(id)
	if path == "" {
		return sessionInfo{}, false
	}
	fi, err := os.Stat(path)
	if err != nil {
		return sessionInfo{}, false
	}
	stamp := stampOf(fi)
	if c, ok := t.infos[path]; ok && c.stamp == stamp {
		return c.info, c.ok
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return sessionInfo{}, false
	}
	info, ok := digestSession(data)
	t.infos[path] = cachedInfo{stamp: stamp, info: info, ok: ok}
	return info, ok
}

// parentOf returns the parentID of session id from its session file.
func (t *legacyTree) parentOf(id string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	info, ok := t.info(id)
	return info.ParentID, ok
}

// readDoc builds the document of session id from its legacy files. It
// returns an error wrapping fs.ErrNotExist when the tree holds neither its
// session file nor a message of it.
func (t *legacyTree) readDoc(id string) ([]byte, error) {
	t.mu.Lock()
	info, hasInfo := t.info(id)
	t.mu.Unlock()
	mdir := filepath.Join(t.storage, "message", id)
	ents, err := os.ReadDir(mdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if !hasInfo && len(ents) == 0 {
		return nil, errNotExist(id)
	}
	doc := document{V: docVersion, Session: id, Source: sourceStorage, Directory: info.Directory, Messages: []docMessage{}}
	var buf []byte
	var ids []string
	for _, e := range ents {
		mid, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || mid == "" || !e.Type().IsRegular() {
			continue
		}
		if buf, err = readInto(filepath.Join(mdir, e.Name()), buf); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			return nil, err
		}
		ids = append(ids, mid)
		doc.addMessage(mid, buf) // ids come from file names, as OpenCode's own import takes them
	}
	slices.SortStableFunc(doc.Messages, func(a, b docMessage) int {
		if c := cmp.Compare(a.Created, b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, mid := range ids {
		pdir := filepath.Join(t.storage, "part", mid)
		parts, err := os.ReadDir(pdir)
		if err != nil {
			continue // no parts
		}
		for _, e := range parts {
			pid, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || pid == "" || !e.Type().IsRegular() {
				continue
			}
			if buf, err = readInto(filepath.Join(pdir, e.Name()), buf); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, err
			}
			doc.addPart(pid, buf)
		}
	}
	return json.Marshal(&doc)
}

// readInto reads a whole file into buf's storage.
func readInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return buf, err
		}
	}
}
