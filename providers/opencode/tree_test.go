package opencode

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle))
}

// treeEnv runs the real actor tree over one OpenCode data directory.
type treeEnv struct {
	*supervisiontest.Env
	t       *testing.T
	dataDir string
}

func newTreeEnv(t *testing.T, dataDir string) *treeEnv {
	t.Helper()
	p := New()
	t.Cleanup(func() { p.Close() }) // after the tree stopped (cleanups run last first)
	return &treeEnv{Env: supervisiontest.New(t, p, dataDir), t: t, dataDir: dataDir}
}

// restart stops the tree and starts it again with a new provider, as a
// restart of the daemon does.
func (e *treeEnv) restart() {
	e.Stop()
	e.Prov.(*Provider).Close()
	p := New()
	e.t.Cleanup(func() { p.Close() })
	e.Prov = p
	e.Start()
}

func (e *treeEnv) wait(id string, cond func(r session.Record) bool) session.Record {
	e.t.Helper()
	return e.WaitSession(session.ID(id), cond)
}

func now() int64 { return time.Now().Add(-time.Minute).UnixMilli() }

// TestTreeLive: the agent writes while sessiond runs: new messages, a tool
// part updated in place, an assistant message whose tokens are filled in
// at the end of its step; each updates the session, never twice.
func TestTreeLive(t *testing.T) {
	dir := t.TempDir()
	base := now()
	w := newDB(t, dir, "opencode.db", "ses_live")
	turnAt(t, w, "ses_live", 1, base, 10, 1, "completed")
	e := newTreeEnv(t, dir)
	e.wait("ses_live", func(r session.Record) bool { return r.UserMessages == 1 && r.Tokens.Input == 10 })

	turnAt(t, w, "ses_live", 2, base, 20, 2, "running")
	e.wait("ses_live", func(r session.Record) bool { return r.UserMessages == 2 && r.Tokens.Input == 30 && r.ToolCalls == 2 })

	// the running tool fails: the part row is updated in place
	must(t, w.Part(opencodetest.Part{ID: "prt_ses_live_0002", MessageID: "msg_ses_live_0002a", SessionID: "ses_live", Created: base, Updated: time.Now().UnixMilli(), Data: toolData("error")}))
	e.wait("ses_live", func(r session.Record) bool { return r.ToolErrors == 1 })

	// the step ends: the assistant message gets its final tokens
	at := base + 20_001
	must(t, w.Message(opencodetest.Message{ID: "msg_ses_live_0002a", SessionID: "ses_live", Created: at, Updated: time.Now().UnixMilli(), Data: assistantData(at, "gpt-5", 500, 7)}))
	r := e.wait("ses_live", func(r session.Record) bool { return r.Tokens.Input == 510 })
	e.Idle()
	r, _ = e.Session("ses_live")
	if r.UserMessages != 2 || r.AssistantMessages != 2 || r.ToolCalls != 2 || r.ToolErrors != 1 || r.Tokens.Output != 8 || r.Files != 1 ||
		r.CWD != "/home/dev/shop" || r.Project != "shop" || len(r.Models) != 2 {
		t.Errorf("final record %+v", r)
	}
	if r.CostUSD <= 0 {
		t.Errorf("cost %v", r.CostUSD)
	}
}

// TestTreeWriterHoldingLock: a write transaction held open by the agent
// neither blocks sessiond nor shows it uncommitted rows.
func TestTreeWriterHoldingLock(t *testing.T) {
	dir := t.TempDir()
	base := now()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turnAt(t, w, "ses_a", 1, base, 10, 1, "completed")
	e := newTreeEnv(t, dir)
	e.wait("ses_a", func(r session.Record) bool { return r.UserMessages == 1 })
	e.Idle()

	ctx := context.Background()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	for n := 2; n < 40; n++ {
		at := base + int64(n)*10_000
		must(t, opencodetest.PutMessage(conn, opencodetest.Message{ID: fmt.Sprintf("msg_x%d", n), SessionID: "ses_a", Created: at, Updated: at, Data: userData(at)}))
	}
	// meanwhile sessiond keeps working: a legacy session appears and is read
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_old", Directory: "/old", Created: base, Updated: base}))
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: "msg_o", SessionID: "ses_old", Data: userData(base)}))
	e.wait("ses_old", func(r session.Record) bool { return r.UserMessages == 1 })
	// and a direct listing does not wait for the lock
	start := time.Now()
	if _, err := e.Prov.(*Provider).Expand(ctx, w.Path); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("listing waited %v", el)
	}
	e.Idle()
	if r, _ := e.Session("ses_a"); r.UserMessages != 1 {
		t.Fatalf("uncommitted rows counted: %+v", r.Counts)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	e.wait("ses_a", func(r session.Record) bool { return r.UserMessages == 39 })
}

// expectFromSummary compares the store with a generated corpus's expected
// counts.
func expectFromSummary(t *testing.T, e *treeEnv, sum *opencodetest.Summary) {
	t.Helper()
	got := e.Sessions()
	if len(got) != len(sum.Sessions) {
		t.Errorf("%d sessions, want %d", len(got), len(sum.Sessions))
	}
	for id, x := range sum.Sessions {
		r, ok := got[session.ID(id)]
		if !ok {
			t.Errorf("%s missing", id)
			continue
		}
		want := session.Counts{UserMessages: x.UserMessages, AssistantMessages: x.AssistantMessages, ToolCalls: x.ToolCalls, ToolErrors: x.ToolErrors}
		wantTok := session.Usage{Input: x.Input, Output: x.Output, CacheRead: x.CacheRead, CacheWrite: x.CacheWrite, Reasoning: x.Reasoning}
		if r.Counts != want || r.Tokens != wantTok || r.Subagents != x.Subagents || r.Files != 1+x.Subagents || r.CWD != x.CWD ||
			!r.StartedAt.Equal(time.UnixMilli(x.FirstAt)) || !r.EndedAt.Equal(time.UnixMilli(x.LastAt)) {
			t.Errorf("%s: got %+v %+v subagents %d files %d cwd %q %v–%v\nwant %+v %+v subagents %d cwd %q %d–%d",
				id, r.Counts, r.Tokens, r.Subagents, r.Files, r.CWD, r.StartedAt, r.EndedAt, want, wantTok, x.Subagents, x.CWD, x.FirstAt, x.LastAt)
		}
	}
}

// TestTreeRestartExact: a generated corpus (database sessions, legacy-only
// sessions and sessions in both) counts as generated, each session once;
// after a restart (a new provider) nothing is read again and every record
// is identical.
func TestTreeRestartExact(t *testing.T) {
	dir := t.TempDir()
	sum, err := opencodetest.Generate(dir, opencodetest.Options{TotalBytes: 6 << 20, Seed: 7, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newTreeEnv(t, dir)
	e.Idle()
	expectFromSummary(t, e, sum)
	before := e.Sessions()
	e.restart()
	e.Idle()
	after := e.Sessions()
	for id, r := range before {
		a := after[id]
		a.UpdatedAt, r.UpdatedAt = time.Time{}, time.Time{}
		if fmt.Sprint(a) != fmt.Sprint(r) {
			t.Errorf("%s after restart:\n%+v\nbefore:\n%+v", id, a, r)
		}
	}
}

// TestTreeMigration: sessions counted from the legacy tree are counted
// once when OpenCode imports them into opencode.db, whether sessiond runs
// at that moment or not; then the database's own changes count.
func TestTreeMigration(t *testing.T) {
	for _, running := range []bool{true, false} {
		t.Run(fmt.Sprintf("running=%v", running), func(t *testing.T) {
			dir := t.TempDir()
			fx := loadFixture(t, "subagents.json")
			writeLegacy(t, dir, fx)
			root := "ses_01JX00ROOT000000000000000"
			want := fx.Expect[root]
			e := newTreeEnv(t, dir)
			e.wait(root, func(r session.Record) bool { return r.UserMessages == want.User && r.Subagents == 2 })
			e.Idle()
			before, _ := e.Session(session.ID(root))
			if !running {
				e.Stop()
			}
			db := writeDB(t, dir, fx) // the import
			if !running {
				e.restart()
			}
			e.Idle()
			r, _ := e.Session(session.ID(root))
			if r.Tokens != before.Tokens || r.Counts != before.Counts || r.Files != 3 || r.Subagents != 2 {
				t.Fatalf("after import:\n%+v\nbefore:\n%+v", r, before)
			}
			// OpenCode 1.2 continues the session in the database
			w, err := opencodetest.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			turnAt(t, w, root, 9, now(), 1000, 1, "error")
			e.wait(root, func(r session.Record) bool {
				return r.UserMessages == want.User+1 && r.Tokens.Input == before.Tokens.Input+1000 && r.ToolErrors == before.ToolErrors+1
			})
		})
	}
}

// TestTreeLegacyLive: an old OpenCode still writing the legacy tree: a
// message file rewritten whole replaces what it counted, a new message
// adds to it, a half-written file is counted malformed until complete.
func TestTreeLegacyLive(t *testing.T) {
	dir := t.TempDir()
	base := now()
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_l", Directory: "/home/dev/legacy", Created: base, Updated: base}))
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: "msg_1", SessionID: "ses_l", Data: userData(base)}))
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: "msg_2", SessionID: "ses_l", Data: assistantData(base+1, "gpt-5", 0, 0)}))
	must(t, opencodetest.WriteLegacyPart(dir, opencodetest.Part{ID: "prt_1", MessageID: "msg_2", SessionID: "ses_l", Data: toolData("running")}))
	e := newTreeEnv(t, dir)
	e.wait("ses_l", func(r session.Record) bool { return r.AssistantMessages == 1 && r.ToolCalls == 1 })
	// the step ends: the tool part, then the message are rewritten whole
	must(t, opencodetest.WriteLegacyPart(dir, opencodetest.Part{ID: "prt_1", MessageID: "msg_2", SessionID: "ses_l", Data: toolData("error")}))
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: "msg_2", SessionID: "ses_l", Data: assistantData(base+1, "gpt-5", 700, 70)}))
	e.wait("ses_l", func(r session.Record) bool { return r.Tokens.Input == 700 && r.ToolErrors == 1 })
	// a message caught half written, then completed
	path := opencodetest.LegacyMessagePath(dir, "ses_l", "msg_3")
	full := assistantData(base+2, "gpt-5", 5, 5)
	must(t, writeFileNow(path, full[:len(full)/2]))
	e.wait("ses_l", func(r session.Record) bool { return malformed(t, e, "ses_l") == 1 })
	must(t, writeFileNow(path, full))
	r := e.wait("ses_l", func(r session.Record) bool { return r.Tokens.Input == 705 && r.AssistantMessages == 2 })
	if m := malformed(t, e, "ses_l"); m != 0 || r.Files != 1 || r.CWD != "/home/dev/legacy" {
		t.Errorf("malformed %d, record %+v", m, r)
	}
}

// TestTreeMalformedRows: a malformed row is skipped and counted, and no
// longer counted once OpenCode rewrites it.
func TestTreeMalformedRows(t *testing.T) {
	dir := t.TempDir()
	base := now()
	w := newDB(t, dir, "opencode.db", "ses_m")
	turnAt(t, w, "ses_m", 1, base, 10, 1, "completed")
	must(t, w.Part(opencodetest.Part{ID: "prt_bad", MessageID: "msg_ses_m_0001a", SessionID: "ses_m", Created: base, Updated: base, Data: []byte(`{"type":"tool","state":`)}))
	e := newTreeEnv(t, dir)
	e.wait("ses_m", func(r session.Record) bool { return r.UserMessages == 1 && malformed(t, e, "ses_m") == 1 })
	if r, _ := e.Session("ses_m"); r.ToolCalls != 1 {
		t.Errorf("malformed part counted: %+v", r.Counts)
	}
	must(t, w.Part(opencodetest.Part{ID: "prt_bad", MessageID: "msg_ses_m_0001a", SessionID: "ses_m", Created: base, Updated: time.Now().UnixMilli(), Data: toolData("error")}))
	e.wait("ses_m", func(r session.Record) bool {
		return r.ToolCalls == 2 && r.ToolErrors == 1 && malformed(t, e, "ses_m") == 0
	})
}

// TestTreeSubagentAppears: a task subagent (a child session) created while
// the parent runs rolls up into it.
func TestTreeSubagentAppears(t *testing.T) {
	dir := t.TempDir()
	base := now()
	w := newDB(t, dir, "opencode.db", "ses_parent")
	turnAt(t, w, "ses_parent", 1, base, 10, 1, "running")
	e := newTreeEnv(t, dir)
	e.wait("ses_parent", func(r session.Record) bool { return r.UserMessages == 1 })
	must(t, w.Session(opencodetest.Session{ID: "ses_task", ParentID: "ses_parent", Directory: "/home/dev/shop", Created: base, Updated: base}))
	turnAt(t, w, "ses_task", 2, base, 100, 10, "completed")
	r := e.wait("ses_parent", func(r session.Record) bool { return r.Subagents == 1 && r.Tokens.Input == 110 })
	if r.UserMessages != 2 || r.Files != 2 {
		t.Errorf("record %+v", r)
	}
	if _, err := e.Session("ses_task"); err == nil {
		t.Error("the subagent is a session of its own")
	}
}

// malformed returns the records of a session skipped as malformed.
func malformed(t *testing.T, e *treeEnv, id string) int64 {
	files, err := e.Store.SessionFiles(session.Key{Provider: session.OpenCode, ID: session.ID(id)})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		n += f.Contribution.Malformed
	}
	return n
}

var _ = filepath.Join
