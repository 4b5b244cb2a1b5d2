package main_test

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/providers/gemini/geminitest"
	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
)

// expectation is what a reference count says of one session.
type expectation struct {
	Tokens session.Usage
	Counts session.Counts
	Files  int64
	Models []string
}

// TestCrashSafetyOtherAgents SIGKILLs the real binary at random points of
// a scan of Codex, Gemini CLI, GitHub Copilot, Cursor and OpenCode corpora
// (forks with replayed usage, archived files, re-appended and rewound
// Gemini messages, VS Code mutation logs and their copies, SQLite
// databases and legacy trees), restarts it,
// and checks every session against each provider's independent count.
func TestCrashSafetyOtherAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	h := newHome(t, claudetest.Options{})
	codexHome := filepath.Join(h.dir, ".codex")
	if _, err := codextest.Generate(codexHome, codextest.Options{TotalBytes: 24 << 20, Seed: 5, ForkFraction: 0.3, ArchivedFraction: 0.2}); err != nil {
		t.Fatal(err)
	}
	if _, err := geminitest.Generate(h.dir, geminitest.Options{TotalBytes: 16 << 20, Seed: 6, RewindFraction: 0.4, CheckpointFraction: 0.3}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(h.dir, "cfg") // Code/User and copilot/session-state
	if _, err := copilottest.Generate(cfg, copilottest.Options{TotalBytes: 12 << 20, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// Cursor: <cfg>/Cursor/User and <cursor home>/.cursor/projects
	cur := cursortest.NewLayout(cfg)
	if _, err := cursortest.Generate(cfg, cursortest.Options{TotalBytes: 8 << 20, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	// and the Agent CLI's chat stores: <cursor home>/.cursor/chats
	chats := cursortest.ChatLayout{Home: filepath.Dir(filepath.Dir(cur.Projects)), Projects: cur.Projects, Code: cur.Code}
	chats.Chats = filepath.Join(chats.Home, ".cursor", "chats")
	if _, err := cursortest.GenerateChats(chats, 8, 40); err != nil {
		t.Fatal(err)
	}
	// OpenCode: $XDG_DATA_HOME/opencode, database and legacy tree
	xdgData := filepath.Join(h.dir, "xdg")
	oc, err := opencodetest.Generate(filepath.Join(xdgData, "opencode"), opencodetest.Options{TotalBytes: 8 << 20, Seed: 9, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	h.env = append(h.env, "XDG_CONFIG_HOME="+cfg, "COPILOT_HOME="+filepath.Join(cfg, "copilot"),
		"CODEX_HOME="+codexHome, "GEMINI_CLI_HOME="+h.dir, "XDG_DATA_HOME="+xdgData,
		"HOME="+filepath.Dir(filepath.Dir(cur.Projects))) // Cursor's transcripts live under ~/.cursor
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 30; round++ {
		c := h.cmd("scan")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			round = 1000
		case <-time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond):
			_ = c.Process.Kill()
			<-done
		}
	}
	h.run("scan")

	cx, err := codextest.Count(codexHome)
	if err != nil {
		t.Fatal(err)
	}
	want := map[session.Key]expectation{}
	for k, e := range cx {
		want[k] = expectation{e.Tokens, e.Counts, e.Files, e.Models}
	}
	gm, err := geminitest.Count(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range gm {
		want[k] = expectation{e.Tokens, e.Counts, e.Files, e.Models}
	}
	cp, err := copilottest.Count(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range cp {
		want[k] = expectation{e.Tokens, e.Counts, e.Files, e.Models}
	}
	cu, err := cursortest.Count(cur)
	if err != nil {
		t.Fatal(err)
	}
	for id, e := range cu {
		want[session.Key{Provider: session.Cursor, ID: session.ID(id)}] = expectation{e.Tokens, e.Counts, e.Files, e.Models}
	}
	cc, err := cursortest.CountChats(chats) // a chat's transcript is not a session of its own
	if err != nil {
		t.Fatal(err)
	}
	for id, e := range cc {
		want[session.Key{Provider: session.Cursor, ID: session.ID(id)}] = expectation{e.Tokens, e.Counts, e.Files, e.Models}
	}
	for id, e := range oc.Sessions {
		want[session.Key{Provider: session.OpenCode, ID: session.ID(id)}] = expectation{
			Tokens: session.Usage{Input: e.Input, Output: e.Output, CacheRead: e.CacheRead, CacheWrite: e.CacheWrite, Reasoning: e.Reasoning},
			Counts: session.Counts{UserMessages: e.UserMessages, AssistantMessages: e.AssistantMessages, ToolCalls: e.ToolCalls, ToolErrors: e.ToolErrors},
			Files:  -1, Models: e.Models,
		}
	}
	per := map[session.Provider]int{}
	for k := range want {
		per[k.Provider]++
	}
	for _, p := range []session.Provider{session.Codex, session.GeminiCode, session.GitHubCopilot, session.Cursor, session.OpenCode} {
		if per[p] == 0 {
			t.Fatalf("the %s corpus has no session: %v", p, per)
		}
	}
	t.Logf("sessions per provider: %v", per)
	var views []api.SessionView
	if err := json.Unmarshal([]byte(h.run("sessions", "--json")), &views); err != nil {
		t.Fatal(err)
	}
	got := map[session.Key]expectation{}
	for _, v := range views {
		if v.Status == session.StatusFailed {
			t.Errorf("%s failed: %s", v.Key, v.FailReason)
		}
		got[v.Key] = expectation{v.Record.Tokens, v.Counts, v.Files, v.Models}
	}
	if len(got) != len(want) {
		t.Errorf("%d sessions, want %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		g := got[k]
		if w.Files < 0 {
			w.Files = g.Files // the reference does not count files
		}
		if g.Tokens != w.Tokens || g.Counts != w.Counts || g.Files != w.Files || !slices.Equal(g.Models, w.Models) {
			t.Errorf("%s:\n got  %+v\n want %+v", k, g, w)
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}
