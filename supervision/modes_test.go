package supervision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
)

// docProvider is a test provider: "<id>.json" files are whole documents
// {"prompts":N,"input":N}; "db.box" is a container whose JSON object maps
// session ids to {"version":V,"prompts":N,"input":N}.
type docProvider struct{}

func (docProvider) ID() session.Provider         { return session.ClaudeCode }
func (docProvider) Roots(providers.Env) []string { return nil }
func (docProvider) Descend(string, string) bool  { return true }
func (docProvider) Resolve(string, []byte) (session.ID, error) {
	return "", providers.ErrUnresolved
}
func (docProvider) NewParser(session.FileRole) providers.Parser { return &docParser{} }
func (docProvider) Match(_, path string) (providers.Match, bool) {
	switch {
	case strings.HasSuffix(path, ".json"):
		return providers.Match{ID: session.ID(strings.TrimSuffix(filepath.Base(path), ".json")), Mode: session.ModeWhole}, true
	case strings.HasSuffix(path, "db.box"):
		return providers.Match{Container: true}, true
	}
	return providers.Match{}, false
}

type boxEntry struct {
	Version string `json:"version"`
	Prompts int64  `json:"prompts"`
	Input   int64  `json:"input"`
}

func readBox(path string) (map[string]boxEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]boxEntry
	return m, json.Unmarshal(b, &m)
}

func (docProvider) Expand(_ context.Context, path string) ([]providers.Doc, error) {
	m, err := readBox(path)
	if err != nil {
		return nil, err
	}
	var docs []providers.Doc
	for id, e := range m {
		docs = append(docs, providers.Doc{Path: path + "#" + id, ID: session.ID(id), Version: e.Version})
	}
	return docs, nil
}

// busyReads makes ReadDoc of "busy" sessions fail as temporary this many
// times; tornReads makes ReadDoc of "torn" sessions return a document that
// does not parse this many times.
var busyReads, tornReads atomic.Int32

func (docProvider) ReadDoc(_ context.Context, doc string) ([]byte, error) {
	path, id, _ := strings.Cut(doc, "#")
	if id == "torn" && tornReads.Add(-1) >= 0 {
		return []byte(`{"prompts":1,"inp`), nil
	}
	if id == "busy" && busyReads.Add(-1) >= 0 {
		return nil, fmt.Errorf("database is locked: %w", providers.ErrTemporary)
	}
	m, err := readBox(path)
	if err != nil {
		return nil, err
	}
	e, ok := m[id]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return json.Marshal(e)
}

type docParser struct{}

func (p *docParser) Line([]byte, *session.Delta) {}
func (p *docParser) State() []byte               { return nil }
func (p *docParser) Restore([]byte) error        { return nil }
func (p *docParser) Document(data []byte, d *session.Delta) error {
	var e boxEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return fmt.Errorf("not a document yet: %w", err)
	}
	d.UserMessages, d.Usage.Input, d.Records = e.Prompts, e.Input, 1
	d.Observe(time.Now())
	return nil
}

func TestWholeDocumentsAreReplaced(t *testing.T) {
	e := newEnv(t, docProvider{})
	p := filepath.Join(e.root, "w1.json")
	if err := os.WriteFile(p, []byte(`{"prompts":2,"input":10}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitSession("w1", func(r session.Record) bool { return r.Tokens.Input == 10 && r.UserMessages == 2 })
	// rewritten in place, longer: replaced, not added
	if err := os.WriteFile(p, []byte(`{"prompts":3,"input":25}     `), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitSession("w1", func(r session.Record) bool { return r.Tokens.Input == 25 && r.UserMessages == 3 })
	// half written: nothing changes until it parses again
	if err := os.WriteFile(p, []byte(`{"prompts":9,"inp`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.idle()
	if r := e.waitSession("w1", func(session.Record) bool { return true }); r.Tokens.Input != 25 {
		t.Fatalf("half-written document counted: %+v", r.Tokens)
	}
	if err := os.WriteFile(p, []byte(`{"prompts":4,"input":30}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitSession("w1", func(r session.Record) bool { return r.Tokens.Input == 30 && r.UserMessages == 4 && r.Files == 1 })
}

func TestContainerSessionsAreReadByVersion(t *testing.T) {
	e := newEnv(t, docProvider{})
	box := filepath.Join(e.root, "db.box")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(box, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"a":{"version":"1","prompts":1,"input":5},"b":{"version":"1","prompts":1,"input":7}}`)
	e.waitSession("a", func(r session.Record) bool { return r.Tokens.Input == 5 })
	e.waitSession("b", func(r session.Record) bool { return r.Tokens.Input == 7 })
	// b changes (new version); a's content changes without a new version: not re-read
	write(`{"a":{"version":"1","prompts":1,"input":999},"b":{"version":"2","prompts":2,"input":9}}`)
	e.waitSession("b", func(r session.Record) bool { return r.Tokens.Input == 9 && r.UserMessages == 2 })
	e.idle()
	if r := e.waitSession("a", func(session.Record) bool { return true }); r.Tokens.Input != 5 {
		t.Fatalf("unchanged version re-read: %+v", r.Tokens)
	}
	// after a restart, known versions are not read again either
	e.stop()
	write(`{"a":{"version":"1","prompts":1,"input":999},"b":{"version":"2","prompts":2,"input":9},"c":{"version":"1","prompts":1,"input":1}}`)
	e.start()
	e.waitSession("c", func(r session.Record) bool { return r.Tokens.Input == 1 })
	e.idle()
	if r := e.waitSession("a", func(session.Record) bool { return true }); r.Tokens.Input != 5 || r.Version != 1 {
		t.Fatalf("a re-read after restart: %+v", r)
	}
}

func TestMovedFileIsNotCountedTwice(t *testing.T) {
	e := newEnv(t, claudecode.New())
	sid := "88888888-0000-4000-8000-000000000001"
	appendFile(t, e.path(sid), prompt(sid, 1, "a")+reply(sid, 2, 10, 1))
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 10 })
	moved := filepath.Join(e.root, "-archive", sid+".jsonl")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path(sid), moved); err != nil {
		t.Fatal(err)
	}
	appendFile(t, moved, reply(sid, 3, 5, 1))
	r := e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 15 })
	e.idle()
	r = e.waitSession(sid, func(session.Record) bool { return true })
	if r.Tokens.Input != 15 || r.Files != 1 || r.UserMessages != 1 {
		t.Fatalf("after move: %+v", r)
	}
	files, _ := e.store.SessionFiles(session.Key{Provider: session.ClaudeCode, ID: session.ID(sid)})
	if len(files) != 1 || files[0].Path != moved {
		t.Fatalf("checkpoints: %+v", files)
	}
}

func TestTemporaryReadErrorsAreRetried(t *testing.T) {
	busyReads.Store(2)
	e := newEnv(t, docProvider{})
	if err := os.WriteFile(filepath.Join(e.root, "db.box"), []byte(`{"busy":{"version":"1","prompts":1,"input":3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Waiting for the session, not for idle: idle may answer before the
	// watcher has seen the new file at all (that made this test flaky).
	r := e.waitSession("busy", func(r session.Record) bool { return r.Tokens.Input == 3 })
	if r.Status == session.StatusFailed || busyReads.Load() >= 0 {
		t.Fatalf("busy session: %+v (busy reads left %d)", r, busyReads.Load())
	}
}

func TestUnreadableVirtualDocIsAnnouncedAgain(t *testing.T) {
	tornReads.Store(1)
	e := newEnv(t, docProvider{})
	box := filepath.Join(e.root, "db.box")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(box, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"torn":{"version":"1","prompts":1,"input":3},"x":{"version":"1","prompts":1,"input":1}}`)
	e.waitSession("x", func(r session.Record) bool { return r.Tokens.Input == 1 })
	e.idle()
	// the database changes again (another session); torn's version is the
	// same, but it was never committed: it must be read now
	write(`{"torn":{"version":"1","prompts":1,"input":3},"x":{"version":"2","prompts":1,"input":2}}`)
	e.waitSession("x", func(r session.Record) bool { return r.Tokens.Input == 2 })
	e.waitSession("torn", func(r session.Record) bool { return r.Tokens.Input == 3 })
}
