package opencodetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the pure-Go driver "sqlite"
)

// Session is a session row (and a legacy session file).
type Session struct {
	ID, ProjectID, ParentID, Directory, Title string
	Created, Updated                          int64 // epoch ms
}

// Message is a message row: Data is MessageV2.Info without id and sessionID
// (any bytes, to write malformed records too).
type Message struct {
	ID, SessionID    string
	Created, Updated int64
	Data             []byte
}

// Part is a part row: Data is MessageV2.Part without id, messageID and
// sessionID.
type Part struct {
	ID, MessageID, SessionID string
	Created, Updated         int64
	Data                     []byte
}

// V2 is a session_message row: Data is a SessionMessage without id and type.
type V2 struct {
	ID, SessionID, Type   string
	Seq, Created, Updated int64
	Data                  []byte
}

// Writer writes a database as OpenCode does: one read-write connection, WAL
// journal, rows upserted by id (ON CONFLICT DO UPDATE of data and
// time_updated, like OpenCode's projectors with drizzle's $onUpdate).
type Writer struct {
	DB   *sql.DB
	Path string
}

// Create creates a database at path with Schema (and SchemaV2 when v2).
func Create(path string, v2 bool) (*Writer, error) {
	w, err := Open(path)
	if err != nil {
		return nil, err
	}
	ddl := Schema
	if v2 {
		ddl += SchemaV2
	}
	if _, err := w.DB.Exec(ddl); err != nil {
		w.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	if _, err := w.DB.Exec("INSERT OR IGNORE INTO project (id, worktree, time_created, time_updated, sandboxes) VALUES ('global', '/', 0, 0, '[]')"); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Open opens an existing (or new, empty) database for writing, with the
// pragmas OpenCode sets (WAL, synchronous NORMAL, busy_timeout 5000).
func Open(path string) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return &Writer{DB: db, Path: path}, nil
}

// Close closes the database.
func (w *Writer) Close() error { return w.DB.Close() }

// Execer is a *sql.DB or a *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// PutSession upserts a session row.
func PutSession(x Execer, s Session) error {
	project := s.ProjectID
	if project == "" {
		project = "global"
	}
	var parent any
	if s.ParentID != "" {
		parent = s.ParentID
	}
	_, err := x.ExecContext(context.Background(), `INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)
		VALUES (?, ?, ?, ?, ?, ?, '1.2.27', ?, ?)
		ON CONFLICT(id) DO UPDATE SET directory = excluded.directory, title = excluded.title, time_updated = excluded.time_updated`,
		s.ID, project, parent, "slug-"+s.ID, s.Directory, s.Title, s.Created, s.Updated)
	return err
}

// PutMessage upserts a message row.
func PutMessage(x Execer, m Message) error {
	_, err := x.ExecContext(context.Background(), `INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data, time_updated = excluded.time_updated`,
		m.ID, m.SessionID, m.Created, m.Updated, string(m.Data))
	return err
}

// PutPart upserts a part row.
func PutPart(x Execer, p Part) error {
	_, err := x.ExecContext(context.Background(), `INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data, time_updated = excluded.time_updated`,
		p.ID, p.MessageID, p.SessionID, p.Created, p.Updated, string(p.Data))
	return err
}

// PutV2 upserts a session_message row.
func PutV2(x Execer, r V2) error {
	_, err := x.ExecContext(context.Background(), `INSERT INTO session_message (id, session_id, type, seq, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data, time_updated = excluded.time_updated`,
		r.ID, r.SessionID, r.Type, r.Seq, r.Created, r.Updated, string(r.Data))
	return err
}

// Session upserts a session row.
func (w *Writer) Session(s Session) error { return PutSession(w.DB, s) }

// Message upserts a message row.
func (w *Writer) Message(m Message) error { return PutMessage(w.DB, m) }

// Part upserts a part row.
func (w *Writer) Part(p Part) error { return PutPart(w.DB, p) }

// V2 upserts a session_message row.
func (w *Writer) V2(r V2) error { return PutV2(w.DB, r) }

// withIDs returns data (a JSON object) with the given members first, as
// OpenCode's legacy files hold them; data that is not an object is returned
// as is (a malformed record).
func withIDs(data []byte, kv ...string) []byte {
	t := bytes.TrimSpace(data)
	if len(t) < 2 || t[0] != '{' || !json.Valid(t) {
		return data
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := json.Marshal(kv[i])
		v, _ := json.Marshal(kv[i+1])
		fmt.Fprintf(&b, "%s:%s,", k, v)
	}
	rest := bytes.TrimSpace(t[1:])
	if len(rest) > 0 && rest[0] == '}' {
		b.Truncate(b.Len() - 1)
	}
	b.Write(rest)
	return b.Bytes()
}

// LegacySessionPath is where OpenCode < v1.2 kept a session.
func LegacySessionPath(dataDir, projectID, id string) string {
	return filepath.Join(dataDir, "storage", "session", projectID, id+".json")
}

// LegacyMessagePath is where OpenCode < v1.2 kept a message.
func LegacyMessagePath(dataDir, sessionID, id string) string {
	return filepath.Join(dataDir, "storage", "message", sessionID, id+".json")
}

// LegacyPartPath is where OpenCode < v1.2 kept a part.
func LegacyPartPath(dataDir, messageID, id string) string {
	return filepath.Join(dataDir, "storage", "part", messageID, id+".json")
}

// WriteLegacySession writes a legacy session file (Session.Info, pretty
// printed as OpenCode's Storage.write did).
func WriteLegacySession(dataDir string, s Session) error {
	project := s.ProjectID
	if project == "" {
		project = "global"
	}
	info := map[string]any{
		"id": s.ID, "slug": "slug-" + s.ID, "version": "1.1.65", "projectID": project, "directory": s.Directory,
		"title": s.Title, "time": map[string]int64{"created": s.Created, "updated": s.Updated},
	}
	if s.ParentID != "" {
		info["parentID"] = s.ParentID
	}
	data, _ := json.MarshalIndent(info, "", "  ")
	return writeFile(LegacySessionPath(dataDir, project, s.ID), data)
}

// WriteLegacyMessage writes a legacy message file (rewritten whole).
func WriteLegacyMessage(dataDir string, m Message) error {
	return writeFile(LegacyMessagePath(dataDir, m.SessionID, m.ID), withIDs(m.Data, "id", m.ID, "sessionID", m.SessionID))
}

// WriteLegacyPart writes a legacy part file (rewritten whole).
func WriteLegacyPart(dataDir string, p Part) error {
	return writeFile(LegacyPartPath(dataDir, p.MessageID, p.ID), withIDs(p.Data, "id", p.ID, "sessionID", p.SessionID, "messageID", p.MessageID))
}

// writeFile writes data in place, as Bun.write did (truncate, write).
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// JSON marshals v, panicking on error (test data only).
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
