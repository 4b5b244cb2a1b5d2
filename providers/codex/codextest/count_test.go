package codextest

import (
	"os"
	"testing"
	"testing/fstest"

	"github.com/sessiond/sessiond/session"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const (
	parentID = "0195a1b2-1111-7000-8000-000000000001"
	childID  = "0195a1b2-2222-7000-8000-000000000002"
)

// TestCountFork: a fork counts only the tokens of its own token counts,
// whichever file is found first; its copied prompts and responses count.
func TestCountFork(t *testing.T) {
	home := fstest.MapFS{
		"sessions/2026/03/02/rollout-2026-03-02T09-00-00-" + parentID + ".jsonl": {Data: fixture(t, "fork_parent.jsonl")},
		"archived_sessions/rollout-2026-03-02T11-00-00-" + childID + ".jsonl":    {Data: fixture(t, "fork_child.jsonl")},
		"sessions/2026/03/02/notes.txt":                                          {Data: []byte("x")},
		"sessions/2026/3/02/rollout-2026-03-02T09-00-00-" + childID + ".jsonl":   {Data: []byte("ignored: not a date dir\n")},
	}
	got, err := CountFS(home)
	if err != nil {
		t.Fatal(err)
	}
	p := got[session.Key{Provider: session.Codex, ID: parentID}]
	c := got[session.Key{Provider: session.Codex, ID: childID}]
	if len(got) != 2 {
		t.Fatalf("sessions: %v", got)
	}
	if want := (session.Usage{Input: 6200, CacheRead: 4800, Output: 300, Reasoning: 80}); p.Tokens != want {
		t.Errorf("parent tokens %+v, want %+v", p.Tokens, want)
	}
	if want := (session.Usage{Input: 1800, CacheRead: 5200, Output: 150, Reasoning: 20}); c.Tokens != want {
		t.Errorf("child tokens %+v, want %+v", c.Tokens, want)
	}
	if p.Counts != (session.Counts{UserMessages: 2, AssistantMessages: 2, ToolCalls: 1}) ||
		c.Counts != (session.Counts{UserMessages: 3, AssistantMessages: 3, ToolCalls: 1}) {
		t.Errorf("counts: parent %+v, child %+v", p.Counts, c.Counts)
	}
	if c.CWD != "/home/dev/shop" || c.Project != "shop" || c.GitBranch != "main" || c.Records != 15 || c.Files != 1 {
		t.Errorf("child = %+v", c)
	}
	// Without the parent, the fork is credited with the replayed usage.
	delete(home, "sessions/2026/03/02/rollout-2026-03-02T09-00-00-"+parentID+".jsonl")
	got, err = CountFS(home)
	if err != nil {
		t.Fatal(err)
	}
	if want := (session.Usage{Input: 8000, CacheRead: 10000, Output: 450, Reasoning: 100}); got[session.Key{Provider: session.Codex, ID: childID}].Tokens != want {
		t.Errorf("orphan fork tokens %+v, want %+v", got[session.Key{Provider: session.Codex, ID: childID}].Tokens, want)
	}
}

func TestCountFormats(t *testing.T) {
	home := fstest.MapFS{
		"sessions/2025/06/10/rollout-2025-06-10T08-15-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl": {Data: fixture(t, "bare.jsonl")},
		"sessions/rollout-2025-04-20-ts-7d3c1f.json":                                                 {Data: fixture(t, "ts_session.json")},
		"sessions/rollout-2025-04-21-broken.json":                                                    {Data: []byte(`{"session":{},"items":[`)},
		"sessions/2026/03/02/rollout-2026-03-02T12-00-00.jsonl":                                      {Data: fixture(t, "malformed.jsonl")},
	}
	got, err := CountFS(home)
	if err != nil {
		t.Fatal(err)
	}
	bare := got[session.Key{Provider: session.Codex, ID: "5973b6c0-94b8-487b-a530-2aeb6098ae0e"}]
	if bare.Counts != (session.Counts{UserMessages: 2, AssistantMessages: 1, ToolCalls: 2, ToolErrors: 1}) ||
		bare.CWD != "/home/dev/legacy app" || bare.GitBranch != "dev" || !bare.TokensUnknown || bare.Records != 13 {
		t.Errorf("bare = %+v", bare)
	}
	ts := got[session.Key{Provider: session.Codex, ID: "ts-7d3c1f"}]
	if ts.Counts != (session.Counts{UserMessages: 2, AssistantMessages: 1, ToolCalls: 2, ToolErrors: 1}) ||
		ts.Records != 9 || ts.Malformed != 1 || !ts.TokensUnknown || len(ts.Models) != 1 {
		t.Errorf("ts = %+v", ts)
	}
	if _, ok := got[session.Key{Provider: session.Codex, ID: "broken"}]; ok {
		t.Error("an incomplete document was counted")
	}
	// resolved from its session_meta
	m := got[session.Key{Provider: session.Codex, ID: "0195a1b2-5555-7000-8000-000000000005"}]
	if m.Records != 6 || m.Malformed != 7 || m.Tokens != (session.Usage{Input: 100, Output: 10}) {
		t.Errorf("malformed = %+v", m)
	}
	if len(got) != 3 {
		t.Errorf("%d sessions", len(got))
	}
}
