package cursor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle))
}

// tree is the real actor tree over a temporary Cursor layout.
type tree struct {
	*supervisiontest.Env
	t    *testing.T
	l    cursortest.Layout
	db   *cursortest.DB
	prov *Provider
}

func newTree(t *testing.T) *tree {
	t.Helper()
	l := cursortest.NewLayout(t.TempDir())
	for _, d := range []string{l.Projects, l.Code} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	db, err := cursortest.Open(l.GlobalDB(), "wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	prov := New()
	t.Cleanup(func() { prov.Close() })
	e := supervisiontest.New(t, prov, l.Roots()...)
	return &tree{Env: e, t: t, l: l, db: db, prov: prov}
}

func (e *tree) write(c cursortest.Composer) {
	e.t.Helper()
	if err := e.db.WriteComposer(c); err != nil {
		e.t.Fatal(err)
	}
}

func (e *tree) wait(id string, cond func(r session.Record) bool) session.Record {
	e.t.Helper()
	return e.WaitSession(session.ID(id), cond)
}

// settled waits until the tree has read everything and returns the
// sessions.
func (e *tree) settled() map[session.ID]session.Record {
	e.t.Helper()
	e.Idle()
	return e.Sessions()
}

var base = time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)

// conv is a composer with turns of (prompt, tool call, answer); tokens on
// the answers when in > 0.
func conv(id string, turns int, in, out int64) cursortest.Composer {
	c := cursortest.Composer{ID: id, Created: base, Model: "claude-4.5-sonnet"}
	t := base
	for i := range turns {
		t = t.Add(time.Minute)
		c.Bubbles = append(c.Bubbles,
			cursortest.Bubble{ID: fmt.Sprintf("%s-u%d", id, i), Type: 1, Text: "add a health endpoint", Created: t},
			cursortest.Bubble{ID: fmt.Sprintf("%s-t%d", id, i), Type: 2, Tool: "edit_file", ToolStatus: "completed", Created: t.Add(time.Second), Model: "claude-4.5-sonnet"},
			cursortest.Bubble{ID: fmt.Sprintf("%s-a%d", id, i), Type: 2, Text: "Added /health.", In: in, Out: out, Created: t.Add(2 * time.Second), Model: "claude-4.5-sonnet"},
		)
	}
	c.Updated = t.Add(3 * time.Second)
	return c
}

func TestTreeComposerLiveUpdates(t *testing.T) {
	e := newTree(t)
	c := conv("c1", 1, 100, 10)
	e.write(c)
	r := e.wait("c1", func(r session.Record) bool { return r.UserMessages == 1 })
	if r.AssistantMessages != 2 || r.ToolCalls != 1 || r.Tokens.Input != 100 || r.Tokens.Output != 10 || r.Files != 1 ||
		!slices.Equal(r.Models, []string{"claude-4.5-sonnet"}) || !r.StartedAt.Equal(base) || !r.EndedAt.Equal(c.Updated) || r.TokensUnknown {
		t.Fatalf("first read: %+v", r)
	}
	// the agent carries on: two more turns, one tool call failing
	c = conv("c1", 3, 100, 10)
	c.Bubbles[4].ToolStatus = "error"
	e.write(c)
	r = e.wait("c1", func(r session.Record) bool { return r.UserMessages == 3 })
	if r.AssistantMessages != 6 || r.ToolCalls != 3 || r.ToolErrors != 1 || r.Tokens.Input != 300 || r.Files != 1 || !r.EndedAt.Equal(c.Updated) {
		t.Fatalf("after update: %+v", r)
	}
	// an unrelated write (a draft in another composer) does not touch c1
	v := r.Version
	e.write(cursortest.Composer{ID: "draft", Created: base})
	e.write(conv("c2", 1, 0, 0))
	e.wait("c2", func(r session.Record) bool { return r.UserMessages == 1 && r.TokensUnknown })
	sessions := e.settled()
	if got := sessions["c1"].Version; got != v {
		t.Fatalf("c1 re-read without a change: version %d → %d", v, got)
	}
	if _, ok := sessions["draft"]; ok {
		t.Fatal("an empty composer became a session")
	}
	// the user edits an earlier message: the conversation is cut short;
	// its counts follow, the spend of the cut turns stays (issue 6)
	c = conv("c1", 1, 100, 10)
	c.Updated = c.Updated.Add(time.Hour)
	e.write(c)
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 1 && r.Tokens.Input == 300 && r.ToolErrors == 0 })
}

func TestTreeWorkspaceLink(t *testing.T) {
	e := newTree(t)
	e.write(conv("c1", 1, 1, 1))
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 1 && r.CWD == "" })
	folder := filepath.Join(e.l.Code, "shop")
	if err := cursortest.Workspace(e.l.User, "ws1", folder, []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	r := e.wait("c1", func(r session.Record) bool { return r.CWD == folder })
	if r.Project != "shop" || r.UserMessages != 1 {
		t.Fatalf("linked: %+v", r)
	}
	// newer builds: the global headers link a composer to its folder
	e.write(conv("c2", 1, 1, 1))
	other := filepath.Join(e.l.Code, "api")
	if err := e.db.Headers([]cursortest.HeaderLink{{Composer: "c2", Folder: other}}); err != nil {
		t.Fatal(err)
	}
	e.wait("c2", func(r session.Record) bool { return r.CWD == other && r.Project == "api" })
}

func TestTreeWriterHoldingTheLock(t *testing.T) {
	e := newTree(t)
	e.write(conv("c1", 1, 5, 5))
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 1 })
	// Cursor begins a write and holds it while it streams
	ctx := context.Background()
	commit, _, err := e.db.Hold(ctx, cursortest.ComposerKey("c2"), conv("c2", 2, 0, 0).JSON())
	if err != nil {
		t.Fatal(err)
	}
	committed := false
	defer func() {
		if !committed {
			commit()
		}
	}()
	// meanwhile a workspace changes: sessiond lists the database again,
	// without waiting for the writer and without seeing its rows
	start := time.Now()
	if err := cursortest.Workspace(e.l.User, "ws1", filepath.Join(e.l.Code, "shop"), []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	e.wait("c1", func(r session.Record) bool { return r.Project == "shop" })
	e.Idle()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("listing took %v while a writer held the lock", d)
	}
	if _, err := e.Session("c2"); err == nil {
		t.Fatal("uncommitted composer read")
	}
	committed = true
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	// headers without bubble rows: counted by their types
	e.wait("c2", func(r session.Record) bool {
		return r.UserMessages == 2 && r.AssistantMessages == 4 && r.ToolCalls == 0
	})
}

func TestTreeRestartIsExact(t *testing.T) {
	e := newTree(t)
	for i := range 5 {
		e.write(conv(fmt.Sprintf("c%d", i), i+1, int64(10*i), int64(i)))
	}
	writeTranscript(t, e.l, "t1", transcriptLines(2))
	for i := range 5 {
		e.wait(fmt.Sprintf("c%d", i), func(r session.Record) bool { return r.UserMessages == int64(i+1) })
	}
	e.wait("t1", func(r session.Record) bool { return r.UserMessages == 2 })
	before := e.settled()
	e.Restart()
	after := e.settled()
	if !sameRecords(before, after) {
		t.Fatalf("restart changed sessions:\nbefore %+v\nafter  %+v", before, after)
	}
	// changes made while sessiond is down are read at start, once
	e.Stop()
	e.write(conv("c0", 4, 1, 1))
	e.Start()
	r := e.wait("c0", func(r session.Record) bool { return r.UserMessages == 4 })
	if r.Tokens.Input != 4 {
		t.Fatalf("c0 after a change while down: %+v", r)
	}
	after = e.settled()
	delete(before, "c0")
	delete(after, "c0")
	if !sameRecords(before, after) {
		t.Fatal("unchanged sessions changed")
	}
}

// sameRecords compares sessions, ignoring status (the idle sweep).
func sameRecords(a, b map[session.ID]session.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for id, x := range a {
		y, ok := b[id]
		if !ok || x.Version != y.Version || x.Counts != y.Counts || x.Tokens != y.Tokens || x.Files != y.Files ||
			!x.StartedAt.Equal(y.StartedAt) || !x.EndedAt.Equal(y.EndedAt) || x.CWD != y.CWD || !slices.Equal(x.Models, y.Models) {
			return false
		}
	}
	return true
}

// transcriptLines is n turns of a transcript: a prompt, an assistant line
// with a tool call, its result, an answer and the turn marker.
func transcriptLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n%s\n",
			cursortest.TranscriptLine("user", fmt.Sprintf("question %d", i), 0, 0, 0),
			cursortest.TranscriptLine("assistant", "let me look", 1, 0, 0),
			cursortest.TranscriptLine("user", "", 0, 1, 0),
			cursortest.TranscriptLine("assistant", "done", 0, 0, 0),
			cursortest.TurnEnded)
	}
	return b.String()
}

// transcriptPath is the directory-layout transcript of id in the project
// code/shop.
func transcriptPath(l cursortest.Layout, id string) string {
	return filepath.Join(l.TranscriptDir(filepath.Join(l.Code, "shop")), id, id+".jsonl")
}

func writeTranscript(t *testing.T, l cursortest.Layout, id, content string) string {
	t.Helper()
	path := transcriptPath(l, id)
	if err := os.MkdirAll(filepath.Join(l.Code, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTreeTranscripts(t *testing.T) {
	e := newTree(t)
	shop := filepath.Join(e.l.Code, "shop")
	// a conversation known only from its transcript
	path := writeTranscript(t, e.l, "t1", transcriptLines(1))
	r := e.wait("t1", func(r session.Record) bool { return r.UserMessages == 1 })
	if r.AssistantMessages != 2 || r.ToolCalls != 1 || r.CWD != shop || r.Project != "shop" || !r.TokensUnknown ||
		r.EndedAt.IsZero() || r.Files != 1 {
		t.Fatalf("transcript: %+v", r)
	}
	// the next turn is appended, half a line first
	appendFile(t, path, `{"role":"user","message":{"content":[{"type":"text","te`)
	e.Idle()
	appendFile(t, path, `xt":"next"}]}}`+"\n"+string(cursortest.TranscriptLine("assistant", "", 2, 0, 0))+"\n"+
		string(cursortest.TranscriptLine("user", "", 0, 2, 1))+"\nnot json\n")
	r = e.wait("t1", func(r session.Record) bool { return r.UserMessages == 2 && r.ToolCalls == 3 })
	if r.ToolErrors != 1 || r.AssistantMessages != 3 {
		t.Fatalf("after append: %+v", r)
	}
	// a subagent's transcript rolls up into its parent
	sub := filepath.Join(filepath.Dir(path), "subagents", "s1.jsonl")
	if err := os.MkdirAll(filepath.Dir(sub), 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, sub, transcriptLines(1))
	r = e.wait("t1", func(r session.Record) bool { return r.Subagents == 1 })
	if r.UserMessages != 3 || r.Files != 2 {
		t.Fatalf("with subagent: %+v", r)
	}
	// rewritten shorter: replaced, not added
	if err := os.WriteFile(path, []byte(transcriptLines(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.wait("t1", func(r session.Record) bool { return r.UserMessages == 2 && r.ToolCalls == 2 && r.ToolErrors == 0 })

	// a conversation of the database with its transcript: counted once,
	// from the database; the transcript adds no messages
	c := conv("c1", 2, 7, 1)
	e.write(c)
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 2 })
	writeTranscript(t, e.l, "c1", transcriptLines(2))
	r = e.wait("c1", func(r session.Record) bool { return r.Files == 2 })
	if r.UserMessages != 2 || r.AssistantMessages != 4 || r.ToolCalls != 2 || r.Tokens.Input != 14 || !r.EndedAt.Equal(c.Updated) ||
		r.CWD != shop { // no workspace link: the transcript's project names the folder
		t.Fatalf("composer with transcript: %+v", r)
	}
}

func TestTreeMalformed(t *testing.T) {
	e := newTree(t)
	c := conv("c1", 2, 1, 1)
	c.Bubbles[2].Raw = []byte(`{"_v":3,"type":2,"text":"cut sh`) // damaged value
	e.write(c)
	r := e.wait("c1", func(r session.Record) bool { return r.UserMessages == 2 })
	// the damaged bubble is skipped (its tokens too) but its header still
	// says an assistant message exists
	if r.AssistantMessages != 4 || r.Tokens.Input != 1 {
		t.Fatalf("damaged bubble: %+v", r)
	}
	if err := e.db.PutKV(cursortest.ComposerKey("c2"), []byte(`{"composerId":"c2","fullConversationHeadersOnly":[{"bubbleId":"x","type":1}`)); err != nil {
		t.Fatal(err)
	}
	supervisiontest.Eventually(t, "parse errors counted", func() (bool, string) {
		got := supervisionParseErrors(e)
		return got == 2, fmt.Sprintf("parse errors = %v, want 2", got)
	})
	// a damaged composer holds no dated record: no session (issue 6)
	if r, ok := e.settled()["c2"]; ok {
		t.Fatalf("damaged composer became a session: %+v", r)
	}
}

func TestTreeCorpusMatchesReference(t *testing.T) {
	l := cursortest.NewLayout(t.TempDir())
	sum, err := cursortest.Generate(l.Root, cursortest.Options{TotalBytes: 3 << 20, Seed: 7, DamagedFraction: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	want, err := cursortest.Count(sum.Layout)
	if err != nil {
		t.Fatal(err)
	}
	prov := New()
	t.Cleanup(func() { prov.Close() })
	e := supervisiontest.New(t, prov, sum.Roots()...)
	e.Idle()
	got := map[string]cursortest.Expected{}
	for id, r := range e.Sessions() {
		got[string(id)] = cursortest.Expected{Counts: r.Counts, Tokens: r.Tokens, Models: r.Models, CWD: r.CWD,
			StartedAt: r.StartedAt, EndedAt: r.EndedAt, Files: r.Files, Subagents: r.Subagents, TokensUnknown: r.TokensUnknown}
	}
	for id, w := range want {
		w.Records, w.Malformed = 0, 0
		want[id] = w
	}
	diffSessions(t, want, got)
}

// supervisionParseErrors reads the parse-error counter of the provider.
func supervisionParseErrors(e *tree) float64 {
	return testutil.ToFloat64(e.Metrics.ParseErrorsTotal.WithLabelValues(string(session.Cursor)))
}

// TestTreeDeletedChat: a chat deleted in Cursor keeps what it counted, and
// its transcript, left behind, does not count it again — not even after a
// restart.
func TestTreeDeletedChat(t *testing.T) {
	e := newTree(t)
	e.write(conv("c1", 2, 5, 1))
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 2 })
	writeTranscript(t, e.l, "c1", transcriptLines(2))
	e.wait("c1", func(r session.Record) bool { return r.Files == 2 })
	before := e.settled()["c1"]
	for _, k := range []string{cursortest.ComposerKey("c1"), cursortest.BubbleKey("c1", "c1-u0")} {
		if err := e.db.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	e.Idle()
	e.Restart()
	after := e.settled()["c1"]
	if after.Counts != before.Counts || after.Tokens != before.Tokens || after.Version != before.Version {
		t.Fatalf("deleted chat changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestTreeTranscriptDatedByFile: a transcript carries no time; a
// conversation known only from it is dated by the file (its modification
// time, its birth time when that is earlier), so one last written days ago
// is completed at once (the passivation rule), not active since the scan.
func TestTreeTranscriptDatedByFile(t *testing.T) {
	e := newTree(t)
	body, err := os.ReadFile(filepath.Join("testdata", "transcript_tools.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := transcriptPath(e.l, "t2")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(e.l.Code, "shop"), 0o755)
	// written aside, dated, then moved in: the watcher sees it once, old
	tmp := filepath.Join(e.l.Root, "t2.tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	r := e.wait("t2", func(r session.Record) bool { return r.UserMessages == 1 && r.Status == session.StatusCompleted })
	if !r.StartedAt.Equal(mtime) || !r.EndedAt.Equal(mtime) || r.AssistantMessages != 5 || r.ToolCalls != 5 ||
		r.CWD != filepath.Join(e.l.Code, "shop") || !r.TokensUnknown {
		t.Fatalf("transcript: %+v (mtime %v)", r, mtime)
	}
}
