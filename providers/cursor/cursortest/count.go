package cursortest

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// Expected is what sessiond should record for one Cursor session.
// TokensUnknown: no usage reported at all.
type Expected = providertest.Expected

// Count is the reference: it reads a tree the plain way (database/sql with
// LIKE queries, encoding/json, filepath.Walk) and applies the rules of
// package cursor's documentation. Transcript start times (file birth
// times) are not predicted: StartedAt of a session counted from
// transcripts alone is its EndedAt.
func Count(l Layout) (map[string]Expected, error) {
	out := map[string]Expected{}
	composers, err := readComposers(l.GlobalDB())
	if err != nil {
		return nil, err
	}
	folders, err := readLinks(l)
	if err != nil {
		return nil, err
	}
	withMessages := map[string]bool{}
	for id, c := range composers {
		if !c.messages {
			continue
		}
		withMessages[id] = true
		e := c.count()
		e.CWD = folders[id]
		e.Files = 1
		out[id] = e
	}
	if err := countInline(l, composers, out); err != nil {
		return nil, err
	}
	slugs := map[string]string{}
	if entries, err := os.ReadDir(l.Code); err == nil {
		for _, d := range entries {
			p := filepath.Join(l.Code, d.Name())
			slugs[Slug(p)] = p
		}
	}
	err = filepath.WalkDir(l.Projects, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(l.Projects, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		var sessionID, fileID, format string
		sub := false
		name := parts[len(parts)-1]
		stem, ext, _ := strings.Cut(name, ".")
		if ext != "jsonl" && ext != "txt" {
			return nil
		}
		switch {
		case len(parts) == 3 && parts[1] == "agent-transcripts":
			sessionID, fileID = stem, stem
		case len(parts) == 4 && parts[1] == "agent-transcripts" && parts[2] == stem:
			sessionID, fileID = stem, stem
		case len(parts) == 5 && parts[1] == "agent-transcripts" && parts[3] == "subagents":
			sessionID, fileID, sub = parts[2], stem, true
		default:
			return nil
		}
		format = ext
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() == 0 {
			return nil
		}
		primary := !withMessages[fileID]
		lc := CountTranscript(data, format)
		e := out[sessionID]
		e.Files++
		if sub {
			e.Subagents++
		}
		e.Records += lc.Records
		e.Malformed += lc.Malformed
		if primary {
			e.Counts = e.Counts.Add(lc.Counts)
			mt := time.UnixMilli(fi.ModTime().UnixMilli()).UTC()
			if e.StartedAt.IsZero() || mt.Before(e.StartedAt) {
				e.StartedAt = mt
			}
			if mt.After(e.EndedAt) {
				e.EndedAt = mt
			}
		}
		if e.CWD == "" && (primary || folders[fileID] == "") {
			e.CWD = slugs[parts[0]]
			if e.CWD == "" && format == "jsonl" {
				e.CWD = folderFromTools(data, parts[0])
			}
		}
		out[sessionID] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, e := range out {
		e.TokensUnknown = e.Tokens.IsZero()
		out[id] = e
	}
	return out, nil
}

// CountComposer applies the composer rules to a composerData value and
// its bubbles (by bubble id); CWD and Files are left to the caller.
func CountComposer(value []byte, bubbles map[string][]byte) Expected {
	c := &composer{bubbles: bubbles}
	c.value, c.valid = decode(value)
	e := c.count()
	e.TokensUnknown = e.Tokens.IsZero()
	return e
}

// composer is a composerData row and its bubbles, decoded.
type composer struct {
	messages bool
	valid    bool
	value    map[string]any
	bubbles  map[string][]byte
}

func readComposers(path string) (map[string]*composer, error) {
	out := map[string]*composer{}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, CAST(value AS BLOB) FROM cursorDiskKV WHERE key LIKE 'composerData:%' OR key LIKE 'bubbleId:%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bubbles := map[string]map[string][]byte{}
	for rows.Next() {
		var key string
		var value []byte
		if err := rows.Scan(&key, &value); err != nil {
			return nil, err
		}
		if id, ok := strings.CutPrefix(key, "composerData:"); ok {
			c := &composer{}
			c.value, c.valid = decode(value)
			// a NULL or blank value is no conversation, and not damaged
			blank := len(bytes.TrimLeft(value, " \t\r\n")) == 0
			c.messages = !c.valid && !blank || nonEmptyArray(c.value["fullConversationHeadersOnly"]) || nonEmptyArray(c.value["conversation"])
			out[id] = c
			continue
		}
		rest, _ := strings.CutPrefix(key, "bubbleId:")
		cid, bid, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if bubbles[cid] == nil {
			bubbles[cid] = map[string][]byte{}
		}
		bubbles[cid][bid] = value
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for id, c := range out {
		c.bubbles = bubbles[id]
	}
	return out, nil
}

// decode decodes a JSON object keeping numbers exact.
func decode(data []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false // more after the value
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func nonEmptyArray(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) > 0
}

// integer returns v as an int64 if it is a JSON integer that fits.
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func timeOf(v any) time.Time {
	var t time.Time
	switch x := v.(type) {
	case json.Number:
		ms, ok := integer(x)
		if !ok || ms == 0 {
			return time.Time{}
		}
		t = time.UnixMilli(ms).UTC()
	case string:
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}
		}
		t = p.UTC()
	default:
		return time.Time{}
	}
	if t.Year() < 2000 || t.Year() >= 2200 {
		return time.Time{}
	}
	return t
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// count applies the composer rules.
func (c *composer) count() Expected {
	var e Expected
	if !c.valid {
		e.Malformed = 1
		return e
	}
	e.Records = 1
	created, updated := timeOf(c.value["createdAt"]), timeOf(c.value["lastUpdatedAt"])
	observe := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if e.StartedAt.IsZero() || t.Before(e.StartedAt) {
			e.StartedAt = t
		}
		if t.After(e.EndedAt) {
			e.EndedAt = t
		}
	}
	observe(created)
	observe(updated)
	var first, last time.Time
	bubbleModel := false
	countType := func(t int64) {
		switch t {
		case 1:
			e.UserMessages++
		case 2:
			e.AssistantMessages++
		}
	}
	bubble := func(b any, typ int64) {
		m, isObj := b.(map[string]any)
		switch {
		case b == nil:
			countType(typ)
			return
		case !isObj:
			e.Malformed++
			countType(typ)
			return
		}
		e.Records++
		if v, ok := m["type"]; ok {
			typ, _ = integer(v)
		}
		countType(typ)
		if tc := obj(m["tokenCount"]); tc != nil {
			in, _ := integer(tc["inputTokens"])
			out, _ := integer(tc["outputTokens"])
			e.Tokens.Input += max(in, 0)
			e.Tokens.Output += max(out, 0)
		}
		if mi := obj(m["modelInfo"]); mi != nil && str(mi["modelName"]) != "" {
			e.Models = session.AddModels(e.Models, str(mi["modelName"]))
			bubbleModel = true
		}
		// a tool call names its tool or call; {"additionalData":…} alone is
		// the placeholder every bubble may carry
		if tf := obj(m["toolFormerData"]); tf != nil {
			tool, _ := integer(tf["tool"])
			if str(tf["name"]) != "" || str(tf["toolCallId"]) != "" || tool > 0 {
				e.ToolCalls++
				if str(tf["status"]) == "error" {
					e.ToolErrors++
				}
			}
		}
		if t := timeOf(m["createdAt"]); !t.IsZero() {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	if headers, _ := c.value["fullConversationHeadersOnly"].([]any); len(headers) > 0 {
		for _, h := range headers {
			hm := obj(h)
			typ, _ := integer(hm["type"])
			if typ != 1 && typ != 2 {
				typ = 0
			}
			id := str(hm["bubbleId"])
			raw, ok := c.bubbles[id]
			if !ok || id == "" {
				bubble(nil, typ)
				continue
			}
			if v, valid := decode(raw); valid {
				bubble(v, typ)
			} else {
				bubble("malformed", typ)
			}
		}
	} else if conv, _ := c.value["conversation"].([]any); conv != nil {
		for _, b := range conv {
			bubble(b, 0)
		}
	}
	if mc := obj(c.value["modelConfig"]); !bubbleModel && mc != nil && str(mc["modelName"]) != "" {
		e.Models = session.AddModels(e.Models, str(mc["modelName"]))
	}
	if created.IsZero() && updated.IsZero() {
		observe(first)
		observe(last)
	}
	return e
}

// readLinks maps composer ids to workspace folders: workspace databases
// first (in directory-name order), then the global headers.
func readLinks(l Layout) (map[string]string, error) {
	out := map[string]string{}
	wsFolder := map[string]string{}
	wsRoot := filepath.Join(l.User, "workspaceStorage")
	entries, err := os.ReadDir(wsRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		dir := filepath.Join(wsRoot, e.Name())
		var w struct{ Folder, Workspace string }
		if data, err := os.ReadFile(filepath.Join(dir, "workspace.json")); err == nil && json.Unmarshal(data, &w) == nil {
			if u, err := url.Parse(w.Folder); err == nil && u.Path != "" {
				wsFolder[e.Name()] = filepath.Clean(u.Path)
			} else if u, err := url.Parse(w.Workspace); err == nil && u.Path != "" {
				wsFolder[e.Name()] = filepath.Dir(filepath.Clean(u.Path))
			}
		}
		if wsFolder[e.Name()] == "" {
			continue
		}
		value, err := item(filepath.Join(dir, "state.vscdb"), "composer.composerData")
		if err != nil {
			return nil, err
		}
		var v struct {
			All []struct {
				ID string `json:"composerId"`
			} `json:"allComposers"`
		}
		if json.Unmarshal(value, &v) != nil {
			continue
		}
		for _, c := range v.All {
			if _, ok := out[c.ID]; !ok && c.ID != "" {
				out[c.ID] = wsFolder[e.Name()]
			}
		}
	}
	value, err := item(l.GlobalDB(), "composer.composerHeaders")
	if err != nil {
		return nil, err
	}
	var v struct {
		All []struct {
			ID string `json:"composerId"`
			WI *struct {
				ID  string `json:"id"`
				URI *struct {
					FSPath string `json:"fsPath"`
				} `json:"uri"`
			} `json:"workspaceIdentifier"`
		} `json:"allComposers"`
	}
	if json.Unmarshal(value, &v) == nil {
		for _, c := range v.All {
			if _, ok := out[c.ID]; ok || c.WI == nil {
				continue
			}
			f := wsFolder[c.WI.ID]
			if f == "" && c.WI.URI != nil {
				f = c.WI.URI.FSPath
			}
			if f != "" {
				out[c.ID] = f
			}
		}
	}
	return out, nil
}

// item reads an ItemTable value (nil when there is none).
func item(path, key string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var v []byte
	err = db.QueryRow(`SELECT CAST(value AS BLOB) FROM ItemTable WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// CountTranscript applies the transcript line rules to a file's complete
// lines (format "jsonl" or "txt").
func CountTranscript(data []byte, format string) Expected {
	var e Expected
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if format == "txt" {
			t := strings.TrimSpace(line)
			switch {
			case t == "user:":
				e.Records++
				e.UserMessages++
			case t == "assistant:" || t == "A:":
				e.Records++
				e.AssistantMessages++
			case strings.HasPrefix(t, "[Tool call]"):
				e.Records++
				e.ToolCalls++
			case strings.HasPrefix(t, "[Tool result]"), strings.HasPrefix(t, "[Thinking]"):
				e.Records++
			}
			continue
		}
		if strings.Trim(line, " \t\r\n") == "" {
			continue
		}
		m, ok := decode([]byte(line))
		if !ok {
			e.Malformed++
			continue
		}
		e.Records++
		var texts, uses, results, errs int64
		content := ""
		if msg := obj(m["message"]); msg != nil {
			switch c := msg["content"].(type) {
			case string:
				if c != "" {
					content = "text"
				}
			case []any:
				content = "blocks"
				for _, b := range c {
					bm := obj(b)
					switch str(bm["type"]) {
					case "text":
						texts++
					case "tool_use":
						uses++
					case "tool_result":
						results++
						if bm["is_error"] == true {
							errs++
						}
					}
				}
			}
		}
		switch str(m["role"]) {
		case "user":
			e.ToolErrors += errs
			if results == 0 && (content == "text" || content == "blocks" && texts > 0) {
				e.UserMessages++
			}
		case "assistant":
			e.AssistantMessages++
			e.ToolCalls += uses
		}
	}
	return e
}

// Sorted returns the keys of m in order.
func Sorted(m map[string]Expected) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// countInline counts the conversations Cursor 0.42 workspace databases keep
// inline: each allComposers entry of composer.composerData with a non-empty
// conversation is a composer (the composer rules), unless the global
// database holds that composer with a message (then its inline copy is one
// more file of that session and counts nothing); each chat tab with a
// bubble that has text is a session: the tab a record dated by
// lastSendTime, each bubble object a record, "user" with a non-empty text
// a prompt, "ai" a response naming its modelType, other elements
// malformed. Both take the workspace's folder.
func countInline(l Layout, global map[string]*composer, out map[string]Expected) error {
	wsRoot := filepath.Join(l.User, "workspaceStorage")
	entries, err := os.ReadDir(wsRoot)
	if err != nil {
		return nil
	}
	for _, d := range entries {
		dir := filepath.Join(wsRoot, d.Name())
		folder := ""
		var w struct{ Folder string }
		if data, err := os.ReadFile(filepath.Join(dir, "workspace.json")); err == nil && json.Unmarshal(data, &w) == nil {
			if u, err := url.Parse(w.Folder); err == nil && u.Path != "" {
				folder = filepath.Clean(u.Path)
			}
		}
		value, err := item(filepath.Join(dir, "state.vscdb"), "composer.composerData")
		if err != nil {
			return err
		}
		var cv struct {
			All []json.RawMessage `json:"allComposers"`
		}
		if json.Unmarshal(value, &cv) == nil {
			for _, raw := range cv.All {
				m, ok := decode(raw)
				id := str(m["composerId"])
				if !ok || id == "" || !nonEmptyArray(m["conversation"]) {
					continue
				}
				if g := global[id]; g != nil && g.messages {
					e := out[id]
					e.Files++
					out[id] = e
					continue
				}
				e := (&composer{value: m, valid: true}).count()
				e.CWD, e.Files = folder, 1
				out[id] = e
			}
		}
		value, err = item(filepath.Join(dir, "state.vscdb"), "workbench.panel.aichat.view.aichat.chatdata")
		if err != nil {
			return err
		}
		var tv struct {
			Tabs []map[string]any `json:"tabs"`
		}
		d := json.NewDecoder(bytes.NewReader(value))
		d.UseNumber()
		if d.Decode(&tv) != nil {
			continue
		}
		for _, t := range tv.Tabs {
			id := str(t["tabId"])
			bubbles, _ := t["bubbles"].([]any)
			used := false // a bubble with text (the input box's is empty)
			for _, b := range bubbles {
				if m, ok := b.(map[string]any); ok && str(m["text"]) != "" {
					used = true
				}
			}
			if id == "" || !used {
				continue
			}
			raw, _ := json.Marshal(t)
			e := CountChatTab(raw)
			e.CWD, e.Files = folder, 1
			out[id] = e
		}
	}
	return nil
}

// CountChatTab applies the chat tab rules to a tab value (see countInline);
// CWD and Files are left to the caller.
func CountChatTab(tab []byte) Expected {
	e := Expected{TokensUnknown: true}
	t, ok := decode(tab)
	if !ok {
		e.Malformed = 1
		return e
	}
	e.Records = 1
	if at := timeOf(t["lastSendTime"]); !at.IsZero() {
		e.StartedAt, e.EndedAt = at, at
	}
	bubbles, _ := t["bubbles"].([]any)
	for _, b := range bubbles {
		m, ok := b.(map[string]any)
		if !ok {
			e.Malformed++
			continue
		}
		e.Records++
		switch str(m["type"]) {
		case "user":
			if str(m["text"]) != "" {
				e.UserMessages++
			}
		case "ai":
			e.AssistantMessages++
			if mt := str(m["modelType"]); mt != "" {
				e.Models = session.AddModels(e.Models, mt)
			}
		}
	}
	return e
}

// folderFromTools finds the folder whose slug is slug among the ancestors
// of the absolute paths in a transcript's tool_use inputs, a call's inputs
// in key order ("" if none).
func folderFromTools(data []byte, slug string) string {
	for _, line := range strings.Split(string(data), "\n") {
		var l struct {
			Message struct {
				Content []map[string]any `json:"content"`
			} `json:"message"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		for _, b := range l.Message.Content {
			input, _ := b["input"].(map[string]any)
			if b["type"] != "tool_use" {
				continue
			}
			keys := make([]string, 0, len(input))
			for k := range input {
				keys = append(keys, k)
			}
			slices.Sort(keys) // a call's inputs in key order
			for _, k := range keys {
				p, _ := input[k].(string)
				if !strings.HasPrefix(p, "/") {
					continue
				}
				for d := filepath.Clean(p); d != "/"; d = filepath.Dir(d) {
					if Slug(d) == strings.TrimPrefix(slug, "-") {
						return d
					}
				}
			}
		}
	}
	return ""
}
