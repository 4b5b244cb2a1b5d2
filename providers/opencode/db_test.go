package opencode

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
)

// TestVersionFollowsRows: a new row, an updated row (same count) and a
// changed session row each change the session's Version; nothing
// committed leaves it.
func TestVersionFollowsRows(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "running")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version
	if v1 == "" {
		t.Fatal("session not listed")
	}
	if v := expand(t, p, w.Path)[path].Version; v != v1 {
		t.Fatalf("version changed without a commit: %s → %s", v1, v)
	}
	// an existing part updated in place: the tool failed
	must(t, w.Part(opencodetest.Part{ID: "prt_ses_a_0001", MessageID: "msg_ses_a_0001a", SessionID: "ses_a", Created: t0, Updated: t0 + 50_000, Data: toolData("error")}))
	v2 := expand(t, p, w.Path)[path].Version
	if v2 == v1 {
		t.Fatal("updated part not seen")
	}
	if d := read(t, p, path); d.ToolErrors != 1 {
		t.Fatalf("tool error not read: %+v", d.Counts)
	}
	turn(t, w, "ses_a", 2, 20, 2, "completed")
	v3 := expand(t, p, w.Path)[path].Version
	if v3 == v2 {
		t.Fatal("new rows not seen")
	}
	must(t, w.Session(opencodetest.Session{ID: "ses_a", Directory: "/home/dev/shop2", Created: t0, Updated: t0 + 99}))
	if v4 := expand(t, p, w.Path)[path].Version; v4 == v3 {
		t.Fatal("session row change not seen")
	}
	// the same versions from a provider that never listed the database
	// (after a restart): computed in one pass, they must be identical
	q, _ := newProvider(t)
	for k, d := range expand(t, p, w.Path) {
		if got := expand(t, q, w.Path)[k]; got != d {
			t.Errorf("fresh listing %+v, incremental %+v", got, d)
		}
	}
}

// TestColdUpdateCaughtByFullPass: an update of an old row in a session
// quiet for longer than hotFor is caught by the periodic full pass.
func TestColdUpdateCaughtByFullPass(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "running")
	w2 := w // a second, busy session keeps the database changing
	must(t, w2.Session(opencodetest.Session{ID: "ses_b", Directory: "/b", Created: t0, Updated: t0}))
	p, now := newProvider(t)
	p.hotFor, p.fullEvery = 2*time.Hour, 10*time.Hour
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version
	*now = now.Add(3 * time.Hour) // ses_a has cooled down
	must(t, w.Part(opencodetest.Part{ID: "prt_ses_a_0001", MessageID: "msg_ses_a_0001a", SessionID: "ses_a", Created: t0, Updated: t0 + 50_000, Data: toolData("error")}))
	turn(t, w, "ses_b", 1, 1, 1, "completed")
	if v := expand(t, p, w.Path)[path].Version; v != v1 {
		t.Fatalf("cold session re-aggregated on every change: %s", v)
	}
	*now = now.Add(10 * time.Hour)
	turn(t, w, "ses_b", 2, 1, 1, "completed")
	if v := expand(t, p, w.Path)[path].Version; v == v1 {
		t.Fatal("full pass missed the cold update")
	}
}

// TestDeletedRowsReaggregated: rows deleted at the end of a table (a
// revert), then a new row reusing the rowid, still change the Version.
func TestDeletedRowsReaggregated(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	turn(t, w, "ses_a", 2, 10, 1, "completed")
	p, now := newProvider(t)
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version
	*now = now.Add(24 * time.Hour) // long cold: only rowids tell
	p.fullEvery = 48 * time.Hour
	if _, err := w.DB.Exec("DELETE FROM part WHERE id = 'prt_ses_a_0002'"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec("DELETE FROM message WHERE id IN ('msg_ses_a_0002a', 'msg_ses_a_0002u')"); err != nil {
		t.Fatal(err)
	}
	v2 := expand(t, p, w.Path)[path].Version
	if v2 == v1 {
		t.Fatal("deleted rows not seen")
	}
	if d := read(t, p, path); d.UserMessages != 1 || d.Usage.Input != 10 {
		t.Fatalf("after revert: %+v %+v", d.Counts, d.Usage)
	}
}

func TestExpandSchemas(t *testing.T) {
	dir := t.TempDir()
	p, _ := newProvider(t)
	// missing file
	if docs, err := p.Expand(context.Background(), filepath.Join(dir, "opencode.db")); err != nil || docs != nil {
		t.Errorf("missing db: %v, %v", docs, err)
	}
	// a database without tables yet (OpenCode creating it)
	empty := filepath.Join(dir, "opencode-empty.db")
	w, err := opencodetest.Open(empty)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if docs, err := p.Expand(context.Background(), empty); err != nil || docs != nil {
		t.Errorf("empty db: %v, %v", docs, err)
	}
	// another program's database
	other := filepath.Join(dir, "opencode-other.db")
	w, err = opencodetest.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec("CREATE TABLE session (id text); CREATE TABLE message (id text)"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := p.Expand(context.Background(), other); !errors.Is(err, ErrSchema) {
		t.Errorf("foreign schema: %v", err)
	}
	// not a database at all
	junk := filepath.Join(dir, "opencode-junk.db")
	if err := os.WriteFile(junk, []byte("this is not sqlite, but quite long enough to have a header of sorts..............................................................."), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expand(context.Background(), junk); err == nil {
		t.Error("junk file listed")
	}
	// an older schema without optional columns (no parent_id, directory, time_updated)
	old := filepath.Join(dir, "opencode-old.db")
	w, err = opencodetest.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`CREATE TABLE session (id text PRIMARY KEY);
		CREATE TABLE message (id text PRIMARY KEY, session_id text, data text);
		CREATE TABLE part (id text PRIMARY KEY, session_id text, data text);
		INSERT INTO session VALUES ('ses_o');
		INSERT INTO message VALUES ('msg_1', 'ses_o', '{"role":"user"}');
		INSERT INTO part VALUES ('prt_1', 'ses_o', '{"type":"tool","state":{"status":"error"}}')`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	docs := expand(t, p, old)
	d, ok := docs[docPath(dir, "ses_o")]
	if !ok {
		t.Fatalf("old schema: %+v", docs)
	}
	if got := read(t, p, d.Path); got.UserMessages != 1 || got.ToolErrors != 1 {
		t.Errorf("old schema read %+v", got.Counts)
	}
}

// TestWriterHoldingLock: a writer in the middle of a write transaction
// neither blocks nor confuses the reader, which sees the committed state;
// the reader never makes the writer wait.
func TestWriterHoldingLock(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version

	ctx := context.Background()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	tx := conn
	must(t, opencodetest.PutMessage(tx, opencodetest.Message{ID: "msg_z", SessionID: "ses_a", Created: t0 + 99_000, Updated: t0 + 99_000, Data: userData(t0 + 99_000)}))
	for i := range 300 { // enough to spill pages into the WAL
		must(t, opencodetest.PutPart(tx, opencodetest.Part{ID: "prt_z" + string(rune('a'+i%26)) + time.Duration(i).String(), MessageID: "msg_z", SessionID: "ses_a", Created: t0, Updated: t0, Data: toolData("completed")}))
	}
	start := time.Now()
	docs := expand(t, p, w.Path)
	d := read(t, p, path)
	if el := time.Since(start); el > time.Second {
		t.Errorf("reader waited %v for the writer", el)
	}
	if docs[path].Version != v1 || d.UserMessages != 1 || d.ToolCalls != 1 {
		t.Errorf("uncommitted rows seen: %s %+v", docs[path].Version, d.Counts)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if v := expand(t, p, w.Path)[path].Version; v == v1 {
		t.Error("committed rows not seen")
	}
	if d := read(t, p, path); d.UserMessages != 2 || d.ToolCalls != 301 {
		t.Errorf("after commit: %+v", d.Counts)
	}
}

// TestReaderNeverBlocksWriter: while the provider lists and reads without
// pause, a writer with no busy timeout commits again and again.
func TestReaderNeverBlocksWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opencode.db")
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	w.Close()
	strict, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	strict.SetMaxOpenConns(1)
	p, _ := newProvider(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if _, err := p.Expand(context.Background(), path); err != nil {
					t.Error(err)
					return
				}
				if _, err := p.ReadDoc(context.Background(), docPath(dir, "ses_a")); err != nil {
					t.Error(err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range 200 {
		at := t0 + int64(i)*1000
		if err := opencodetest.PutPart(strict, opencodetest.Part{ID: "prt_w" + time.Duration(i).String(), MessageID: "msg_ses_a_0001a", SessionID: "ses_a", Created: at, Updated: at, Data: toolData("completed")}); err != nil {
			t.Fatalf("write %d blocked by the reader: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("reader never ran")
	}
	if d := read(t, p, docPath(dir, "ses_a")); d.ToolCalls != 201 {
		t.Errorf("final read %+v", d.Counts)
	}
}

// TestReplacedDatabase: a database deleted and created anew at the same
// path is read anew.
func TestReplacedDatabase(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	p, _ := newProvider(t)
	if len(expand(t, p, w.Path)) != 1 {
		t.Fatal("not listed")
	}
	w.Close()
	for _, suf := range []string{"", "-wal", "-shm"} {
		os.Remove(w.Path + suf)
	}
	if docs := expand(t, p, w.Path); len(docs) != 0 {
		t.Fatalf("deleted database listed %v", docs)
	}
	w2 := newDB(t, dir, "opencode.db", "ses_b")
	turn(t, w2, "ses_b", 1, 5, 1, "completed")
	docs := expand(t, p, w2.Path)
	if _, ok := docs[docPath(dir, "ses_b")]; !ok || len(docs) != 1 {
		t.Fatalf("new database: %v", docs)
	}
	if _, err := p.ReadDoc(context.Background(), docPath(dir, "ses_a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gone session: %v", err)
	}
}

// TestChannelDatabases: a session held by opencode.db and
// opencode-dev.db (both imported the legacy tree) is listed once, by the
// database that updated it last.
func TestChannelDatabases(t *testing.T) {
	dir := t.TempDir()
	main := newDB(t, dir, "opencode.db", "ses_shared")
	dev := newDB(t, dir, "opencode-dev.db", "ses_shared")
	turn(t, main, "ses_shared", 1, 10, 1, "completed")
	turn(t, dev, "ses_shared", 1, 10, 1, "completed")
	turn(t, dev, "ses_shared", 2, 30, 1, "completed") // continued in dev
	must(t, dev.Session(opencodetest.Session{ID: "ses_shared", Directory: "/home/dev/shop", Created: t0, Updated: t0 + 50}))
	must(t, main.Session(opencodetest.Session{ID: "ses_main", Directory: "/m", Created: t0, Updated: t0}))
	turn(t, main, "ses_main", 1, 1, 1, "completed")
	p, _ := newProvider(t)
	shared := docPath(dir, "ses_shared")
	mdocs, ddocs := expand(t, p, main.Path), expand(t, p, dev.Path)
	if _, ok := mdocs[shared]; ok {
		t.Error("opencode.db lists the session dev updated later")
	}
	if _, ok := ddocs[shared]; !ok {
		t.Error("opencode-dev.db does not list its session")
	}
	if _, ok := mdocs[docPath(dir, "ses_main")]; !ok {
		t.Error("opencode.db's own session not listed")
	}
	if d := read(t, p, shared); d.UserMessages != 2 || d.Usage.Input != 40 {
		t.Errorf("read from the wrong database: %+v %+v", d.Counts, d.Usage)
	}
	// same time_updated: the better ranked opencode.db wins
	must(t, main.Session(opencodetest.Session{ID: "ses_shared", Directory: "/home/dev/shop", Created: t0, Updated: t0 + 50}))
	mdocs, ddocs = expand(t, p, main.Path), expand(t, p, dev.Path)
	if _, ok := mdocs[shared]; !ok {
		t.Error("tie: opencode.db does not list the session")
	}
	if _, ok := ddocs[shared]; ok {
		t.Error("tie: opencode-dev.db lists it too")
	}
	if d := read(t, p, shared); d.UserMessages != 1 {
		t.Errorf("tie: read %+v", d.Counts)
	}
}

// TestCustomDatabase: $OPENCODE_DB outside the data directory belongs to
// it: its sessions supersede the legacy tree's.
func TestCustomDatabase(t *testing.T) {
	home := t.TempDir()
	elsewhere := t.TempDir()
	p, _ := newProvider(t)
	roots := p.Roots(providers_env(home, filepath.Join(elsewhere, "mine.db")))
	if len(roots) != 2 || roots[1] != elsewhere {
		t.Fatalf("roots %q", roots)
	}
	dataDir := roots[0]
	must(t, opencodetest.WriteLegacySession(dataDir, opencodetest.Session{ID: "ses_x", Directory: "/x", Created: t0, Updated: t0}))
	must(t, opencodetest.WriteLegacyMessage(dataDir, opencodetest.Message{ID: "msg_1", SessionID: "ses_x", Data: userData(t0)}))
	w := newDB(t, elsewhere, "mine.db", "ses_x")
	turn(t, w, "ses_x", 1, 10, 1, "completed")
	docs := expand(t, p, w.Path)
	if _, ok := docs[docPath(dataDir, "ses_x")]; !ok {
		t.Fatalf("custom db listing %v", docs)
	}
	if legacy := expand(t, p, opencodetest.LegacyMessagePath(dataDir, "ses_x", "msg_1")); len(legacy) != 0 {
		t.Errorf("legacy listed a session the database holds: %v", legacy)
	}
	if d := read(t, p, docPath(dataDir, "ses_x")); d.AssistantMessages != 1 {
		t.Errorf("read %+v", d.Counts)
	}
}

// TestSessionEmptiedStaysListed: a listed session whose messages are all
// deleted is still listed, so its contribution is replaced by nothing.
func TestSessionEmptiedStaysListed(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version
	if _, err := w.DB.Exec("DELETE FROM part; DELETE FROM message"); err != nil {
		t.Fatal(err)
	}
	v2, ok := expand(t, p, w.Path)[path]
	if !ok || v2.Version == v1 {
		t.Fatalf("emptied session: %+v", v2)
	}
	if d := read(t, p, path); d.Records != 0 || d.UserMessages != 0 {
		t.Errorf("emptied session read %+v", d)
	}
}

func TestRoles(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_root")
	must(t, w.Session(opencodetest.Session{ID: "ses_kid", ParentID: "ses_root", Directory: "/k", Created: t0, Updated: t0}))
	must(t, w.Session(opencodetest.Session{ID: "ses_orphan", ParentID: "ses_deleted", Directory: "/o", Created: t0, Updated: t0}))
	must(t, w.Session(opencodetest.Session{ID: "ses_loop1", ParentID: "ses_loop2", Directory: "/o", Created: t0, Updated: t0}))
	must(t, w.Session(opencodetest.Session{ID: "ses_loop2", ParentID: "ses_loop1", Directory: "/o", Created: t0, Updated: t0}))
	for i, s := range []string{"ses_root", "ses_kid", "ses_orphan", "ses_loop1", "ses_loop2"} {
		turn(t, w, s, i, 1, 1, "completed")
	}
	p, _ := newProvider(t)
	docs := expand(t, p, w.Path)
	for sid, want := range map[string]struct {
		id   string
		role session.FileRole
	}{
		"ses_root":   {"ses_root", session.RoleMain},
		"ses_kid":    {"ses_root", session.RoleSubagent},
		"ses_orphan": {"ses_deleted", session.RoleSubagent},
		"ses_loop1":  {"ses_loop2", session.RoleSubagent},
		"ses_loop2":  {"ses_loop1", session.RoleSubagent},
	} {
		d := docs[docPath(dir, sid)]
		if string(d.ID) != want.id || d.Role != want.role {
			t.Errorf("%s: %+v, want %+v", sid, d, want)
		}
	}
}

func TestReadDocErrors(t *testing.T) {
	p, _ := newProvider(t)
	if _, err := p.ReadDoc(context.Background(), "no-hash"); !errors.Is(err, ErrDocPath) {
		t.Errorf("bad path: %v", err)
	}
	if _, err := p.ReadDoc(context.Background(), docPath(t.TempDir(), "ses_none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unknown session: %v", err)
	}
}

// TestSessionV2 (OpenCode 2): sessions in session_v2 with their messages in
// session_message count like the others, beside V1 sessions of the same
// database. The session_v2 columns used (id, parent_id, directory,
// time_updated) are an assumption: OpenCode 2 is in beta.
func TestSessionV2(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_v1")
	turn(t, w, "ses_v1", 1, 10, 1, "completed")
	if _, err := w.DB.Exec(opencodetest.SchemaV2 + "CREATE TABLE `session_v2` (`id` text PRIMARY KEY, `parent_id` text, `directory` text, `title` text, `time_created` integer NOT NULL, `time_updated` integer NOT NULL);"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec("INSERT INTO session_v2 VALUES ('ses_two', NULL, '/home/dev/two', 't', ?, ?), ('ses_kid', 'ses_two', '/home/dev/two', 't', ?, ?)", t0, t0, t0, t0); err != nil {
		t.Fatal(err)
	}
	for i, sid := range []string{"ses_two", "ses_kid"} {
		must(t, w.V2(opencodetest.V2{ID: sid + "_u", SessionID: sid, Type: "user", Seq: 1, Created: t0, Updated: t0, Data: []byte(`{"text":"hi","time":{"created":1772442000000}}`)}))
		must(t, w.V2(opencodetest.V2{ID: sid + "_a", SessionID: sid, Type: "assistant", Seq: 2, Created: t0, Updated: t0,
			Data: []byte(`{"agent":"build","model":{"id":"gpt-5","providerID":"openai"},"content":[{"type":"tool","id":"c","name":"bash","state":{"status":"error"}}],"tokens":{"input":` + fmt.Sprint(100*(i+1)) + `,"output":1,"reasoning":0,"cache":{"read":0,"write":0}},"time":{"created":1772442001000}}`)}))
	}
	p, _ := newProvider(t)
	docs := expand(t, p, w.Path)
	if len(docs) != 3 {
		t.Fatalf("docs %v", docs)
	}
	if d := docs[docPath(dir, "ses_kid")]; d.ID != "ses_two" || d.Role != session.RoleSubagent {
		t.Errorf("kid %+v", d)
	}
	for sid, want := range map[string]int64{"ses_two": 100, "ses_kid": 200, "ses_v1": 10} {
		d := read(t, p, docPath(dir, sid))
		if d.Usage.Input != want {
			t.Errorf("%s: %+v", sid, d.Usage)
		}
		if sid != "ses_v1" && (d.ToolErrors != 1 || d.CWD != "/home/dev/two") {
			t.Errorf("%s: %+v %q", sid, d.Counts, d.CWD)
		}
	}
	// a new OpenCode 2 session appears
	if _, err := w.DB.Exec("INSERT INTO session_v2 VALUES ('ses_new', NULL, '/n', 't', ?, ?)", t0, t0); err != nil {
		t.Fatal(err)
	}
	must(t, w.V2(opencodetest.V2{ID: "ses_new_u", SessionID: "ses_new", Type: "user", Seq: 1, Created: t0, Updated: t0, Data: []byte(`{"text":"x","time":{"created":1}}`)}))
	if _, ok := expand(t, p, w.Path)[docPath(dir, "ses_new")]; !ok {
		t.Error("new session_v2 session not listed")
	}
}

// TestClosedDatabaseNotTouched: a WAL database the agent closed (no -wal,
// no -shm) is read without creating either; once the agent opens it again,
// its changes are seen.
func TestClosedDatabaseNotTouched(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "completed")
	w.Close()
	for _, suf := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(w.Path + suf); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s left by the writer: %v", suf, err)
		}
	}
	p, _ := newProvider(t)
	path := docPath(dir, "ses_a")
	v1 := expand(t, p, w.Path)[path].Version
	if d := read(t, p, path); d.UserMessages != 1 || v1 == "" {
		t.Fatalf("read %+v, version %q", d.Counts, v1)
	}
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(w.Path + suf); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reading created %s: %v", suf, err)
		}
	}
	w2, err := opencodetest.Open(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	turn(t, w2, "ses_a", 2, 10, 1, "completed")
	if v := expand(t, p, w.Path)[path].Version; v == v1 {
		t.Fatal("change after reopening not seen")
	}
	if d := read(t, p, path); d.UserMessages != 2 {
		t.Fatalf("read %+v", d.Counts)
	}
}
