package cursor

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Conversations kept inside a workspace database (Cursor 0.42 and
// earlier, before composers moved to the global cursorDiskKV):
//
//   - ItemTable composer.composerData = {"allComposers":[{composerId,
//     createdAt, lastUpdatedAt?, name?, status, conversation:[bubbles
//     inline: {type 1|2, bubbleId, text, …}], …}], …}: each composer with
//     an inline conversation is a session (a composer document);
//   - ItemTable workbench.panel.aichat.view.aichat.chatdata = {"tabs":
//     [{tabId, chatTitle, lastSendTime (ms), bubbles:[{type "user"|"ai",
//     id, text, modelType?, …}]}], …}: each chat tab with a bubble that
//     has text is a session (a chat document). Every tab ends with the
//     empty user bubble of its input box, so an unused tab is
//     {bubbles:[{type:"user",text:""}]}: no session.
//
// Both take the workspace's folder (workspace.json) as their cwd. A
// composer that a known global database also holds, with a message, is
// counted from the global database only: its inline copy is listed but
// its document counts nothing ("shadowed"), decided when it is read.

const (
	keyWorkspaceChats = "workbench.panel.aichat.view.aichat.chatdata"

	docChat = "cursor.chat"
)

// inlineItem is one session kept in a workspace database: a composer with
// an inline conversation, or a chat tab.
type inlineItem struct {
	id    string
	chat  bool            // a chat tab (else a composer)
	value json.RawMessage // the composer entry or the tab, as stored
}

// workspaceItems reads the sessions a workspace database keeps inline. A
// missing database or table, or values that are not the JSON Cursor
// writes, give none.
func workspaceItems(ctx context.Context, path string) ([]inlineItem, error) {
	c, _, err := openReadOnly(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var composers, chats []byte
	for _, k := range []struct {
		key string
		out *[]byte
	}{{keyWorkspaceComposers, &composers}, {keyWorkspaceChats, &chats}} {
		err = retry(ctx, func() error {
			*k.out = nil
			return rows(ctx, c, qItem, func(dest []driver.Value) error {
				*k.out = bytes.Clone(blob(dest[0]))
				return nil
			}, k.key)
		})
		if isNoTable(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var items []inlineItem
	var cv struct {
		All []json.RawMessage `json:"allComposers"`
	}
	if len(composers) > 0 && json.Unmarshal(composers, &cv) == nil {
		for _, raw := range cv.All {
			var e struct {
				ID           string            `json:"composerId"`
				Conversation []json.RawMessage `json:"conversation"`
			}
			if json.Unmarshal(raw, &e) == nil && isDocID(e.ID) && len(e.Conversation) > 0 {
				items = append(items, inlineItem{id: e.ID, value: raw})
			}
		}
	}
	var tv struct {
		Tabs []json.RawMessage `json:"tabs"`
	}
	if len(chats) > 0 && json.Unmarshal(chats, &tv) == nil {
		for _, raw := range tv.Tabs {
			var t struct {
				ID      string            `json:"tabId"`
				Bubbles []json.RawMessage `json:"bubbles"`
			}
			if json.Unmarshal(raw, &t) != nil || !isDocID(t.ID) {
				continue
			}
			// every tab ends with its input box's empty bubble: a tab is
			// used once a bubble has text (a damaged bubble is not read)
			used := false
			for _, b := range t.Bubbles {
				var bubble struct {
					Text string `json:"text"`
				}
				if json.Unmarshal(b, &bubble) == nil && bubble.Text != "" {
					used = true
					break
				}
			}
			if used {
				items = append(items, inlineItem{id: t.ID, chat: true, value: raw})
			}
		}
	}
	return items, nil
}

// inlineCache keeps the sessions of the last workspace database read, by
// its path and its files' state: a change lists them, then each is read
// (ReadDoc), and the database is read and decoded once for all of them.
type inlineCache struct {
	mu    sync.Mutex
	path  string
	sig   chatSig
	items []inlineItem
}

// inlineItems returns workspaceItems(path), from the cache while the
// database and its -wal are unchanged. The files are stated before the
// read, so a change during the read is read again next time.
func (p *Provider) inlineItems(ctx context.Context, path string) ([]inlineItem, error) {
	sig, err := statChat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &p.inline
	c.mu.Lock()
	if c.path == path && c.sig == sig {
		items := c.items
		c.mu.Unlock()
		return items, nil
	}
	c.mu.Unlock()
	items, err := workspaceItems(ctx, path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.path, c.sig, c.items = path, sig, items
	c.mu.Unlock()
	return items, nil
}

// expandInline lists the sessions a workspace database keeps inline.
// Version = "2.w" (composer) or "2.t" (chat tab) + a CRC of the stored
// value + the folder's tag, + "/g" for a composer a global database
// holds.
func (p *Provider) expandInline(ctx context.Context, path string) ([]providers.Doc, error) {
	items, err := p.inlineItems(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("cursor: read the conversations of workspace database %s: %w", path, err)
	}
	tag := folderTag(workspaceFolder(filepath.Dir(path)))
	docs := make([]providers.Doc, 0, len(items))
	for _, it := range items {
		v := versionPrefix + "w"
		if it.chat {
			v = versionPrefix + "t"
		}
		v += strconv.FormatUint(uint64(crc32.Checksum(it.value, castagnoli)), 36) + tag
		if !it.chat {
			shadowed, err := p.globalHolds(ctx, it.id)
			if err != nil {
				return nil, err
			}
			if shadowed {
				v += "/g"
			}
		}
		docs = append(docs, providers.Doc{Path: path + "#" + it.id, ID: session.ID(it.id), Role: session.RoleMain, Version: v})
	}
	return docs, nil
}

// readInline builds the document of a session a workspace database keeps
// inline:
//
//	{"sessiond":"cursor.composer","id":…,"cwd":…,"shadowed":bool,"composer":<entry>,"bubbles":[]}
//	{"sessiond":"cursor.chat","id":…,"cwd":…,"tab":<tab>}
//
// It reports fs.ErrNotExist when the session is no longer there.
func (p *Provider) readInline(ctx context.Context, path, id string) ([]byte, error) {
	items, err := p.inlineItems(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("cursor: read %s from workspace database %s: %w", id, path, err)
	}
	for _, it := range items {
		if it.id != id {
			continue
		}
		folder := workspaceFolder(filepath.Dir(path))
		if it.chat {
			return chatDocument(id, folder, it.value), nil
		}
		shadowed, err := p.globalHolds(ctx, id)
		if err != nil {
			return nil, err
		}
		return composerDocument(id, folder, it.value, nil, shadowed), nil
	}
	return nil, fs.ErrNotExist
}

// chatDocument lays out a chat tab's document (see Parser.Document). The
// tab value must be valid JSON.
func chatDocument(id, folder string, tab []byte) []byte {
	doc := make([]byte, 0, 64+len(id)+len(folder)+len(tab))
	doc = append(doc, `{"sessiond":"`+docChat+`","id":`...)
	doc = appendJSONString(doc, id)
	doc = append(doc, `,"cwd":`...)
	doc = appendJSONString(doc, folder)
	doc = append(doc, `,"tab":`...)
	doc = append(doc, tab...)
	return append(doc, '}')
}
