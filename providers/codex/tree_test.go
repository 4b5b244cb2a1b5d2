package codex

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle timer lives up to a second
		goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle),
	)
}

// home is a Codex home watched by a running tree.
type home struct {
	*supervisiontest.Env
	t   *testing.T
	dir string
}

func newHome(t *testing.T) *home {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "codex")
	roots := New().Roots(providers.Env{Getenv: func(k string) string {
		if k == "CODEX_HOME" {
			return dir
		}
		return ""
	}})
	// Neither the home nor its roots exist yet: the watcher picks them up.
	return &home{Env: supervisiontest.New(t, New(), roots...), t: t, dir: dir}
}

// rollout is the path of a session's rollout, dated day (2006/01/02).
func (h *home) rollout(day, id string) string {
	return filepath.Join(h.dir, "sessions", filepath.FromSlash(day), "rollout-"+dashed(day)+"T10-00-00-"+id+".jsonl")
}

// dashed turns 2006/01/02 into 2006-01-02.
func dashed(day string) string {
	b := []byte(day)
	for i, c := range b {
		if c == '/' {
			b[i] = '-'
		}
	}
	return string(b)
}

func appendFile(t *testing.T, path, s string) {
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

func (h *home) wait(id string, cond func(r session.Record) bool) session.Record {
	h.t.Helper()
	return h.WaitSession(session.ID(id), cond)
}

// settled waits until the tree has read everything and returns the record.
func (h *home) settled(id string) session.Record {
	h.t.Helper()
	h.Idle()
	return h.wait(id, func(session.Record) bool { return true })
}

// matchesReference compares every stored session with codextest.Count.
func (h *home) matchesReference() {
	h.t.Helper()
	want, err := codextest.Count(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	got := h.Sessions()
	if len(got) != len(want) {
		h.t.Errorf("%d sessions stored, reference counts %d", len(got), len(want))
	}
	n := 0
	for k, w := range want {
		r, ok := got[k.ID]
		if !ok {
			h.t.Errorf("%s: not stored", k)
			continue
		}
		g := codextest.Expected{Project: r.Project, CWD: r.CWD, GitBranch: r.GitBranch, StartedAt: r.StartedAt,
			EndedAt: r.EndedAt, Counts: r.Counts, Files: r.Files, Models: r.Models, Tokens: r.Tokens,
			TokensUnknown: r.TokensUnknown}
		w.Records, w.Malformed = 0, 0
		if len(w.Models) == 0 {
			w.Models = nil
		}
		if len(g.Models) == 0 {
			g.Models = nil
		}
		if !providertest.Equal(w, g) {
			if n++; n <= 5 {
				h.t.Errorf("%s:\nwant %+v\ngot  %+v", k, w, g)
			}
		}
	}
}

var t0 = time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

func ts(n int) string {
	return t0.Add(time.Duration(n) * time.Second).Format("2006-01-02T15:04:05.000Z")
}

func line(n int, typ string, payload any) string {
	b, err := json.Marshal(map[string]any{"timestamp": ts(n), "type": typ, "payload": payload})
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

func metaLine(n int, id string, extra map[string]any) string {
	p := map[string]any{"id": id, "timestamp": ts(n), "cwd": "/home/dev/shop", "originator": "codex_cli_rs",
		"cli_version": "0.98.0", "source": "cli", "git": map[string]any{"branch": "main"}}
	for k, v := range extra {
		p[k] = v
	}
	return line(n, "session_meta", p)
}

func turnLine(n int, model string) string {
	return line(n, "turn_context", map[string]any{"cwd": "/home/dev/shop", "model": model})
}

func promptLine(n int, text string) string {
	return line(n, "event_msg", map[string]any{"type": "user_message", "message": text})
}

func replyLine(n int) string {
	return line(n, "response_item", map[string]any{"type": "message", "role": "assistant",
		"content": []any{map[string]any{"type": "output_text", "text": "done"}}})
}

func callLines(n int, exit int) string {
	id := fmt.Sprintf("call_%d", n)
	return line(n, "response_item", map[string]any{"type": "function_call", "name": "shell", "arguments": `{"command":["ls"]}`, "call_id": id}) +
		line(n, "response_item", map[string]any{"type": "function_call_output", "call_id": id,
			"output": fmt.Sprintf("Exit code: %d\nWall time: 0.1 seconds\nOutput:\n", exit)})
}

// countLine is a token_count whose cumulative total is total (input,
// cached, output, reasoning) and whose last usage is last.
func countLine(n int, total, last [4]int64) string {
	u := func(t [4]int64) map[string]any {
		return map[string]any{"input_tokens": t[0], "cached_input_tokens": t[1], "output_tokens": t[2],
			"reasoning_output_tokens": t[3], "total_tokens": t[0] + t[2]}
	}
	return line(n, "event_msg", map[string]any{"type": "token_count",
		"info": map[string]any{"total_token_usage": u(total), "last_token_usage": u(last)}})
}

func TestLiveAppendsHalfLinesAndRestart(t *testing.T) {
	h := newHome(t)
	id := "0195a1b2-aaaa-7000-8000-000000000001"
	p := h.rollout("2026/03/02", id) // a day directory that appears while running
	appendFile(t, p, metaLine(0, id, nil)+turnLine(1, "gpt-5-codex")+promptLine(2, "hi")+
		callLines(3, 1)+replyLine(4)+countLine(5, [4]int64{1000, 200, 50, 10}, [4]int64{1000, 200, 50, 10}))
	r := h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 800 })
	if r.UserMessages != 1 || r.AssistantMessages != 1 || r.ToolCalls != 1 || r.ToolErrors != 1 ||
		r.Tokens != (session.Usage{Input: 800, CacheRead: 200, Output: 50, Reasoning: 10}) ||
		r.Project != "shop" || r.GitBranch != "main" || !slices.Equal(r.Models, []string{"gpt-5-codex"}) {
		t.Fatalf("record = %+v", r)
	}

	// a half-written line waits for its end; a repeated total counts nothing
	l := countLine(7, [4]int64{3000, 1200, 150, 40}, [4]int64{2000, 1000, 100, 30})
	appendFile(t, p, countLine(6, [4]int64{1000, 200, 50, 10}, [4]int64{1000, 200, 50, 10})+l[:len(l)/2])
	if r := h.settled(id); r.Tokens.Input != 800 {
		t.Fatalf("half line counted: %+v", r.Tokens)
	}
	appendFile(t, p, l[len(l)/2:])
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 1800 })

	// restart: nothing counted twice; appends made while down are caught up
	h.Stop()
	appendFile(t, p, promptLine(8, "more")+countLine(9, [4]int64{4000, 1200, 160, 40}, [4]int64{1000, 0, 10, 0}))
	h.Start()
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 2800 })
	r = h.settled(id)
	if r.Tokens != (session.Usage{Input: 2800, CacheRead: 1200, Output: 160, Reasoning: 40}) || r.UserMessages != 2 {
		t.Fatalf("after restart: %+v", r)
	}
	h.matchesReference()
	// another restart without changes: the record does not move
	h.Restart()
	if r2 := h.settled(id); r2.Version != r.Version || r2.Tokens != r.Tokens || r2.Counts != r.Counts {
		t.Fatalf("restart changed the record: %+v vs %+v", r2, r)
	}
	evs, err := h.Store.Events(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event gap: %+v", evs)
		}
	}
}

func TestArchivingMovesTheSession(t *testing.T) {
	h := newHome(t)
	id := "0195a1b2-aaaa-7000-8000-000000000002"
	p := h.rollout("2026/03/02", id)
	appendFile(t, p, metaLine(0, id, nil)+promptLine(1, "hi")+countLine(2, [4]int64{1000, 0, 10, 0}, [4]int64{1000, 0, 10, 0}))
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 1000 })

	// Codex archives by moving the file, same name, into archived_sessions/
	moved := filepath.Join(h.dir, "archived_sessions", filepath.Base(p))
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	appendFile(t, moved, countLine(3, [4]int64{1500, 300, 20, 0}, [4]int64{500, 300, 10, 0}))
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 1200 })
	r := h.settled(id)
	if r.Files != 1 || r.UserMessages != 1 || r.Tokens != (session.Usage{Input: 1200, CacheRead: 300, Output: 20}) {
		t.Fatalf("after the move: %+v", r)
	}
	files, err := h.Store.SessionFiles(session.Key{Provider: session.Codex, ID: session.ID(id)})
	if err != nil || len(files) != 1 || files[0].Path != moved {
		t.Fatalf("checkpoints: %+v, %v", files, err)
	}
	h.Restart()
	if r := h.settled(id); r.Files != 1 || r.Tokens.Input != 1200 || r.UserMessages != 1 {
		t.Fatalf("after a restart: %+v", r)
	}
	h.matchesReference()
}

// TestUnarchiveMovesBack: Codex unarchives by moving the file back to its
// day directory. The core does not recognise that second move yet: the
// session actor made a tail for the removal event of the first move's old
// path (actors.SessionActor.onFileChanged creates a tail for a Removed path it
// does not know), so when the file returns to that path it is read again
// from 0 as a new file (its prompts count twice; its tokens do not, the
// claims dedupe them). See the report of this provider.
func TestUnarchiveMovesBack(t *testing.T) {
	h := newHome(t)
	id := "0195a1b2-aaaa-7000-8000-000000000004"
	p := h.rollout("2026/03/02", id)
	appendFile(t, p, metaLine(0, id, nil)+promptLine(1, "hi"))
	h.wait(id, func(r session.Record) bool { return r.UserMessages == 1 })
	moved := filepath.Join(h.dir, "archived_sessions", filepath.Base(p))
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	appendFile(t, moved, promptLine(2, "archived"))
	h.wait(id, func(r session.Record) bool { return r.UserMessages == 2 })
	if err := os.Rename(moved, p); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, promptLine(3, "again"))
	h.wait(id, func(r session.Record) bool { return r.UserMessages == 3 })
	if r := h.settled(id); r.Files != 1 || r.UserMessages != 3 {
		t.Fatalf("after unarchiving: %+v", r)
	}
}

func fixtureData(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestForkReplayCountsOnce(t *testing.T) {
	parentTokens := session.Usage{Input: 6200, CacheRead: 4800, Output: 300, Reasoning: 80}
	childTokens := session.Usage{Input: 1800, CacheRead: 5200, Output: 150, Reasoning: 20}
	for _, childFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("child first %v", childFirst), func(t *testing.T) {
			h := newHome(t)
			pp := h.rollout("2026/03/02", parent)
			cp := filepath.Join(h.dir, "archived_sessions", "rollout-2026-03-02T11-00-00-"+child+".jsonl")
			rp := h.rollout("2026/03/02", forkRef)
			if childFirst {
				appendFile(t, cp, fixtureData(t, "fork_child.jsonl"))
				// alone, the fork owns the replayed usage
				h.wait(child, func(r session.Record) bool { return r.Tokens == childTokens.Add(parentTokens) })
			}
			appendFile(t, pp, fixtureData(t, "fork_parent.jsonl"))
			if !childFirst {
				appendFile(t, cp, fixtureData(t, "fork_child.jsonl"))
			}
			appendFile(t, rp, fixtureData(t, "fork_reference.jsonl"))
			h.wait(child, func(r session.Record) bool { return r.Tokens == childTokens })
			h.wait(parent, func(r session.Record) bool { return r.Tokens == parentTokens })
			h.Idle()
			r := h.wait(child, func(session.Record) bool { return true })
			if r.UserMessages != 3 || r.Tokens != childTokens {
				t.Fatalf("fork = %+v", r)
			}
			if r := h.wait(forkRef, func(session.Record) bool { return true }); r.Tokens != (session.Usage{Input: 1300, CacheRead: 5100, Output: 75, Reasoning: 10}) {
				t.Fatalf("fork by reference = %+v", r.Tokens)
			}
			h.matchesReference()
			h.Restart()
			h.Idle()
			h.matchesReference()
		})
	}
}

func TestRewriteAndTruncationReplaceCountsKeepSpend(t *testing.T) {
	h := newHome(t)
	id := "0195a1b2-aaaa-7000-8000-000000000003"
	p := h.rollout("2026/03/02", id)
	appendFile(t, p, metaLine(0, id, nil)+promptLine(1, "a")+replyLine(2)+countLine(3, [4]int64{1000, 0, 10, 0}, [4]int64{1000, 0, 10, 0})+
		promptLine(4, "b")+countLine(5, [4]int64{2000, 0, 20, 0}, [4]int64{1000, 0, 10, 0}))
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 2000 && r.UserMessages == 2 })
	// atomic replace (new inode) with different content
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(metaLine(0, id, nil)+promptLine(1, "a")+countLine(3, [4]int64{700, 0, 7, 0}, [4]int64{700, 0, 7, 0})), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	// counts follow the file; spend is monotonic (issue 6): the two
	// responses it lost stay counted and the new one adds
	r := h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 2700 })
	if r.UserMessages != 1 || r.AssistantMessages != 0 {
		t.Fatalf("after rewrite: %+v", r)
	}
	// truncation in place
	if err := os.WriteFile(p, []byte(metaLine(0, id, nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	// (the write may be seen empty first: wait for its one line)
	h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 2700 && r.UserMessages == 0 && r.CWD != "" })
	h.Idle()
}

func TestMalformedLinesAreSkippedAndCounted(t *testing.T) {
	h := newHome(t)
	id := "0195a1b2-5555-7000-8000-000000000005"
	// no uuid in the name: the session comes from the session_meta
	p := filepath.Join(h.dir, "sessions", "2026", "03", "02", "rollout-2026-03-02T12-00-00.jsonl")
	appendFile(t, p, fixtureData(t, "malformed.jsonl"))
	r := h.wait(id, func(r session.Record) bool { return r.Tokens.Input == 100 })
	r = h.settled(id)
	if r.UserMessages != 1 || r.AssistantMessages != 1 {
		t.Fatalf("record = %+v", r)
	}
	files, err := h.Store.SessionFiles(session.Key{Provider: session.Codex, ID: session.ID(id)})
	if err != nil || len(files) != 1 {
		t.Fatalf("checkpoints: %+v, %v", files, err)
	}
	if c := files[0].Contribution; c.Records != 6 || c.Malformed != 7 {
		t.Fatalf("records %d, malformed %d", c.Records, c.Malformed)
	}
	h.matchesReference()
}

func TestEarlyFormats(t *testing.T) {
	h := newHome(t)
	bare := h.rollout("2025/06/10", bareID)
	appendFile(t, bare, fixtureData(t, "bare.jsonl"))
	doc := filepath.Join(h.dir, "sessions", "rollout-2025-04-20-ts-7d3c1f.json")
	data := fixtureData(t, "ts_session.json")
	if err := os.MkdirAll(filepath.Dir(doc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.wait("ts-7d3c1f", func(r session.Record) bool { return r.UserMessages == 2 })
	if r.ToolCalls != 2 || r.ToolErrors != 1 || !r.TokensUnknown || r.Files != 1 {
		t.Fatalf("document = %+v", r)
	}
	r = h.wait(bareID, func(r session.Record) bool { return r.UserMessages == 2 })
	if r.CWD != "/home/dev/legacy app" || r.GitBranch != "dev" || r.ToolErrors != 1 || !r.TokensUnknown {
		t.Fatalf("bare rollout = %+v", r)
	}
	// the document is rewritten whole: half written, nothing changes ...
	if err := os.WriteFile(doc, []byte(data[:len(data)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := h.settled("ts-7d3c1f"); r.UserMessages != 2 {
		t.Fatalf("half-written document counted: %+v", r)
	}
	// ... complete again with one more prompt, it replaces the old one
	var v map[string]any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatal(err)
	}
	v["items"] = append(v["items"].([]any), map[string]any{"type": "message", "role": "user",
		"content": []any{map[string]any{"type": "input_text", "text": "one more"}}})
	more, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(doc, more, 0o644); err != nil {
		t.Fatal(err)
	}
	h.wait("ts-7d3c1f", func(r session.Record) bool { return r.UserMessages == 3 && r.ToolCalls == 2 })
	h.matchesReference()
}

// TestCorpusThroughTree runs the real tree over a generated corpus with
// every kind of rollout and compares every session with the reference,
// before and after a restart.
func TestCorpusThroughTree(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a corpus")
	}
	h := newHome(t)
	if _, err := codextest.Generate(h.dir, codextest.Options{TotalBytes: 4 << 20, Seed: 11, ForkFraction: 0.3,
		SubagentFraction: 0.15, ArchivedFraction: 0.2, LegacyFraction: 0.15, MalformedFraction: 0.002}); err != nil {
		t.Fatal(err)
	}
	want, err := codextest.Count(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	supervisiontest.Eventually(t, "every session stored", func() (bool, string) {
		n := len(h.Sessions())
		return n == len(want), fmt.Sprintf("%d of %d", n, len(want))
	})
	h.Idle()
	h.matchesReference()
	before := h.Sessions()
	h.Restart()
	h.Idle()
	h.matchesReference()
	for id, r := range h.Sessions() {
		if b := before[id]; b.Version != r.Version || b.Tokens != r.Tokens {
			t.Errorf("%s moved on restart: %+v -> %+v", id, b, r)
		}
	}
}
