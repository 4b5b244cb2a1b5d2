package claudetest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/session"
)

const (
	idA = "aaaaaaaa-0000-4000-8000-000000000001"
	idB = "bbbbbbbb-0000-4000-8000-000000000002"
	idC = "cccccccc-0000-4000-8000-000000000003"
)

// writeFile writes content under dir, creating directories.
func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestCountHandmade checks Count on a small corpus whose expectations are
// computed by hand in the comments.
func TestCountHandmade(t *testing.T) {
	dir := t.TempDir()
	shop := "projects/-home-dev-shop/"
	env := `"cwd":"/home/dev/shop","gitBranch":"main","sessionId":"` + idA + `"`
	msg1 := `"requestId":"req_1","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"t1","name":"Read","input":{}}],"usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":5}}`
	// Session A, main file: prompt (U1), msg_1 twice (A1, tool call 1), a
	// failed tool result (E1), a malformed line, msg_2 (A2), an API error
	// (ignored), and a torn last line (not read). 6 records, 1 malformed.
	writeFile(t, dir, shop+idA+".jsonl", lines(
		`{"type":"user",`+env+`,"timestamp":"2026-03-02T10:00:00.000Z","message":{"role":"user","content":"hi"}}`,
		`{"type":"assistant",`+env+`,"timestamp":"2026-03-02T10:00:01.000Z",`+msg1+`}`,
		`{"type":"assistant",`+env+`,"timestamp":"2026-03-02T10:00:02.000Z","requestId":"req_1","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":50}}}`,
		`{"type":"user",`+env+`,"timestamp":"2026-03-02T10:00:03.000Z","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"no","is_error":true}]}}`,
		`{"type":`,
		`{"type":"assistant",`+env+`,"timestamp":"2026-03-02T10:00:04.000Z","requestId":"req_2","message":{"id":"msg_2","model":"claude-opus-4-6","content":[],"usage":{"input_tokens":1,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":4}}}`,
		`{"type":"assistant",`+env+`,"timestamp":"2026-03-02T10:00:05.000Z","isApiErrorMessage":true,"message":{"id":"e","model":"<synthetic>","content":[],"usage":{"input_tokens":99}}}`,
	)+`{"type":"user","message":{"content":"not yet"}}`)
	// Session A, nested subagent: the Task prompt (a sidechain line: not
	// the user's), A1 (haiku), 2 records, later end.
	writeFile(t, dir, shop+idA+"/subagents/agent-a0123456789abcdef.jsonl", lines(
		`{"type":"user","isSidechain":true,"cwd":"/home/dev/shop/sub","sessionId":"`+idA+`","timestamp":"2026-03-02T10:00:10.000Z","message":{"role":"user","content":"task"}}`,
		`{"type":"assistant","isSidechain":true,"sessionId":"`+idA+`","timestamp":"2026-03-02T10:00:11.000Z","requestId":"req_s","message":{"id":"msg_s","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":1,"cache_creation_input_tokens":1,"cache_read_input_tokens":1,"output_tokens":1}}}`,
	))
	// Session A, flat subagent resolved by its second line: a sidechain
	// prompt (not the user's), 2 records, earlier start.
	writeFile(t, dir, shop+"agent-1234abcd.jsonl", lines(
		`{"type":"summary","summary":"s","leafUuid":"x"}`,
		`{"type":"user","isSidechain":true,"agentId":"1234abcd","sessionId":"`+idA+`","timestamp":"2026-03-02T09:59:00.000Z","message":{"role":"user","content":"search"}}`,
	))
	// Session B resumes A: copies of A's first lines (U1, A1 with a tool
	// call), msg_1 again with more output, a prompt (U2), msg_3 (A2) and an
	// earlier sighting of msg_2 (A3). 6 records.
	envB := `"cwd":"/home/dev/shop","sessionId":"` + idB + `"`
	writeFile(t, dir, shop+idB+".jsonl", lines(
		`{"type":"user",`+envB+`,"gitBranch":"main","timestamp":"2026-03-02T10:00:00.000Z","message":{"role":"user","content":"hi"}}`,
		`{"type":"assistant",`+envB+`,"timestamp":"2026-03-02T10:00:01.000Z",`+msg1+`}`,
		`{"type":"assistant",`+envB+`,"timestamp":"2026-03-02T10:00:01.000Z","requestId":"req_1","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":70}}}`,
		`{"type":"user",`+envB+`,"gitBranch":"feature","timestamp":"2026-03-02T11:00:00.000Z","message":{"role":"user","content":[{"type":"text","text":"continue"}]}}`,
		`{"type":"assistant",`+envB+`,"timestamp":"2026-03-02T11:00:01.000Z","requestId":"req_3","message":{"id":"msg_3","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":5,"output_tokens":7}}}`,
		`{"type":"assistant","sessionId":"`+idB+`","timestamp":"2026-03-02T10:00:03.900Z","requestId":"req_2","message":{"id":"msg_2","model":"claude-opus-4-6","content":[],"usage":{"output_tokens":9}}}`,
	))
	// Session C: usage without message.id counts directly; blank lines
	// are not records.
	writeFile(t, dir, "projects/-home-dev-api/"+idC+".jsonl", lines(
		``,
		`{"type":"assistant","cwd":"/home/dev/api","timestamp":"2026-03-02T12:00:00.000Z","message":{"model":"claude-3-5-sonnet","content":[],"usage":{"input_tokens":3,"output_tokens":4}}}`,
		`   `,
	))
	// Not counted: an unresolvable flat subagent, files outside the layout.
	writeFile(t, dir, "projects/-home-dev-api/agent-ffffffff.jsonl", lines(`{"type":"summary","summary":"s"}`))
	writeFile(t, dir, shop+idA+"/tool-results/agent-x.jsonl", lines(`{"type":"user","sessionId":"`+idA+`","message":{"content":"x"}}`))
	writeFile(t, dir, shop+"memory/subagents/agent-y.jsonl", lines(`{"type":"user","sessionId":"`+idA+`","message":{"content":"x"}}`))
	writeFile(t, dir, "history.jsonl", lines(`{"display":"hi","sessionId":"`+idA+`"}`))

	want := map[session.Key]Expected{
		{Provider: session.ClaudeCode, ID: idA}: {
			Project: "shop", CWD: "/home/dev/shop", GitBranch: "main",
			StartedAt: at("2026-03-02T09:59:00Z"), EndedAt: at("2026-03-02T10:00:11Z"),
			Counts:    session.Counts{UserMessages: 1, AssistantMessages: 3, ToolCalls: 1, ToolErrors: 1},
			Subagents: 2, Files: 3,
			Models: []string{"claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-5"},
			// msg_1 (max over A and B, tie at 10:00:01 → A) + msg_s.
			Tokens:  session.Usage{Input: 11, CacheWrite: 101, CacheRead: 1001, Output: 71},
			Records: 10, Malformed: 1,
		},
		{Provider: session.ClaudeCode, ID: idB}: {
			Project: "shop", CWD: "/home/dev/shop", GitBranch: "feature",
			StartedAt: at("2026-03-02T10:00:00Z"), EndedAt: at("2026-03-02T11:00:01Z"),
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 1},
			Files:  1,
			Models: []string{"claude-opus-4-6", "claude-sonnet-4-5"},
			// msg_3 + msg_2 (B saw it first; max with A's sighting).
			Tokens:  session.Usage{Input: 6, CacheWrite: 2, CacheRead: 3, Output: 16},
			Records: 6,
		},
		{Provider: session.ClaudeCode, ID: idC}: {
			Project: "api", CWD: "/home/dev/api",
			StartedAt: at("2026-03-02T12:00:00Z"), EndedAt: at("2026-03-02T12:00:00Z"),
			Counts: session.Counts{AssistantMessages: 1},
			Files:  1,
			Models: []string{"claude-3-5-sonnet"},
			Tokens: session.Usage{Input: 3, Output: 4}, Records: 1,
		},
	}
	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("Count found %d sessions, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if !g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) {
			t.Errorf("%s: times %v–%v, want %v–%v", k, g.StartedAt, g.EndedAt, w.StartedAt, w.EndedAt)
		}
		g.StartedAt, g.EndedAt, w.StartedAt, w.EndedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", k, g, w)
		}
	}
}

// TestCountNotTyped: only what a person typed is a prompt. The fixture
// (the parser's, shaped like a Claude Code 1.0.x main file) holds two slash
// commands and one typed prompt among inline sidechain prompts, isMeta
// lines, interruption markers, command output and a system-sourced
// notification.
func TestCountNotTyped(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "not_typed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "projects/-home-dev-todo/"+idA+".jsonl", string(data))
	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := session.Counts{UserMessages: 3, AssistantMessages: 2, ToolCalls: 2}
	if g := got[session.Key{Provider: session.ClaudeCode, ID: idA}].Counts; g != want {
		t.Errorf("counts %+v, want %+v", g, want)
	}
}

func TestCountMissingDir(t *testing.T) {
	got, err := Count(filepath.Join(t.TempDir(), "nothing"))
	if err != nil || len(got) != 0 {
		t.Errorf("Count(missing) = %v, %v", got, err)
	}
}

// TestCountOwnershipAndParents follows the store's documented rules:
// an undated sighting comes last (an undated line of B does not take msg_u
// from A, which shows it dated later); a file's lines of one claim are one
// sighting, background only if every line is (C's msg_m, shown once
// without and once with sessionKind "bg", is C's own and not a copy); a
// background session's parent is the owner of its newest copied response
// (A produced msg_1, B resumed A in the foreground and produced msg_2, D
// is a background fork of B: D's parent is B, not A).
func TestCountOwnershipAndParents(t *testing.T) {
	const idD = "dddddddd-0000-4000-8000-000000000004"
	dir := t.TempDir()
	p := "projects/-home-dev-x/"
	asst := func(id, ts, msg, extra string, out int) string {
		tsf := ""
		if ts != "" {
			tsf = `"timestamp":"` + ts + `",`
		}
		return `{"type":"assistant","sessionId":"` + id + `",` + tsf + extra + `"requestId":"r_` + msg + `","message":{"id":"` + msg + `","model":"m","content":[],"usage":{"input_tokens":1,"output_tokens":` + strings.Repeat("1", out) + `}}}`
	}
	const bg = `"sessionKind":"bg",`
	writeFile(t, dir, p+idA+".jsonl", lines(
		asst(idA, "2026-03-02T10:00:00.000Z", "msg_1", "", 1),
		asst(idA, "2026-03-02T10:00:09.000Z", "msg_u", "", 1),
	))
	writeFile(t, dir, p+idB+".jsonl", lines(
		asst(idB, "2026-03-02T10:00:00.000Z", "msg_1", "", 1),
		asst(idB, "2026-03-02T10:01:00.000Z", "msg_2", "", 2),
		asst(idB, "", "msg_u", "", 1),
	))
	writeFile(t, dir, p+idC+".jsonl", lines(
		asst(idC, "2026-03-02T10:00:05.000Z", "msg_m", bg, 1),
		asst(idC, "2026-03-02T10:00:05.000Z", "msg_m", "", 1),
	))
	writeFile(t, dir, p+idD+".jsonl", lines(
		asst(idD, "2026-03-02T10:00:00.000Z", "msg_1", bg, 1),
		asst(idD, "2026-03-02T10:01:00.000Z", "msg_2", bg, 2),
		asst(idD, "2026-03-02T10:00:05.000Z", "msg_m", bg, 1),
		asst(idD, "2026-03-02T11:00:00.000Z", "msg_3", bg, 3),
	))
	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	u := func(out int64) session.Usage { return session.Usage{Input: 1, Output: out} }
	k := func(id string) session.Key { return session.Key{Provider: session.ClaudeCode, ID: session.ID(id)} }
	want := map[string]struct {
		tokens session.Usage
		parent string
	}{
		idA: {u(1).Add(u(1)), ""}, // msg_1, msg_u
		idB: {u(11), ""},          // msg_2
		idC: {u(1), ""},           // msg_m: C's own (not every line bg)
		idD: {u(111), idB},        // msg_3
	}
	for id, w := range want {
		e := got[k(id)]
		if e.Tokens != w.tokens || e.Parent != w.parent {
			t.Errorf("%s: tokens %+v parent %q, want %+v %q", id[:1], e.Tokens, e.Parent, w.tokens, w.parent)
		}
	}
}
