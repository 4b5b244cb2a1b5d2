package opencode

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
)

func writeLegacyTurn(t testing.TB, dir, sid string, n int, in int64, status string) (msgPath string) {
	t.Helper()
	at := t0 + int64(n)*10_000
	aid := "msg_" + sid + "_" + string(rune('a'+n))
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: aid, SessionID: sid, Data: assistantData(at, "gpt-5", in, 1)}))
	must(t, opencodetest.WriteLegacyPart(dir, opencodetest.Part{ID: "prt_" + aid, MessageID: aid, SessionID: sid, Data: toolData(status)}))
	return opencodetest.LegacyMessagePath(dir, sid, aid)
}

// TestLegacyVersion: the Version of a legacy session follows its session
// file and message files (rewritten, added, removed), and is the same for
// any of its files.
func TestLegacyVersion(t *testing.T) {
	dir := t.TempDir()
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_l", Directory: "/home/dev/old", Created: t0, Updated: t0}))
	m1 := writeLegacyTurn(t, dir, "ses_l", 1, 10, "completed")
	m2 := writeLegacyTurn(t, dir, "ses_l", 2, 20, "completed")
	sessFile := opencodetest.LegacySessionPath(dir, "global", "ses_l")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_l")
	version := func(file string) string {
		t.Helper()
		docs := expand(t, p, file)
		d, ok := docs[path]
		if !ok || len(docs) != 1 {
			t.Fatalf("Expand(%s) = %v", file, docs)
		}
		if d.ID != "ses_l" || d.Role != session.RoleMain {
			t.Fatalf("doc %+v", d)
		}
		return d.Version
	}
	v1 := version(m1)
	if v := version(m2); v != v1 {
		t.Fatalf("files of one session disagree: %s, %s", v1, v)
	}
	if v := version(sessFile); v != v1 {
		t.Fatalf("session file disagrees: %s, %s", v1, v)
	}
	if d := read(t, p, path); d.AssistantMessages != 2 || d.Usage.Input != 30 || d.CWD != "/home/dev/old" {
		t.Fatalf("read %+v %+v %q", d.Counts, d.Usage, d.CWD)
	}
	// rewritten whole (a longer file, as when tokens are filled in)
	must(t, opencodetest.WriteLegacyMessage(dir, opencodetest.Message{ID: "msg_ses_l_b", SessionID: "ses_l", Data: assistantData(t0, "gpt-5", 123456, 1)}))
	v2 := version(m1)
	if v2 == v1 {
		t.Fatal("rewritten message not seen")
	}
	if d := read(t, p, path); d.Usage.Input != 123476 {
		t.Fatalf("rewrite read %+v", d.Usage)
	}
	// a new message
	m3 := writeLegacyTurn(t, dir, "ses_l", 3, 1, "error")
	v3 := version(m3)
	if v3 == v2 {
		t.Fatal("new message not seen")
	}
	// a removed message
	must(t, os.Remove(m3))
	v4 := version(m3)
	if v4 == v3 {
		t.Fatal("removed message not seen")
	}
	// a fresh provider (a restart) computes the same version
	q, _ := newProvider(t)
	if docs := expand(t, q, m2); docs[path].Version != v4 {
		t.Fatalf("restart: %s, want %s", docs[path].Version, v4)
	}
}

// TestLegacyWithoutSessionFile: messages whose session file is missing
// (orphans of a deleted project) still make a session; cwd from path.cwd.
func TestLegacyWithoutSessionFile(t *testing.T) {
	dir := t.TempDir()
	m := writeLegacyTurn(t, dir, "ses_o", 1, 10, "completed")
	p, _ := newProvider(t)
	docs := expand(t, p, m)
	if len(docs) != 1 {
		t.Fatalf("docs %v", docs)
	}
	if d := read(t, p, docPath(dir, "ses_o")); d.AssistantMessages != 1 || d.CWD != "/home/dev/shop" {
		t.Errorf("read %+v %q", d.Counts, d.CWD)
	}
	// a session file without messages lists nothing
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_e", Directory: "/e", Created: t0, Updated: t0}))
	if docs := expand(t, p, opencodetest.LegacySessionPath(dir, "global", "ses_e")); len(docs) != 0 {
		t.Errorf("empty legacy session listed: %v", docs)
	}
}

// TestLegacyChildren: a legacy child session rolls up into its parent,
// found through the parent's session file in any project directory.
func TestLegacyChildren(t *testing.T) {
	dir := t.TempDir()
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_p", ProjectID: "4b0ea68d", Directory: "/p", Created: t0, Updated: t0}))
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_c", ProjectID: "global", ParentID: "ses_p", Directory: "/p", Created: t0, Updated: t0}))
	m := writeLegacyTurn(t, dir, "ses_c", 1, 10, "completed")
	p, _ := newProvider(t)
	d := expand(t, p, m)[docPath(dir, "ses_c")]
	if d.ID != "ses_p" || d.Role != session.RoleSubagent {
		t.Errorf("child doc %+v", d)
	}
}

// TestLegacySupersededByDB: once a database of the data directory holds a
// session, its legacy files list nothing and its document is read from
// the database.
func TestLegacySupersededByDB(t *testing.T) {
	dir := t.TempDir()
	must(t, opencodetest.WriteLegacySession(dir, opencodetest.Session{ID: "ses_m", Directory: "/m", Created: t0, Updated: t0}))
	m := writeLegacyTurn(t, dir, "ses_m", 1, 10, "completed")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_m")
	lv := expand(t, p, m)[path].Version
	if lv == "" {
		t.Fatal("legacy session not listed")
	}
	if d := read(t, p, path); d.Usage.Input != 10 {
		t.Fatalf("legacy read %+v", d.Usage)
	}
	// OpenCode 1.2 imports it (and a second turn happens in the database)
	w := newDB(t, dir, "opencode.db", "ses_m")
	turn(t, w, "ses_m", 1, 10, 1, "completed")
	turn(t, w, "ses_m", 2, 5, 1, "completed")
	dv := expand(t, p, w.Path)[path]
	if dv.Version == "" || dv.Version == lv {
		t.Fatalf("db listing %+v", dv)
	}
	if docs := expand(t, p, m); len(docs) != 0 {
		t.Errorf("superseded legacy file listed %v", docs)
	}
	if d := read(t, p, path); d.Usage.Input != 15 {
		t.Errorf("read %+v, want the database's", d.Usage)
	}
	if _, err := p.ReadDoc(context.Background(), path); err != nil {
		t.Error(err)
	}
	_ = filepath.Join
}
