package claudetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessiond/sessiond/session"
)

func countOne(t *testing.T, dir string, id string) Expected {
	t.Helper()
	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	return got[session.Key{Provider: session.ClaudeCode, ID: session.ID(id)}]
}

// TestAppendSession appends responses to a generated session: they count
// as new responses of the same session.
func TestAppendSession(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 1 << 20, Seed: 5, SubagentFraction: -1, ReplayFraction: -1})
	if err != nil {
		t.Fatal(err)
	}
	path := sum.Paths[0]
	id := filepath.Base(path[:len(path)-len(".jsonl")])
	before := countOne(t, dir, id)
	if err := AppendSession(path, 5, 1); err != nil {
		t.Fatal(err)
	}
	after := countOne(t, dir, id)
	if n, err := Count(dir); err != nil || len(n) != sum.Sessions {
		t.Fatalf("sessions after append: %d, %v; want %d", len(n), err, sum.Sessions)
	}
	if got := after.AssistantMessages - before.AssistantMessages; got != 5 {
		t.Errorf("appended responses counted %d, want 5", got)
	}
	if after.Tokens.Output <= before.Tokens.Output || !after.EndedAt.After(before.EndedAt) || after.CWD != before.CWD {
		t.Errorf("append did not continue the session:\nbefore %+v\nafter  %+v", before, after)
	}
	if after.Malformed != before.Malformed {
		t.Errorf("append wrote malformed lines")
	}
}

// TestWriter writes a new nested subagent transcript and a torn line.
func TestWriter(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "projects", "-home-dev-x", idA+".jsonl")
	w, err := OpenWriter(main, WriterOptions{Seed: 2, CWD: `/home/dev/x "quoted"`})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Turns(3); err != nil {
		t.Fatal(err)
	}
	e := countOne(t, dir, idA)
	if e.UserMessages < 3 || e.AssistantMessages < 3 || e.CWD != `/home/dev/x "quoted"` || e.Records == 0 || e.Malformed != 0 {
		t.Errorf("after 3 turns: %+v", e)
	}

	if err := w.Torn(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(main)
	if bytes.HasSuffix(data, []byte("\n")) {
		t.Error("Torn left a complete line")
	}
	if got := countOne(t, dir, idA); got.Records != e.Records {
		t.Errorf("a torn line was counted: %d records, had %d", got.Records, e.Records)
	}
	if err := w.Complete(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(main)
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Error("Complete left a torn line")
	}
	got := countOne(t, dir, idA)
	if got.Records <= e.Records || got.AssistantMessages <= e.AssistantMessages || got.Malformed != 0 {
		t.Errorf("after Complete: %+v, had %+v", got, e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	sub := filepath.Join(dir, "projects", "-home-dev-x", idA, "subagents", "agent-a0000000000000001.jsonl")
	sw, err := OpenWriter(sub, WriterOptions{Seed: 3, SessionID: idA, Subagent: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Prompt(); err != nil {
		t.Fatal(err)
	}
	if err := sw.Responses(2); err != nil {
		t.Fatal(err)
	}
	if err := sw.Append([]byte(`{"type":"system","subtype":"turn_duration"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(sub)
	if !bytes.Contains(data, []byte(`"isSidechain":true`)) || !bytes.Contains(data, []byte(idA)) {
		t.Error("subagent lines lack isSidechain or the parent's session id")
	}
	final := countOne(t, dir, idA)
	if final.Subagents != 1 || final.Files != 2 || final.AssistantMessages != got.AssistantMessages+2 {
		t.Errorf("with subagent: %+v", final)
	}
}
