package cursor

import (
	"context"
	"testing"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
)

// TestTreeNullComposerIsNoSession: a composerData row whose value is SQL
// NULL holds no dated record: it is no session (issue 6, §5).
func TestTreeNullComposerIsNoSession(t *testing.T) {
	e := newTree(t)
	if _, err := e.db.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, NULL)", cursortest.ComposerKey("n1")); err != nil {
		t.Fatal(err)
	}
	e.write(conv("c1", 1, 5, 1))
	e.wait("c1", func(r session.Record) bool { return r.UserMessages == 1 })
	got := e.settled()
	if r, ok := got["n1"]; ok {
		t.Fatalf("a NULL row became a session: %+v", r)
	}
	if len(got) != 1 {
		t.Fatalf("sessions = %v, want only c1", got)
	}
}

// TestExpandSkipsValuelessComposers: a composerData row whose value is SQL
// NULL or empty (seen in a real global database, next to composers whose
// bubbles are NULL) is neither listed nor counted malformed: it holds no
// conversation, and it is no damaged record.
func TestExpandSkipsValuelessComposers(t *testing.T) {
	l, db := fixtureDB(t, "example")
	if _, err := db.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, NULL), (?, ''), (?, ' ')",
		cursortest.ComposerKey("null"), cursortest.ComposerKey("empty"), cursortest.ComposerKey("blank")); err != nil {
		t.Fatal(err)
	}
	docs, err := newProvider(t).Expand(context.Background(), l.GlobalDB())
	if err != nil {
		t.Fatal(err)
	}
	if v := versions(docs); len(v) != 1 || v["example"] == "" {
		t.Fatalf("listed %v; want only the composer with a value", v)
	}
}
