package cursortest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Cursor Agent CLI chat stores: ~/.cursor/chats/<md5(cwd)>/<id>/store.db,
// tables meta(key, value) — key '0', hex-encoded JSON — and blobs(id,
// data), content-addressed (id = SHA-256 of data, hex). The tree starts at
// meta's latestRootBlobId: a protobuf whose field 1 repeats the raw ids of
// its children (messages, or nodes of the same shape). Messages are the
// Vercel AI SDK's JSON, stored as such, in a protobuf envelope (field 4),
// or in the older protobuf form (field 1 text or ContentWrapper{1: text},
// field 2 the user message's id). The values written here are made up.

// ChatEncoding is how a chat's message blobs are stored.
type ChatEncoding int

// Encodings of message blobs.
const (
	ChatJSON     ChatEncoding = iota // the message's JSON
	ChatEnvelope                     // protobuf: 1 user text, 2 user id, 4 the message's JSON
	ChatLegacy                       // protobuf: 1 text (user, with 2 its id) or ContentWrapper{1: text} (assistant)
)

// ChatMessage is one message of a chat.
type ChatMessage struct {
	Role    string // "user", "assistant", "tool" or "system"
	Text    string
	Context bool   // user: context the CLI added (<user_info>), not typed
	Info    string // user, Context: the "Workspace Path:" line's path ("" for none)
	Calls   int    // assistant: tool-call parts
	Results int    // tool: tool-result parts
	Errors  int    // tool: of them, failed (isError)
	Model   string // assistant: providerOptions.cursor.modelName on its parts
}

// Chat is one conversation of the Agent CLI.
type Chat struct {
	ID, CWD, Model string
	Created        time.Time
	Messages       []ChatMessage
	Encoding       ChatEncoding
	Untagged       bool // user prompts without <user_query> tags
	Nested         bool // root → one node per turn → messages
	NoRoot         bool // metadata without latestRootBlobId
	Orphans        int  // messages stored but no longer in the tree
	Damaged        int  // tree references to blobs that are not messages
	BadMeta        bool // metadata that is not hex
	MetaJSON       bool // a meta.json naming the cwd beside the store
}

// Hash is the name of the chats directory of a working directory.
func Hash(cwd string) string {
	s := md5.Sum([]byte(cwd))
	return hex.EncodeToString(s[:])
}

// ChatPath is the store of a chat below a chats directory.
func ChatPath(chats string, c Chat) string {
	return filepath.Join(chats, Hash(c.CWD), c.ID, "store.db")
}

// JSON renders a message as the CLI stores it.
func (m ChatMessage) JSON(untagged bool) []byte {
	type part struct {
		Type       string          `json:"type"`
		Text       string          `json:"text,omitempty"`
		ToolCallID string          `json:"toolCallId,omitempty"`
		ToolName   string          `json:"toolName,omitempty"`
		Args       json.RawMessage `json:"args,omitempty"`
		Result     string          `json:"result,omitempty"`
		IsError    bool            `json:"isError,omitempty"`
		Options    any             `json:"providerOptions,omitempty"`
	}
	var parts []part
	msg := map[string]any{"role": m.Role}
	switch m.Role {
	case "user":
		text := "<user_query>\n" + m.Text + "\n</user_query>"
		if m.Context {
			text = "<user_info>\nOS Version: linux\nShell: bash\n"
			if m.Info != "" {
				text += "Workspace Path: " + m.Info + "\n"
			}
			text += "</user_info>"
		} else if untagged {
			text = m.Text
		}
		parts = append(parts, part{Type: "text", Text: text})
		msg["providerOptions"] = map[string]any{"cursor": map[string]any{"requestId": "req-" + m.Text}}
	case "assistant":
		msg["id"] = "1"
		var opt any
		if m.Model != "" {
			opt = map[string]any{"cursor": map[string]any{"modelName": m.Model}}
		}
		parts = append(parts, part{Type: "reasoning", Text: "thinking about " + m.Text, Options: opt})
		if m.Text != "" {
			parts = append(parts, part{Type: "text", Text: m.Text})
		}
		for i := range m.Calls {
			parts = append(parts, part{Type: "tool-call", ToolCallID: fmt.Sprintf("toolu_%d", i), ToolName: "Shell", Args: json.RawMessage(`{"command":"ls"}`)})
		}
	case "tool":
		msg["id"] = "toolu_0"
		for i := range m.Results {
			parts = append(parts, part{Type: "tool-result", ToolCallID: fmt.Sprintf("toolu_%d", i), ToolName: "Shell", Result: "Exit code: 0", IsError: i < m.Errors})
		}
	default:
		msg["content"] = m.Text
	}
	if parts != nil {
		msg["content"] = parts
	}
	b, _ := json.Marshal(msg)
	return b
}

// blob renders a message blob in an encoding.
func (m ChatMessage) blob(enc ChatEncoding, untagged bool, n int) []byte {
	js := m.JSON(untagged)
	uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n)
	switch enc {
	case ChatEnvelope:
		var b []byte
		if m.Role == "user" {
			b = pbBytes(b, 1, []byte(m.Text))
			b = pbBytes(b, 2, []byte(uuid))
		}
		return pbBytes(b, 4, js)
	case ChatLegacy:
		if m.Role == "user" {
			return pbBytes(pbBytes(nil, 1, []byte(m.Text)), 2, []byte(uuid))
		}
		return pbBytes(pbBytes(nil, 1, pbBytes(nil, 1, []byte(m.Text))), 3, nil)
	}
	return js
}

// pbBytes appends a length-delimited protobuf field.
func pbBytes(b []byte, field int, v []byte) []byte {
	b = pbVarint(b, uint64(field)<<3|2)
	b = pbVarint(b, uint64(len(v)))
	return append(b, v...)
}

func pbVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func sum(data []byte) (string, []byte) {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), s[:]
}

// blobs renders a chat's blobs (id → data) and its root id ("" with
// NoRoot).
func (c Chat) blobs() (map[string][]byte, string) {
	out := map[string][]byte{}
	put := func(data []byte) []byte {
		id, raw := sum(data)
		out[id] = data
		return raw
	}
	for i := range c.Orphans {
		put(ChatMessage{Role: "user", Text: fmt.Sprintf("an edited prompt %d", i)}.blob(c.Encoding, c.Untagged, 1000+i))
	}
	var turns [][][]byte // refs per turn
	for i, m := range c.Messages {
		if m.Role == "user" && !m.Context || len(turns) == 0 {
			turns = append(turns, nil)
		}
		turns[len(turns)-1] = append(turns[len(turns)-1], put(m.blob(c.Encoding, c.Untagged, i)))
	}
	for i := range c.Damaged {
		turns = append(turns, [][]byte{put([]byte(fmt.Sprintf("\xff\xfe not a message %d", i)))})
	}
	var root []byte
	for _, t := range turns {
		if c.Nested {
			var node []byte
			for _, r := range t {
				node = pbBytes(node, 1, r)
			}
			root = pbBytes(root, 1, put(node))
			continue
		}
		for _, r := range t {
			root = pbBytes(root, 1, r)
		}
	}
	root = pbBytes(root, 3, pbBytes(nil, 1, []byte("context snapshot")))
	rootID, _ := sum(root)
	out[rootID] = root
	if c.NoRoot {
		return out, ""
	}
	return out, rootID
}

// ChatBlobs returns a chat's blobs (for fuzz seeds).
func ChatBlobs(c Chat) [][]byte {
	m, _ := c.blobs()
	out := make([][]byte, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// metaValue renders the metadata row.
func (c Chat) metaValue(root string) string {
	m := map[string]any{"agentId": c.ID, "name": "New Agent", "mode": "auto-run",
		"createdAt": c.Created.UnixMilli(), "lastUsedModel": c.Model, "blobEncryptionKey": "not-a-real-key"}
	if root != "" {
		m["latestRootBlobId"] = root
	}
	b, _ := json.Marshal(m)
	if c.BadMeta {
		return "zz" + string(b)
	}
	return hex.EncodeToString(b)
}

// ChatStore is a chat's store.db held open by a writer, as the CLI holds
// it while a conversation runs.
type ChatStore struct {
	DB   *sql.DB
	Path string
	Chat Chat
}

// CreateChat writes a chat's store below a chats directory (WAL mode, like
// the CLI) and keeps it open; Close it.
func CreateChat(chats string, c Chat) (*ChatStore, error) {
	path := ChatPath(chats, c)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)&_pragma=synchronous(off)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);`); err != nil {
		db.Close()
		return nil, err
	}
	s := &ChatStore{DB: db, Path: path, Chat: c}
	if c.MetaJSON {
		mj, _ := json.Marshal(map[string]any{"agentId": c.ID, "cwd": c.CWD, "createdAtMs": c.Created.UnixMilli()})
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "meta.json"), mj, 0o644); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.write(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// write stores the chat's blobs and metadata in one transaction.
func (s *ChatStore) write() error {
	tx, err := s.DB.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	blobs, root := s.Chat.blobs()
	for id, data := range blobs {
		if _, err := tx.Exec("INSERT OR IGNORE INTO blobs (id, data) VALUES (?, ?)", id, data); err != nil {
			return err
		}
	}
	if _, err := tx.Exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('0', ?)", s.Chat.metaValue(root)); err != nil {
		return err
	}
	return tx.Commit()
}

// Append adds messages to the conversation (one transaction).
func (s *ChatStore) Append(msgs ...ChatMessage) error {
	s.Chat.Messages = append(s.Chat.Messages, msgs...)
	return s.write()
}

// Close closes the writer's connection.
func (s *ChatStore) Close() error { return s.DB.Close() }

// WriteChat writes a chat's store and closes it.
func WriteChat(chats string, c Chat) (string, error) {
	s, err := CreateChat(chats, c)
	if err != nil {
		return "", err
	}
	return s.Path, s.Close()
}

// ChatTurn makes one turn: a prompt, the CLI's context on the first turn,
// an answer with calls tool calls, their results (errors failed).
func ChatTurn(first bool, prompt string, calls, errors int, model string) []ChatMessage {
	var out []ChatMessage
	if first {
		out = append(out, ChatMessage{Role: "system", Text: "You are a coding agent."}, ChatMessage{Role: "user", Context: true})
	}
	out = append(out, ChatMessage{Role: "user", Text: prompt}, ChatMessage{Role: "assistant", Text: "Looking.", Calls: calls, Model: model})
	if calls > 0 {
		out = append(out, ChatMessage{Role: "tool", Results: calls, Errors: min(errors, calls)}, ChatMessage{Role: "assistant", Text: "Done.", Model: model})
	}
	return out
}

// ChatLayout is where GenerateChats writes.
type ChatLayout struct {
	Home     string // the HOME
	Chats    string // ~/.cursor/chats
	Projects string // ~/.cursor/projects
	Code     string // the working directories
}

// NewChatLayout names the directories below root.
func NewChatLayout(root string) ChatLayout {
	home := filepath.Join(root, "home")
	return ChatLayout{Home: home, Chats: filepath.Join(home, ".cursor", "chats"),
		Projects: filepath.Join(home, ".cursor", "projects"), Code: filepath.Join(root, "code")}
}

// GenerateChats writes n chats with every variant (encodings, nested
// trees, no root, orphans, damaged references, bad metadata, meta.json,
// untagged prompts, mirrored transcripts (some under another folder's
// project), empty chats) and returns how many are sessions. The working
// directories exist and their projects directories too, as the CLI
// creates them.
func GenerateChats(l ChatLayout, seed int64, n int) (int, error) {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	sessions := 0
	for i := range n {
		cwd := filepath.Join(l.Code, fmt.Sprintf("proj-%d", i%5))
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return 0, err
		}
		if err := os.MkdirAll(filepath.Join(l.Projects, Slug(cwd)), 0o755); err != nil {
			return 0, err
		}
		c := Chat{ID: fmt.Sprintf("c1a7%04x-0000-4000-8000-%012x", i, seed), CWD: cwd, Model: "gpt-5",
			Created: DefaultStart.Add(time.Duration(i) * time.Hour), Encoding: ChatEncoding(r.IntN(3)),
			Untagged: r.IntN(6) == 0, Nested: r.IntN(3) == 0, NoRoot: r.IntN(8) == 0, Orphans: r.IntN(3),
			Damaged: b2i(r.IntN(6) == 0), BadMeta: r.IntN(15) == 0, MetaJSON: r.IntN(3) == 0}
		if c.Encoding == ChatLegacy {
			c.Damaged = 0 // keep legacy chats to text
		}
		turns := r.IntN(5)
		if turns == 0 {
			c.Orphans = 0 // no message at all (a store without a root would list its orphans)
		}
		if i%9 == 8 {
			turns = 0 // a chat opened, nothing asked: only the system prompt
			c.Messages = []ChatMessage{{Role: "system", Text: "You are a coding agent."}}
			c.Orphans, c.Damaged, c.BadMeta, c.NoRoot = 0, 0, false, false
		}
		for t := range turns {
			calls := r.IntN(4)
			if c.Encoding == ChatLegacy {
				calls = 0
			}
			c.Messages = append(c.Messages, ChatTurn(t == 0, fmt.Sprintf("prompt %d of %d", t, i), calls, r.IntN(2), []string{"", "claude-4.5-sonnet", "gpt-5"}[r.IntN(3)])...)
		}
		if c.Encoding == ChatLegacy {
			var keep []ChatMessage
			for _, m := range c.Messages {
				if m.Role == "user" && !m.Context || m.Role == "assistant" {
					m.Model = ""
					keep = append(keep, m)
				}
			}
			c.Messages = keep
		}
		path, err := WriteChat(l.Chats, c)
		if err != nil {
			return 0, err
		}
		mt := c.Created.Add(time.Duration(turns+1) * time.Minute)
		for _, f := range []string{path, path + "-wal"} {
			if err := os.Chtimes(f, mt, mt); err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
		}
		if turns > 0 && r.IntN(3) == 0 { // the CLI's transcript of the same conversation
			project := cwd
			if i%2 == 1 { // under another folder's project (the store's folder stays the session's)
				project = filepath.Join(l.Code, fmt.Sprintf("proj-%d", (i+1)%5))
				if err := os.MkdirAll(project, 0o755); err != nil {
					return 0, err
				}
			}
			dir := filepath.Join(l.Projects, Slug(project), "agent-transcripts", c.ID)
			var body []byte
			for range turns {
				body = append(body, TranscriptLine("user", "a prompt", 0, 0, 0)...)
				body = append(body, '\n')
				body = append(body, TranscriptLine("assistant", "ok", 1, 0, 0)...)
				body = append(body, '\n')
			}
			if err := writeFile(filepath.Join(dir, c.ID+".jsonl"), body, mt); err != nil {
				return 0, err
			}
		}
		if turns > 0 {
			sessions++
		}
	}
	return sessions, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CountChats is the reference for a layout's chats: it reads every store
// the plain way (database/sql, encoding/json, its own protobuf reading)
// and applies the rules of package cursor's documentation, adding the
// records of a transcript of the same conversation.
func CountChats(l ChatLayout) (map[string]Expected, error) {
	out := map[string]Expected{}
	stores, _ := filepath.Glob(filepath.Join(l.Chats, "*", "*", "store.db"))
	for _, path := range stores {
		e, ok, err := CountChat(path, l.Projects)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		id := filepath.Base(filepath.Dir(path))
		tr, _ := filepath.Glob(filepath.Join(l.Projects, "*", "agent-transcripts", id, id+".jsonl"))
		for _, t := range tr {
			data, err := os.ReadFile(t)
			if err != nil {
				return nil, err
			}
			te := CountTranscript(data, "jsonl")
			e.Records += te.Records
			e.Malformed += te.Malformed
			e.Files++
		}
		out[id] = e
	}
	return out, nil
}

// pbField is one field of a protobuf message.
type pbField struct {
	num  uint64
	wire uint64
	data []byte // length-delimited values
}

// pbParse reads a protobuf message; ok is false if it is not one.
func pbParse(b []byte) ([]pbField, bool) {
	var out []pbField
	varint := func() (uint64, bool) {
		var v uint64
		for s := uint(0); s < 64; s += 7 {
			if len(b) == 0 {
				return 0, false
			}
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << s
			if c < 0x80 {
				return v, true
			}
		}
		return 0, false
	}
	for len(b) > 0 {
		tag, ok := varint()
		if !ok || tag>>3 == 0 {
			return nil, false
		}
		f := pbField{num: tag >> 3, wire: tag & 7}
		switch f.wire {
		case 0:
			if _, ok := varint(); !ok {
				return nil, false
			}
		case 1, 5:
			n := 8
			if f.wire == 5 {
				n = 4
			}
			if len(b) < n {
				return nil, false
			}
			b = b[n:]
		case 2:
			n, ok := varint()
			if !ok || n > uint64(len(b)) {
				return nil, false
			}
			f.data, b = b[:n], b[n:]
		default:
			return nil, false // groups: not used by the CLI
		}
		out = append(out, f)
	}
	return out, true
}

// CountChat counts one store; listed is false when sessiond should not
// list it (no metadata row; only a system prompt).
func CountChat(path, projects string) (e Expected, listed bool, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return e, false, err
	}
	defer db.Close()
	var metaHex string
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = '0'`).Scan(&metaHex); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, false, nil
		}
		return e, false, err
	}
	blobs := map[string][]byte{}
	var order []string
	rows, err := db.Query(`SELECT id, data FROM blobs ORDER BY rowid`)
	if err != nil {
		return e, false, err
	}
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			rows.Close()
			return e, false, err
		}
		blobs[strings.ToLower(id)] = data
		order = append(order, strings.ToLower(id))
	}
	rows.Close()
	e.TokensUnknown, e.Files = true, 1
	var meta map[string]any
	raw, herr := hex.DecodeString(metaHex)
	if herr != nil || json.Unmarshal(raw, &meta) != nil || meta == nil {
		e.Malformed, meta = 1, map[string]any{} // its messages still count, by rowid
	} else {
		e.Records = 1
	}
	var msgs []map[string]any // nil entries: undecodable
	ids := func(f []pbField) ([]string, bool) {
		var out []string
		for _, x := range f {
			if x.num != 1 || x.wire != 2 || len(x.data) != 32 {
				return nil, false
			}
			id := hex.EncodeToString(x.data)
			if _, ok := blobs[id]; !ok {
				return nil, false
			}
			out = append(out, id)
		}
		return out, len(out) > 0
	}
	classify := func(data []byte) (map[string]any, []string, bool) {
		var m map[string]any
		if len(data) > 0 && data[0] == '{' {
			if json.Unmarshal(data, &m) == nil {
				if _, ok := m["role"].(string); ok {
					return m, nil, true
				}
			}
			return nil, nil, false
		}
		f, ok := pbParse(data)
		if !ok {
			return nil, nil, false
		}
		var one [][]byte
		var uuid bool
		for _, x := range f {
			switch {
			case x.num == 4 && x.wire == 2:
				var j map[string]any
				if json.Unmarshal(x.data, &j) == nil {
					if _, ok := j["role"].(string); ok {
						return j, nil, true
					}
				}
			case x.num == 1 && x.wire == 2:
				one = append(one, x.data)
			case x.num == 2 && x.wire == 2:
				uuid = true
			}
		}
		if refs, ok := ids(f); ok {
			return nil, refs, true
		}
		if len(one) == 1 {
			if inner, ok := pbParse(one[0]); ok && len(inner) == 1 && inner[0].num == 1 && inner[0].wire == 2 {
				return map[string]any{"role": "assistant", "content": string(inner[0].data)}, nil, true
			}
			if uuid {
				return map[string]any{"role": "user", "content": string(one[0])}, nil, true
			}
		}
		return nil, nil, false
	}
	rootID, _ := meta["latestRootBlobId"].(string)
	if root, ok := blobs[strings.ToLower(rootID)]; ok {
		f, _ := pbParse(root)
		seen := map[string]bool{strings.ToLower(rootID): true}
		var walk func(refs []string)
		walk = func(refs []string) {
			for _, id := range refs {
				data, ok := blobs[id]
				if !ok {
					continue
				}
				m, children, ok := classify(data)
				switch {
				case m != nil:
					msgs = append(msgs, m)
				case ok && !seen[id]:
					seen[id] = true
					walk(children)
				case !ok:
					msgs = append(msgs, nil)
				}
			}
		}
		var refs []string
		for _, x := range f {
			if x.num == 1 && x.wire == 2 && len(x.data) == 32 {
				refs = append(refs, hex.EncodeToString(x.data))
			}
		}
		walk(refs)
	} else {
		for _, id := range order {
			if m, _, _ := classify(blobs[id]); m != nil {
				msgs = append(msgs, m)
			}
		}
	}
	var encoded [][]byte
	for _, m := range msgs {
		if m == nil {
			encoded = append(encoded, nil)
			continue
		}
		b, _ := json.Marshal(m)
		encoded = append(encoded, b)
	}
	lastUsed, _ := meta["lastUsedModel"].(string)
	counted, others := CountChatMessages(encoded, lastUsed)
	if others == 0 {
		return e, false, nil
	}
	e.Counts, e.Models = counted.Counts, counted.Models
	e.Records += counted.Records
	e.Malformed += counted.Malformed
	e = chatTimes(e, meta, path)
	e.CWD = chatCWD(path, projects)
	return e, true, nil
}

// CountChatMessages counts a conversation's messages (JSON objects; nil
// for one that could not be decoded) by the rules of package cursor's
// documentation; others is how many are not the system prompt.
func CountChatMessages(msgs [][]byte, lastUsedModel string) (e Expected, others int) {
	var typed, queries int64
	models := map[string]bool{}
	for _, raw := range msgs {
		var m map[string]any
		if raw == nil || json.Unmarshal(raw, &m) != nil || m == nil {
			e.Malformed++
			continue
		}
		e.Records++
		role, _ := m["role"].(string)
		if role != "system" {
			others++
		}
		var text, query bool
		var calls, results, fails int64
		noteModel := func(v any) {
			if c, ok := obj(obj(v)["cursor"])["modelName"].(string); ok && c != "" {
				models[c] = true
			}
		}
		noteModel(m["providerOptions"])
		switch c := m["content"].(type) {
		case string:
			text, query = c != "", strings.Contains(c, "<user_query>")
		case []any:
			for _, p := range c {
				part := obj(p)
				noteModel(part["providerOptions"])
				switch part["type"] {
				case "text":
					if s, _ := part["text"].(string); s != "" {
						text = true
						query = query || strings.Contains(s, "<user_query>")
					}
				case "tool-call", "tool_use":
					calls++
				case "tool-result", "tool_result":
					results++
					if part["isError"] == true || part["is_error"] == true {
						fails++
					}
				}
			}
		}
		switch role {
		case "user":
			e.ToolErrors += fails
			if text && results == 0 {
				typed++
				if query {
					queries++
				}
			}
		case "assistant":
			e.AssistantMessages++
			e.ToolCalls += calls
		case "tool":
			e.ToolErrors += fails
		}
	}
	if queries > 0 {
		e.UserMessages = queries
	} else {
		e.UserMessages = typed
	}
	if len(models) == 0 && lastUsedModel != "" {
		models[lastUsedModel] = true
	}
	for m := range models {
		e.Models = append(e.Models, m)
	}
	sortStrings(e.Models)
	return e, others
}

// chatTimes sets a session's times: createdAt and the last change of the
// store's files (in milliseconds).
func chatTimes(e Expected, meta map[string]any, path string) Expected {
	var times []time.Time
	if ms, ok := meta["createdAt"].(float64); ok && ms > 0 {
		times = append(times, time.UnixMilli(int64(ms)).UTC())
	}
	var last time.Time
	for _, f := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(last) {
			last = fi.ModTime()
		}
	}
	times = append(times, time.UnixMilli(last.UnixMilli()).UTC())
	for _, t := range times {
		if e.StartedAt.IsZero() || t.Before(e.StartedAt) {
			e.StartedAt = t
		}
		if t.After(e.EndedAt) {
			e.EndedAt = t
		}
	}
	return e
}

// chatCWD: meta.json's cwd if its MD5 is the folder hash, else a project
// directory whose slug names an existing folder with that MD5.
func chatCWD(path, projects string) string {
	hash := filepath.Base(filepath.Dir(filepath.Dir(path)))
	if data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "meta.json")); err == nil {
		var m struct{ CWD string }
		if json.Unmarshal(data, &m) == nil && m.CWD != "" && Hash(m.CWD) == hash {
			return m.CWD
		}
	}
	entries, _ := os.ReadDir(projects)
	for _, e := range entries {
		for _, c := range slugPaths(e.Name()) {
			if Hash(c) == hash {
				return c
			}
		}
	}
	return ""
}

// slugPaths lists the existing directories whose slug is slug (an
// exhaustive search: every directory whose slugged name starts the rest).
func slugPaths(slug string) []string {
	var out []string
	var rec func(base, rest string)
	rec = func(base, rest string) {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			s := Slug(e.Name())
			if !e.IsDir() || s == "" {
				continue
			}
			switch {
			case rest == s:
				out = append(out, filepath.Join(base, e.Name()))
			case strings.HasPrefix(rest, s+"-"):
				rec(filepath.Join(base, e.Name()), rest[len(s)+1:])
			}
		}
	}
	rec("/", slug)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
