package cursor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
)

// inlineFixture is a Cursor 0.42 workspace: two composers kept inline (one
// of them also in the global database), an empty one, a chat tab of two
// exchanges ending with the input box's empty bubble, an unused tab (only
// the input box's empty bubble) and a tab without bubbles.
func inlineFixture(t *testing.T, at time.Time) (cursortest.Layout, string, string) {
	t.Helper()
	l, db := fixtureDB(t)
	folder := filepath.Join(l.Code, "mobile chat")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	global := cursortest.Composer{ID: "dup", Created: at, Updated: at.Add(time.Minute), Bubbles: []cursortest.Bubble{
		{ID: "g1", Type: 1, Text: "same chat, migrated"}, {ID: "g2", Type: 2, Text: "ok", In: 5, Out: 7}}}
	if err := db.WriteComposer(global); err != nil {
		t.Fatal(err)
	}
	w1 := cursortest.Composer{ID: "w1", Name: "settings page", Created: at, Updated: at.Add(5 * time.Minute), Legacy: true,
		Bubbles: []cursortest.Bubble{
			{ID: "u1", Type: 1, Text: "create a settings page", NoTokens: true},
			{ID: "a1", Type: 2, Text: "Here it is.", NoTokens: true},
			{ID: "u2", Type: 1, Text: "and a dark mode toggle", NoTokens: true},
			{ID: "a2", Type: 2, Text: "Added.", NoTokens: true},
		}}
	dup := global
	dup.Legacy = true
	empty := cursortest.Composer{ID: "w0", Created: at, Legacy: true}
	tabs := []cursortest.ChatTab{
		{ID: "t1", Title: "Sidebar", LastSend: at.Add(10 * time.Minute), Draft: true, Bubbles: []cursortest.ChatBubble{
			{ID: "q1", User: true, Text: "why is the sidebar narrow"}, {ID: "r1", Text: "Because…", Model: "claude-3.5-sonnet"},
			{ID: "q2", User: true, Text: "fix it"}, {ID: "r2", Text: "Done.", Model: "claude-3.5-sonnet"},
		}},
		{ID: "t0", Title: "New chat", Draft: true}, // an unused tab: only its input box, no lastSendTime
		{ID: "t00", Title: "New chat"},
	}
	if err := cursortest.InlineWorkspace(l.User, "ws42", folder, []cursortest.Composer{w1, dup, empty}, tabs); err != nil {
		t.Fatal(err)
	}
	return l, filepath.Join(l.User, "workspaceStorage", "ws42", "state.vscdb"), folder
}

// TestWorkspaceInlineConversations: a Cursor 0.42 workspace database keeps
// its composers inline (composer.composerData) and its old chat tabs in the
// aichat chat data; each is a session in the workspace's folder, and a
// composer the global database also holds counts there only.
func TestWorkspaceInlineConversations(t *testing.T) {
	at := time.Date(2024, 11, 16, 19, 20, 0, 0, time.UTC)
	l, ws, folder := inlineFixture(t, at)
	p := newProvider(t)
	p.noteUserDir(l.User)
	ctx := context.Background()
	docs, err := p.Expand(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	v := versions(docs)
	if len(v) != 3 || v["w1"] == "" || v["t1"] == "" || v["dup"] == "" {
		t.Fatalf("listed %v; want w1, dup and t1", v)
	}
	want := map[string]session.Delta{
		"w1": {Counts: session.Counts{UserMessages: 2, AssistantMessages: 2}, FirstAt: at, LastAt: at.Add(5 * time.Minute),
			CWD: folder, Records: 5, UsageUnknown: true},
		"dup": {UsageUnknown: true},
		"t1": {Counts: session.Counts{UserMessages: 2, AssistantMessages: 2}, Models: []string{"claude-3.5-sonnet"},
			FirstAt: at.Add(10 * time.Minute), LastAt: at.Add(10 * time.Minute), CWD: folder, Records: 6, UsageUnknown: true},
	}
	for _, d := range docs {
		if d.Path != ws+"#"+string(d.ID) {
			t.Errorf("doc path %s", d.Path)
		}
		data, err := p.ReadDoc(ctx, d.Path)
		if err != nil {
			t.Fatalf("ReadDoc(%s): %v", d.Path, err)
		}
		var got session.Delta
		if err := (&Parser{}).Document(data, &got); err != nil {
			t.Fatalf("%s: %v", d.ID, err)
		}
		if !equalDelta(got, want[string(d.ID)]) {
			t.Errorf("%s\ngot  %+v\nwant %+v", d.ID, got, want[string(d.ID)])
		}
	}
	// the -wal of a workspace database lists the same
	again, err := p.Expand(ctx, ws+"-wal")
	if err != nil || len(again) != 3 {
		t.Fatalf("Expand(-wal) = %v, %v", again, err)
	}
}

// TestTreeWorkspaceInline: the daemon finds the inline conversations of a
// workspace database, the global copy of a composer wins, and an unused
// chat tab is no session.
func TestTreeWorkspaceInline(t *testing.T) {
	e := newTree(t)
	at := base
	folder := filepath.Join(e.l.Code, "app")
	os.MkdirAll(folder, 0o755)
	e.write(cursortest.Composer{ID: "dup", Created: at, Updated: at.Add(time.Minute), Bubbles: []cursortest.Bubble{
		{ID: "g1", Type: 1, Text: "hi"}, {ID: "g2", Type: 2, Text: "hello", In: 3, Out: 4}}})
	e.wait("dup", func(r session.Record) bool { return r.AssistantMessages == 1 })
	inline := cursortest.Composer{ID: "w1", Created: at, Updated: at.Add(time.Minute), Legacy: true, Bubbles: []cursortest.Bubble{
		{ID: "u1", Type: 1, Text: "hi"}, {ID: "a1", Type: 2, Text: "hello"}}}
	dup := cursortest.Composer{ID: "dup", Created: at, Legacy: true, Bubbles: []cursortest.Bubble{
		{ID: "x1", Type: 1, Text: "hi"}, {ID: "x2", Type: 2, Text: "hello", In: 100, Out: 100}}}
	tab := cursortest.ChatTab{ID: "t1", LastSend: at.Add(2 * time.Minute), Draft: true, Bubbles: []cursortest.ChatBubble{
		{ID: "q", User: true, Text: "why"}, {ID: "r", Text: "because", Model: "gpt-4o"}}}
	unused := cursortest.ChatTab{ID: "t0", Title: "New chat", LastSend: at, Draft: true} // dated, but nothing asked: no session
	if err := cursortest.InlineWorkspace(e.l.User, "ws1", folder, []cursortest.Composer{inline, dup}, []cursortest.ChatTab{tab, unused}); err != nil {
		t.Fatal(err)
	}
	e.wait("w1", func(r session.Record) bool { return r.UserMessages == 1 && r.AssistantMessages == 1 && r.CWD == folder })
	e.wait("t1", func(r session.Record) bool { return r.UserMessages == 1 && r.AssistantMessages == 1 && r.CWD == folder })
	got := e.settled()
	if r := got["dup"]; r.UserMessages != 1 || r.AssistantMessages != 1 || r.Tokens.Input != 3 || r.Tokens.Output != 4 {
		t.Fatalf("dup counted twice or from the workspace copy: %+v", r)
	}
	if len(got) != 3 {
		t.Fatalf("sessions = %v", got)
	}
}

// TestTranscriptCWDFromToolPaths: a transcript whose project folder is not
// on this machine (moved, deleted, another machine's files) still names it:
// the tool inputs hold absolute paths, and the one whose ancestor slugs to
// the project's slug is the folder.
func TestTranscriptCWDFromToolPaths(t *testing.T) {
	l, _ := fixtureDB(t)
	p := newProvider(t)
	p.noteUserDir(l.User)
	ctx := context.Background()
	gone := "/nonexistent-sessiond/Users/dev/Desktop/sitcom list.v2"
	body, err := os.ReadFile(filepath.Join("testdata", "transcript_tools.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// the fixture's paths name /home/dev/shows; put them below the gone folder
	body = []byte(strings.ReplaceAll(string(body), "/home/dev/shows", gone))
	slug := cursortest.Slug(gone)
	path := filepath.Join(l.Projects, slug, "agent-transcripts", "t9.jsonl")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	// a project whose paths do not match its slug stays without a folder
	other := filepath.Join(l.Projects, "home-dev-elsewhere", "agent-transcripts", "t8.jsonl")
	os.MkdirAll(filepath.Dir(other), 0o755)
	if err := os.WriteFile(other, body, 0o644); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{path: gone, other: ""} {
		docs, err := p.Expand(ctx, file)
		if err != nil || len(docs) != 1 {
			t.Fatalf("Expand: %v, %v", docs, err)
		}
		data, err := p.ReadDoc(ctx, docs[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := (&Parser{}).Document(data, &d); err != nil {
			t.Fatal(err)
		}
		if d.CWD != want || d.UserMessages != 1 || d.ToolCalls != 5 {
			t.Errorf("%s: cwd %q, want %q (%+v)", filepath.Base(file), d.CWD, want, d)
		}
	}
}

// TestWorkspaceInlineNotShadowedByChatStore: only a global database
// shadows an inline composer; a chat store of the Agent CLI with the same
// id does not (the composer is counted from the workspace).
func TestWorkspaceInlineNotShadowedByChatStore(t *testing.T) {
	at := time.Date(2024, 11, 16, 19, 20, 0, 0, time.UTC)
	l, ws, folder := inlineFixture(t, at)
	chats := filepath.Join(l.Root, "home", ".cursor", "chats")
	if _, err := cursortest.WriteChat(chats, cursortest.Chat{ID: "w1", CWD: folder, Created: at, Messages: twoTurns()}); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t)
	p.noteUserDir(l.User)
	p.noteChatsRoot(chats)
	ctx := context.Background()
	docs, err := p.Expand(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	v := versions(docs)
	if strings.HasSuffix(v["w1"], "/g") || !strings.HasSuffix(v["dup"], "/g") {
		t.Errorf("versions %v: want w1 not shadowed, dup shadowed", v)
	}
	data, err := p.ReadDoc(ctx, ws+"#w1")
	if err != nil {
		t.Fatal(err)
	}
	var d session.Delta
	if err := (&Parser{}).Document(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UserMessages != 2 || d.AssistantMessages != 2 || d.CWD != folder {
		t.Errorf("w1 counted %+v; want its 2 prompts and 2 answers in %s", d, folder)
	}
}

// TestCWDFromToolPathsDeterministic: two inputs of one tool call whose
// folders have the same slug give the same answer every time (the inputs
// are tried in key order, not in map order).
func TestCWDFromToolPathsDeterministic(t *testing.T) {
	line := `{"role":"assistant","message":{"content":[{"type":"tool_use","name":"Copy","input":` +
		`{"to":"/srv/my-app/b.go","from":"/srv/my app/a.go","mode":"x"}}]}}` + "\n"
	for range 64 {
		if got := cwdFromToolPaths([]byte(line), "srv-my-app"); got != filepath.FromSlash("/srv/my app") {
			t.Fatalf("cwd %q, want /srv/my app (the \"from\" input, first in key order)", got)
		}
	}
}

// TestCWDFromToolPathsBounded: the search decodes a bounded number of
// tool_use lines, whether or not they hold an absolute path.
func TestCWDFromToolPathsBounded(t *testing.T) {
	var body []byte
	for range maxToolLines {
		body = append(body, `{"role":"assistant","message":{"content":[{"type":"tool_use","name":"Grep","input":{"pattern":"TODO"}}]}}`+"\n"...)
	}
	found := `{"role":"assistant","message":{"content":[{"type":"tool_use","name":"Read","input":{"path":"/srv/shop/main.go"}}]}}` + "\n"
	if got := cwdFromToolPaths([]byte(found), "srv-shop"); got != filepath.FromSlash("/srv/shop") {
		t.Fatalf("cwd %q, want /srv/shop", got)
	}
	if got := cwdFromToolPaths(append(body, found...), "srv-shop"); got != "" {
		t.Errorf("cwd %q after %d tool_use lines without a path; want the search stopped", got, maxToolLines)
	}
}

// TestWorkspaceInlineReadAgainWhenChanged: the sessions of a workspace
// database are decoded once for a listing and its reads, and read again
// when the database changes.
func TestWorkspaceInlineReadAgainWhenChanged(t *testing.T) {
	at := time.Date(2024, 11, 16, 19, 20, 0, 0, time.UTC)
	l, ws, folder := inlineFixture(t, at)
	p := newProvider(t)
	p.noteUserDir(l.User)
	ctx := context.Background()
	tabUsers := func() int64 {
		t.Helper()
		if _, err := p.Expand(ctx, ws); err != nil {
			t.Fatal(err)
		}
		data, err := p.ReadDoc(ctx, ws+"#t1")
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := (&Parser{}).Document(data, &d); err != nil {
			t.Fatal(err)
		}
		return d.UserMessages
	}
	if n := tabUsers(); n != 2 {
		t.Fatalf("t1: %d prompts, want 2", n)
	}
	tab := cursortest.ChatTab{ID: "t1", Title: "Sidebar", LastSend: at.Add(20 * time.Minute), Bubbles: []cursortest.ChatBubble{
		{ID: "q1", User: true, Text: "why is the sidebar narrow"}, {ID: "r1", Text: "Because…"},
		{ID: "q2", User: true, Text: "fix it"}, {ID: "r2", Text: "Done."}, {ID: "q3", User: true, Text: "thanks"}}}
	if err := cursortest.InlineWorkspace(l.User, "ws42", folder, nil, []cursortest.ChatTab{tab}); err != nil {
		t.Fatal(err)
	}
	if n := tabUsers(); n != 3 {
		t.Errorf("t1 after a change: %d prompts, want 3", n)
	}
}
