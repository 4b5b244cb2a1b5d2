package supervision_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
)

func TestBadInputIsSkippedNotFatal(t *testing.T) {
	e := newEnv(t, claudecode.New())
	garbage := make([]byte, 4096)
	_, _ = rand.Read(garbage)
	garbage = []byte(strings.ReplaceAll(string(garbage), "\n", " "))

	// malformed JSON and binary garbage between good lines
	mal := "44444444-0000-4000-8000-000000000001"
	appendFile(t, e.path(mal), prompt(mal, 1, "a")+"{\"type\":\"assistant\",\"message\":{\n"+string(garbage)+"\n"+reply(mal, 2, 10, 1)+"\x00\x01\x02\n")
	// a 50 MB single line, read through 64 KiB chunks
	big := "44444444-0000-4000-8000-000000000002"
	appendFile(t, e.path(big), prompt(big, 1, strings.Repeat("x", 50<<20))+reply(big, 2, 3, 1))
	// an empty file makes no session
	empty := "44444444-0000-4000-8000-000000000003"
	appendFile(t, e.path(empty), "")
	// a symlink loop in a project directory
	if err := os.Symlink("..", filepath.Join(e.root, "-home-dev-shop", "loop")); err != nil {
		t.Fatal(err)
	}
	// a truncated last line waits
	trunc := "44444444-0000-4000-8000-000000000004"
	last := reply(trunc, 2, 99, 1)
	appendFile(t, e.path(trunc), prompt(trunc, 1, "a")+last[:40])

	e.idle()
	r := e.waitSession(mal, func(r session.Record) bool { return r.Tokens.Input == 10 })
	if r.UserMessages != 1 || r.AssistantMessages != 1 {
		t.Fatalf("malformed: %+v", r)
	}
	r = e.waitSession(big, func(r session.Record) bool { return r.Tokens.Input == 3 })
	if r.UserMessages != 1 {
		t.Fatalf("big line: %+v", r)
	}
	if _, err := e.store.Session(session.Key{Provider: session.ClaudeCode, ID: session.ID(empty)}); err == nil {
		t.Fatalf("empty file made a session")
	}
	r = e.waitSession(trunc, func(r session.Record) bool { return r.UserMessages == 1 })
	if r.Tokens.Input != 0 {
		t.Fatalf("truncated line counted: %+v", r.Tokens)
	}
	if got := testutilCounter(e.m.ParseErrorsTotal, "claude-code"); got < 2 {
		t.Fatalf("parse errors counted: %v", got)
	}
}

func TestDeletedFileKeepsItsSession(t *testing.T) {
	e := newEnv(t, claudecode.New())
	sid := "55555555-0000-4000-8000-000000000001"
	appendFile(t, e.path(sid), prompt(sid, 1, "a")+reply(sid, 2, 10, 1))
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 10 })
	if err := os.Remove(e.path(sid)); err != nil {
		t.Fatal(err)
	}
	e.idle()
	// a retention delete is not a rewrite: the session keeps its totals
	other := "55555555-0000-4000-8000-000000000002"
	appendFile(t, e.path(other), prompt(other, 1, "b"))
	e.waitSession(other, func(r session.Record) bool { return r.UserMessages == 1 })
	r := e.waitSession(sid, func(session.Record) bool { return true })
	if r.Tokens.Input != 10 {
		t.Fatalf("deleted file lost its session: %+v", r)
	}
}

func TestUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory; the watcher's own tests cover EACCES with a hook")
	}
	e := newEnv(t, claudecode.New())
	locked := filepath.Join(e.root, "-locked")
	sid := "66666666-0000-4000-8000-000000000001"
	appendFile(t, filepath.Join(locked, sid+".jsonl"), prompt(sid, 1, "a"))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	ok := "66666666-0000-4000-8000-000000000002"
	appendFile(t, e.path(ok), prompt(ok, 1, "b"))
	e.waitSession(ok, func(r session.Record) bool { return r.UserMessages == 1 })
}
