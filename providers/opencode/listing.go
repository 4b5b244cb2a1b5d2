package opencode

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// tailRows is how many of a session's latest rows of each table its
// Version covers (see database.expand).
const tailRows = 64

// Tables whose rows make a session's document, in aggregate order.
const (
	tMessage = iota
	tPart
	tV2 // session_message (newer builds)
	nTables
)

var tableNames = [nTables]string{"message", "part", "session_message"}

// columns returns the columns of table t, nil when the database lacks it.
func (sc *schema) columns(t int) map[string]bool {
	switch t {
	case tMessage:
		return sc.message
	case tPart:
		return sc.part
	}
	return sc.v2
}

// snapshot is what a database holds: its sessions by id. A published
// snapshot is never modified.
type snapshot struct {
	sessions map[string]snapSession
	maxRowid [len(sessionTableNames)]int64 // largest rowid listed per session table
}

// snapSession is one row of the session table.
type snapSession struct {
	parent  string
	updated int64 // time_updated
}

func (s *snapshot) clone() *snapshot {
	return &snapshot{sessions: maps.Clone(s.sessions), maxRowid: s.maxRowid}
}

// tailAgg describes a session's latest rows of one table: its largest
// rowid, and over its last tailRows rows (by rowid) how many there are, the
// latest time_updated and the total size of their data.
type tailAgg struct {
	maxRowid, n, maxUpdated, bytes int64
}

// aggregate is what may change a session's document: its session row's
// time_updated and its latest rows.
type aggregate struct {
	updated int64
	rows    [nTables]tailAgg
	version string // rendered lazily
}

func (a *aggregate) same(b *aggregate) bool { return a.updated == b.updated && a.rows == b.rows }

func (a *aggregate) hasMessages() bool { return a.rows[tMessage].n+a.rows[tV2].n > 0 }

func (a *aggregate) latest() int64 {
	return max(a.rows[tMessage].maxUpdated, a.rows[tPart].maxUpdated, a.rows[tV2].maxUpdated)
}

// versionOf renders a session's Version in database name.
func (a *aggregate) versionOf(name string) string {
	if a.version == "" {
		var b strings.Builder
		fmt.Fprintf(&b, "db:%s:%d", name, a.updated)
		for _, t := range a.rows {
			fmt.Fprintf(&b, ":%d.%d.%d.%d", t.maxRowid, t.n, t.maxUpdated, t.bytes)
		}
		a.version = b.String()
	}
	return a.version
}

// ring collects the last tailRows rows of a session in a pass over a
// table in rowid order.
type ring struct {
	u, b     [tailRows]int64
	n, next  int
	maxRowid int64
}

func (r *ring) push(rowid, updated, bytes int64) {
	r.u[r.next], r.b[r.next] = updated, bytes
	r.next = (r.next + 1) % tailRows
	r.n = min(r.n+1, tailRows)
	r.maxRowid = rowid
}

func (r *ring) agg() tailAgg {
	t := tailAgg{maxRowid: r.maxRowid, n: int64(r.n)}
	for i := range r.n {
		t.maxUpdated = max(t.maxUpdated, r.u[i])
		t.bytes += r.b[i]
	}
	return t
}

// heat says when a session got new rows (or a changed row) last, and when
// its tail was last read.
type heat struct {
	touched, checked time.Time
}

// listing is a database's listing state (guarded by database.emu).
type listing struct {
	conn        *sql.Conn
	dataVersion int64
	schema      *schema
	wal         [2]int64 // walStamp after the last listing read data_version
	sessions    *snapshot
	aggs        map[string]*aggregate // by session id
	top         [nTables]int64        // largest rowid seen per table
	lastFull    time.Time
	hot         map[string]*heat // sessions to re-aggregate
	announced   map[string]bool
	docs        []providers.Doc // the last listing (never modified once returned)
	dirty       bool            // docs must be rendered again
}

// resetLocked forgets the listing state (emu held).
func (d *database) resetLocked() {
	if d.conn != nil {
		_ = d.conn.Close()
	}
	announced := d.announced
	if announced == nil {
		announced = map[string]bool{}
	}
	d.listing = listing{dataVersion: -1, aggs: map[string]*aggregate{}, hot: map[string]*heat{}, announced: announced, dirty: true}
}

// expand lists the database's sessions (see Provider.Expand).
//
// Finding which sessions changed must stay cheap on a database of hundreds
// of megabytes written many times a second while the agent streams, and
// OpenCode updates message and part rows in place without touching their
// session row. So:
//
//   - PRAGMA data_version on a connection of its own says whether anything
//     was committed at all since the last listing;
//   - new session, message and part rows are found by rowid, which only
//     grows (a table whose largest rowid went down is aggregated again);
//   - a session's Version covers its session row's time_updated, its
//     largest rowid and its last tailRows rows of each table (their number,
//     latest time_updated and data size), read through the session_id
//     indexes: OpenCode rewrites a session's latest rows (the streaming
//     part, the tool call finishing, the step's final tokens), not old ones
//     (it does touch old tool parts when compaction prunes their output,
//     which changes no count);
//   - sessions with new rows are "hot": their session row and tail are read
//     again on every change for hotFor/20, then at most every hotFor/100
//     until hotFor has passed (a tool running for minutes, then failing);
//   - every fullEvery, one sequential pass over each table (rows in rowid
//     order, data measured, never read) computes every session's tail
//     again, which catches what the hot rule missed.
//
// A session's aggregate is the same whichever way it is computed, so its
// Version is stable across restarts.
func (d *database) expand(ctx context.Context, p *Provider) ([]providers.Doc, error) {
	d.emu.Lock()
	defer d.emu.Unlock()
	db, release, persistent, err := d.handle()
	if errors.Is(err, fs.ErrNotExist) {
		d.resetLocked()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer release()
	if !persistent {
		// a one-shot connection: listed in full, then closed
		defer func() {
			if d.conn != nil {
				_ = d.conn.Close()
				d.conn = nil
			}
		}()
		if d.conn != nil {
			_ = d.conn.Close()
			d.conn = nil
		}
	}
	var changed bool
	err = retry(ctx, func() error {
		var err error
		changed, err = d.refreshLocked(ctx, p, db)
		return err
	})
	if err != nil {
		d.resetLocked()
		return nil, fmt.Errorf("opencode: list %s: %w", d.path, temporary(err))
	}
	if d.sessions == nil {
		return nil, nil // no tables yet
	}
	members := p.members(d.dataDir)
	if changed || d.dirty || len(members) > 1 {
		d.docs = d.renderLocked(ctx, p, members)
		d.dirty = false
	}
	return d.docs, nil
}

// refreshLocked brings the aggregates up to date and publishes the
// session list (emu held). It reports whether anything may have changed.
func (d *database) refreshLocked(ctx context.Context, p *Provider, db *sql.DB) (bool, error) {
	if d.conn != nil && d.conn.PingContext(ctx) != nil {
		d.resetLocked()
	}
	if d.conn == nil {
		conn, err := db.Conn(ctx)
		if err != nil {
			return false, err
		}
		d.resetLocked()
		d.conn = conn
	}
	// A commit writes its frames to the WAL (the change sessiond is told
	// of), then publishes them in the WAL index: a listing that runs in
	// between does not see it yet, and no further change may come. So when
	// the WAL changed since the last listing looked at it but data_version
	// did not, wait a little for the commit to show.
	dv, err := d.dataVersionLocked(ctx)
	if err != nil {
		return false, err
	}
	wal := walStamp(d.path)
	for wait := 250 * time.Microsecond; dv == d.dataVersion && wal != d.wal && wait <= 16*time.Millisecond; wait *= 4 {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(wait):
		}
		if dv, err = d.dataVersionLocked(ctx); err != nil {
			return false, err
		}
		wal = walStamp(d.path)
	}
	d.wal = wal
	now := p.now()
	full := d.schema == nil || now.Sub(d.lastFull) >= p.fullEvery
	if dv == d.dataVersion && !full {
		return false, nil // nothing committed since the last listing
	}
	var sv int64
	if err := d.conn.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&sv); err != nil {
		return false, err
	}
	if d.schema == nil || d.schema.version != sv {
		sc, err := readSchema(ctx, d.conn)
		if err != nil {
			return false, err
		}
		if sc == nil {
			d.dataVersion, d.sessions = dv, nil
			return false, nil
		}
		d.schema, full = sc, true
	}
	if !full {
		// rowids only grow, unless rows were deleted at the end of a table
		// (and their rowids reused) or the table rebuilt
		check := map[string]int64{}
		for i, st := range d.schema.sessions {
			check[st.name] = d.sessions.maxRowid[i]
		}
		for t := range nTables {
			if d.schema.columns(t) != nil {
				check[tableNames[t]] = d.top[t]
			}
		}
		for table, seen := range check {
			var top int64
			if err := d.conn.QueryRowContext(ctx, "SELECT coalesce(max(rowid), 0) FROM "+table).Scan(&top); err != nil {
				return false, err
			}
			if top < seen {
				full = true
			}
		}
	}
	if full {
		err = d.aggregateAll(ctx, p, now)
	} else {
		err = d.aggregateHot(ctx, p, now)
	}
	if err != nil {
		return false, err
	}
	d.dataVersion = dv
	d.snap.Store(d.sessions)
	return true, nil
}

func (d *database) dataVersionLocked(ctx context.Context) (int64, error) {
	var dv int64
	if err := d.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dv); err != nil {
		d.resetLocked()
		return 0, err
	}
	return dv, nil
}

// walStamp identifies the state of a database's WAL file by its size and
// modification time (zero when absent).
func walStamp(path string) [2]int64 {
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return [2]int64{}
	}
	return [2]int64{fi.Size(), fi.ModTime().UnixNano()}
}

// aggregateAll lists every session and computes every aggregate in one
// sequential pass over each table (NOT INDEXED: rows in rowid order, data
// measured, never read). Sessions whose aggregate changed, or (on a first
// pass) whose rows OpenCode updated within hotFor, become hot.
func (d *database) aggregateAll(ctx context.Context, p *Provider, now time.Time) error {
	snap := &snapshot{sessions: map[string]snapSession{}}
	if err := listSessions(ctx, d.conn, d.schema, snap); err != nil {
		return err
	}
	rings := make(map[string]*ring, len(snap.sessions))
	aggs := make(map[string]*aggregate, len(snap.sessions))
	for id, s := range snap.sessions {
		aggs[id] = &aggregate{updated: s.updated}
	}
	var top [nTables]int64
	for t := range nTables {
		cols := d.schema.columns(t)
		if cols == nil {
			continue
		}
		for _, r := range rings {
			*r = ring{}
		}
		rows, err := d.conn.QueryContext(ctx, fmt.Sprintf(
			"SELECT session_id, rowid, %s, coalesce(octet_length(data), 0) FROM %s NOT INDEXED",
			col(cols, "time_updated", "0"), tableNames[t]))
		if err != nil {
			return err
		}
		var sid sql.RawBytes
		for rows.Next() {
			var rowid, bytes int64
			var updated sql.NullInt64
			if err := rows.Scan(&sid, &rowid, &updated, &bytes); err != nil {
				rows.Close()
				return err
			}
			top[t] = max(top[t], rowid)
			r := rings[string(sid)]
			if r == nil {
				if aggs[string(sid)] == nil {
					continue // rows of a session not listed
				}
				r = &ring{}
				rings[string(sid)] = r
			}
			r.push(rowid, updated.Int64, bytes)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id, r := range rings {
			if r.n > 0 {
				aggs[id].rows[t] = r.agg()
			}
		}
	}
	recent := now.Add(-p.hotFor).UnixMilli()
	for id, a := range aggs {
		old := d.aggs[id]
		if (old != nil && !old.same(a)) || (old == nil && max(a.latest(), a.updated) >= recent) {
			d.hot[id] = &heat{touched: now, checked: now}
		}
	}
	d.sessions, d.aggs, d.top, d.lastFull, d.dirty = snap, aggs, top, now, true
	return nil
}

// aggregateHot finds new sessions and rows by rowid and reads the tails of
// the hot sessions again.
func (d *database) aggregateHot(ctx context.Context, p *Provider, now time.Time) error {
	touch := func(id string) { d.hot[id] = &heat{touched: now} }
	fresh := &snapshot{sessions: map[string]snapSession{}, maxRowid: d.sessions.maxRowid}
	if err := listSessions(ctx, d.conn, d.schema, fresh); err != nil {
		return err
	}
	if len(fresh.sessions) > 0 {
		d.sessions = d.sessions.clone()
		for id, s := range fresh.sessions {
			d.sessions.sessions[id] = s
			if d.aggs[id] == nil {
				d.aggs[id] = &aggregate{updated: s.updated}
			}
			touch(id)
		}
		d.sessions.maxRowid = fresh.maxRowid
		d.dirty = true
	}
	for t := range nTables {
		if d.schema.columns(t) == nil {
			continue
		}
		rows, err := d.conn.QueryContext(ctx, "SELECT rowid, session_id FROM "+tableNames[t]+" WHERE rowid > ?", d.top[t])
		if err != nil {
			return err
		}
		last := ""
		for rows.Next() {
			var rowid int64
			var sid string
			if err := rows.Scan(&rowid, &sid); err != nil {
				rows.Close()
				return err
			}
			d.top[t] = max(d.top[t], rowid)
			if sid != last {
				touch(sid)
				last = sid
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	// Sessions touched within hotFor/20 are read again on every change;
	// the others of the last hotFor at most every hotFor/100.
	var todo []string
	for id, h := range d.hot {
		age := now.Sub(h.touched)
		switch {
		case age >= p.hotFor:
			delete(d.hot, id)
		case d.aggs[id] == nil:
			delete(d.hot, id) // rows of a session not listed
		case age < p.hotFor/20 || now.Sub(h.checked) >= p.hotFor/100:
			h.checked = now
			todo = append(todo, id)
		}
	}
	slices.Sort(todo)
	for _, id := range todo {
		if err := d.refreshSessionRow(ctx, id); err != nil {
			return err
		}
		a := &aggregate{updated: d.sessions.sessions[id].updated}
		for t := range nTables {
			cols := d.schema.columns(t)
			if cols == nil {
				continue
			}
			r := &a.rows[t]
			if err := d.conn.QueryRowContext(ctx, tailQuery(t, cols), id).Scan(&r.n, &r.maxRowid, &r.maxUpdated, &r.bytes); err != nil {
				return err
			}
		}
		if old := d.aggs[id]; !old.same(a) {
			d.aggs[id] = a
			d.dirty = true
		}
	}
	return nil
}

// tailQuery aggregates the last tailRows rows of one session of table t:
// their rowids come from the session_id index alone, then only those rows
// are read.
func tailQuery(t int, cols map[string]bool) string {
	return fmt.Sprintf("SELECT count(*), coalesce(max(rowid), 0), coalesce(max(coalesce(%[1]s, 0)), 0), coalesce(sum(coalesce(octet_length(data), 0)), 0)"+
		" FROM %[2]s WHERE rowid IN (SELECT rowid FROM %[2]s WHERE session_id = ? ORDER BY rowid DESC LIMIT %[3]d)",
		col(cols, "time_updated", "0"), tableNames[t], tailRows)
}

// refreshSessionRow reads the session row of a hot session again (its
// time_updated decides between databases holding the same session).
func (d *database) refreshSessionRow(ctx context.Context, id string) error {
	found, v, err := sessionRow(ctx, d.conn, d.schema, id, "parent_id", "time_updated")
	if err != nil || !found {
		return err // deleted: the next full pass drops it
	}
	updated, _ := strconv.ParseInt(v[1].String, 10, 64)
	s := snapSession{parent: v[0].String, updated: updated}
	if d.sessions.sessions[id] != s {
		d.sessions = d.sessions.clone()
		d.sessions.sessions[id] = s
		d.dirty = true
	}
	return nil
}

// renderLocked renders the listing: one document per session with
// messages (or listed before), unless another database of the data
// directory updated that session later.
func (d *database) renderLocked(ctx context.Context, p *Provider, members []*database) []providers.Doc {
	name := strings.TrimSuffix(filepathBase(d.path), ".db")
	rank := slices.Index(members, d)
	var others []*database
	for _, m := range members {
		if m != d {
			others = append(others, m)
		}
	}
	snap := d.sessions
	parentOf := func(id string) (string, bool) {
		s, ok := snap.sessions[id]
		return s.parent, ok
	}
	ids := make([]string, 0, len(d.aggs))
	for id, a := range d.aggs {
		if a.hasMessages() || d.announced[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	docs := make([]providers.Doc, 0, len(ids))
	for _, id := range ids {
		if len(others) > 0 && beaten(ctx, snap.sessions[id].updated, rank, id, others, members) {
			continue
		}
		d.announced[id] = true
		root := p.rootOf(ctx, d.dataDir, id, parentOf)
		docs = append(docs, providers.Doc{
			Path: docPath(d.dataDir, id), ID: session.ID(root), Role: role(id, root),
			Version: d.aggs[id].versionOf(name),
		})
	}
	return docs
}

// beaten reports whether another database of the family (members, in rank
// order; self at position rank, -1 if not listed) holds session id with a
// later time_updated, or the same one and a better rank.
func beaten(ctx context.Context, updated int64, rank int, id string, others, members []*database) bool {
	for _, o := range others {
		s, ok := o.snapshot(ctx).sessions[id]
		if !ok {
			continue
		}
		if s.updated > updated {
			return true
		}
		if s.updated == updated && (rank < 0 || slices.Index(members, o) < rank) {
			return true
		}
	}
	return false
}

func filepathBase(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
