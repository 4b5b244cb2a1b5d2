package cursor

import (
	"context"
	"crypto/md5"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Cursor Agent CLI's chats: ~/.cursor/chats/<md5 of the cwd>/<agent
// id>/store.db, one SQLite database per conversation (see the package
// documentation, "Cursor Agent CLI chats"). Each store is a one-document
// container: Expand lists its conversation, ReadDoc decodes its blobs into
// a document of JSON messages (docAgentChat) that the parser counts.

// docAgentChat is the kind of a chat store's document.
const docAgentChat = "cursor.agentchat"

// storeName is a chat store's file name.
const storeName = "store.db"

// qChatIndex reads a store's metadata row and its blob ids in one
// statement (one snapshot): the metadata first, then the ids in rowid
// order. Blobs are content-addressed and written before the metadata
// names them, so every blob the metadata reaches is in the list; their
// data is read afterwards, only for the blobs the conversation reaches
// (qChatBlob).
const qChatIndex = `SELECT 0, 0, key, CAST(value AS BLOB) FROM meta WHERE key = '0'
UNION ALL SELECT 1, rowid, id, NULL FROM blobs ORDER BY 1, 2`

// qChatBlob reads one blob.
const qChatBlob = `SELECT data FROM blobs WHERE id = ?1`

// maxTreeDepth bounds the nesting of tree nodes followed from the root.
const maxTreeDepth = 64

// chatsState is what the provider keeps about the chat stores.
type chatsState struct {
	mu     sync.Mutex
	roots  map[string]struct{}  // chats directories seen (Roots, Match)
	cwds   map[string]string    // resolved folder hashes
	misses map[string]time.Time // unresolved folder hashes: the projects directory's mtime then
	listed map[string]bool      // by store path: whether a listing found it a session (it stays one)
}

// chatsRoots returns the directories the CLI keeps its chats in:
// ~/.cursor/chats and ~/.config/cursor/chats (lower case; newer builds,
// per agentgrep's notes).
func chatsRoots(home string) []string {
	if home == "" {
		return nil
	}
	return []string{filepath.Join(home, ".cursor", "chats"), filepath.Join(home, ".config", "cursor", "chats")}
}

// isChatsRoot reports whether root is a chats directory (as chatsRoots
// names them).
func isChatsRoot(root string) bool {
	root = filepath.Clean(root)
	parent := filepath.Base(filepath.Dir(root))
	return filepath.Base(root) == "chats" && (parent == ".cursor" || parent == "cursor")
}

// noteChatsRoot remembers a chats directory.
func (p *Provider) noteChatsRoot(root string) {
	p.chats.mu.Lock()
	defer p.chats.mu.Unlock()
	if p.chats.roots == nil {
		p.chats.roots = map[string]struct{}{}
	}
	p.chats.roots[filepath.Clean(root)] = struct{}{}
}

// descendChats: below a chats root, <hash> and <hash>/<id>.
func descendChats(parts []string) bool {
	switch len(parts) {
	case 0:
		return true
	case 1:
		return isID(parts[0])
	case 2:
		return isID(parts[0]) && isID(parts[1])
	}
	return false
}

// matchChat places store.db and store.db-wal below a chats root: the
// conversation is the directory's name.
func (p *Provider) matchChat(root string, parts []string) (providers.Match, bool) {
	if len(parts) != 3 || !isID(parts[0]) || !isID(parts[1]) || (parts[2] != storeName && parts[2] != storeName+"-wal") {
		return providers.Match{}, false
	}
	p.noteChatsRoot(root)
	return providers.Match{ID: session.ID(parts[1]), Role: session.RoleMain, Container: true}, true
}

// chatStore recognises a chat store's path (the database or its -wal):
// .../{.cursor,cursor}/chats/<hash>/<id>/store.db[-wal]. It returns the
// database's path, the folder hash and the conversation id.
func chatStore(path string) (db, hash, id string, ok bool) {
	db = containerPath(filepath.Clean(path))
	if filepath.Base(db) != storeName {
		return "", "", "", false
	}
	dir := filepath.Dir(db)
	id, hash = filepath.Base(dir), filepath.Base(filepath.Dir(dir))
	if !isID(id) || !isID(hash) || !isChatsRoot(filepath.Dir(filepath.Dir(dir))) {
		return "", "", "", false
	}
	return db, hash, id, true
}

// chatSig is the state of a store's files: the database's and its -wal's
// sizes and modification times (not the -shm's: a reader changes it).
type chatSig struct {
	dbSize, walSize int64
	dbTime, walTime time.Time
}

// statChat returns a store's signature; fs.ErrNotExist when the database
// is gone.
func statChat(db string) (chatSig, error) {
	fi, err := os.Stat(db)
	if err != nil {
		return chatSig{}, err
	}
	s := chatSig{dbSize: fi.Size(), dbTime: fi.ModTime()}
	if wi, err := os.Stat(db + "-wal"); err == nil {
		s.walSize, s.walTime = wi.Size(), wi.ModTime()
	}
	return s, nil
}

// version renders a signature as a Doc.Version.
func (s chatSig) version() string {
	return versionPrefix + "c" + strconv.FormatInt(s.dbSize, 10) + "." + strconv.FormatInt(s.dbTime.UnixNano(), 10) +
		"." + strconv.FormatInt(s.walSize, 10) + "." + strconv.FormatInt(s.walTime.UnixNano(), 10)
}

// changed is the time of the store's last change.
func (s chatSig) changed() time.Time {
	if s.walTime.After(s.dbTime) {
		return s.walTime
	}
	return s.dbTime
}

// chatMeta is what sessiond reads of the metadata row (hex-encoded JSON).
// Other members (the blob encryption key among them) are not read.
type chatMeta struct {
	AgentID          string          `json:"agentId"`
	LatestRootBlobID string          `json:"latestRootBlobId"`
	CreatedAt        json.RawMessage `json:"createdAt"`
	LastUsedModel    string          `json:"lastUsedModel"`
}

// chatContent is a store as read: its metadata and its conversation.
type chatContent struct {
	found    bool     // the metadata row exists
	meta     chatMeta // valid only if metaOK
	metaOK   bool
	messages [][]byte // JSON messages in order; nil for an undecodable one
	others   int      // messages that are not the system prompt
}

// loadChat reads a store and decodes its conversation: the messages the
// tree from latestRootBlobId reaches, in order, or, without a root, every
// blob that is a message, in rowid order.
func loadChat(ctx context.Context, c driver.Conn, db string) (chatContent, error) {
	var out chatContent
	var metaValue []byte
	ids := map[string]string{} // lower case → as stored
	var order []string
	err := rows(ctx, c, qChatIndex, func(dest []driver.Value) error {
		if integer(dest[0]) == 0 {
			out.found, metaValue = true, append([]byte(nil), blob(dest[3])...)
			return nil
		}
		id := keyOf(dest[2])
		lower := strings.ToLower(id)
		if _, dup := ids[lower]; !dup {
			order = append(order, lower)
		}
		ids[lower] = id
		return nil
	})
	if err != nil || !out.found {
		return out, err
	}
	out.meta, out.metaOK = parseChatMeta(metaValue)
	exists := func(id string) bool { _, ok := ids[id]; return ok }
	total := 0
	cache := map[string][]byte{}
	fetch := func(id string) ([]byte, bool, error) {
		if data, ok := cache[id]; ok {
			return data, true, nil
		}
		stored, ok := ids[id]
		if !ok {
			return nil, false, nil
		}
		var data []byte
		found := false
		err := rows(ctx, c, qChatBlob, func(dest []driver.Value) error {
			data, found = append([]byte(nil), blob(dest[0])...), true
			return nil
		}, stored)
		if err != nil || !found {
			return nil, false, err // a blob deleted since the index: nothing to count
		}
		if total += len(data); total > maxDocument {
			return nil, false, fmt.Errorf("%w: %s holds more than %d bytes", ErrTooLarge, db, maxDocument)
		}
		cache[id] = data
		return data, true, nil
	}
	add := func(msg []byte) {
		out.messages = append(out.messages, msg)
		if msg != nil && !isSystemMessage(msg) {
			out.others++
		}
	}
	rootID := strings.ToLower(out.meta.LatestRootBlobID)
	root, ok, err := fetch(rootID)
	if err != nil {
		return chatContent{}, err
	}
	if !out.metaOK || !ok {
		for _, id := range order {
			data, ok, err := fetch(id)
			if err != nil {
				return chatContent{}, err
			}
			if d := decodeBlob(data, exists); ok && d.kind == blobMessage {
				add(d.msg)
			}
			delete(cache, id) // read once
		}
		return out, nil
	}
	visited := map[string]bool{rootID: true}
	var walk func(refs []string, depth int) error
	walk = func(refs []string, depth int) error {
		for _, id := range refs {
			data, ok, err := fetch(id)
			if err != nil {
				return err
			}
			if !ok {
				continue // not written (yet): nothing to count
			}
			d := decodeBlob(data, exists)
			switch {
			case d.kind == blobMessage:
				add(d.msg)
			case d.kind == blobNode && depth < maxTreeDepth && !visited[id]:
				visited[id] = true
				if err := walk(d.refs, depth+1); err != nil {
					return err
				}
			case d.kind == blobUnknown:
				add(nil)
			}
		}
		return nil
	}
	if err := walk(rootRefs(root), 1); err != nil {
		return chatContent{}, err
	}
	return out, nil
}

// rootRefs returns the children the root blob names: its field 1 values
// that are blob references (the root carries other fields too).
func rootRefs(root []byte) []string {
	var refs []string
	for b := root; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == pbContent && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				break
			}
			if id, ok := blobRef(v); ok && len(refs) < maxRefs {
				refs = append(refs, id)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			break
		}
		b = b[m:]
	}
	return refs
}

// parseChatMeta decodes the metadata row: hex digits of a JSON object
// (also accepted: the JSON object itself).
func parseChatMeta(v []byte) (chatMeta, bool) {
	s := strings.TrimSpace(string(v))
	raw := []byte(s)
	if !strings.HasPrefix(s, "{") {
		b, err := hex.DecodeString(s)
		if err != nil {
			return chatMeta{}, false
		}
		raw = b
	}
	if !validObject(raw) {
		return chatMeta{}, false
	}
	var m chatMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return chatMeta{}, false
	}
	return m, true
}

// createdMillis reads createdAt: milliseconds since the epoch (a number
// or a string of digits); 0 otherwise.
func (m chatMeta) createdMillis() int64 {
	s := strings.Trim(string(m.CreatedAt), `" `)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1<<53 {
		return int64(f)
	}
	return 0
}

// expandChat lists a store's conversation: none while the store has no
// metadata row or only a system prompt (a chat opened, nothing asked),
// one document otherwise (also when the metadata is damaged: the document
// counts it malformed, and the messages found without a root). Version =
// the files' sizes and times. A store once listed as a session is listed
// again without reading it (the CLI only adds to a store; ReadDoc reads
// it), so a change reads it once, not twice.
func (p *Provider) expandChat(ctx context.Context, path string) ([]providers.Doc, error) {
	db, _, id, _ := chatStore(path)
	sig, err := statChat(db)
	if errors.Is(err, fs.ErrNotExist) {
		p.forgetListed(db)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	doc := providers.Doc{Path: db + "#" + id, ID: session.ID(id), Role: session.RoleMain, Version: sig.version()}
	p.chats.mu.Lock()
	known := p.chats.listed[db]
	p.chats.mu.Unlock()
	if known {
		return []providers.Doc{doc}, nil
	}
	content, err := p.readChatStore(ctx, db)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.noteListed(db, content.found && content.others > 0)
	if !content.found || content.others == 0 {
		return nil, nil
	}
	return []providers.Doc{doc}, nil
}

// readChatStore opens a store read-only and loads it (its index in one
// statement, then the blobs the conversation reaches), reading again while
// a WAL commit may have been missed (see wal.go). A store without the
// CLI's tables reports fs.ErrNotExist.
func (p *Provider) readChatStore(ctx context.Context, db string) (chatContent, error) {
	c, _, err := openReadOnly(db)
	if err != nil {
		return chatContent{}, err
	}
	defer c.Close()
	var content chatContent
	for pass := 1; ; pass++ {
		mark := readMark(db)
		err = retry(ctx, func() error {
			var err error
			content, err = loadChat(ctx, c, db)
			return err
		})
		if err != nil || pass >= maxPasses || !commitBeyond(db, mark) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(pass) * 2 * time.Millisecond):
		}
	}
	if isNoTable(err) {
		return chatContent{}, fs.ErrNotExist
	}
	if err != nil {
		return chatContent{}, fmt.Errorf("cursor: read chat store %s: %w", db, err)
	}
	return content, nil
}

// readChat builds a store's document:
//
//	{"sessiond":"cursor.agentchat","id":…,"cwd":…,"meta":true|false,
//	 "created":ms,"mtime":ms,"model":…,"messages":[<message>|"malformed",…]}
//
// with the messages as JSON objects (see decodeBlob). It reports
// fs.ErrNotExist when the store is gone or has no metadata row.
func (p *Provider) readChat(ctx context.Context, path, id string) ([]byte, error) {
	db, hash, dirID, _ := chatStore(path)
	if id != dirID {
		return nil, fmt.Errorf("%w: %s#%s", ErrBadDocPath, path, id)
	}
	sig, err := statChat(db)
	if err != nil {
		return nil, err
	}
	content, err := p.readChatStore(ctx, db)
	if err != nil {
		return nil, err
	}
	if !content.found {
		return nil, fs.ErrNotExist
	}
	cwd := p.chatCWD(db, hash)
	if cwd == "" {
		cwd = infoCWD(content.messages, hash)
	}
	return agentChatDocument(id, cwd, content, sig.changed()), nil
}

// agentChatDocument lays out a chat store's document (see readChat).
func agentChatDocument(id, cwd string, content chatContent, changed time.Time) []byte {
	size := 256 + len(cwd)
	for _, m := range content.messages {
		size += len(m) + 1
	}
	doc := make([]byte, 0, size)
	doc = append(doc, `{"sessiond":"`+docAgentChat+`","id":`...)
	doc = appendJSONString(doc, id)
	doc = append(doc, `,"cwd":`...)
	doc = appendJSONString(doc, cwd)
	doc = append(doc, `,"meta":`...)
	doc = strconv.AppendBool(doc, content.metaOK)
	doc = append(doc, `,"created":`...)
	doc = strconv.AppendInt(doc, content.meta.createdMillis(), 10)
	doc = append(doc, `,"mtime":`...)
	doc = strconv.AppendInt(doc, changed.UnixMilli(), 10)
	doc = append(doc, `,"model":`...)
	doc = appendJSONString(doc, content.meta.LastUsedModel)
	doc = append(doc, `,"messages":[`...)
	for i, m := range content.messages {
		if i > 0 {
			doc = append(doc, ',')
		}
		if m == nil {
			doc = append(doc, `"malformed"`...)
			continue
		}
		doc = append(doc, m...)
	}
	return append(doc, "]}"...)
}

// chatCWD finds the folder whose MD5 (hex) is hash: the cwd of the
// store's meta.json if it matches (or if the hash is not an MD5 at all),
// else a project of ~/.cursor/projects whose slug decodes to a matching
// path — read naively ('-' → '/') first, for every project, and only then
// by probing the file system ("" if none). Hits are cached by hash, and
// so are misses until the projects directory changes (a new project).
func (p *Provider) chatCWD(db, hash string) string {
	p.chats.mu.Lock()
	cwd, ok := p.chats.cwds[hash]
	p.chats.mu.Unlock()
	if ok {
		return cwd
	}
	if c := metaJSONCWD(filepath.Join(filepath.Dir(db), "meta.json")); c != "" && (matchesHash(c, hash) || !isMD5(hash)) {
		return c // per store: not cached under the hash
	}
	if !isMD5(hash) {
		return ""
	}
	chats := filepath.Dir(filepath.Dir(filepath.Dir(db)))
	home := filepath.Dir(filepath.Dir(chats)) // ~/.cursor/chats
	if filepath.Base(filepath.Dir(chats)) != ".cursor" {
		home = filepath.Dir(home) // ~/.config/cursor/chats
	}
	projects := filepath.Join(home, ".cursor", "projects")
	fi, err := os.Stat(projects)
	if err != nil {
		return ""
	}
	p.chats.mu.Lock()
	missed, ok := p.chats.misses[hash]
	p.chats.mu.Unlock()
	if ok && missed.Equal(fi.ModTime()) {
		return ""
	}
	entries, err := os.ReadDir(projects)
	if err != nil {
		return ""
	}
	var slugs []string
	for _, e := range entries {
		if e.IsDir() {
			slugs = append(slugs, e.Name())
		}
	}
	found := ""
	for _, slug := range slugs {
		if c := "/" + strings.ReplaceAll(strings.TrimPrefix(slug, "-"), "-", "/"); matchesHash(c, hash) {
			found = c
			break
		}
	}
	for i := 0; found == "" && i < len(slugs); i++ {
		if c := p.decodeSlug(slugs[i]); c != "" && matchesHash(c, hash) {
			found = c
		}
	}
	p.chats.mu.Lock()
	defer p.chats.mu.Unlock()
	if found == "" {
		if p.chats.misses == nil {
			p.chats.misses = map[string]time.Time{}
		}
		p.chats.misses[hash] = fi.ModTime()
		return ""
	}
	if p.chats.cwds == nil {
		p.chats.cwds = map[string]string{}
	}
	p.chats.cwds[hash] = found
	delete(p.chats.misses, hash)
	return found
}

// matchesHash reports whether MD5(path), in hex, is hash — for the path as
// it is or with its symbolic links resolved.
func matchesHash(path, hash string) bool {
	sum := md5.Sum([]byte(path))
	if strings.EqualFold(hex.EncodeToString(sum[:]), hash) {
		return true
	}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		sum = md5.Sum([]byte(real))
		return strings.EqualFold(hex.EncodeToString(sum[:]), hash)
	}
	return false
}

// isMD5 reports whether s is 32 hex digits.
func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// metaJSONCWD reads the "cwd" of a store's sibling meta.json (newer CLI
// builds write one); "" if there is none or it is not an absolute path.
// Nothing else of the file is kept.
func metaJSONCWD(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 1<<20 {
		return ""
	}
	var m struct {
		CWD string `json:"cwd"`
	}
	if json.Unmarshal(data, &m) != nil || !filepath.IsAbs(m.CWD) {
		return ""
	}
	return filepath.Clean(m.CWD)
}

// noteListed remembers whether a store's last listing was a session.
func (p *Provider) noteListed(db string, session bool) {
	p.chats.mu.Lock()
	defer p.chats.mu.Unlock()
	if p.chats.listed == nil {
		p.chats.listed = map[string]bool{}
	}
	p.chats.listed[db] = session
}

// forgetListed forgets a store that is gone.
func (p *Provider) forgetListed(db string) {
	p.chats.mu.Lock()
	defer p.chats.mu.Unlock()
	delete(p.chats.listed, db)
}

// chatStoreHolds reports whether a known chats directory holds a store
// for conversation id (any folder hash) that is a session: the CLI writes
// the agent transcript of the same conversation too, and the store counts
// it. Only a listing that found a session is trusted (a store stays one:
// the CLI only adds to it); a store last listed as no session, or never
// listed, is read now — it may have received its first prompt since. A
// store that is no session (nothing decodable: another format) leaves the
// transcript counted.
func (p *Provider) chatStoreHolds(ctx context.Context, id string) bool {
	p.chats.mu.Lock()
	roots := make([]string, 0, len(p.chats.roots))
	for r := range p.chats.roots {
		roots = append(roots, r)
	}
	p.chats.mu.Unlock()
	for _, r := range roots {
		hashes, err := os.ReadDir(r)
		if err != nil {
			continue
		}
		for _, h := range hashes {
			db := filepath.Join(r, h.Name(), id, storeName)
			if fi, err := os.Stat(db); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			p.chats.mu.Lock()
			session := p.chats.listed[db]
			p.chats.mu.Unlock()
			if !session {
				content, err := p.readChatStore(ctx, db)
				session = err == nil && content.found && content.others > 0
				if session {
					p.noteListed(db, true)
				}
			}
			if session {
				return true
			}
		}
	}
	return false
}

// infoCWD looks for the folder in the context the CLI adds to the first
// user messages: a "Workspace Path: <path>" line inside <user_info>,
// taken only if its MD5 is the store's folder hash ("" otherwise).
func infoCWD(messages [][]byte, hash string) string {
	if !isMD5(hash) {
		return ""
	}
	users := 0
	for _, raw := range messages {
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if raw == nil || json.Unmarshal(raw, &m) != nil || m.Role != "user" {
			continue
		}
		if users++; users > 3 {
			break
		}
		var texts []string
		var one string
		var parts []struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(m.Content, &one) == nil {
			texts = append(texts, one)
		} else if json.Unmarshal(m.Content, &parts) == nil {
			for _, p := range parts {
				texts = append(texts, p.Text)
			}
		}
		for _, t := range texts {
			_, info, ok := strings.Cut(t, "<user_info>")
			if !ok {
				continue
			}
			info, _, _ = strings.Cut(info, "</user_info>")
			for _, line := range strings.Split(info, "\n") {
				path, ok := strings.CutPrefix(strings.TrimSpace(line), "Workspace Path:")
				if path = strings.TrimSpace(path); ok && filepath.IsAbs(path) && matchesHash(path, hash) {
					return filepath.Clean(path)
				}
			}
		}
	}
	return ""
}
