package copilot

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// tree is the real actor tree over a temporary VS Code user directory (with
// workspaces wsA → /home/dev/shop and wsB → /home/dev/api) and a Copilot
// CLI session-state directory.
type tree struct {
	*supervisiontest.Env
	t               *testing.T
	user, cli, hist string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	dir := t.TempDir()
	tr := &tree{t: t, user: filepath.Join(dir, "Code", "User"), cli: filepath.Join(dir, "copilot", "session-state"),
		hist: filepath.Join(dir, "copilot", "history-session-state")}
	tr.put("workspaceStorage/wsA/workspace.json", `{"folder":"file:///home/dev/shop"}`)
	tr.put("workspaceStorage/wsB/workspace.json", `{"workspace":"file:///home/dev/api.code-workspace"}`)
	if err := os.MkdirAll(tr.cli, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tr.hist, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.Env = supervisiontest.New(t, New(), tr.user, tr.cli, tr.hist)
	return tr
}

// put writes a file below the user directory (in place, like VS Code's
// writeFile) and returns its path.
func (tr *tree) put(rel, content string) string {
	tr.t.Helper()
	p := filepath.Join(tr.user, rel)
	if strings.HasPrefix(rel, "/") {
		p = rel
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// replace writes a file by renaming a temporary one over it (new inode).
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

var base = time.Now().Add(-time.Hour).Truncate(time.Millisecond)

func msAt(n int) int64 { return base.Add(time.Duration(n) * time.Second).UnixMilli() }

// chatRequest renders a request with usage {in, out} and a response.
func chatRequest(n int, in, out int64) string {
	return fmt.Sprintf(`{"requestId":"request_%d","timestamp":%d,"message":{"text":"q%d","parts":[]},"variableData":{"variables":[]},"response":[{"value":"a%d"},{"kind":"toolInvocationSerialized","toolCallId":"t%d","toolId":"copilot_readFile","isComplete":true}],"result":{"metadata":{"promptTokens":%d,"outputTokens":%d}},"modelId":"copilot/gpt-4.1"}`,
		n, msAt(n), n, n, n, in, out)
}

func chatDoc(reqs ...string) string {
	return fmt.Sprintf(`{"version":3,"creationDate":%d,"initialLocation":"panel","responderUsername":"GitHub Copilot","requests":[%s]}`, msAt(0), strings.Join(reqs, ","))
}

func initial(reqs ...string) string { return `{"kind":0,"v":` + chatDoc(reqs...) + "}\n" }

func has(in, user int64) func(r session.Record) bool {
	return func(r session.Record) bool { return r.Tokens.Input == in && r.UserMessages == user }
}

// files sums the stored contributions of a session's files.
func (tr *tree) files(id string) session.FileContribution {
	tr.t.Helper()
	cks, err := tr.Store.SessionFiles(session.Key{Provider: session.GitHubCopilot, ID: session.ID(id)})
	if err != nil {
		tr.t.Fatal(err)
	}
	var c session.FileContribution
	for _, ck := range cks {
		c.Records += ck.Contribution.Records
		c.Malformed += ck.Contribution.Malformed
	}
	return c
}

// records waits for the session's files to hold records and malformed
// records.
func (tr *tree) records(id string, records, malformed int64) {
	tr.t.Helper()
	supervisiontest.Eventually(tr.t, "records of "+id, func() (bool, string) {
		c := tr.files(id)
		return c.Records == records && c.Malformed == malformed, fmt.Sprintf("records %d malformed %d", c.Records, c.Malformed)
	})
}

// settled waits until the tree is idle and returns the session.
func (tr *tree) settled(id string) session.Record {
	tr.t.Helper()
	tr.Idle()
	return tr.WaitSession(session.ID(id), func(session.Record) bool { return true })
}

// historyDoc renders a Copilot CLI history document whose timeline holds
// turns prompts, each answered with one reply and one tool call.
func historyDoc(id string, turns int) string {
	var tl []string
	for n := 1; n <= turns; n++ {
		ts := time.UnixMilli(msAt(n)).UTC().Format("2006-01-02T15:04:05.000Z")
		tl = append(tl,
			fmt.Sprintf(`{"id":"u%d","timestamp":%q,"type":"user","text":"q%d"}`, n, ts, n),
			fmt.Sprintf(`{"id":"c%d","timestamp":%q,"type":"copilot","text":"a%d"}`, n, ts, n),
			fmt.Sprintf(`{"type":"tool_call_completed","id":"t%d","timestamp":%q,"callId":"call%d","name":"bash","arguments":{"command":"ls"},"result":{"type":"success","log":""}}`, n, ts, n))
	}
	start := time.UnixMilli(msAt(0)).UTC().Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf("{\n  \"sessionId\": %q,\n  \"startTime\": %q,\n  \"chatMessages\": [],\n  \"timeline\": [%s]\n}", id, start, strings.Join(tl, ",\n"))
}

// TestHistoryDocumentRewrites: a Copilot CLI history document is a session
// of its own, read again whole whenever the CLI rewrites it.
func TestHistoryDocumentRewrites(t *testing.T) {
	tr := newTree(t)
	const id = "33333333-0000-4000-8000-000000000341"
	p := filepath.Join(tr.hist, "session_"+id+"_"+fmt.Sprint(msAt(0))+".json")
	tr.put(p, historyDoc(id, 1))
	r := tr.WaitSession(id, func(r session.Record) bool { return r.UserMessages == 1 })
	if r.AssistantMessages != 1 || r.ToolCalls != 1 || !r.TokensUnknown || r.Files != 1 || !r.StartedAt.Equal(time.UnixMilli(msAt(0))) {
		t.Fatalf("record = %+v", r)
	}
	// rewritten whole, longer: replaced, not added
	replace(t, p, historyDoc(id, 3))
	r = tr.WaitSession(id, func(r session.Record) bool { return r.UserMessages == 3 })
	if r.AssistantMessages != 3 || r.ToolCalls != 3 || r.Files != 1 || !r.EndedAt.Equal(time.UnixMilli(msAt(3))) {
		t.Fatalf("record = %+v", r)
	}
	// half written: nothing changes until it parses again
	full := historyDoc(id, 4)
	tr.put(p, full[:len(full)/2])
	if r := tr.settled(id); r.UserMessages != 3 {
		t.Fatalf("half-written document counted: %+v", r)
	}
	tr.put(p, full)
	tr.WaitSession(id, func(r session.Record) bool { return r.UserMessages == 4 && r.ToolCalls == 4 })
	tr.records(id, 1, 0)
}

func TestChatDocumentRewrites(t *testing.T) {
	tr := newTree(t)
	const id = "11111111-0000-4000-8000-000000000001"
	p := tr.put("workspaceStorage/wsA/chatSessions/"+id+".json", chatDoc(chatRequest(1, 100, 10)))
	r := tr.WaitSession(id, has(100, 1))
	if r.CWD != "/home/dev/shop" || r.Project != "shop" || !r.TokensEstimated || r.TokensUnknown ||
		r.AssistantMessages != 1 || r.ToolCalls != 1 || !slices.Equal(r.Models, []string{"gpt-4.1"}) || r.Files != 1 {
		t.Fatalf("record = %+v", r)
	}
	// rewritten in place, longer: replaced, not added
	tr.put(p, chatDoc(chatRequest(1, 100, 10), chatRequest(2, 50, 5)))
	tr.WaitSession(id, has(150, 2))
	// half written: nothing changes until it parses again
	full := chatDoc(chatRequest(1, 100, 10), chatRequest(2, 50, 5), chatRequest(3, 7, 1))
	tr.put(p, full[:len(full)/2])
	if r := tr.settled(id); r.Tokens.Input != 150 || r.UserMessages != 2 {
		t.Fatalf("half-written document counted: %+v", r)
	}
	tr.put(p, full)
	r = tr.WaitSession(id, has(157, 3))
	if r.Tokens.Output != 16 || r.Files != 1 {
		t.Fatalf("record = %+v", r)
	}
	tr.records(id, 1, 0)
}

func TestChatLogLiveCompactionAndMalformed(t *testing.T) {
	tr := newTree(t)
	const id = "11111111-0000-4000-8000-000000000002"
	p := filepath.Join(tr.user, "workspaceStorage/wsB/chatSessions", id+".jsonl")
	appendTo(t, p, initial(chatRequest(1, 100, 10)))
	r := tr.WaitSession(id, has(100, 1))
	if r.CWD != "/home/dev/api" || r.Project != "api" {
		t.Fatalf("record = %+v", r)
	}
	// live appends: a pending request, its response, its result
	appendTo(t, p, `{"kind":2,"k":["requests"],"v":[{"requestId":"request_2","timestamp":`+fmt.Sprint(msAt(2))+`,"message":{"text":"q"},"response":[],"modelId":"copilot/claude-sonnet-4"}]}`+"\n")
	tr.WaitSession(id, func(r session.Record) bool { return r.UserMessages == 2 && r.AssistantMessages == 1 })
	appendTo(t, p, `{"kind":2,"k":["requests",1,"response"],"v":[{"value":"partial"}]}`+"\n")
	appendTo(t, p, `{"kind":1,"k":["requests",1,"result"],"v":{"metadata":{"promptTokens":40,"outputTokens":4,"toolCallRounds":[{"toolCalls":[{"id":"a"},{"id":"b"}]}]}}}`+"\n")
	r = tr.WaitSession(id, has(140, 2))
	if r.AssistantMessages != 2 || r.ToolCalls != 3 || !slices.Equal(r.Models, []string{"claude-sonnet-4", "gpt-4.1"}) {
		t.Fatalf("record = %+v", r)
	}
	tr.records(id, 4, 0)
	// a half-written entry waits for its end
	entry := `{"kind":1,"k":["requests",0,"result","metadata","promptTokens"],"v":1000}` + "\n"
	appendTo(t, p, entry[:20])
	if r := tr.settled(id); r.Tokens.Input != 140 {
		t.Fatalf("half entry applied: %+v", r)
	}
	appendTo(t, p, entry[20:])
	tr.WaitSession(id, has(1040, 2))
	// a malformed entry is skipped and counted
	appendTo(t, p, "{garbage\n"+`{"kind":1,"k":["requests",7,"x"],"v":1}`+"\n")
	tr.records(id, 5, 2)
	if r := tr.settled(id); r.Tokens.Input != 1040 {
		t.Fatalf("after malformed: %+v", r)
	}

	// compaction by rename: one fresh kind-0 entry of the same state
	compacted := `{"kind":0,"v":{"version":3,"creationDate":` + fmt.Sprint(msAt(0)) + `,"requests":[` +
		strings.Replace(chatRequest(1, 1000, 10), `"modelId"`, `"x":1,"modelId"`, 1) + `,{"requestId":"request_2","timestamp":` + fmt.Sprint(msAt(2)) +
		`,"response":[{"value":"partial"}],"result":{"metadata":{"promptTokens":40,"outputTokens":4,"toolCallRounds":[{"toolCalls":[{"id":"a"},{"id":"b"}]}]}},"modelId":"copilot/claude-sonnet-4"}]}}` + "\n"
	replace(t, p, compacted)
	tr.records(id, 1, 0)
	if r := tr.settled(id); r.Tokens.Input != 1040 || r.Tokens.Output != 14 || r.UserMessages != 2 || r.ToolCalls != 3 || r.Files != 1 {
		t.Fatalf("after compaction: %+v", r)
	}
	// appends continue after it
	appendTo(t, p, `{"kind":2,"k":["requests"],"v":[`+chatRequest(3, 5, 1)+`]}`+"\n")
	tr.WaitSession(id, has(1045, 3))
	// compaction in place (truncated and rewritten, shorter): counts
	// follow the document, spend once counted stays (issue 6)
	tr.put(p, initial(chatRequest(1, 1, 1)))
	r = tr.WaitSession(id, has(1045, 1))
	if r.Files != 1 {
		t.Fatalf("after in-place compaction: %+v", r)
	}
	tr.records(id, 1, 0)
}

func TestChatJSONToJSONLSwitch(t *testing.T) {
	tr := newTree(t)
	const id = "11111111-0000-4000-8000-000000000003"
	tr.put("workspaceStorage/wsA/chatSessions/"+id+".json", chatDoc(chatRequest(1, 100, 10), chatRequest(2, 200, 20)))
	tr.WaitSession(id, has(300, 2))
	// VS Code ≥ 1.109 writes the session as a log and leaves the .json
	p := filepath.Join(tr.user, "workspaceStorage/wsA/chatSessions", id+".jsonl")
	appendTo(t, p, initial(chatRequest(1, 100, 10), chatRequest(2, 200, 20)))
	appendTo(t, p, `{"kind":2,"k":["requests"],"v":[`+chatRequest(3, 1, 1)+`]}`+"\n")
	r := tr.WaitSession(id, has(301, 3))
	if r.Files != 1 || r.AssistantMessages != 3 {
		t.Fatalf("after the switch: %+v", r)
	}
	tr.records(id, 2, 0)
	// a later touch of the stale .json changes nothing
	tr.put("workspaceStorage/wsA/chatSessions/"+id+".json", chatDoc(chatRequest(1, 9999, 10)))
	if r := tr.settled(id); r.Tokens.Input != 301 || r.Files != 1 {
		t.Fatalf("stale .json counted: %+v", r)
	}
}

func TestEmptyWindowSessionCopiedIntoWorkspace(t *testing.T) {
	tr := newTree(t)
	const id = "11111111-0000-4000-8000-000000000004"
	orig := tr.put("globalStorage/emptyWindowChatSessions/"+id+".jsonl", initial(chatRequest(1, 100, 10)))
	r := tr.WaitSession(id, has(100, 1))
	if r.CWD != "" || r.Project != "unknown" {
		t.Fatalf("empty window: %+v", r)
	}
	// the window enters workspace A: VS Code copies the file, keeps the
	// original, and goes on writing the copy
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(orig, old, old); err != nil {
		t.Fatal(err)
	}
	cp := tr.put("workspaceStorage/wsA/chatSessions/"+id+".jsonl", initial(chatRequest(1, 100, 10)))
	appendTo(t, cp, `{"kind":2,"k":["requests"],"v":[`+chatRequest(2, 20, 2)+`]}`+"\n")
	r = tr.WaitSession(id, func(r session.Record) bool { return r.CWD == "/home/dev/shop" && r.UserMessages == 2 })
	if r.Tokens.Input != 120 || r.Files != 1 {
		t.Fatalf("copied session counted twice or wrongly: %+v", r)
	}
	if n := len(tr.Sessions()); n != 1 {
		t.Fatalf("%d sessions", n)
	}
}

// cliEvent renders one Copilot CLI event.
func cliEvent(typ string, n int, data string) string {
	return fmt.Sprintf(`{"type":%q,"data":%s,"id":"e%d","timestamp":%q,"parentId":null}`+"\n", typ, data, n, base.Add(time.Duration(n)*time.Second).UTC().Format("2006-01-02T15:04:05.000Z"))
}

func TestCLILiveAppendsAndRestart(t *testing.T) {
	tr := newTree(t)
	const id = "22222222-0000-4000-8000-000000000001"
	p := filepath.Join(tr.cli, id, "events.jsonl")
	appendTo(t, p, cliEvent("session.start", 1, `{"sessionId":"`+id+`","context":{"cwd":"/home/dev/cli-app","branch":"main"}}`)+
		cliEvent("user.message", 2, `{"content":"hi"}`)+
		cliEvent("assistant.message", 3, `{"messageId":"m1","content":"","toolRequests":[{"toolCallId":"t1","name":"bash"}],"model":"gpt-5","outputTokens":30}`))
	r := tr.WaitSession(id, func(r session.Record) bool { return r.Tokens.Output == 30 })
	if r.CWD != "/home/dev/cli-app" || r.GitBranch != "main" || r.UserMessages != 1 || r.ToolCalls != 1 || r.TokensEstimated {
		t.Fatalf("record = %+v", r)
	}
	// a half line waits; a malformed one is skipped and counted
	done := cliEvent("tool.execution_complete", 4, `{"toolCallId":"t1","success":false}`)
	appendTo(t, p, done[:15])
	if r := tr.settled(id); r.ToolErrors != 0 {
		t.Fatalf("half line counted: %+v", r)
	}
	tr.records(id, 3, 0)
	appendTo(t, p, done[15:]+"{oops\n")
	tr.WaitSession(id, func(r session.Record) bool { return r.ToolErrors == 1 })
	tr.records(id, 4, 1)
	// the run ends: its totals replace the messages' output
	appendTo(t, p, cliEvent("assistant.message", 5, `{"messageId":"m2","content":"ok","model":"gpt-5","outputTokens":20}`))
	tr.WaitSession(id, func(r session.Record) bool { return r.Tokens.Output == 50 })

	// restart in the middle of a run: the parser state carries the run's
	// output, so the shutdown after the restart is exact
	tr.Restart()
	if r := tr.settled(id); r.Tokens.Output != 50 {
		t.Fatalf("after restart: %+v", r)
	}
	tr.records(id, 5, 1)
	appendTo(t, p, cliEvent("session.shutdown", 6, `{"modelMetrics":{"gpt-5":{"usage":{"inputTokens":5000,"outputTokens":60,"cacheReadTokens":4000,"cacheWriteTokens":0}}}}`))
	r = tr.WaitSession(id, func(r session.Record) bool { return r.Tokens.CacheRead == 4000 })
	if r.Tokens != (session.Usage{Input: 1000, Output: 60, CacheRead: 4000}) {
		t.Fatalf("tokens after shutdown: %+v", r.Tokens)
	}

	// the flat layout of earlier versions
	const old = "22222222-0000-4000-8000-000000000002"
	appendTo(t, filepath.Join(tr.cli, old+".jsonl"), cliEvent("session.start", 1, `{}`)+cliEvent("user.message", 2, `{"content":"x"}`))
	r = tr.WaitSession(old, func(r session.Record) bool { return r.UserMessages == 1 })
	if !r.TokensUnknown || r.Project != "unknown" {
		t.Fatalf("flat layout: %+v", r)
	}
}

// compareCorpus compares the stored sessions with the reference count.
func compareCorpus(t *testing.T, e *supervisiontest.Env, want map[session.Key]copilottest.Expected) {
	t.Helper()
	got := e.Sessions()
	if len(got) != len(want) {
		t.Errorf("%d sessions stored, %d expected", len(got), len(want))
	}
	for k, w := range want {
		r, ok := got[k.ID]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		g := copilottest.Expected{Project: r.Project, CWD: r.CWD, GitBranch: r.GitBranch, Counts: r.Counts, Tokens: r.Tokens,
			Models: r.Models, Files: r.Files, TokensEstimated: r.TokensEstimated, TokensUnknown: r.TokensUnknown}
		cks, err := e.Store.SessionFiles(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range cks {
			g.Records += ck.Contribution.Records
			g.Malformed += ck.Contribution.Malformed
		}
		if len(g.Models) == 0 {
			g.Models = nil
		}
		if len(w.Models) == 0 {
			w.Models = nil
		}
		g.StartedAt, g.EndedAt = r.StartedAt, r.EndedAt
		if !providertest.Equal(w, g) {
			t.Errorf("%s:\nwant %+v\ngot  %+v", k, w, g)
		}
	}
}

// TestTreeMatchesReferenceAcrossRestarts runs the tree over a generated
// corpus, restarts it (nothing is read again, totals identical), changes
// files while it is down, and starts it again: the totals are those of a
// fresh count.
func TestTreeMatchesReferenceAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	sum, err := copilottest.Generate(dir, copilottest.Options{TotalBytes: 3 << 20, Seed: 11, CopyFraction: 0.2, BothFraction: 0.3, MalformedFraction: 0.01, CompactAfter: 40})
	if err != nil {
		t.Fatal(err)
	}
	want, err := copilottest.Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := supervisiontest.New(t, New(), sum.Roots()...)
	e.Idle()
	first := e.Sessions()
	compareCorpus(t, e, want)

	e.Restart()
	e.Idle()
	again := e.Sessions()
	for id, r := range first {
		if a := again[id]; a.Version != r.Version || a.Tokens != r.Tokens || a.Counts != r.Counts {
			t.Errorf("%s changed across a restart: %+v → %+v", id, r, a)
		}
	}

	// while stopped: a CLI log grows, a chat log grows, a chat document is
	// rewritten
	e.Stop()
	var cliLog, chatLog, chatDocPath string
	for _, p := range sum.Paths {
		switch {
		case cliLog == "" && strings.HasSuffix(p, "events.jsonl"):
			cliLog = p
		case chatLog == "" && strings.HasSuffix(p, ".jsonl") && strings.Contains(p, "chatSessions"):
			chatLog = p
		case chatDocPath == "" && strings.HasSuffix(p, ".json") && strings.Contains(p, "chatSessions"):
			chatDocPath = p
		}
	}
	appendTo(t, cliLog, cliEvent("user.message", 99, `{"content":"more"}`)+cliEvent("session.shutdown", 100, `{"modelMetrics":{"m":{"usage":{"inputTokens":10,"outputTokens":1}}}}`))
	appendTo(t, chatLog, `{"kind":2,"k":["requests"],"v":[`+chatRequest(50, 123, 4)+`]}`+"\n")
	data, err := os.ReadFile(chatDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), `"requests":[`, `"requests":[`+chatRequest(51, 77, 7)+`,`, 1)
	if doc == string(data) {
		t.Fatal("no requests array in " + chatDocPath)
	}
	if err := os.WriteFile(chatDocPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour) // stays the newest copy
	for _, p := range []string{chatLog, chatDocPath} {
		if err := os.Chtimes(p, future, future); err != nil {
			t.Fatal(err)
		}
	}
	want, err = copilottest.Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	e.Idle()
	compareCorpus(t, e, want)
}
