package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// Accounting under file faults (issue 6, §5): tokens are money already
// spent. The real daemon follows files that are truncated, copytruncated,
// rewritten shorter or revised; a response once counted stays counted and
// later appends add. Files that hold no session never become sessions.

// ledgerT0 dates the records: recent, so the sessions stay active.
var ledgerT0 = time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Millisecond)

func ledgerTS(sec int) string {
	return ledgerT0.Add(time.Duration(sec) * time.Second).Format("2006-01-02T15:04:05.000Z")
}

func claudePrompt(sid string, sec int) string {
	return fmt.Sprintf(`{"type":"user","uuid":"u%d","cwd":"/home/dev/ledger","sessionId":%q,"timestamp":%q,"message":{"role":"user","content":"go on"}}`+"\n",
		sec, sid, ledgerTS(sec))
}

// claudeReply is response n of sid with input tokens in.
func claudeReply(sid string, sec int, in int64) string {
	return fmt.Sprintf(`{"type":"assistant","uuid":"a%d","cwd":"/home/dev/ledger","sessionId":%q,"timestamp":%q,"requestId":"req_%s_%d","message":{"id":"msg_%s_%d","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`+"\n",
		sec, sid, ledgerTS(sec), sid[:8], sec, sid[:8], sec, in)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ledger watches a running daemon's sessions through its API.
type ledger struct {
	t *testing.T
	d *daemon
}

func (l *ledger) sessions() map[session.ID]api.SessionView {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	views, err := l.d.client().Sessions(ctx, nil)
	if err != nil {
		l.t.Fatalf("sessions: %v\n%s", err, l.d.stderr)
	}
	out := map[session.ID]api.SessionView{}
	for _, v := range views {
		out[v.ID] = v
	}
	return out
}

// wait polls until cond holds for session id.
func (l *ledger) wait(id string, what string, cond func(v api.SessionView) bool) api.SessionView {
	l.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last api.SessionView
	for time.Now().Before(deadline) {
		if v, ok := l.sessions()[session.ID(id)]; ok {
			if last = v; cond(v) {
				return v
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.t.Fatalf("%s: timed out waiting for %s; last: tokens=%+v counts=%+v", id, what, last.Record.Tokens, last.Counts)
	return last
}

// neverDown checks the event log: no event of any session lowered a
// token count.
func (l *ledger) neverDown() {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := l.d.client().Events(ctx, 0, 10000)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range evs {
		if u := e.Change.Tokens; u.Input < 0 || u.Output < 0 || u.CacheRead < 0 || u.CacheWrite < 0 || u.Reasoning < 0 {
			l.t.Errorf("event %d (%s %s) lowered tokens: %+v", e.Seq, e.Kind, e.Key, u)
		}
	}
}

func TestLedgerClaudeFileFaults(t *testing.T) {
	h := newHome(t, claudetest.Options{})
	dir := filepath.Join(h.dir, ".claude", "projects", "-home-dev-ledger")
	const (
		trunc = "11111111-0000-4000-8000-000000000001"
		copyt = "22222222-0000-4000-8000-000000000002"
		rewr  = "33333333-0000-4000-8000-000000000003"
	)
	path := func(sid string) string { return filepath.Join(dir, sid+".jsonl") }
	head := func(sid string) string { return claudePrompt(sid, 1) + claudeReply(sid, 2, 100) }
	for _, sid := range []string{trunc, copyt, rewr} {
		writeFile(t, path(sid), head(sid)+claudePrompt(sid, 3)+claudeReply(sid, 4, 20)+claudeReply(sid, 5, 3))
	}
	d := h.start(freePort(t))
	d.ready(t)
	l := &ledger{t: t, d: d}
	for _, sid := range []string{trunc, copyt, rewr} {
		l.wait(sid, "123 input tokens", func(v api.SessionView) bool { return v.Record.Tokens.Input == 123 && v.AssistantMessages == 3 })
	}

	// truncated at a line boundary: the cut responses stay counted
	if err := os.Truncate(path(trunc), int64(len(head(trunc)))); err != nil {
		t.Fatal(err)
	}
	v := l.wait(trunc, "the truncation read", func(v api.SessionView) bool { return v.AssistantMessages == 1 })
	if v.Record.Tokens.Input != 123 || v.Record.Tokens.Output != 3 {
		t.Errorf("truncated: tokens %+v, want input 123 output 3 (spend kept)", v.Record.Tokens)
	}
	appendTo(t, path(trunc), claudeReply(trunc, 6, 4000))
	l.wait(trunc, "the append after truncation", func(v api.SessionView) bool {
		return v.Record.Tokens.Input == 4123 && v.Record.Tokens.Output == 4
	})

	// copytruncate (logrotate): copy, cut to nothing, the agent appends
	data, err := os.ReadFile(path(copyt))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path(copyt)+".1", string(data))
	if err := os.Truncate(path(copyt), 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path(copyt), claudePrompt(copyt, 7)+claudeReply(copyt, 8, 50000))
	v = l.wait(copyt, "the appends after copytruncate", func(v api.SessionView) bool { return v.Record.Tokens.Input >= 50000 })
	if v.Record.Tokens.Input != 50123 || v.Record.Tokens.Output != 4 {
		t.Errorf("copytruncated: tokens %+v, want input 50123 output 4", v.Record.Tokens)
	}

	// rewritten shorter (atomic replace: a new inode, the same head)
	writeFile(t, path(rewr)+".tmp", head(rewr))
	if err := os.Rename(path(rewr)+".tmp", path(rewr)); err != nil {
		t.Fatal(err)
	}
	v = l.wait(rewr, "the rewrite", func(v api.SessionView) bool { return v.AssistantMessages == 1 })
	if v.Record.Tokens.Input != 123 {
		t.Errorf("rewritten shorter: tokens %+v, want input 123", v.Record.Tokens)
	}
	appendTo(t, path(rewr), claudeReply(rewr, 9, 7000))
	l.wait(rewr, "the append after the rewrite", func(v api.SessionView) bool { return v.Record.Tokens.Input == 7123 })

	l.neverDown()
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.stderr)
	}
}

func TestLedgerFilesThatAreNotSessions(t *testing.T) {
	h := newHome(t, claudetest.Options{})
	dir := filepath.Join(h.dir, ".claude", "projects", "-home-dev-ledger")
	const (
		live    = "44444444-0000-4000-8000-000000000004"
		summary = "55555555-0000-4000-8000-000000000005"
	)
	writeFile(t, filepath.Join(dir, "passwd.jsonl"),
		"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i>>3)
	}
	writeFile(t, filepath.Join(dir, "66666666-0000-4000-8000-000000000006.jsonl"), string(garbage))
	writeFile(t, filepath.Join(dir, summary+".jsonl"),
		`{"type":"summary","summary":"Fix the build","leafUuid":"0b7f0c2e-1111-4000-8000-000000000001"}`+"\n"+
			`{"type":"summary","summary":"Refactor","leafUuid":"0b7f0c2e-1111-4000-8000-000000000002"}`+"\n")
	writeFile(t, filepath.Join(dir, live+".jsonl"), claudePrompt(live, 1)+claudeReply(live, 2, 10))

	d := h.start(freePort(t))
	d.ready(t) // the first pass over every file is done
	l := &ledger{t: t, d: d}
	l.wait(live, "the real session", func(v api.SessionView) bool { return v.Record.Tokens.Input == 10 })
	got := l.sessions()
	if len(got) != 1 {
		for id, v := range got {
			t.Errorf("session %s: started %s status %s counts %+v", id, v.StartedAt, v.Status, v.Counts)
		}
		t.Fatalf("%d sessions, want only %s", len(got), live)
	}
	// the same through the CLI, with the daemon stopped (the store itself)
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.stderr)
	}
	if out := h.run("sessions", "--json"); strings.Count(out, `"session_id"`) != 1 {
		t.Fatalf("sessions --json lists more than the real session:\n%s", out)
	}
	var status struct {
		Providers []struct {
			Provider string `json:"provider"`
			Sessions int    `json:"sessions"`
		} `json:"providers"`
	}
	if err := json.Unmarshal([]byte(h.run("status", "--json")), &status); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	for _, p := range status.Providers {
		if p.Provider == string(session.ClaudeCode) && p.Sessions > 1 {
			t.Errorf("status counts %d sessions, want 1", p.Sessions)
		}
	}
	// and the summary of a scan
	status.Providers = nil
	if err := json.Unmarshal([]byte(h.run("scan", "--json")), &status); err != nil {
		t.Fatalf("scan --json: %v", err)
	}
	for _, p := range status.Providers {
		if p.Provider == string(session.ClaudeCode) && p.Sessions != 1 {
			t.Errorf("scan summary counts %d sessions, want 1", p.Sessions)
		}
	}

	// a dated line appended to the summary-only file: the session appears
	d = h.start(freePort(t))
	d.ready(t)
	l = &ledger{t: t, d: d}
	appendTo(t, filepath.Join(dir, summary+".jsonl"), claudePrompt(summary, 30)+claudeReply(summary, 31, 77))
	v := l.wait(summary, "the summary file's first dated record", func(v api.SessionView) bool { return v.Record.Tokens.Input == 77 })
	if v.StartedAt.IsZero() || v.Status != session.StatusActive || v.Version == 0 {
		t.Fatalf("session = %+v", v.Record)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := d.client().Events(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []session.EventKind
	for _, e := range evs {
		if e.ID == summary {
			kinds = append(kinds, e.Kind)
		}
		if e.Time.IsZero() || strings.HasPrefix(string(e.ID), "66666666") || e.ID == "passwd" {
			t.Errorf("event for a file that is no session: %+v", e)
		}
	}
	if len(kinds) == 0 || kinds[0] != session.EventCreated {
		t.Fatalf("events of the summary session = %v, want created first", kinds)
	}
}

func codexLine(sec int, typ string, payload any) string {
	b, err := json.Marshal(map[string]any{"timestamp": ledgerTS(sec), "type": typ, "payload": payload})
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

// codexCount is a token_count with cumulative input total and this
// response's input last (output is a hundredth of input).
func codexCount(sec int, total, last int64) string {
	u := func(in int64) map[string]any {
		return map[string]any{"input_tokens": in, "cached_input_tokens": 0, "output_tokens": in / 100, "reasoning_output_tokens": 0, "total_tokens": in + in/100}
	}
	return codexLine(sec, "event_msg", map[string]any{"type": "token_count",
		"info": map[string]any{"total_token_usage": u(total), "last_token_usage": u(last)}})
}

func codexPrompt(sec int) string {
	return codexLine(sec, "event_msg", map[string]any{"type": "user_message", "message": "go on"})
}

func TestLedgerCodexRollout(t *testing.T) {
	h := newHome(t, claudetest.Options{})
	const id = "0195a1b2-aaaa-7000-8000-00000000000c"
	day := ledgerT0.Format("2006/01/02")
	p := filepath.Join(h.dir, ".codex", "sessions", filepath.FromSlash(day), "rollout-"+ledgerT0.Format("2006-01-02")+"T10-00-00-"+id+".jsonl")
	meta := codexLine(0, "session_meta", map[string]any{"id": id, "timestamp": ledgerTS(0), "cwd": "/home/dev/ledger", "originator": "codex_cli_rs", "cli_version": "0.98.0", "source": "cli"})
	first := meta + codexPrompt(1) + codexCount(2, 1000, 1000)
	writeFile(t, p, first+codexPrompt(3)+codexCount(4, 3000, 2000))
	d := h.start(freePort(t))
	d.ready(t)
	l := &ledger{t: t, d: d}
	l.wait(id, "3000 input tokens", func(v api.SessionView) bool { return v.Record.Tokens.Input == 3000 && v.UserMessages == 2 })

	// truncated at a line boundary: the second response stays counted
	if err := os.Truncate(p, int64(len(first))); err != nil {
		t.Fatal(err)
	}
	v := l.wait(id, "the truncation read", func(v api.SessionView) bool { return v.UserMessages == 1 })
	if v.Record.Tokens.Input != 3000 {
		t.Errorf("truncated: tokens %+v, want input 3000 (spend kept)", v.Record.Tokens)
	}
	// the agent goes on: its cumulative total continues; the new
	// response adds its own usage, once
	appendTo(t, p, codexPrompt(5)+codexCount(6, 3500, 500))
	v = l.wait(id, "the append after truncation", func(v api.SessionView) bool { return v.UserMessages == 2 })
	if v.Record.Tokens.Input != 3500 || v.Record.Tokens.Output != 35 {
		t.Errorf("after the append: tokens %+v, want input 3500 output 35", v.Record.Tokens)
	}

	// copytruncate: cut to nothing, the agent appends
	writeFile(t, p+".1", first)
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, p, codexPrompt(7)+codexCount(8, 4000, 500))
	v = l.wait(id, "the append after copytruncate", func(v api.SessionView) bool { return v.UserMessages == 1 && v.Record.Tokens.Input >= 4000 })
	if v.Record.Tokens.Input != 4000 || v.Record.Tokens.Output != 40 {
		t.Errorf("after copytruncate: tokens %+v, want input 4000 output 40", v.Record.Tokens)
	}
	l.neverDown()
}

// geminiDoc is a legacy Gemini CLI .json conversation: one user message
// and one response per element of inputs.
func geminiDoc(t *testing.T, sid string, ids []string, inputs []int64) string {
	t.Helper()
	sum := sha256.Sum256([]byte("/home/dev/ledger"))
	var msgs []map[string]any
	for i, in := range inputs {
		msgs = append(msgs,
			map[string]any{"id": "u" + ids[i], "timestamp": ledgerTS(2*i + 1), "type": "user", "content": []any{map[string]any{"text": "do it"}}},
			map[string]any{"id": "g" + ids[i], "timestamp": ledgerTS(2*i + 2), "type": "gemini", "content": "ok", "model": "gemini-2.5-pro",
				"tokens": map[string]any{"input": in, "output": 1, "cached": 0, "thoughts": 0, "tool": 0, "total": in + 1}})
	}
	b, err := json.MarshalIndent(map[string]any{"sessionId": sid, "projectHash": hex.EncodeToString(sum[:]),
		"startTime": ledgerTS(0), "lastUpdated": ledgerTS(2 * len(inputs)), "messages": msgs}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLedgerGeminiDocument(t *testing.T) {
	h := newHome(t, claudetest.Options{})
	const sid = "77777777-0000-4000-8000-000000000007"
	writeFile(t, filepath.Join(h.dir, ".gemini", "projects.json"), `{"projects":{"/home/dev/ledger":"ledger"}}`)
	writeFile(t, filepath.Join(h.dir, ".gemini", "tmp", "ledger", ".project_root"), "/home/dev/ledger")
	p := filepath.Join(h.dir, ".gemini", "tmp", "ledger", "chats", "session-2026-05-01T09-00-77777777.json")
	writeFile(t, p, geminiDoc(t, sid, []string{"1", "2", "3"}, []int64{100, 20, 3}))
	// and a JSONL conversation, rewound with $rewindTo
	const jsid = "88888888-0000-4000-8000-000000000008"
	jp := filepath.Join(h.dir, ".gemini", "tmp", "ledger", "chats", "session-2026-05-01T09-00-88888888.jsonl")
	jsonl := func(id string, sec int, in int64) string {
		return fmt.Sprintf(`{"id":"u%s","timestamp":%q,"type":"user","content":[{"text":"do it"}]}`+"\n"+
			`{"id":"g%s","timestamp":%q,"type":"gemini","content":"ok","model":"gemini-2.5-pro","tokens":{"input":%d,"output":1,"cached":0,"thoughts":0,"tool":0,"total":%d}}`+"\n",
			id, ledgerTS(sec), id, ledgerTS(sec+1), in, in+1)
	}
	sum := sha256.Sum256([]byte("/home/dev/ledger"))
	writeFile(t, jp, fmt.Sprintf(`{"sessionId":%q,"projectHash":%q,"startTime":%q,"lastUpdated":%q}`+"\n", jsid, hex.EncodeToString(sum[:]), ledgerTS(0), ledgerTS(0))+
		jsonl("1", 1, 100)+jsonl("2", 3, 20)+jsonl("3", 5, 3))
	d := h.start(freePort(t))
	d.ready(t)
	l := &ledger{t: t, d: d}
	l.wait(sid, "123 input tokens", func(v api.SessionView) bool { return v.Record.Tokens.Input == 123 && v.AssistantMessages == 3 })

	// rewritten in place without its last two exchanges (a rewind)
	writeFile(t, p, geminiDoc(t, sid, []string{"1"}, []int64{100}))
	v := l.wait(sid, "the shorter document", func(v api.SessionView) bool { return v.AssistantMessages == 1 })
	if v.Record.Tokens.Input != 123 || v.Record.Tokens.Output != 3 {
		t.Errorf("rewound document: tokens %+v, want input 123 output 3 (spend kept)", v.Record.Tokens)
	}
	// the conversation goes on from there: the new response adds
	writeFile(t, p, geminiDoc(t, sid, []string{"1", "4"}, []int64{100, 4000}))
	v = l.wait(sid, "the new response", func(v api.SessionView) bool { return v.AssistantMessages == 2 })
	if v.Record.Tokens.Input != 4123 || v.Record.Tokens.Output != 4 {
		t.Errorf("after a new response: tokens %+v, want input 4123 output 4", v.Record.Tokens)
	}

	l.wait(jsid, "123 input tokens", func(v api.SessionView) bool { return v.Record.Tokens.Input == 123 && v.AssistantMessages == 3 })
	appendTo(t, jp, `{"$rewindTo":"u2"}`+"\n")
	v = l.wait(jsid, "the rewind", func(v api.SessionView) bool { return v.AssistantMessages == 1 })
	if v.Record.Tokens.Input != 123 || v.Record.Tokens.Output != 3 {
		t.Errorf("rewound conversation: tokens %+v, want input 123 output 3 (spend kept)", v.Record.Tokens)
	}
	appendTo(t, jp, jsonl("4", 7, 4000))
	v = l.wait(jsid, "the new response", func(v api.SessionView) bool { return v.AssistantMessages == 2 })
	if v.Record.Tokens.Input != 4123 || v.Record.Tokens.Output != 4 {
		t.Errorf("after a new response: tokens %+v, want input 4123 output 4", v.Record.Tokens)
	}
	l.neverDown()
}
