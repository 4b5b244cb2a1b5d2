package persistence_test

import (
	"testing"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// TestBackgroundForkDoesNotTakeItsOriginsTokens: Claude Code's background
// hand-off copies the whole chain of a session into a new transcript with
// the same timestamps and usage and marks every entry of it (sessionKind
// "bg"). The copied responses stay with the session that produced them even
// when the fork's id is the smaller one, the fork keeps what it produced
// itself, and the fork records its parent; whatever the order the two are
// read in, and across a restart in between.
func TestBackgroundForkDoesNotTakeItsOriginsTokens(t *testing.T) {
	const orig, fork = "ffffffff-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	u1 := session.Usage{Input: 3, Output: 7, CacheRead: 100, CacheWrite: 11}
	u2 := session.Usage{Input: 5, Output: 13, CacheRead: 200}
	u3 := session.Usage{Input: 1, Output: 2}
	t1, t2, t3 := t0, t0.Add(time.Minute), t0.Add(time.Hour)
	do := delta(1, t1,
		session.Claim{Key: "m1", At: t1, Usage: u1},
		session.Claim{Key: "m2", At: t2, Usage: u2})
	df := delta(1, t1,
		session.Claim{Key: "m1", At: t1, Usage: u1, Background: true},
		session.Claim{Key: "m2", At: t2, Usage: u2, Background: true},
		session.Claim{Key: "m3", At: t3, Usage: u3, Background: true})
	for _, tc := range []struct {
		name    string
		order   string
		restart bool
	}{
		{"origin first", "of", false},
		{"fork first", "fo", false},
		{"origin, restart, fork", "of", true},
		{"fork, restart, origin", "fo", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			for i, c := range tc.order {
				if i == 1 && tc.restart {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = openDir(t, dir)
				}
				if c == 'o' {
					one(t, s, commit(key(orig), 0, "/p/"+orig+".jsonl", 0, 1, do))
				} else {
					one(t, s, commit(key(fork), 0, "/p/"+fork+".jsonl", 0, 1, df))
				}
			}
			o, _ := s.Session(key(orig))
			f, _ := s.Session(key(fork))
			if want := u1.Add(u2); o.Tokens != want {
				t.Errorf("origin tokens %+v, want %+v", o.Tokens, want)
			}
			if f.Tokens != u3 {
				t.Errorf("fork tokens %+v, want %+v", f.Tokens, u3)
			}
			if f.ParentSessionID != orig || o.ParentSessionID != "" {
				t.Errorf("parents: fork %q, origin %q; want %q, none", f.ParentSessionID, o.ParentSessionID, orig)
			}
			// the event log says when the fork learnt its parent, once
			evs, err := s.Events(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range evs {
				if e.Change.Parent != "" {
					n++
					if e.Key != key(fork) || e.Change.Parent != orig || e.Change.Version != f.Version {
						t.Errorf("event %+v: want the fork's last change naming %s", e, orig)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d events name a parent, want 1", n)
			}
		})
	}
}

// TestTwoBackgroundCopiesTieBySessionID: between two background copies of
// one response at the same time the smaller session id wins, as before.
func TestTwoBackgroundCopiesTieBySessionID(t *testing.T) {
	u := session.Usage{Input: 4, Output: 9}
	d := delta(0, t0, session.Claim{Key: "m", At: t0, Usage: u, Background: true})
	s := open(t)
	one(t, s, commit(key("b"), 0, "/b", 0, 1, d))
	one(t, s, commit(key("a"), 0, "/a", 0, 1, d))
	a, _ := s.Session(key("a"))
	b, _ := s.Session(key("b"))
	if a.Tokens != u || !b.Tokens.IsZero() {
		t.Errorf("a=%+v b=%+v, want a=%+v", a.Tokens, b.Tokens, u)
	}
	if a.ParentSessionID != "" || b.ParentSessionID != "" {
		t.Errorf("parents %q %q, want none (no session produced it in the foreground)", a.ParentSessionID, b.ParentSessionID)
	}
}

func openDir(t *testing.T, dir string) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
