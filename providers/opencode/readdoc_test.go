package opencode

import (
	"context"
	"testing"

	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
)

// TestReadDocCache: a session read again and again (cached digests, rows
// fetched again only when changed) reads exactly as a fresh provider does,
// through new rows, rows rewritten in place, malformed rows and deletions.
func TestReadDocCache(t *testing.T) {
	dir := t.TempDir()
	w := newDB(t, dir, "opencode.db", "ses_a")
	turn(t, w, "ses_a", 1, 10, 1, "running")
	p, _ := newProvider(t)
	path := docPath(dir, "ses_a")
	check := func(step string) {
		t.Helper()
		got, err := p.ReadDoc(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		fresh := testProvider(t)
		want, err := fresh.ReadDoc(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s: cached read\n%s\nfresh read\n%s", step, got, want)
		}
	}
	check("first")
	check("second")
	check("third")
	turn(t, w, "ses_a", 2, 20, 2, "completed")
	check("new rows")
	must(t, w.Part(opencodetest.Part{ID: "prt_ses_a_0001", MessageID: "msg_ses_a_0001a", SessionID: "ses_a", Created: t0, Updated: t0 + 99, Data: toolData("error")}))
	check("part rewritten")
	must(t, w.Message(opencodetest.Message{ID: "msg_ses_a_0002a", SessionID: "ses_a", Created: t0 + 20_001, Updated: t0 + 99, Data: []byte(`{"role":`)}))
	check("message malformed")
	if _, err := w.DB.Exec("DELETE FROM part WHERE id = 'prt_ses_a_0002'"); err != nil {
		t.Fatal(err)
	}
	check("part deleted")
	if got := p.db(w.Path).rows.sessions["ses_a"]; got == nil {
		t.Error("session not cached")
	}
}
