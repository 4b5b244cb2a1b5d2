package opencode

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

// cachedSessions bounds the sessions whose row digests a database keeps.
const cachedSessions = 8

// rowDigest is what one row (or legacy file) contributes to its session's
// document.
type rowDigest struct {
	stamp [2]int64    // time_updated and size of data when digested
	ok    bool        // one JSON object (else malformed)
	msg   *docMessage // a message
	tools []docTool   // its tool calls (a tool part; a session_message assistant's content)
	other bool        // another record (a part, a session_message row of another type)
}

// digestRow digests one row of table t (typ: session_message's type column).
func digestRow(t int, id, typ string, data []byte) rowDigest {
	switch t {
	case tMessage:
		m, ok := digestMessage(data)
		if !ok {
			return rowDigest{}
		}
		if id != "" {
			m.ID = id
		}
		return rowDigest{ok: true, msg: &m.docMessage}
	case tPart:
		p, ok := digestPart(data)
		if !ok {
			return rowDigest{}
		}
		r := rowDigest{ok: true, other: true}
		if p.Type == "tool" {
			if id == "" {
				id = p.ID
			}
			r.tools = []docTool{{ID: id, Status: p.Status}}
		}
		return r
	}
	m, tools, kind, ok := digestV2(typ, data)
	if !ok {
		return rowDigest{}
	}
	switch kind {
	case "user", "assistant":
		m.ID, m.Role = id, kind
		r := rowDigest{ok: true, msg: &m}
		if kind == "assistant" && len(tools) > 0 {
			r.tools = append([]docTool(nil), tools...)
		}
		return r
	}
	return rowDigest{ok: true, other: true}
}

// apply adds a row's digest to the document.
func (doc *document) apply(r *rowDigest) {
	if !r.ok {
		doc.Malformed++
		return
	}
	if r.msg != nil {
		doc.Messages = append(doc.Messages, *r.msg)
	}
	for _, t := range r.tools {
		if doc.Tools == nil {
			doc.Tools = map[string]int64{}
		}
		doc.Tools[t.Status]++
	}
	if r.other {
		doc.Parts++
	}
}

// addMessage digests one message record into doc.
func (doc *document) addMessage(id string, data []byte) {
	r := digestRow(tMessage, id, "", data)
	doc.apply(&r)
}

// addPart digests one part record into doc.
func (doc *document) addPart(id string, data []byte) {
	r := digestRow(tPart, id, "", data)
	doc.apply(&r)
}

// addV2 digests one session_message row into doc: user and assistant rows
// are messages (an assistant's tool content its tool calls); rows of other
// types are other records.
func (doc *document) addV2(id, typ string, data []byte) {
	r := digestRow(tV2, id, typ, data)
	doc.apply(&r)
}

// rowCache keeps the row digests of the sessions read more than once
// lately (the ones the agent is working in), so reading such a session
// again fetches only the rows whose time_updated or size changed.
type rowCache struct {
	mu       sync.Mutex
	tick     uint64
	seen     map[string]uint64 // sessions read once
	sessions map[string]*sessionRows
}

// sessionRows is the digests of one session's rows, by table and row id.
type sessionRows struct {
	used   uint64
	tables [nTables]map[string]rowDigest
}

// take removes and returns the cached rows of a session (nil if none; an
// empty entry when the session should be cached from now on).
func (c *rowCache) take(id string) *sessionRows {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if s := c.sessions[id]; s != nil {
		delete(c.sessions, id)
		return s
	}
	if c.seen == nil || len(c.seen) > 4096 {
		c.seen = map[string]uint64{}
	}
	if _, again := c.seen[id]; again {
		delete(c.seen, id)
		return &sessionRows{}
	}
	c.seen[id] = c.tick
	return nil
}

// put returns a session's rows to the cache, evicting the least recently
// used beyond cachedSessions.
func (c *rowCache) put(id string, s *sessionRows) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessions == nil {
		c.sessions = map[string]*sessionRows{}
	}
	s.used = c.tick
	c.sessions[id] = s
	for len(c.sessions) > cachedSessions {
		var oldest string
		for k, v := range c.sessions {
			if oldest == "" || v.used < c.sessions[oldest].used {
				oldest = k
			}
		}
		delete(c.sessions, oldest)
	}
}

// readDoc builds the document of session id from the database's rows, in
// one short read transaction. found is false when the session is not in the
// database.
func (d *database) readDoc(ctx context.Context, id string) (data []byte, found bool, err error) {
	db, release, _, err := d.handle()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer release()
	cached := d.rows.take(id)
	err = retry(ctx, func() error {
		data, found, err = readSession(ctx, db, id, cached)
		return err
	})
	if err == nil && found && cached != nil {
		d.rows.put(id, cached)
	}
	return data, found, temporary(err)
}

// readSession reads a session's document; rows, if not nil, holds the
// digests of an earlier read and is brought up to date.
func readSession(ctx context.Context, db *sql.DB, id string, rows *sessionRows) ([]byte, bool, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = tx.Rollback() }()
	sc, err := readSchema(ctx, tx)
	if err != nil || sc == nil {
		return nil, false, err
	}
	doc := document{V: docVersion, Session: id, Source: sourceDB, Messages: []docMessage{}}
	found, v, err := sessionRow(ctx, tx, sc, id, "directory")
	if err != nil || !found {
		return nil, false, err
	}
	doc.Directory = v[0].String
	keep := rows != nil
	if !keep {
		rows = &sessionRows{} // digests not kept
	}
	if sc.v2 != nil {
		// Newer builds keep a session's messages in session_message; a
		// session that has user or assistant rows there is read from it
		// alone (its message and part rows, if any, are the same history).
		order := "rowid"
		if sc.v2["seq"] {
			order = "seq, rowid"
		}
		if err := readRows(ctx, tx, tV2, sc.v2, id, order, cacheOf(keep, &rows.tables[tV2]), &doc); err != nil {
			return nil, false, err
		}
		if len(doc.Messages) > 0 {
			if err := tx.Commit(); err != nil {
				return nil, false, err
			}
			data, err := json.Marshal(&doc)
			return data, true, err
		}
		doc.Parts, doc.Malformed, doc.Tools = 0, 0, nil
	}
	order := "id"
	if sc.message["time_created"] {
		order = "time_created, id"
	}
	if sc.message != nil {
		if err := readRows(ctx, tx, tMessage, sc.message, id, order, cacheOf(keep, &rows.tables[tMessage]), &doc); err != nil {
			return nil, false, err
		}
	}
	if sc.part != nil {
		if err := readRows(ctx, tx, tPart, sc.part, id, "", cacheOf(keep, &rows.tables[tPart]), &doc); err != nil {
			return nil, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, err
	}
	data, err := json.Marshal(&doc)
	return data, true, err
}

// cacheOf returns m when digests are kept, else nil.
func cacheOf(keep bool, m *map[string]rowDigest) *map[string]rowDigest {
	if keep {
		return m
	}
	return nil
}

// readRows adds a session's rows of table t to doc, in the given order. With
// earlier digests (*cache not nil) only the rows whose time_updated or size
// changed are read again; *cache is replaced by the digests of the rows
// read. A nil cache keeps nothing.
func readRows(ctx context.Context, q querier, t int, cols map[string]bool, id, order string, cache *map[string]rowDigest, doc *document) error {
	typ := "NULL"
	if t == tV2 {
		typ = "type"
	}
	stamp := fmt.Sprintf("coalesce(%s, 0), coalesce(octet_length(data), 0)", col(cols, "time_updated", "0"))
	if order != "" {
		order = " ORDER BY " + order
	}
	var old, fresh map[string]rowDigest
	if cache != nil {
		old = *cache
		fresh = make(map[string]rowDigest, len(old))
	}
	if old == nil {
		// first read: rows with their data
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT id, %s, %s, data FROM %s WHERE session_id = ?%s", typ, stamp, tableNames[t], order), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		var data sql.RawBytes
		for rows.Next() {
			var rid string
			var kind sql.NullString
			var st [2]int64
			if err := rows.Scan(&rid, &kind, &st[0], &st[1], &data); err != nil {
				return err
			}
			r := digestRow(t, rid, kind.String, data)
			r.stamp = st
			doc.apply(&r)
			if fresh != nil {
				fresh[rid] = r
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if cache != nil {
			*cache = fresh
		}
		return nil
	}
	// again: stamps first, then the data of the rows that changed
	type row struct {
		id, kind string
		stamp    [2]int64
	}
	var list []row
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT id, %s, %s FROM %s WHERE session_id = ?%s", typ, stamp, tableNames[t], order), id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r row
		var kind sql.NullString
		if err := rows.Scan(&r.id, &kind, &r.stamp[0], &r.stamp[1]); err != nil {
			rows.Close()
			return err
		}
		r.kind = kind.String
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var data []byte
	for _, r := range list {
		dg, ok := old[r.id]
		if !ok || dg.stamp != r.stamp {
			err := q.QueryRowContext(ctx, "SELECT data FROM "+tableNames[t]+" WHERE id = ?", r.id).Scan(&data)
			if errors.Is(err, sql.ErrNoRows) {
				continue // cannot happen in one transaction
			}
			if err != nil {
				return err
			}
			dg = digestRow(t, r.id, r.kind, data)
			dg.stamp = r.stamp
		}
		doc.apply(&dg)
		fresh[r.id] = dg
	}
	*cache = fresh
	return nil
}
