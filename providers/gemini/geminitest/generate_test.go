package geminitest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/session"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 3 << 20, Seed: 7, MalformedFraction: 0.01, HashFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes < 3<<20 || sum.Files < sum.Sessions || sum.Sessions < 5 {
		t.Fatalf("summary: %+v", sum)
	}
	want, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != sum.Sessions {
		t.Errorf("Count found %d sessions, Generate wrote %d", len(want), sum.Sessions)
	}
	var malformed, subagents, legacy, unknown int64
	for k, e := range want {
		malformed += e.Malformed
		subagents += e.Subagents
		if e.Files < 1 || e.Records < 1 || e.StartedAt.IsZero() || e.EndedAt.Before(e.StartedAt) {
			t.Errorf("%s: %+v", k, e)
		}
		if e.Project == "unknown" {
			unknown++
		}
	}
	for _, p := range sum.Paths {
		if strings.HasSuffix(p, ".json") {
			legacy++
		}
	}
	if malformed != sum.Damaged || sum.Damaged == 0 {
		t.Errorf("Count saw %d malformed lines, Generate damaged %d", malformed, sum.Damaged)
	}
	if subagents == 0 || legacy == 0 || unknown == int64(len(want)) || sum.FileDiffs == 0 {
		t.Errorf("corpus lacks variety: %d sub-agent files, %d legacy files, %d/%d unknown projects, %d FileDiff displays",
			subagents, legacy, unknown, len(want), sum.FileDiffs)
	}
	// same options, same bytes
	dir2 := t.TempDir()
	if _, err := Generate(dir2, Options{TotalBytes: 3 << 20, Seed: 7, MalformedFraction: 0.01, HashFraction: 0.5}); err != nil {
		t.Fatal(err)
	}
	for _, p := range sum.Paths[:10] {
		a, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(filepath.Join(dir2, rel))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between runs", rel)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCountHandmade checks the reference on a small hand-written home.
func TestCountHandmade(t *testing.T) {
	home := t.TempDir()
	root := filepath.Join(home, ".gemini", "tmp")
	h := hashOf("/w/shop")
	write(t, filepath.Join(home, ".gemini", "projects.json"), `{"projects":{"/w/shop":"shop"}}`)
	lines := strings.Join([]string{
		`{"sessionId":"s1","projectHash":"` + h + `","startTime":"2026-05-01T09:00:00.000Z","lastUpdated":"2026-05-01T09:00:00.000Z"}`,
		`{"id":"u1","timestamp":"2026-05-01T09:00:01.000Z","type":"user","content":"hi"}`,
		`{"id":"g1","timestamp":"2026-05-01T09:00:02.000Z","type":"gemini","model":"m","tokens":null}`,
		`{"id":"g1","timestamp":"2026-05-01T09:00:02.000Z","type":"gemini","model":"m","tokens":{"input":10,"cached":4,"output":3,"thoughts":2,"tool":1},"toolCalls":[{"status":"error"},{"status":"success"}]}`,
		`torn{`,
		`{"id":"u2","timestamp":"2026-05-01T09:00:03.000Z","type":"user","content":[{"functionResponse":{}}]}`,
		`{"id":"u3","timestamp":"2026-05-01T09:00:04.000Z","type":"user","content":"again"}`,
		`{"$rewindTo":"u3"}`,
		``,
	}, "\n") + "\n"
	write(t, filepath.Join(root, "shop", "chats", "session-2026-05-01T09-00-s1.jsonl"), lines)
	write(t, filepath.Join(root, "shop", "chats", "s1", "child.jsonl"),
		`{"sessionId":"c","projectHash":"`+h+`","kind":"subagent"}`+"\n"+`{"id":"x","type":"gemini","model":"n","tokens":{"input":5}}`+"\n")
	// superseded copies and non-sessions
	write(t, filepath.Join(root, h, "chats", "session-2026-05-01T09-00-s1.jsonl"), lines)
	write(t, filepath.Join(root, "shop", "logs.json"), "[]")
	doc := `{"sessionId":"s2","projectHash":"` + hashOf("/w/old") + `","messages":[{"id":"a","type":"user","content":"x","timestamp":"2025-01-01T00:00:00Z"},{"id":"b","type":"gemini","toolCalls":[{"args":{"file_path":"/w/old/src/a.go"}}]},3]}`
	write(t, filepath.Join(root, hashOf("/w/old"), "chats", "session-2025-01-01T00-00-s2.json"), doc)
	// relative arguments: the project only in a FileDiff's filePath
	write(t, filepath.Join(root, hashOf("/w/kitchen"), "chats", "session-2025-01-03T00-00-s4.jsonl"),
		`{"sessionId":"s4","projectHash":"`+hashOf("/w/kitchen")+`"}`+"\n"+
			`{"id":"g","type":"gemini","toolCalls":[{"args":{"file_path":"a.md"},"resultDisplay":"/w/x"},{"args":{"file_path":"b.md"},"resultDisplay":{"fileName":"b.md","filePath":"/w/kitchen/docs/b.md"}}]}`+"\n")
	write(t, filepath.Join(root, "shop", "chats", "session-2025-01-02T00-00-s3.json"), `{"sessionId":"s3","projectHash":"x"}`)
	write(t, filepath.Join(root, "shop", "chats", "session-2025-01-02T00-00-s3.jsonl"), `{"sessionId":"s3","projectHash":"x"}`+"\n")

	got, err := Count(home)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	want := map[session.ID]Expected{
		"s1": {Project: "shop", CWD: "/w/shop", StartedAt: at("2026-05-01T09:00:00Z"), EndedAt: at("2026-05-01T09:00:04Z"),
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 2, ToolCalls: 2, ToolErrors: 1}, Subagents: 1, Files: 2,
			Models: []string{"m", "n"}, Tokens: session.Usage{Input: 7 + 5, CacheRead: 4, Output: 5, Reasoning: 2}, Records: 9, Malformed: 1},
		"s2": {Project: "old", CWD: "/w/old", StartedAt: at("2025-01-01T00:00:00Z"), EndedAt: at("2025-01-01T00:00:00Z"),
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 1}, Files: 1, Records: 3, Malformed: 1},
		"s3": {Project: "unknown", Files: 1, Records: 1},
		"s4": {Project: "kitchen", CWD: "/w/kitchen", Counts: session.Counts{AssistantMessages: 1, ToolCalls: 2}, Files: 1, Records: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("sessions: %+v", got)
	}
	for id, w := range want {
		g := got[session.Key{Provider: session.GeminiCode, ID: id}]
		if g.Project != w.Project || g.CWD != w.CWD || !g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) ||
			g.Counts != w.Counts || g.Subagents != w.Subagents || g.Files != w.Files || strings.Join(g.Models, ",") != strings.Join(w.Models, ",") ||
			g.Tokens != w.Tokens || g.Records != w.Records || g.Malformed != w.Malformed {
			t.Errorf("%s:\ngot  %+v\nwant %+v", id, g, w)
		}
	}
}
