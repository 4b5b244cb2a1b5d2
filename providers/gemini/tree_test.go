package gemini

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/gemini/geminitest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle))
}

// geminiHome is a temporary Gemini CLI home with one registered project,
// /home/dev/shop (slug "shop").
type geminiHome struct {
	t    *testing.T
	dir  string // GEMINI_CLI_HOME
	root string // dir/.gemini/tmp
}

const shopCWD = "/home/dev/shop"

func newHome(t *testing.T) *geminiHome {
	t.Helper()
	h := &geminiHome{t: t, dir: t.TempDir()}
	h.root = filepath.Join(h.dir, ".gemini", "tmp")
	write(t, filepath.Join(h.dir, ".gemini", "projects.json"), `{"projects":{"/home/dev/shop":"shop"}}`)
	write(t, filepath.Join(h.root, "shop", ".project_root"), shopCWD)
	return h
}

// tree starts the real actor tree with the Gemini provider over the home.
func (h *geminiHome) tree() *supervisiontest.Env {
	h.t.Helper()
	p := New()
	roots := p.Roots(providers.Env{Home: "/nonexistent", Getenv: env("GEMINI_CLI_HOME", h.dir)})
	return supervisiontest.New(h.t, p, roots...)
}

func (h *geminiHome) chats(rel string) string {
	return filepath.Join(h.root, "shop", "chats", filepath.FromSlash(rel))
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

var base = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func at(sec int) string {
	return base.Add(time.Duration(sec) * time.Second).Format("2006-01-02T15:04:05.000Z")
}

func metaLine(sid string, sec int) string {
	return fmt.Sprintf(`{"sessionId":%q,"projectHash":%q,"startTime":%q,"lastUpdated":%q}`, sid, sha256Hex(shopCWD), at(sec), at(sec))
}

func userLine(id string, sec int) string {
	return fmt.Sprintf(`{"id":%q,"timestamp":%q,"type":"user","content":[{"text":"do it"}]}`, id, at(sec))
}

// geminiLine renders a response; in < 0 writes tokens null.
func geminiLine(id string, sec int, model string, in, cached, out int, statuses ...string) string {
	calls := make([]string, len(statuses))
	for i, s := range statuses {
		calls[i] = fmt.Sprintf(`{"id":"c%d","name":"read_file","args":{},"status":%q}`, i, s)
	}
	tok := "null"
	if in >= 0 {
		tok = fmt.Sprintf(`{"input":%d,"output":%d,"cached":%d,"thoughts":0,"tool":0,"total":%d}`, in, out, cached, in+out)
	}
	return fmt.Sprintf(`{"id":%q,"timestamp":%q,"type":"gemini","content":"ok","model":%q,"toolCalls":[%s],"tokens":%s}`,
		id, at(sec), model, strings.Join(calls, ","), tok)
}

func setLine(sec int) string { return fmt.Sprintf(`{"$set":{"lastUpdated":%q}}`, at(sec)) }

// fileStats sums the records and malformed lines of a session's files.
func fileStats(e *supervisiontest.Env, id session.ID) (records, malformed int64) {
	files, err := e.Store.SessionFiles(session.Key{Provider: session.GeminiCode, ID: id})
	if err != nil {
		e.T.Fatal(err)
	}
	for _, f := range files {
		records += f.Contribution.Records
		malformed += f.Contribution.Malformed
	}
	return records, malformed
}

// TestTreeJSONL follows a live JSONL conversation through the real tree:
// re-appends, a half-written line, a rewind, a checkpoint, a malformed
// record, and a restart.
func TestTreeJSONL(t *testing.T) {
	h := newHome(t)
	e := h.tree()
	const sid = "11111111-0000-4000-8000-000000000001"
	path := h.chats("session-2026-05-01T09-00-11111111.jsonl")
	appendLines(t, path, metaLine(sid, 0), userLine("u1", 1), setLine(1), geminiLine("g1", 2, "gemini-2.5-pro", -1, 0, 0, "executing"))
	r := e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 1 })
	if r.UserMessages != 1 || r.ToolCalls != 1 || !r.Tokens.IsZero() || r.CWD != shopCWD || r.Project != "shop" {
		t.Fatalf("first read: %+v", r)
	}

	// the response re-appended with tokens and its call finished (failed)
	appendLines(t, path, geminiLine("g1", 2, "gemini-2.5-pro", 1000, 400, 50, "error"), setLine(3))
	r = e.WaitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 600 })
	if r.AssistantMessages != 1 || r.ToolCalls != 1 || r.ToolErrors != 1 || r.Tokens.CacheRead != 400 || r.Tokens.Output != 50 {
		t.Fatalf("after re-append: %+v", r)
	}

	// a half-written line waits for its end
	line := geminiLine("g2", 4, "gemini-2.5-flash", 300, 0, 30)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line[:len(line)/2]); err != nil {
		t.Fatal(err)
	}
	e.Idle()
	if r, _ := e.Session(sid); r.AssistantMessages != 1 {
		t.Fatalf("half line counted: %+v", r)
	}
	if _, err := f.WriteString(line[len(line)/2:] + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r = e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 2 })
	if r.Tokens.Input != 900 || r.Tokens.Output != 80 || !slices.Equal(r.Models, []string{"gemini-2.5-flash", "gemini-2.5-pro"}) {
		t.Fatalf("after g2: %+v", r)
	}

	// rewind to g2: its counts go; its spend stays (issue 6)
	appendLines(t, path, `{"$rewindTo":"g2"}`)
	r = e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 1 })
	if r.Tokens.Input != 900 || r.Tokens.Output != 80 || r.UserMessages != 1 {
		t.Fatalf("after rewind: %+v", r)
	}

	// a checkpoint replaces everything: a summary prompt and g1 without
	// calls (g1 revised: 400 input; g2's 300 kept)
	appendLines(t, path, `{"$set":{"messages":[`+userLine("s1", 10)+`,`+geminiLine("g1", 2, "gemini-2.5-pro", 800, 400, 50)+`],"lastUpdated":"`+at(10)+`"}}`,
		`{"id":"x","type":"gemini",`, // malformed
		userLine("u2", 11))
	r = e.WaitSession(sid, func(r session.Record) bool { return r.UserMessages == 2 })
	if r.AssistantMessages != 1 || r.ToolCalls != 0 || r.ToolErrors != 0 || r.Tokens.Input != 700 ||
		!r.StartedAt.Equal(base) || !r.EndedAt.Equal(base.Add(11*time.Second)) {
		t.Fatalf("after checkpoint: %+v", r)
	}
	records, malformed := fileStats(e, sid)
	if records != 10 || malformed != 1 {
		t.Fatalf("records %d, malformed %d", records, malformed)
	}

	// a restart gives the same record, then continues from the saved state
	e.Idle()
	before, _ := e.Session(sid)
	e.Restart()
	e.Idle()
	after, _ := e.Session(sid)
	if !sameRecord(before, after) || after.Version != before.Version {
		t.Fatalf("restart changed the record:\nbefore %+v\nafter  %+v", before, after)
	}
	appendLines(t, path, geminiLine("g1", 2, "gemini-2.5-pro", 500, 400, 50))
	r = e.WaitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 400 }) // g1 revised to 100, g2's 300 kept
	if r.AssistantMessages != 1 || r.UserMessages != 2 {
		t.Fatalf("after restart and re-append: %+v", r)
	}
}

// sameRecord compares the fields a session's files determine.
func sameRecord(a, b session.Record) bool {
	return a.Counts == b.Counts && a.Tokens == b.Tokens && slices.Equal(a.Models, b.Models) && a.CWD == b.CWD &&
		a.Project == b.Project && a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) &&
		a.Files == b.Files && a.Subagents == b.Subagents
}

// legacyDoc renders a legacy document with n exchanges, pretty-printed.
func legacyDoc(t *testing.T, sid string, n int) []byte {
	t.Helper()
	doc := struct {
		SessionID   string            `json:"sessionId"`
		ProjectHash string            `json:"projectHash"`
		StartTime   string            `json:"startTime"`
		LastUpdated string            `json:"lastUpdated"`
		Messages    []json.RawMessage `json:"messages"`
	}{sid, sha256Hex(shopCWD), at(0), at(2 * n), nil}
	for i := range n {
		doc.Messages = append(doc.Messages, json.RawMessage(userLine(fmt.Sprintf("u%d", i), 2*i+1)),
			json.RawMessage(geminiLine(fmt.Sprintf("g%d", i), 2*i+2, "gemini-2.5-pro", 100, 10, 5, "success")))
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTreeLegacyRewrite: a legacy document rewritten in place replaces its
// contribution; a half-written one changes nothing.
func TestTreeLegacyRewrite(t *testing.T) {
	h := newHome(t)
	e := h.tree()
	const sid = "22222222-0000-4000-8000-000000000002"
	path := h.chats("session-2026-05-01T09-00-22222222.json")
	write(t, path, string(legacyDoc(t, sid, 1)))
	r := e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 1 })
	if r.UserMessages != 1 || r.Tokens.Input != 90 || r.ToolCalls != 1 || r.CWD != shopCWD {
		t.Fatalf("first read: %+v", r)
	}
	before := stat(t, path)
	// rewritten in place (same inode, as fs.writeFileSync does)
	write(t, path, string(legacyDoc(t, sid, 3)))
	r = e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 3 })
	if r.UserMessages != 3 || r.Tokens.Input != 270 || r.Tokens.CacheRead != 30 || r.Files != 1 || !os.SameFile(before, stat(t, path)) {
		t.Fatalf("after rewrite: %+v", r)
	}
	// caught half written: nothing changes until it is whole again
	doc := legacyDoc(t, sid, 4)
	write(t, path, string(doc[:len(doc)/2]))
	e.Idle()
	if r, _ := e.Session(sid); r.AssistantMessages != 3 {
		t.Fatalf("half-written document counted: %+v", r)
	}
	write(t, path, string(doc))
	r = e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 4 })
	if r.Tokens.Input != 360 || r.Files != 1 {
		t.Fatalf("after the whole document: %+v", r)
	}
	// a shorter rewrite lowers the counts; spend once counted stays
	// counted (issue 6)
	write(t, path, string(legacyDoc(t, sid, 2)))
	e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 2 && r.Tokens.Input == 360 })
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTreeRenameReplace: a JSONL file replaced by rename (new inode) is
// read again from its start and replaces what it contributed.
func TestTreeRenameReplace(t *testing.T) {
	h := newHome(t)
	e := h.tree()
	const sid = "33333333-0000-4000-8000-000000000003"
	path := h.chats("session-2026-05-01T09-00-33333333.jsonl")
	appendLines(t, path, metaLine(sid, 0), userLine("u1", 1), geminiLine("g1", 2, "gemini-2.5-pro", 1000, 0, 10),
		userLine("u2", 3), geminiLine("g2", 4, "gemini-2.5-pro", 2000, 0, 20))
	e.WaitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 3000 })
	tmp := path + ".tmp"
	appendLines(t, tmp, metaLine(sid, 0), userLine("u1", 1), geminiLine("g1", 2, "gemini-2.5-pro", 700, 0, 7))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	// counts follow the file; spend is kept (issue 6): without a
	// per-response identity for direct usage the store keeps the
	// field-wise decrease, so g1's lower copy does not lower the total
	r := e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 1 })
	if r.UserMessages != 1 || r.Tokens.Input != 3000 || r.Tokens.Output != 30 || r.Files != 1 {
		t.Fatalf("after replace: %+v", r)
	}
	if records, _ := fileStats(e, sid); records != 3 {
		t.Fatalf("records = %d, want 3 (replaced, not added)", records)
	}
	// truncated in place to a shorter content: read again from the start
	write(t, path, metaLine(sid, 0)+"\n"+userLine("u1", 1)+"\n")
	r = e.WaitSession(sid, func(r session.Record) bool { return r.AssistantMessages == 0 && r.UserMessages == 1 })
	if r.Tokens.Input != 3000 || r.Files != 1 {
		t.Fatalf("after truncation: tokens %+v, files %d", r.Tokens, r.Files)
	}
}

// TestTreeSubagentsAndCopies: sub-agent files roll up into the parent;
// superseded copies (a converted legacy file, a migrated hash directory)
// count once; files that are not sessions are ignored.
func TestTreeSubagentsAndCopies(t *testing.T) {
	h := newHome(t)
	const sid = "44444444-0000-4000-8000-000000000004"
	appendLines(t, h.chats("session-2026-05-01T09-00-44444444.jsonl"), metaLine(sid, 0), userLine("u1", 1), geminiLine("g1", 2, "gemini-2.5-pro", 100, 0, 1))
	for i, child := range []string{"aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"} {
		appendLines(t, h.chats(sid+"/"+child+".jsonl"),
			fmt.Sprintf(`{"sessionId":%q,"projectHash":%q,"kind":"subagent","directories":[%q]}`, child, sha256Hex(shopCWD), shopCWD),
			userLine("t", 5+i), geminiLine("s", 6+i, "gemini-2.5-flash", 10, 0, 1, "success"))
	}
	// a legacy session resumed: .json and its converted .jsonl
	const legacy = "55555555-0000-4000-8000-000000000005"
	write(t, h.chats("session-2026-04-01T09-00-55555555.json"), string(legacyDoc(t, legacy, 2)))
	conv := []string{metaLine(legacy, 0)}
	for i := range 2 {
		conv = append(conv, userLine(fmt.Sprintf("u%d", i), 2*i+1), geminiLine(fmt.Sprintf("g%d", i), 2*i+2, "gemini-2.5-pro", 100, 10, 5, "success"))
	}
	conv = append(conv, fmt.Sprintf(`{"$set":{"sessionId":%q}}`, legacy), userLine("u9", 20))
	appendLines(t, h.chats("session-2026-04-01T09-00-55555555.jsonl"), conv...)
	// a hash directory copied to its slug directory
	const old = "66666666-0000-4000-8000-000000000006"
	hashCopy := filepath.Join(h.root, sha256Hex(shopCWD), "chats", "session-2026-03-01T09-00-66666666.json")
	write(t, hashCopy, string(legacyDoc(t, old, 1)))
	write(t, h.chats("session-2026-03-01T09-00-66666666.json"), string(legacyDoc(t, old, 1)))
	// not sessions
	write(t, filepath.Join(h.root, "shop", "logs.json"), `[{"sessionId":"`+sid+`","messageId":0,"type":"user","message":"x"}]`)
	write(t, filepath.Join(h.root, "shop", "checkpoint-a.json"), `[]`)

	e := h.tree()
	r := e.WaitSession(sid, func(r session.Record) bool { return r.Files == 3 })
	if r.Subagents != 2 || r.UserMessages != 3 || r.AssistantMessages != 3 || r.ToolCalls != 2 || r.Tokens.Input != 120 ||
		!slices.Equal(r.Models, []string{"gemini-2.5-flash", "gemini-2.5-pro"}) || r.CWD != shopCWD {
		t.Fatalf("with sub-agents: %+v", r)
	}
	r = e.WaitSession(legacy, func(r session.Record) bool { return r.UserMessages == 3 })
	e.Idle()
	r, _ = e.Session(legacy)
	if r.Files != 1 || r.AssistantMessages != 2 || r.Tokens.Input != 180 {
		t.Fatalf("converted legacy session: %+v", r)
	}
	r, _ = e.Session(old)
	if r.Files != 1 || r.AssistantMessages != 1 || r.Tokens.Input != 90 {
		t.Fatalf("migrated session: %+v", r)
	}
	if n := len(e.Sessions()); n != 3 {
		t.Fatalf("%d sessions, want 3: %v", n, e.Sessions())
	}
}

// TestTreeMatchesReference runs the tree over a generated home, stopping
// it in the middle of the first scan (small chunks, so files commit in
// many steps with their parser state), restarting it, then appending to
// live files: every time, the store must equal the reference exactly.
func TestTreeMatchesReference(t *testing.T) {
	h := newHome(t)
	if _, err := geminitest.Generate(h.dir, geminitest.Options{TotalBytes: 2 << 20, Seed: 11, RewindFraction: 0.5, CheckpointFraction: 0.4, MalformedFraction: 0.01}); err != nil {
		t.Fatal(err)
	}
	e := h.tree()
	e.Stop()
	e.ChunkBytes = 16 << 10
	e.Start()
	// stop once part of the home is stored (any part will do)
	supervisiontest.Eventually(t, "a first session", func() (bool, string) { return len(e.Sessions()) > 0, "none" })
	e.Restart()
	e.Idle()
	checkReference(t, e, h.dir)

	// more activity on some JSONL files: re-appends with other tokens,
	// rewinds, checkpoints, new prompts
	files, _ := filepath.Glob(filepath.Join(h.root, "*", "chats", "session-*.jsonl"))
	for i, path := range files {
		if i%3 != 0 {
			continue
		}
		appendLines(t, path, geminiLine("late-g", 9000, "gemini-2.5-pro", 5000, 1000, 100, "success", "error"),
			userLine("late-u", 9001),
			geminiLine("late-g", 9000, "gemini-2.5-pro", 4000, 1000, 100, "success"),
			`{"$rewindTo":"late-u"}`,
			`{"$set":{"messages":[`+userLine("late-s", 9002)+`]}}`,
			userLine("late-v", 9003))
	}
	// Idle is no sync point for appends (their events may not have
	// arrived): wait for the store to match
	checkReference(t, e, h.dir)
	e.Restart()
	e.Idle()
	checkReference(t, e, h.dir)
}

// checkReference waits until every stored session equals what
// geminitest.Count makes of the home, and reports the differences if that
// does not happen.
func checkReference(t *testing.T, e *supervisiontest.Env, home string) {
	t.Helper()
	want, err := geminitest.Count(home)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() map[session.Key]geminitest.Expected {
		got := map[session.Key]geminitest.Expected{}
		for id, r := range e.Sessions() {
			x := geminitest.Expected{Project: r.Project, CWD: r.CWD, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Counts: r.Counts,
				Subagents: r.Subagents, Files: r.Files, Models: r.Models, Tokens: r.Tokens}
			x.Records, x.Malformed = fileStats(e, id)
			got[session.Key{Provider: session.GeminiCode, ID: id}] = x
		}
		return got
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var c collector
		if providertest.Diff(&c, want, stored()); c.n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	providertest.Diff(t, want, stored())
}
