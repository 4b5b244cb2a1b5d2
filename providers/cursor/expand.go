package cursor

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Keys and queries of the global database's cursorDiskKV table. Ranges
// are half-open on the key index (';' follows ':'), never LIKE scans.
const (
	composerPrefix = "composerData:"
	bubblePrefix   = "bubbleId:"

	qComposerMeta = `SELECT key, rowid, octet_length(value) FROM cursorDiskKV WHERE key >= 'composerData:' AND key < 'composerData;'`
	qComposerAll  = `SELECT key, rowid, octet_length(value), CAST(value AS BLOB) FROM cursorDiskKV WHERE key >= 'composerData:' AND key < 'composerData;'`
	qComposerOne  = `SELECT rowid, octet_length(value), CAST(value AS BLOB) FROM cursorDiskKV WHERE key = ?1`
	// One statement, so one snapshot: the composer and its bubbles.
	qConversation = `SELECT key, CAST(value AS BLOB) FROM cursorDiskKV WHERE key = ?1 OR (key >= ?2 AND key < ?3)`
)

// versionPrefix starts every Version; bump it when the counting rules
// change so that documents are read again.
const versionPrefix = "2."

// maxDocument bounds one session's document.
const maxDocument = 256 << 20

// castagnoli is the CRC-32C table (hardware-accelerated on most CPUs).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// globalState is what the provider keeps about one global state.vscdb.
type globalState struct {
	path    string // .../User/globalStorage/state.vscdb
	userDir string // .../User
	pool    pool
	listMu  sync.Mutex // one listing (and links refresh) at a time

	mu        sync.Mutex
	composers map[string]composerMeta // as of the last listing, by composer id
	links     links
}

// composerMeta is a composer's row as last seen.
type composerMeta struct {
	rowid, size int64
	base        string // Version without the workspace part
	messages    bool   // holds a message (a header or an inline bubble)
}

// global returns the state of the global database at path.
func (p *Provider) global(path string) *globalState {
	path = filepath.Clean(path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dbs == nil {
		p.dbs = map[string]*globalState{}
	}
	g := p.dbs[path]
	if g == nil {
		g = &globalState{path: path, userDir: filepath.Dir(filepath.Dir(path)), pool: pool{path: path}}
		p.dbs[path] = g
	}
	return g
}

// Close closes the database connections the provider keeps open. The
// provider stays usable: connections are opened again when needed.
func (p *Provider) Close() error {
	p.mu.Lock()
	dbs := make([]*globalState, 0, len(p.dbs))
	for _, g := range p.dbs {
		dbs = append(dbs, g)
	}
	p.mu.Unlock()
	for _, g := range dbs {
		g.pool.close()
	}
	return nil
}

// Expand lists the sessions of a container:
//
//   - the global state.vscdb: one document per composer that holds a
//     message, Version = lastUpdatedAt (a CRC of the composerData value
//     when it has none) plus a CRC of the workspace folder it is linked to;
//   - a workspace state.vscdb: the composers it links, as of the last
//     listing of its User directory's global database (their links, and
//     so their versions, may have changed), and the conversations it
//     keeps inline (Cursor ≤ 0.42, see workspace.go);
//   - an agent transcript: one document, Version = size and modification
//     time.
//
// A missing database, or one without Cursor's tables, lists nothing.
func (p *Provider) Expand(ctx context.Context, path string) ([]providers.Doc, error) {
	if _, _, _, ok := chatStore(path); ok {
		return p.expandChat(ctx, path) // the Agent CLI's chats (chats.go)
	}
	k := classify(strings.Split(filepath.ToSlash(path), "/"))
	switch k.kind {
	case kindGlobalDB:
		return p.expandGlobal(ctx, containerPath(path))
	case kindWorkspaceDB:
		wsDir := filepath.Dir(path)
		user := filepath.Dir(filepath.Dir(wsDir))
		p.noteUserDir(user)
		docs, err := p.expandWorkspace(ctx, filepath.Join(user, "globalStorage", "state.vscdb"), filepath.Base(wsDir))
		if err != nil {
			return nil, err
		}
		inline, err := p.expandInline(ctx, containerPath(path))
		return append(docs, inline...), err
	case kindTranscript:
		return p.expandTranscript(ctx, path, k)
	}
	return nil, fmt.Errorf("%w: %s", ErrNotContainer, path)
}

// containerPath maps a -wal file to its database.
func containerPath(path string) string {
	return strings.TrimSuffix(path, "-wal")
}

// ReadDoc returns the document a Doc.Path names: for a composer, its
// composerData value and its bubbles in header order; for a transcript,
// the file's complete lines. It reports fs.ErrNotExist when the session
// left the database or the file is gone.
func (p *Provider) ReadDoc(ctx context.Context, docPath string) ([]byte, error) {
	i := strings.LastIndexByte(docPath, '#')
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrBadDocPath, docPath)
	}
	path, id := docPath[:i], docPath[i+1:]
	if _, _, _, ok := chatStore(path); ok {
		return p.readChat(ctx, path, id) // the Agent CLI's chats (chats.go)
	}
	k := classify(strings.Split(filepath.ToSlash(path), "/"))
	switch {
	case k.kind == kindGlobalDB && isDocID(id):
		return p.readComposer(ctx, containerPath(path), id)
	case k.kind == kindWorkspaceDB && isDocID(id):
		return p.readInline(ctx, containerPath(path), id)
	case k.kind == kindTranscript && id == k.session:
		return p.readTranscript(ctx, path, k)
	}
	return nil, fmt.Errorf("%w: %s", ErrBadDocPath, docPath)
}

// isDocID reports whether a composer id can name a document: non-empty,
// without '#' or '/', at most 256 bytes.
func isDocID(id string) bool {
	return id != "" && len(id) <= 256 && !strings.ContainsAny(id, "#/\x00")
}

// conn borrows a connection of g's pool, dropping g's row caches when the
// database file was replaced. done must be called with the outcome.
func (g *globalState) conn() (c driver.Conn, done func(err error), err error) {
	c, replaced, err := g.pool.get()
	if err != nil {
		return nil, nil, err
	}
	if replaced {
		g.mu.Lock()
		g.composers = nil
		g.links.headerRow = rowMeta{}
		g.mu.Unlock()
	}
	return c, func(err error) { g.pool.put(c, err != nil && !isBusy(err) && !isNoTable(err)) }, nil
}

// expandWorkspace handles a change of a workspace database: it reads the
// links again and lists the composers whose link may have changed (those
// the workspace lists, or listed before), with the versions of the last
// listing of the global database at path. Before that first listing it
// lists nothing: the listing reads the links itself.
func (p *Provider) expandWorkspace(ctx context.Context, path, ws string) ([]providers.Doc, error) {
	g := p.global(path)
	g.listMu.Lock()
	defer g.listMu.Unlock()
	g.mu.Lock()
	listed := g.composers != nil && g.links.built
	var before []string
	if w := g.links.workspaces[ws]; w != nil {
		before = w.ids
		w.sig = "" // read it again
	}
	g.mu.Unlock()
	if !listed {
		return nil, nil
	}
	c, done, err := g.conn()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	err = retry(ctx, func() error { return p.refreshLinks(ctx, g, c) })
	done(err)
	if err != nil && !isNoTable(err) {
		return nil, fmt.Errorf("cursor: read workspace links: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := slices.Clone(before)
	if w := g.links.workspaces[ws]; w != nil {
		ids = append(ids, w.ids...)
	}
	slices.Sort(ids)
	var docs []providers.Doc
	for _, id := range slices.Compact(ids) {
		if m, ok := g.composers[id]; ok && m.messages {
			docs = append(docs, g.doc(id, m))
		}
	}
	return docs, nil
}

// doc is the listing entry of a composer; the caller holds g.mu.
func (g *globalState) doc(id string, m composerMeta) providers.Doc {
	return providers.Doc{
		Path: g.path + "#" + id, ID: session.ID(id), Role: session.RoleMain,
		Version: m.base + folderTag(g.links.folder(id)),
	}
}

// expandGlobal lists the composers of a global database.
func (p *Provider) expandGlobal(ctx context.Context, path string) ([]providers.Doc, error) {
	g := p.global(path)
	g.listMu.Lock()
	defer g.listMu.Unlock()
	c, done, err := g.conn()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// list again while a commit may have been missed (see wal.go)
	for pass := 1; ; pass++ {
		mark := readMark(path)
		err = retry(ctx, func() error { return g.listComposers(ctx, c) })
		if err != nil || pass >= maxPasses || !commitBeyond(path, mark) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(pass) * 2 * time.Millisecond):
		}
	}
	if err == nil {
		err = retry(ctx, func() error { return p.refreshLinks(ctx, g, c) })
	}
	done(err)
	if isNoTable(err) {
		return nil, nil // not (yet) a Cursor database
	}
	if err != nil {
		return nil, fmt.Errorf("cursor: list composers of %s: %w", path, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	docs := make([]providers.Doc, 0, len(g.composers))
	for id, m := range g.composers {
		if !m.messages {
			continue // an empty chat tab: no session yet
		}
		docs = append(docs, g.doc(id, m))
	}
	slices.SortFunc(docs, func(a, b providers.Doc) int { return strings.Compare(a.Path, b.Path) })
	return docs, nil
}

// folderTag is the part of a composer's Version that follows its
// workspace folder, so that a link found later reads it again.
func folderTag(folder string) string {
	if folder == "" {
		return ""
	}
	return "/" + strconv.FormatUint(uint64(crc32.Checksum([]byte(folder), castagnoli)), 36)
}

// maxPasses bounds the listings of one Expand.
const maxPasses = 5

// manyChanged is how many changed composers are loaded with one range
// query instead of one lookup each.
const manyChanged = 64

// listComposers refreshes g.composers: rows whose rowid and size are
// unchanged keep what was read (Cursor replaces a row, with a new rowid,
// on every write); the others are loaded and scanned.
func (g *globalState) listComposers(ctx context.Context, c driver.Conn) error {
	g.mu.Lock()
	old := g.composers
	g.mu.Unlock()
	next := make(map[string]composerMeta, len(old))
	var changed []string
	err := rows(ctx, c, qComposerMeta, func(dest []driver.Value) error {
		id, ok := strings.CutPrefix(keyOf(dest[0]), composerPrefix)
		if !ok || !isDocID(id) {
			return nil
		}
		m, known := old[id]
		rowid, size := integer(dest[1]), integer(dest[2])
		if !known || m.rowid != rowid || m.size != size {
			m = composerMeta{rowid: rowid, size: size}
			changed = append(changed, id)
		}
		next[id] = m
		return nil
	})
	if err != nil {
		return err
	}
	load := func(id string, rowid, size int64, value []byte) {
		base, messages := composerVersion(value)
		next[id] = composerMeta{rowid: rowid, size: size, base: base, messages: messages}
	}
	if len(changed) > manyChanged {
		want := make(map[string]bool, len(changed))
		for _, id := range changed {
			want[id] = true
		}
		err = rows(ctx, c, qComposerAll, func(dest []driver.Value) error {
			id, _ := strings.CutPrefix(keyOf(dest[0]), composerPrefix)
			if want[id] {
				load(id, integer(dest[1]), integer(dest[2]), blob(dest[3]))
				delete(want, id)
			}
			return nil
		})
		for id := range want {
			delete(next, id) // deleted meanwhile
		}
	} else {
		for _, id := range changed {
			found := false
			err = rows(ctx, c, qComposerOne, func(dest []driver.Value) error {
				found = true
				load(id, integer(dest[0]), integer(dest[1]), blob(dest[2]))
				return nil
			}, composerPrefix+id)
			if err != nil {
				break
			}
			if !found {
				delete(next, id)
			}
		}
	}
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.composers = next
	g.mu.Unlock()
	return nil
}

// composerVersion computes a composerData value's Version (without the
// workspace part) and whether it holds a message. A value that is not a
// JSON object is versioned by its CRC and listed (its document counts it
// malformed); a NULL or empty value is not listed.
func composerVersion(value []byte) (string, bool) {
	if jsonscan.SkipWS(value, 0) == len(value) {
		return "", false // SQL NULL or empty: no conversation (and no damage)
	}
	var updated int64
	var messages, valid bool
	if i := jsonscan.SkipWS(value, 0); i < len(value) && value[i] == '{' {
		e := objectMembers(value, i, 0, func(k jsonscan.Str, v, depth int) int {
			switch {
			case k.Is("lastUpdatedAt"):
				n, e := jsonscan.ScanInt(value, v, depth)
				updated = n
				return e
			case k.Is("fullConversationHeadersOnly"), k.Is("conversation"):
				e := jsonscan.SkipValue(value, v, depth)
				if e >= 0 && value[v] == '[' && jsonscan.SkipWS(value, v+1) < e-1 {
					messages = true
				}
				return e
			}
			return jsonscan.SkipValue(value, v, depth)
		})
		valid = e >= 0 && jsonscan.SkipWS(value, e) == len(value)
	}
	if !valid {
		return versionPrefix + "x" + strconv.FormatUint(uint64(crc32.Checksum(value, castagnoli)), 36), true
	}
	if updated > 0 {
		return versionPrefix + strconv.FormatInt(updated, 10), messages
	}
	return versionPrefix + "h" + strconv.FormatUint(uint64(crc32.Checksum(value, castagnoli)), 36), messages
}

// readComposer builds a composer's document: its composerData value and
// its bubbles, read in one statement, laid out in header order.
func (p *Provider) readComposer(ctx context.Context, path, id string) ([]byte, error) {
	g := p.global(path)
	c, done, err := g.conn()
	if err != nil {
		return nil, err // fs.ErrNotExist when the database is gone
	}
	key, prefix := composerPrefix+id, bubblePrefix+id+":"
	var composer []byte
	bubbles := map[string][]byte{}
	err = retry(ctx, func() error {
		composer = nil
		clear(bubbles)
		total := 0
		return rows(ctx, c, qConversation, func(dest []driver.Value) error {
			k, v := keyOf(dest[0]), blob(dest[1])
			if total += len(v); total > maxDocument {
				return fmt.Errorf("%w: composer %s holds more than %d bytes", ErrTooLarge, id, maxDocument)
			}
			switch {
			case k == key:
				composer = v
				if composer == nil {
					composer = []byte{}
				}
			case strings.HasPrefix(k, prefix):
				bubbles[k[len(prefix):]] = v
			}
			return nil
		}, key, prefix, bubblePrefix+id+";")
	})
	done(err)
	if isNoTable(err) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("cursor: read composer %s from %s: %w", id, path, err)
	}
	if composer == nil {
		return nil, fs.ErrNotExist
	}
	folder, err := p.linkedFolder(ctx, g, id)
	if err != nil {
		return nil, err
	}
	return composerDocument(id, folder, composer, bubbles, false), nil
}

// composerDocument lays out a composer's document (see Parser.Document):
//
//	{"sessiond":"cursor.composer","id":…,"cwd":…,["shadowed":true,]"composer":<composerData>,
//	 "bubbles":[<bubble>|null|"malformed", …]}
//
// with one bubble per header, in header order: null for a header whose
// bubble is missing, "malformed" for a value that is not a JSON object.
// An invalid composerData value is written as null. shadowed marks a
// workspace's inline copy of a composer a global database holds (counted
// there).
func composerDocument(id, folder string, composer []byte, bubbles map[string][]byte, shadowed bool) []byte {
	ids, valid := headerIDs(composer)
	size := 128 + len(id) + len(folder) + len(composer)
	for _, b := range bubbles {
		size += len(b) + 1
	}
	doc := make([]byte, 0, size)
	doc = append(doc, `{"sessiond":"`+docComposer+`","id":`...)
	doc = appendJSONString(doc, id)
	doc = append(doc, `,"cwd":`...)
	doc = appendJSONString(doc, folder)
	if shadowed {
		doc = append(doc, `,"shadowed":true`...)
	}
	doc = append(doc, `,"composer":`...)
	if valid {
		doc = append(doc, composer...)
	} else {
		doc = append(doc, "null"...)
	}
	doc = append(doc, `,"bubbles":[`...)
	for i, bid := range ids {
		if i > 0 {
			doc = append(doc, ',')
		}
		b, ok := bubbles[bid]
		switch {
		case !ok || bid == "":
			doc = append(doc, "null"...)
		case validObject(b):
			doc = append(doc, b...)
		default:
			doc = append(doc, `"malformed"`...)
		}
	}
	return append(doc, "]}"...)
}

// headerIDs returns the bubble ids of a composerData value's
// fullConversationHeadersOnly, in order ("" for a header without one), and
// whether the value is a valid JSON object.
func headerIDs(composer []byte) ([]string, bool) {
	if !validObject(composer) {
		return nil, false
	}
	var ids []string
	var buf []byte
	i := jsonscan.SkipWS(composer, 0)
	objectMembers(composer, i, 0, func(k jsonscan.Str, v, depth int) int {
		if !k.Is("fullConversationHeadersOnly") || composer[v] != '[' {
			return jsonscan.SkipValue(composer, v, depth)
		}
		ids = ids[:0]
		return arrayElements(composer, v, depth, func(v, depth int) int {
			id := ""
			e := objectOrSkip(composer, v, depth, func(k jsonscan.Str, v, depth int) int {
				if k.Is("bubbleId") {
					s, e := jsonscan.ScanStr(composer, v, depth)
					if s.OK {
						var t []byte
						t, buf = s.Text(buf[:0])
						id = string(t)
					}
					return e
				}
				return jsonscan.SkipValue(composer, v, depth)
			})
			ids = append(ids, id)
			return e
		})
	})
	return ids, true
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
