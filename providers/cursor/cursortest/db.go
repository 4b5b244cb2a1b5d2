package cursortest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// DB is a read-write connection to a state.vscdb, as Cursor holds one.
type DB struct {
	*sql.DB
	Path string
}

// schema is VS Code's state database with Cursor's extra table.
const schema = `CREATE TABLE IF NOT EXISTS ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
CREATE TABLE IF NOT EXISTS cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);`

// Open creates (or opens) the database at path, with its directory and
// both tables, in WAL mode unless journal is "delete".
func Open(path string, journal string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if journal == "" {
		journal = "wal"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode("+journal+")&_pragma=busy_timeout(5000)&_pragma=synchronous(normal)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer, like Cursor
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create tables in %s: %w", path, err)
	}
	return &DB{DB: db, Path: path}, nil
}

// Put stores a key: INSERT, so the table's ON CONFLICT REPLACE gives the
// row a new rowid, as Cursor's writes do.
func (db *DB) Put(table, key string, value []byte) error {
	_, err := db.Exec("INSERT INTO "+table+" (key, value) VALUES (?, ?)", key, string(value))
	return err
}

// PutKV stores a cursorDiskKV key.
func (db *DB) PutKV(key string, value []byte) error { return db.Put("cursorDiskKV", key, value) }

// Delete removes a cursorDiskKV key.
func (db *DB) Delete(key string) error {
	_, err := db.Exec("DELETE FROM cursorDiskKV WHERE key = ?", key)
	return err
}

// WriteComposer stores a composer and its bubbles in one transaction:
// bubble rows first (except MissingBubbles), then the composerData value.
func (db *DB) WriteComposer(c Composer) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if !c.Legacy && c.Raw == nil {
		for i, b := range c.Bubbles {
			if c.MissingBubbles[i] {
				continue
			}
			if _, err := tx.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, ?)", BubbleKey(c.ID, b.ID), string(b.JSON())); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, ?)", ComposerKey(c.ID), string(c.JSON())); err != nil {
		return err
	}
	return tx.Commit()
}

// Hold begins a write transaction (BEGIN IMMEDIATE: the write lock) on a
// connection of its own, stores key = value in it uncommitted, and
// returns functions that commit or roll it back.
func (db *DB) Hold(ctx context.Context, key string, value []byte) (commit, rollback func() error, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO cursorDiskKV (key, value) VALUES (?, ?)", key, string(value)); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
		return nil, nil, err
	}
	end := func(stmt string) func() error {
		return func() error {
			_, err := conn.ExecContext(context.Background(), stmt)
			conn.Close()
			return err
		}
	}
	return end("COMMIT"), end("ROLLBACK"), nil
}

// Workspace writes workspaceStorage/<id>: workspace.json naming folder and
// a state.vscdb whose ItemTable composer.composerData lists the composers.
func Workspace(user, id, folder string, composers []string) error {
	dir := filepath.Join(user, "workspaceStorage", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	wj, _ := json.Marshal(map[string]string{"folder": "file://" + filepath.ToSlash(folder)})
	if err := os.WriteFile(filepath.Join(dir, "workspace.json"), wj, 0o644); err != nil {
		return err
	}
	db, err := Open(filepath.Join(dir, "state.vscdb"), "wal")
	if err != nil {
		return err
	}
	defer db.Close()
	type head struct {
		Type          string `json:"type"`
		ComposerID    string `json:"composerId"`
		LastUpdatedAt int64  `json:"lastUpdatedAt"`
		UnifiedMode   string `json:"unifiedMode"`
	}
	all := make([]head, 0, len(composers))
	for _, c := range composers {
		all = append(all, head{"head", c, time.Now().UnixMilli(), "agent"})
	}
	v, _ := json.Marshal(map[string]any{"allComposers": all, "selectedComposerIds": composers})
	if err := db.Put("ItemTable", "composer.composerData", v); err != nil {
		return err
	}
	return db.Put("ItemTable", "workbench.panel.aichat.view.aichat.chatdata", []byte(`{"tabs":[]}`))
}

// HeaderLink is one entry of the global composer.composerHeaders.
type HeaderLink struct {
	Composer  string
	Workspace string // workspaceStorage id ("" for none)
	Folder    string // the workspace's folder
}

// Headers stores the global ItemTable key composer.composerHeaders.
func (db *DB) Headers(links []HeaderLink) error {
	type uri struct {
		Mid      int    `json:"$mid"`
		FSPath   string `json:"fsPath"`
		External string `json:"external"`
		Path     string `json:"path"`
		Scheme   string `json:"scheme"`
	}
	type wi struct {
		ID  string `json:"id"`
		URI uri    `json:"uri"`
	}
	type head struct {
		Type string `json:"type"`
		ID   string `json:"composerId"`
		WI   *wi    `json:"workspaceIdentifier,omitempty"`
	}
	all := make([]head, 0, len(links))
	for _, l := range links {
		h := head{Type: "head", ID: l.Composer}
		if l.Workspace != "" || l.Folder != "" {
			p := filepath.ToSlash(l.Folder)
			h.WI = &wi{ID: l.Workspace, URI: uri{1, l.Folder, "file://" + p, p, "file"}}
		}
		all = append(all, h)
	}
	v, _ := json.Marshal(map[string]any{"allComposers": all})
	return db.Put("ItemTable", "composer.composerHeaders", v)
}

// InlineWorkspace writes workspaceStorage/<id> as Cursor 0.42 did:
// workspace.json naming folder and a state.vscdb whose ItemTable keeps the
// composers whole (composer.composerData allComposers, each with its
// conversation inline: give them Legacy) and the old chat panel's tabs.
func InlineWorkspace(user, id, folder string, composers []Composer, tabs []ChatTab) error {
	dir := filepath.Join(user, "workspaceStorage", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	wj, _ := json.Marshal(map[string]string{"folder": "file://" + filepath.ToSlash(folder)})
	if err := os.WriteFile(filepath.Join(dir, "workspace.json"), wj, 0o644); err != nil {
		return err
	}
	db, err := Open(filepath.Join(dir, "state.vscdb"), "wal")
	if err != nil {
		return err
	}
	defer db.Close()
	all := make([]json.RawMessage, 0, len(composers))
	for _, c := range composers {
		all = append(all, c.JSON())
	}
	selected := ""
	if len(composers) > 0 {
		selected = composers[len(composers)-1].ID
	}
	v, _ := json.Marshal(map[string]any{"allComposers": all, "selectedComposerId": selected, "composerDataVersion": 0})
	if err := db.Put("ItemTable", "composer.composerData", v); err != nil {
		return err
	}
	ts := make([]json.RawMessage, 0, len(tabs))
	for _, t := range tabs {
		ts = append(ts, t.JSON())
	}
	v, _ = json.Marshal(map[string]any{"tabs": ts, "codeInterpreterTabs": []any{}, "chatDataVersion": 0})
	if err := db.Put("ItemTable", "workbench.panel.aichat.view.aichat.chatdata", v); err != nil {
		return err
	}
	return db.Put("ItemTable", "aiService.prompts", []byte(`[{"text":"an earlier prompt","commandType":4}]`))
}
