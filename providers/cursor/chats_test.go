package cursor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

const chatID = "c1a70000-0000-4000-8000-00000000c0de"

// chatTree makes a layout with one working directory (and its projects
// directory, as the CLI creates it).
func chatTree(t *testing.T) (cursortest.ChatLayout, string) {
	t.Helper()
	l := cursortest.NewChatLayout(t.TempDir())
	cwd := filepath.Join(l.Code, "shop-api")
	for _, d := range []string{cwd, filepath.Join(l.Projects, cursortest.Slug(cwd))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return l, cwd
}

// twoTurns is a conversation of two prompts: the first with two tool
// calls (one failed), the second with one.
func twoTurns() []cursortest.ChatMessage {
	return append(cursortest.ChatTurn(true, "fix the failing test", 2, 1, "claude-4.5-sonnet"),
		cursortest.ChatTurn(false, "now run the linter", 1, 0, "")...)
}

// wantTwoTurns is what twoTurns counts, by hand: the CLI's context
// message and the system prompt are no prompts; tool results are no
// messages of their own.
func wantTwoTurns(cwd string, created, mtime time.Time) cursortest.Expected {
	return cursortest.Expected{
		Counts:  session.Counts{UserMessages: 2, AssistantMessages: 4, ToolCalls: 3, ToolErrors: 1},
		Models:  []string{"claude-4.5-sonnet"},
		CWD:     cwd,
		Records: 1 + 10, Files: 1, TokensUnknown: true,
		StartedAt: created, EndedAt: mtime,
	}
}

// setTimes gives a store's files one modification time.
func setTimes(t *testing.T, db string, mt time.Time) {
	t.Helper()
	for _, f := range []string{db, db + "-wal"} {
		if err := os.Chtimes(f, mt, mt); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// TestChatStoreCounted: a store.db of the Agent CLI is a session — its
// prompts (not the CLI's context, not tool results), answers, tool calls
// and failed results, its model, its cwd (the folder whose MD5 names the
// store's directory, found through ~/.cursor/projects), created to last
// change — for every way the CLI stores messages.
func TestChatStoreCounted(t *testing.T) {
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	mtime := created.Add(25 * time.Minute)
	for _, tc := range []struct {
		name string
		edit func(*cursortest.Chat)
	}{
		{"json", func(*cursortest.Chat) {}},
		{"envelope", func(c *cursortest.Chat) { c.Encoding = cursortest.ChatEnvelope }},
		{"nested tree", func(c *cursortest.Chat) { c.Nested = true }},
		{"edited away", func(c *cursortest.Chat) { c.Orphans = 2 }},
		{"meta.json", func(c *cursortest.Chat) { c.MetaJSON = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, cwd := chatTree(t)
			c := cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: created, Messages: twoTurns()}
			tc.edit(&c)
			db, err := cursortest.WriteChat(l.Chats, c)
			if err != nil {
				t.Fatal(err)
			}
			setTimes(t, db, mtime)
			p := New()
			got := scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...)
			diffSessions(t, map[string]cursortest.Expected{chatID: wantTwoTurns(cwd, created, mtime)}, got)
		})
	}
}

// TestChatStoreVariants: the older protobuf messages (text only), a store
// without a root (every message blob, by rowid), untagged prompts, a
// damaged reference and damaged metadata.
func TestChatStoreVariants(t *testing.T) {
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	mtime := created.Add(time.Hour)
	legacy := []cursortest.ChatMessage{
		{Role: "user", Text: "add a README"}, {Role: "assistant", Text: "Added."},
		{Role: "user", Text: "thanks"}, {Role: "assistant", Text: "You're welcome."},
	}
	for _, tc := range []struct {
		name string
		c    cursortest.Chat
		want cursortest.Expected
	}{
		{"legacy protobuf", cursortest.Chat{Encoding: cursortest.ChatLegacy, Messages: legacy},
			cursortest.Expected{Counts: session.Counts{UserMessages: 2, AssistantMessages: 2}, Models: []string{"gpt-5"}, Records: 5}},
		{"no root: every message by rowid", cursortest.Chat{NoRoot: true, Orphans: 1, Messages: twoTurns()},
			cursortest.Expected{Counts: session.Counts{UserMessages: 3, AssistantMessages: 4, ToolCalls: 3, ToolErrors: 1}, Models: []string{"claude-4.5-sonnet"}, Records: 12}},
		{"untagged prompts", cursortest.Chat{Untagged: true, Messages: twoTurns()},
			// without <user_query> anywhere, every user text is a prompt
			cursortest.Expected{Counts: session.Counts{UserMessages: 3, AssistantMessages: 4, ToolCalls: 3, ToolErrors: 1}, Models: []string{"claude-4.5-sonnet"}, Records: 11}},
		{"damaged reference", cursortest.Chat{Damaged: 1, Messages: twoTurns()},
			cursortest.Expected{Counts: session.Counts{UserMessages: 2, AssistantMessages: 4, ToolCalls: 3, ToolErrors: 1}, Models: []string{"claude-4.5-sonnet"}, Records: 11, Malformed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, cwd := chatTree(t)
			c := tc.c
			c.ID, c.CWD, c.Model, c.Created = chatID, cwd, "gpt-5", created
			db, err := cursortest.WriteChat(l.Chats, c)
			if err != nil {
				t.Fatal(err)
			}
			setTimes(t, db, mtime)
			want := tc.want
			want.CWD, want.Files, want.TokensUnknown, want.StartedAt, want.EndedAt = cwd, 1, true, created, mtime
			p := New()
			diffSessions(t, map[string]cursortest.Expected{chatID: want}, scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...))
		})
	}
	t.Run("damaged metadata", func(t *testing.T) {
		// the metadata is malformed; the messages count, found by rowid;
		// the store's last change is the only time
		l, cwd := chatTree(t)
		db, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, BadMeta: true, Created: created, Messages: twoTurns()})
		if err != nil {
			t.Fatal(err)
		}
		setTimes(t, db, mtime)
		p := New()
		want := cursortest.Expected{Counts: session.Counts{UserMessages: 2, AssistantMessages: 4, ToolCalls: 3, ToolErrors: 1},
			Models: []string{"claude-4.5-sonnet"}, CWD: cwd, Records: 10, Malformed: 1, Files: 1, TokensUnknown: true, StartedAt: mtime, EndedAt: mtime}
		diffSessions(t, map[string]cursortest.Expected{chatID: want}, scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...))
	})
}

// TestChatCWDFromUserInfo: without a meta.json or a projects directory,
// the folder comes from the "Workspace Path" the CLI puts in its context
// message — only when its MD5 is the store's folder hash.
func TestChatCWDFromUserInfo(t *testing.T) {
	for _, tc := range []struct {
		name, info string
		want       bool
	}{
		{"matching", "", true},
		{"another folder", "/srv/elsewhere", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := cursortest.NewChatLayout(t.TempDir())
			cwd := filepath.Join(l.Code, "no-project-dir")
			if err := os.MkdirAll(cwd, 0o755); err != nil {
				t.Fatal(err)
			}
			info := tc.info
			if info == "" {
				info = cwd
			}
			msgs := []cursortest.ChatMessage{{Role: "user", Context: true, Info: info}, {Role: "user", Text: "hello"}, {Role: "assistant", Text: "hi"}}
			if _, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Created: time.Now(), Messages: msgs}); err != nil {
				t.Fatal(err)
			}
			p := New()
			got := scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...)[chatID]
			if want := map[bool]string{true: cwd, false: ""}[tc.want]; got.CWD != want || got.UserMessages != 1 {
				t.Errorf("cwd %q, prompts %d; want %q, 1", got.CWD, got.UserMessages, want)
			}
		})
	}
}

// TestChatStoreNoPhantom: a store with no metadata row yet, one whose
// conversation holds only the system prompt (a chat opened, nothing
// asked) and a database of another schema are no sessions.
func TestChatStoreNoPhantom(t *testing.T) {
	l, cwd := chatTree(t)
	if _, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Created: time.Now(),
		Messages: []cursortest.ChatMessage{{Role: "system", Text: "You are a coding agent."}}}); err != nil {
		t.Fatal(err)
	}
	s, err := cursortest.CreateChat(l.Chats, cursortest.Chat{ID: "c1a70000-0000-4000-8000-0000000000e1", CWD: cwd})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`DELETE FROM meta`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	other := filepath.Join(l.Chats, cursortest.Hash(cwd), "c1a70000-0000-4000-8000-0000000000e2", "store.db")
	db, err := cursortest.Open(other, "")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := New()
	if got := scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...); len(got) != 0 {
		t.Errorf("sessions = %+v, want none", got)
	}
}

// TestChatStoreOpenWriter: a store in WAL mode held open by the CLI is
// read (read-only: sessiond creates no file); a new turn changes the
// listing's Version and the document counts it.
func TestChatStoreOpenWriter(t *testing.T) {
	l, cwd := chatTree(t)
	s, err := cursortest.CreateChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: time.Now(),
		Messages: cursortest.ChatTurn(true, "list the files", 1, 0, "gpt-5")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(s.Path + "-wal"); err != nil {
		t.Fatalf("the writer's WAL: %v", err)
	}
	files := func() []string {
		entries, _ := os.ReadDir(filepath.Dir(s.Path))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	before := files()
	p := New()
	ctx := context.Background()
	read := func() (providers.Doc, session.Delta) {
		t.Helper()
		docs, err := p.Expand(ctx, s.Path+"-wal")
		if err != nil || len(docs) != 1 {
			t.Fatalf("Expand = %v, %v", docs, err)
		}
		data, err := p.ReadDoc(ctx, docs[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := p.NewParser(session.RoleMain).(providers.DocumentParser).Document(data, &d); err != nil {
			t.Fatal(err)
		}
		return docs[0], d
	}
	doc1, d1 := read()
	if doc1.ID != chatID || doc1.Path != s.Path+"#"+chatID || d1.UserMessages != 1 || d1.ToolCalls != 1 {
		t.Fatalf("first read: %+v %+v", doc1, d1.Counts)
	}
	if err := s.Append(cursortest.ChatTurn(false, "and the tests", 2, 1, "gpt-5")...); err != nil {
		t.Fatal(err)
	}
	doc2, d2 := read()
	if doc2.Version == doc1.Version {
		t.Errorf("Version unchanged after a turn: %s", doc2.Version)
	}
	if d2.UserMessages != 2 || d2.ToolCalls != 3 || d2.ToolErrors != 1 || d2.AssistantMessages != 4 {
		t.Errorf("after a turn: %+v", d2.Counts)
	}
	if after := files(); !slices.Equal(before, after) {
		t.Errorf("files changed by reading: %q → %q", before, after)
	}
}

// TestChatTranscriptNotCountedTwice: the CLI also writes the agent
// transcript of the same conversation (same id); the store counts it, the
// transcript adds only its records.
func TestChatTranscriptNotCountedTwice(t *testing.T) {
	l, cwd := chatTree(t)
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	mtime := created.Add(25 * time.Minute)
	db, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: created, Messages: twoTurns()})
	if err != nil {
		t.Fatal(err)
	}
	setTimes(t, db, mtime)
	var body []byte
	for _, line := range [][]byte{cursortest.TranscriptLine("user", "fix the failing test", 0, 0, 0), cursortest.TranscriptLine("assistant", "ok", 2, 0, 0),
		cursortest.TranscriptLine("user", "now run the linter", 0, 0, 0), cursortest.TranscriptLine("assistant", "ok", 1, 0, 0)} {
		body = append(append(body, line...), '\n')
	}
	tr := filepath.Join(l.Projects, cursortest.Slug(cwd), "agent-transcripts", chatID, chatID+".jsonl")
	if err := os.MkdirAll(filepath.Dir(tr), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tr, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	want := wantTwoTurns(cwd, created, mtime)
	want.Records += 4
	want.Files = 2
	p := New()
	diffSessions(t, map[string]cursortest.Expected{chatID: want}, scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...))
}

// TestChatTranscriptCountedWhenStoreUnreadable: a store of the same
// conversation that holds nothing this reader decodes (another format) is
// no session, and the transcript counts the conversation.
func TestChatTranscriptCountedWhenStoreUnreadable(t *testing.T) {
	l, cwd := chatTree(t)
	if _, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Created: time.Now(), Damaged: 2}); err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(l.Projects, cursortest.Slug(cwd), "agent-transcripts", chatID, chatID+".jsonl")
	if err := os.MkdirAll(filepath.Dir(tr), 0o755); err != nil {
		t.Fatal(err)
	}
	body := append(append(cursortest.TranscriptLine("user", "fix it", 0, 0, 0), '\n'), append(cursortest.TranscriptLine("assistant", "ok", 1, 0, 0), '\n')...)
	if err := os.WriteFile(tr, body, 0o644); err != nil {
		t.Fatal(err)
	}
	p := New()
	got := scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...)
	if r := got[chatID]; r.UserMessages != 1 || r.AssistantMessages != 1 || r.ToolCalls != 1 || r.Files != 1 {
		t.Errorf("session %+v, want the transcript's conversation", r)
	}
}

// TestChatPaths: where the chat stores are, and what is matched.
func TestChatPaths(t *testing.T) {
	p := New()
	roots := p.Roots(providers.Env{Home: "/home/ana"})
	for _, want := range []string{"/home/ana/.cursor/chats", "/home/ana/.config/cursor/chats"} {
		if !slices.Contains(roots, filepath.FromSlash(want)) {
			t.Errorf("roots %q lack %s", roots, want)
		}
	}
	const chats = "/home/ana/.cursor/chats"
	const hash = "0d265392dfc786bc1af0df28bb21fea3"
	for _, tc := range []struct {
		path string
		want bool
	}{
		{chats + "/" + hash, true},
		{chats + "/" + hash + "/" + chatID, true},
		{chats + "/" + hash + "/" + chatID + "/blobs", false},
		{chats + "/x y", false},
	} {
		if got := p.Descend(chats, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v", tc.path, got)
		}
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{chats + "/" + hash + "/" + chatID + "/store.db", true},
		{chats + "/" + hash + "/" + chatID + "/store.db-wal", true},
		{chats + "/" + hash + "/" + chatID + "/store.db-shm", false}, // sessiond's own reads change it
		{chats + "/" + hash + "/" + chatID + "/meta.json", false},
		{chats + "/" + hash + "/store.db", false},
	} {
		m, ok := p.Match(chats, filepath.FromSlash(tc.path))
		if ok != tc.want || ok && (m.ID != chatID || !m.Container || m.Role != session.RoleMain) {
			t.Errorf("Match(%s) = %+v, %v", tc.path, m, ok)
		}
	}
	if _, err := p.ReadDoc(context.Background(), filepath.FromSlash(chats+"/"+hash+"/"+chatID+"/store.db#other")); err == nil || !strings.Contains(err.Error(), "not a Cursor document path") {
		t.Errorf("ReadDoc of another id: %v", err)
	}
}

// TestChatsCorpusMatchesReference checks the chat stores against the
// independent reference (cursortest.CountChats) on generated trees with
// every variant.
func TestChatsCorpusMatchesReference(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		l := cursortest.NewChatLayout(t.TempDir())
		n, err := cursortest.GenerateChats(l, seed, 27)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cursortest.CountChats(l)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != n {
			t.Errorf("seed %d: CountChats found %d sessions, GenerateChats wrote %d", seed, len(want), n)
		}
		p := New()
		diffSessions(t, want, scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...))
	}
}

// TestTreeChatStoreLive runs the real actor tree over a chats directory: a
// store created while sessiond runs, held open by its writer in WAL mode,
// becomes a session; the next turn is read when the store changes; a chat
// opened without a prompt is no session.
func TestTreeChatStoreLive(t *testing.T) {
	l, cwd := chatTree(t)
	if err := os.MkdirAll(l.Chats, 0o755); err != nil {
		t.Fatal(err)
	}
	prov := New()
	t.Cleanup(func() { prov.Close() })
	e := supervisiontest.New(t, prov, prov.Roots(providers.Env{Home: l.Home})...)
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	s, err := cursortest.CreateChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: created,
		Messages: cursortest.ChatTurn(true, "list the files", 1, 0, "gpt-5")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	empty, err := cursortest.CreateChat(l.Chats, cursortest.Chat{ID: "c1a70000-0000-4000-8000-0000000000e3", CWD: cwd, Created: created,
		Messages: []cursortest.ChatMessage{{Role: "system", Text: "You are a coding agent."}}})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	r := e.WaitSession(chatID, func(r session.Record) bool { return r.UserMessages == 1 })
	if r.AssistantMessages != 2 || r.ToolCalls != 1 || r.CWD != cwd || !r.StartedAt.Equal(created) || !r.TokensUnknown ||
		!slices.Equal(r.Models, []string{"gpt-5"}) {
		t.Fatalf("first read: %+v", r)
	}
	if err := s.Append(cursortest.ChatTurn(false, "and the tests", 2, 1, "gpt-5")...); err != nil {
		t.Fatal(err)
	}
	r = e.WaitSession(chatID, func(r session.Record) bool { return r.UserMessages == 2 })
	if r.AssistantMessages != 4 || r.ToolCalls != 3 || r.ToolErrors != 1 || r.Files != 1 {
		t.Fatalf("after a turn: %+v", r)
	}
	e.Idle()
	if _, ok := e.Sessions()["c1a70000-0000-4000-8000-0000000000e3"]; ok {
		t.Error("a chat without a prompt became a session")
	}
}

// writeMirror writes the CLI's transcript of conversation id (two
// prompts, three tool calls) under the project of folder.
func writeMirror(t *testing.T, l cursortest.ChatLayout, folder, id string, mtime time.Time) string {
	t.Helper()
	var body []byte
	for _, line := range [][]byte{cursortest.TranscriptLine("user", "fix the failing test", 0, 0, 0), cursortest.TranscriptLine("assistant", "ok", 2, 0, 0),
		cursortest.TranscriptLine("user", "now run the linter", 0, 0, 0), cursortest.TranscriptLine("assistant", "ok", 1, 0, 0)} {
		body = append(append(body, line...), '\n')
	}
	tr := filepath.Join(l.Projects, cursortest.Slug(folder), "agent-transcripts", id, id+".jsonl")
	if err := os.MkdirAll(filepath.Dir(tr), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tr, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestChatTranscriptStaleListing: a store last listed with only its
// system prompt (no session) that holds the conversation by the time the
// transcript is read is read again: the transcript is not counted as well,
// and its Version changes with the decision (so a listing after the store
// changed reads it again, also after a restart).
func TestChatTranscriptStaleListing(t *testing.T) {
	l, cwd := chatTree(t)
	ctx := context.Background()
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	mtime := created.Add(25 * time.Minute)
	db, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Created: created,
		Messages: []cursortest.ChatMessage{{Role: "system", Text: "You are a coding agent."}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := writeMirror(t, l, cwd, chatID, mtime)
	p := newProvider(t)
	p.Roots(providers.Env{Home: l.Home})
	if docs, err := p.Expand(ctx, db); err != nil || len(docs) != 0 {
		t.Fatalf("Expand(system prompt only) = %v, %v; want none", docs, err)
	}
	before, err := p.Expand(ctx, tr)
	if err != nil || len(before) != 1 {
		t.Fatalf("Expand(transcript) = %v, %v", before, err)
	}
	// the conversation starts: the store now holds it, not yet listed again
	if err := os.RemoveAll(filepath.Dir(db)); err != nil {
		t.Fatal(err)
	}
	if _, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: created, Messages: twoTurns()}); err != nil {
		t.Fatal(err)
	}
	after, err := p.Expand(ctx, tr)
	if err != nil || len(after) != 1 {
		t.Fatalf("Expand(transcript) = %v, %v", after, err)
	}
	if before[0].Version == after[0].Version {
		t.Errorf("transcript Version %q unchanged when the store became its conversation's source", after[0].Version)
	}
	data, err := p.ReadDoc(ctx, after[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	var d session.Delta
	if err := (&Parser{}).Document(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UserMessages != 0 || d.AssistantMessages != 0 || d.ToolCalls != 0 || d.Records != 4 {
		t.Errorf("transcript counted %+v; want its 4 records only (the store counts the conversation)", d)
	}
}

// TestChatTranscriptKeepsStoreCWD: the transcript of a conversation a
// store holds names no folder of its own: the store's (its MD5-checked
// folder) stays the session's, even when the transcript's project is
// another folder.
func TestChatTranscriptKeepsStoreCWD(t *testing.T) {
	l, cwd := chatTree(t)
	other := filepath.Join(l.Code, "web")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	mtime := created.Add(25 * time.Minute)
	db, err := cursortest.WriteChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: created, Messages: twoTurns()})
	if err != nil {
		t.Fatal(err)
	}
	setTimes(t, db, mtime)
	writeMirror(t, l, other, chatID, mtime)
	want := wantTwoTurns(cwd, created, mtime)
	want.Records += 4
	want.Files = 2
	p := New()
	diffSessions(t, map[string]cursortest.Expected{chatID: want}, scanTree(t, p, p.Roots(providers.Env{Home: l.Home})...))
}

// TestChatStoreListedOnce: once a listing found the store a session, a
// change of the store lists it without reading it again (a store stays a
// session: the CLI only adds to it; ReadDoc reads it). Dropping the blobs
// table shows it: a read would find no conversation.
func TestChatStoreListedOnce(t *testing.T) {
	l, cwd := chatTree(t)
	s, err := cursortest.CreateChat(l.Chats, cursortest.Chat{ID: chatID, CWD: cwd, Model: "gpt-5", Created: time.Now(),
		Messages: cursortest.ChatTurn(true, "list the files", 1, 0, "gpt-5")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newProvider(t)
	ctx := context.Background()
	first, err := p.Expand(ctx, s.Path)
	if err != nil || len(first) != 1 {
		t.Fatalf("Expand = %v, %v", first, err)
	}
	if _, err := s.DB.Exec(`DROP TABLE blobs`); err != nil {
		t.Fatal(err)
	}
	again, err := p.Expand(ctx, s.Path)
	if err != nil || len(again) != 1 || again[0].Path != first[0].Path {
		t.Fatalf("Expand after the first listing = %v, %v; want the store listed without a read", again, err)
	}
	if again[0].Version == first[0].Version {
		t.Errorf("Version unchanged after a change: %s", again[0].Version)
	}
	// a store that is gone is listed no more
	s.Close()
	if err := os.RemoveAll(filepath.Dir(s.Path)); err != nil {
		t.Fatal(err)
	}
	if gone, err := p.Expand(ctx, s.Path); err != nil || len(gone) != 0 {
		t.Errorf("Expand(removed store) = %v, %v; want none", gone, err)
	}
}

// TestChatCWDMissThenProject: a folder hash no project names is
// remembered as a miss only until the projects directory changes: the
// project the CLI creates later resolves it.
func TestChatCWDMissThenProject(t *testing.T) {
	l, _ := chatTree(t)
	folder := filepath.Join(l.Code, "api.v2")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	hash := cursortest.Hash(folder)
	db := filepath.Join(l.Chats, hash, chatID, "store.db")
	p := newProvider(t)
	for range 2 {
		if got := p.chatCWD(db, hash); got != "" {
			t.Fatalf("chatCWD without its project = %q", got)
		}
	}
	if err := os.MkdirAll(filepath.Join(l.Projects, cursortest.Slug(folder)), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := p.chatCWD(db, hash); got != folder {
		t.Errorf("chatCWD after the project appeared = %q, want %s", got, folder)
	}
}
