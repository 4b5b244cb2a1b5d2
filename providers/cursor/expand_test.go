package cursor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
)

// fixtureDB writes the composer fixtures into a fresh global database
// (composer id = the fixture's name) and returns the layout.
func fixtureDB(t *testing.T, names ...string) (cursortest.Layout, *cursortest.DB) {
	t.Helper()
	l := cursortest.NewLayout(t.TempDir())
	db, err := cursortest.Open(l.GlobalDB(), "wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, n := range names {
		composer, bubbles := loadFixture(t, "composer_"+n+".json")
		if err := db.PutKV(cursortest.ComposerKey(n), composer); err != nil {
			t.Fatal(err)
		}
		for id, b := range bubbles {
			if err := db.PutKV(cursortest.BubbleKey(n, id), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return l, db
}

func newProvider(t *testing.T) *Provider {
	p := New()
	t.Cleanup(func() { p.Close() })
	return p
}

func versions(docs []providers.Doc) map[string]string {
	m := map[string]string{}
	for _, d := range docs {
		m[string(d.ID)] = d.Version
	}
	return m
}

func TestExpandComposers(t *testing.T) {
	l, db := fixtureDB(t, "example", "tokens", "legacy", "damaged", "times", "empty", "invalid")
	p := newProvider(t)
	ctx := context.Background()
	docs, err := p.Expand(ctx, l.GlobalDB()+"-wal") // a -wal change lists its database
	if err != nil {
		t.Fatal(err)
	}
	v := versions(docs)
	if len(v) != 6 || v["empty"] != "" {
		t.Fatalf("listed %v; want every composer but the empty one", v)
	}
	for id, want := range map[string]string{"example": "2.1772442090000", "tokens": "2.1772445600000", "damaged": "2.1772442000000"} {
		if v[id] != want {
			t.Errorf("%s: version %q, want %q", id, v[id], want)
		}
	}
	if !strings.HasPrefix(v["legacy"], "2.h") || !strings.HasPrefix(v["times"], "2.h") || !strings.HasPrefix(v["invalid"], "2.x") {
		t.Errorf("content versions: %v", v)
	}
	for _, d := range docs {
		if d.Path != l.GlobalDB()+"#"+string(d.ID) || d.Role != session.RoleMain {
			t.Errorf("doc %+v", d)
		}
	}
	// listed again: the same, from the cache
	again, err := p.Expand(ctx, l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(versions(again)) != fmt.Sprint(v) {
		t.Errorf("second listing %v", versions(again))
	}
	// an update gives a new version; a deleted composer leaves the list
	composer, _ := loadFixture(t, "composer_example.json")
	if err := db.PutKV(cursortest.ComposerKey("example"), []byte(strings.Replace(string(composer), "1772442090000", "1772442099999", 1))); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(cursortest.ComposerKey("tokens")); err != nil {
		t.Fatal(err)
	}
	docs, err = p.Expand(ctx, l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	v2 := versions(docs)
	if v2["example"] != "2.1772442099999" || v2["tokens"] != "" || v2["legacy"] != v["legacy"] {
		t.Errorf("after changes: %v", v2)
	}
	if _, err := p.ReadDoc(ctx, l.GlobalDB()+"#tokens"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDoc of a deleted composer: %v", err)
	}
}

func TestExpandManyChanged(t *testing.T) {
	l, db := fixtureDB(t)
	for i := range manyChanged + 10 {
		if err := db.WriteComposer(conv(fmt.Sprintf("c%03d", i), 1, 1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	p := newProvider(t)
	docs, err := p.Expand(context.Background(), l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != manyChanged+10 {
		t.Fatalf("listed %d", len(docs))
	}
	for _, d := range docs {
		if !strings.HasPrefix(d.Version, "2.") || len(d.Version) < 10 {
			t.Fatalf("doc %+v", d)
		}
	}
}

func TestReadDocComposer(t *testing.T) {
	l, _ := fixtureDB(t, "tokens", "damaged")
	p := newProvider(t)
	ctx := context.Background()
	for _, id := range []string{"tokens", "damaged"} {
		data, err := p.ReadDoc(ctx, l.GlobalDB()+"#"+id)
		if err != nil {
			t.Fatal(err)
		}
		composer, bubbles := loadFixture(t, "composer_"+id+".json")
		if want := composerDocument(id, "", composer, bubbles, false); string(data) != string(want) {
			t.Errorf("%s:\ngot  %s\nwant %s", id, data, want)
		}
	}
	for _, path := range []string{l.GlobalDB() + "#nope", filepath.Join(l.Root, "gone", "globalStorage", "state.vscdb") + "#x"} {
		if _, err := p.ReadDoc(ctx, path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadDoc(%s) = %v, want fs.ErrNotExist", path, err)
		}
	}
	for _, path := range []string{l.GlobalDB(), l.GlobalDB() + "#", l.GlobalDB() + "#a/b", "/x/y.db#a"} {
		if _, err := p.ReadDoc(ctx, path); !errors.Is(err, ErrBadDocPath) {
			t.Errorf("ReadDoc(%s) = %v, want ErrBadDocPath", path, err)
		}
	}
}

func TestExpandOddDatabases(t *testing.T) {
	dir := t.TempDir()
	p := newProvider(t)
	ctx := context.Background()
	// missing: nothing to list
	missing := filepath.Join(dir, "a", "globalStorage", "state.vscdb")
	if docs, err := p.Expand(ctx, missing); err != nil || len(docs) != 0 {
		t.Errorf("missing database: %v, %v", docs, err)
	}
	// a database without Cursor's table (older or other schema)
	other := filepath.Join(dir, "b", "globalStorage", "state.vscdb")
	db, err := cursortest.Open(other, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE cursorDiskKV`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if docs, err := p.Expand(ctx, other); err != nil || len(docs) != 0 {
		t.Errorf("no table: %v, %v", docs, err)
	}
	if _, err := p.ReadDoc(ctx, other+"#x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDoc without table: %v", err)
	}
	// not a database at all
	junk := filepath.Join(dir, "c", "globalStorage", "state.vscdb")
	os.MkdirAll(filepath.Dir(junk), 0o755)
	os.WriteFile(junk, []byte("not sqlite, just bytes that are long enough to not be empty............"), 0o644)
	if _, err := p.Expand(ctx, junk); err == nil {
		t.Error("junk database listed without error")
	}
	if _, err := p.Expand(ctx, filepath.Join(dir, "x.txt")); !errors.Is(err, ErrNotContainer) {
		t.Errorf("Expand(x.txt) = %v", err)
	}
}

func TestExpandReplacedDatabase(t *testing.T) {
	l, db := fixtureDB(t, "example")
	p := newProvider(t)
	ctx := context.Background()
	if docs, _ := p.Expand(ctx, l.GlobalDB()); len(docs) != 1 {
		t.Fatalf("listed %v", docs)
	}
	db.Close()
	// a new database in its place (a reset): rowids start again
	for _, suf := range []string{"", "-wal", "-shm"} {
		os.Remove(l.GlobalDB() + suf)
	}
	db2, err := cursortest.Open(l.GlobalDB(), "wal")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.WriteComposer(conv("fresh", 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	docs, err := p.Expand(ctx, l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	if v := versions(docs); len(v) != 1 || v["fresh"] == "" {
		t.Fatalf("after replacement: %v", v)
	}
}

func TestLinks(t *testing.T) {
	l, db := fixtureDB(t, "example", "tokens", "legacy", "damaged")
	shop, api, multi := filepath.Join(l.Code, "shop"), filepath.Join(l.Code, "api"), filepath.Join(l.Code, "multi")
	if err := cursortest.Workspace(l.User, "ws1", shop, []string{"example"}); err != nil {
		t.Fatal(err)
	}
	// a multi-root workspace: the folder of its .code-workspace file
	if err := cursortest.Workspace(l.User, "ws2", multi, []string{"damaged"}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(l.User, "workspaceStorage", "ws2", "workspace.json"), []byte(`{"workspace":"file://`+multi+`/all.code-workspace"}`), 0o644)
	// the global headers: by workspace id, by uri; the workspace database wins
	if err := db.Headers([]cursortest.HeaderLink{{Composer: "tokens", Workspace: "ws1"}, {Composer: "legacy", Folder: api}, {Composer: "example", Folder: api}}); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t)
	ctx := context.Background()
	docs, err := p.Expand(ctx, l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	g := p.global(l.GlobalDB())
	for id, want := range map[string]string{"example": shop, "tokens": shop, "legacy": api, "damaged": multi} {
		if got := g.links.folder(id); got != want {
			t.Errorf("%s: folder %q, want %q", id, got, want)
		}
		if v := versions(docs)[id]; !strings.HasSuffix(v, folderTag(want)) {
			t.Errorf("%s: version %q does not follow its folder", id, v)
		}
		data, err := p.ReadDoc(ctx, l.GlobalDB()+"#"+id)
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := (&Parser{}).Document(data, &d); err != nil || d.CWD != want {
			t.Errorf("%s: document cwd %q, %v", id, d.CWD, err)
		}
	}
	// a link changes: the version follows
	if err := cursortest.Workspace(l.User, "ws3", api, []string{"example"}); err != nil { // ws1 still lists it first
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(l.User, "workspaceStorage", "ws1"))
	docs, err = p.Expand(ctx, filepath.Join(l.User, "workspaceStorage", "ws3", "state.vscdb"))
	if err != nil {
		t.Fatal(err)
	}
	if v := versions(docs); !strings.HasSuffix(v["example"], folderTag(api)) || strings.HasSuffix(v["tokens"], folderTag(shop)) {
		t.Errorf("after relinking: %v", v)
	}
}

func TestExpandTranscripts(t *testing.T) {
	l, db := fixtureDB(t)
	p := newProvider(t)
	p.noteUserDir(l.User)
	ctx := context.Background()
	shop := filepath.Join(l.Code, "my-app.v2")
	os.MkdirAll(shop, 0o755)
	tdir := l.TranscriptDir(shop)
	path := filepath.Join(tdir, "c1", "c1.jsonl")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(transcriptLines(1)), 0o644)
	docs, err := p.Expand(ctx, path)
	if err != nil || len(docs) != 1 {
		t.Fatalf("Expand: %v, %v", docs, err)
	}
	d := docs[0]
	if d.Path != path+"#c1" || d.ID != "c1" || d.Role != session.RoleMain || !strings.HasPrefix(d.Version, "2.") {
		t.Fatalf("doc %+v", d)
	}
	data, err := p.ReadDoc(ctx, d.Path)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Sessiond, ID, Format, CWD string
		Primary                   bool
		Mtime                     int64
	}
	head, _, _ := strings.Cut(string(data), "\n")
	if err := json.Unmarshal([]byte(head), &h); err != nil {
		t.Fatal(err)
	}
	if h.Sessiond != docTranscript || h.ID != "c1" || h.Format != "jsonl" || !h.Primary || h.CWD != shop || h.Mtime == 0 {
		t.Errorf("header %+v", h)
	}
	// the conversation turns up in the database: the transcript, read
	// again, mirrors it (its version changes only with the file)
	if err := db.WriteComposer(conv("c1", 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if docs, _ = p.Expand(ctx, path); docs[0].Version != d.Version {
		t.Errorf("version changed without the file: %q → %q", d.Version, docs[0].Version)
	}
	data, _ = p.ReadDoc(ctx, d.Path)
	var delta session.Delta
	if err := (&Parser{}).Document(data, &delta); err != nil {
		t.Fatal(err)
	}
	if delta.Counts != (session.Counts{}) || delta.Records != 5 || delta.CWD != shop || !delta.LastAt.IsZero() {
		t.Errorf("mirror delta %+v", delta)
	}
	// subagents, flat and legacy files; empty files list nothing
	for rel, want := range map[string]providers.Doc{
		"c1/subagents/s1.jsonl": {ID: "c1", Role: session.RoleSubagent},
		"t2.txt":                {ID: "t2", Role: session.RoleMain},
	} {
		p2 := filepath.Join(tdir, rel)
		os.MkdirAll(filepath.Dir(p2), 0o755)
		os.WriteFile(p2, []byte("user:\nhi\n"), 0o644)
		docs, err := p.Expand(ctx, p2)
		if err != nil || len(docs) != 1 || docs[0].ID != want.ID || docs[0].Role != want.Role || docs[0].Path != p2+"#"+string(want.ID) {
			t.Errorf("%s: %+v, %v", rel, docs, err)
		}
	}
	empty := filepath.Join(tdir, "t3.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if docs, err := p.Expand(ctx, empty); err != nil || len(docs) != 0 {
		t.Errorf("empty transcript: %v, %v", docs, err)
	}
	if docs, err := p.Expand(ctx, filepath.Join(tdir, "t4.jsonl")); err != nil || len(docs) != 0 {
		t.Errorf("missing transcript: %v, %v", docs, err)
	}
	if _, err := p.ReadDoc(ctx, filepath.Join(tdir, "t4.jsonl")+"#t4"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDoc of a missing transcript: %v", err)
	}
	if _, err := p.ReadDoc(ctx, path+"#other"); !errors.Is(err, ErrBadDocPath) {
		t.Errorf("ReadDoc with another id: %v", err)
	}
}

func TestDecodeSlug(t *testing.T) {
	root := t.TempDir()
	dirs := []string{"code/my-app", "code/my", "code/site.io", "code/data pipeline", "code/a/b/c", ".hidden/x"}
	for _, d := range dirs {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "code", "file-x"), nil, 0o644)
	for _, d := range dirs {
		want := filepath.Join(root, d)
		for _, slug := range []string{cursortest.Slug(want), "-" + cursortest.Slug(want), strings.ReplaceAll(strings.TrimPrefix(want, "/"), "/", "-")} {
			if got := decodeSlug(slug); got != want {
				t.Errorf("decodeSlug(%q) = %q, want %q", slug, got, want)
			}
		}
	}
	for _, slug := range []string{"", "-", cursortest.Slug(filepath.Join(root, "code", "nope")), cursortest.Slug(filepath.Join(root, "code", "file-x"))} {
		if got := decodeSlug(slug); got != "" {
			t.Errorf("decodeSlug(%q) = %q, want none", slug, got)
		}
	}
}

// TestCommitBeyond checks the WAL reading that makes a listing look again
// when it began before a commit was published.
func TestCommitBeyond(t *testing.T) {
	l, db := fixtureDB(t, "example")
	path := l.GlobalDB()
	mark := readMark(path)
	if !mark.ok || mark.mxFrame == 0 {
		t.Fatalf("mark %+v", mark)
	}
	if commitBeyond(path, mark) {
		t.Fatal("commit beyond a fresh mark")
	}
	if err := db.WriteComposer(conv("c2", 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if !commitBeyond(path, mark) {
		t.Fatal("a later commit not seen")
	}
	if m := readMark(path); commitBeyond(path, m) {
		t.Fatal("commit beyond the current mark")
	}
	if commitBeyond(path+".none", walMark{ok: true}) || commitBeyond(path, walMark{}) {
		t.Fatal("commit without a WAL")
	}
}

// TestExclusiveLock: in rollback-journal mode a writer's exclusive lock
// makes a listing fail after the busy timeout (the next change retries);
// it never hangs.
func TestExclusiveLock(t *testing.T) {
	old := busyTimeout
	busyTimeout = 50 * time.Millisecond
	t.Cleanup(func() { busyTimeout = old })
	l := cursortest.NewLayout(t.TempDir())
	db, err := cursortest.Open(l.GlobalDB(), "delete")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.WriteComposer(conv("c1", 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t)
	start := time.Now()
	_, err = p.Expand(ctx, l.GlobalDB())
	if !isBusy(err) || time.Since(start) > 5*time.Second {
		t.Errorf("Expand under an exclusive lock: %v after %v", err, time.Since(start))
	}
	conn.ExecContext(ctx, "COMMIT")
	conn.Close()
	if docs, err := p.Expand(ctx, l.GlobalDB()); err != nil || len(docs) != 1 {
		t.Errorf("after the lock: %v, %v", docs, err)
	}
}

// TestConcurrentReads lists and reads from several goroutines while the
// agent writes (run with -race).
func TestConcurrentReads(t *testing.T) {
	l, db := fixtureDB(t)
	for i := range 20 {
		db.WriteComposer(conv(fmt.Sprintf("c%02d", i), 2, 1, 1))
	}
	p := newProvider(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 30; i++ {
				docs, err := p.Expand(ctx, l.GlobalDB())
				if err != nil {
					errs <- err
					return
				}
				for _, d := range docs[w%2:] {
					data, err := p.ReadDoc(ctx, d.Path)
					if err != nil && !errors.Is(err, fs.ErrNotExist) {
						errs <- err
						return
					}
					var delta session.Delta
					if err == nil {
						if err := (&Parser{}).Document(data, &delta); err != nil {
							errs <- err
							return
						}
					}
				}
			}
		}()
	}
	for i := range 50 {
		if err := db.WriteComposer(conv(fmt.Sprintf("c%02d", i%25), 1+i%3, 1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReaderCreatesNothing: with the agent's databases closed (no -wal or
// -shm file), reading them creates no file.
func TestReaderCreatesNothing(t *testing.T) {
	l, db := fixtureDB(t)
	if err := db.WriteComposer(conv("c1", 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := cursortest.Workspace(l.User, "ws1", filepath.Join(l.Code, "shop"), []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(l.User, "workspaceStorage", "ws1", "state.vscdb")
	p := newProvider(t)
	ctx := context.Background()
	for _, path := range []string{l.GlobalDB(), ws} {
		docs, err := p.Expand(ctx, path)
		if err != nil || len(docs) != 1 {
			t.Fatalf("Expand(%s): %v, %v", path, docs, err)
		}
		if _, err := p.ReadDoc(ctx, docs[0].Path); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{l.GlobalDB(), ws} {
		for _, s := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(path + s); err == nil {
				t.Errorf("%s%s created", path, s)
			}
		}
	}
}
