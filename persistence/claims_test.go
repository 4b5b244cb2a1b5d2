package persistence_test

import (
	"fmt"
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
// one response at the same time the smaller session id wins, as before,
// and the other copy names it as its parent (a background owner is a
// parent too: a background session can itself be handed off).
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
	if a.ParentSessionID != "" || b.ParentSessionID != "a" {
		t.Errorf("parents %q %q, want none, a", a.ParentSessionID, b.ParentSessionID)
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

// perms is every order of s's letters.
func perms(s string) []string {
	if len(s) <= 1 {
		return []string{s}
	}
	var out []string
	for i := range s {
		for _, p := range perms(s[:i] + s[i+1:]) {
			out = append(out, string(s[i])+p)
		}
	}
	return out
}

// TestParentIsTheSessionHandedOffFrom: a produced m1; b is a plain resume
// of a (a foreground copy of m1) that produced m2; c is a background fork
// of b (copies of m1 and m2, then its own m3). c's parent is b, the owner
// of its newest copied response, not a, whatever the order the three are
// read in and across a restart; each transaction changes a session once
// (one event, one version), and once every file is read nothing flaps.
func TestParentIsTheSessionHandedOffFrom(t *testing.T) {
	const a, b, c = "a-0000", "b-0000", "c-0000"
	u1 := session.Usage{Input: 3, Output: 7}
	u2 := session.Usage{Input: 5, Output: 13}
	u3 := session.Usage{Input: 1, Output: 2}
	t1, t2, t3 := t0, t0.Add(time.Minute), t0.Add(time.Hour)
	deltas := map[byte]session.Delta{
		'a': delta(1, t1, session.Claim{Key: "m1", At: t1, Usage: u1}),
		'b': delta(1, t1,
			session.Claim{Key: "m1", At: t1, Usage: u1},
			session.Claim{Key: "m2", At: t2, Usage: u2}),
		'c': delta(1, t1,
			session.Claim{Key: "m1", At: t1, Usage: u1, Background: true},
			session.Claim{Key: "m2", At: t2, Usage: u2, Background: true},
			session.Claim{Key: "m3", At: t3, Usage: u3, Background: true}),
	}
	ids := map[byte]string{'a': a, 'b': b, 'c': c}
	for _, order := range perms("abc") {
		for restart := 0; restart < 3; restart++ {
			t.Run(fmt.Sprintf("%s-restart%d", order, restart), func(t *testing.T) {
				dir := t.TempDir()
				s := openDir(t, dir)
				for i := range order {
					if restart > 0 && i == restart {
						if err := s.Close(); err != nil {
							t.Fatal(err)
						}
						s = openDir(t, dir)
					}
					id := ids[order[i]]
					r := one(t, s, commit(key(id), 0, "/p/"+id+".jsonl", 0, 1, deltas[order[i]]))
					seen := map[session.Key]int{}
					for _, e := range r.Events {
						if e.Kind == session.EventUpdated || e.Kind == session.EventCreated {
							seen[e.Key]++
							if seen[e.Key] > 1 {
								t.Errorf("after %s: session %s changed twice in one transaction: %+v", id, e.Key.ID, r.Events)
							}
						}
					}
				}
				ra, _ := s.Session(key(a))
				rb, _ := s.Session(key(b))
				rc, _ := s.Session(key(c))
				if ra.Tokens != u1 || rb.Tokens != u2 || rc.Tokens != u3 {
					t.Errorf("tokens a=%+v b=%+v c=%+v", ra.Tokens, rb.Tokens, rc.Tokens)
				}
				if ra.ParentSessionID != "" || rb.ParentSessionID != "" || rc.ParentSessionID != b {
					t.Errorf("parents a=%q b=%q c=%q, want none, none, %q", ra.ParentSessionID, rb.ParentSessionID, rc.ParentSessionID, b)
				}
				// the last parent the event log names for c is b
				evs, err := s.Events(0, 0)
				if err != nil {
					t.Fatal(err)
				}
				last := session.ID("")
				for _, e := range evs {
					if e.Change.Parent != "" {
						if e.Key != key(c) {
							t.Errorf("event %+v names a parent for %s", e, e.Key.ID)
						}
						last = e.Change.Parent
					}
				}
				if last != b {
					t.Errorf("last parent event for c names %q, want %q", last, b)
				}
				// reading more of c (its next response) changes no parent
				more := delta(0, t3.Add(time.Minute), session.Claim{Key: "m4", At: t3.Add(time.Minute), Usage: u3, Background: true})
				r := one(t, s, commit(key(c), rc.Version, "/p/"+c+".jsonl", 1, 2, more))
				if r.Record.ParentSessionID != b {
					t.Errorf("after more of c: parent %q", r.Record.ParentSessionID)
				}
				for _, e := range r.Events {
					if e.Change.Parent != "" {
						t.Errorf("more of c: event %+v names a parent again", e)
					}
				}
			})
		}
	}
}

// TestPhantomKeepsItsParent: a background copy whose first lines carry no
// time (no dated record: not a session yet) learns its parent from them;
// the parent is kept and shows once the session has its first dated record.
func TestPhantomKeepsItsParent(t *testing.T) {
	const a, c = "a-0000", "c-0000"
	u1 := session.Usage{Input: 3, Output: 7}
	s := open(t)
	one(t, s, commit(key(a), 0, "/p/a.jsonl", 0, 1, delta(1, t0, session.Claim{Key: "m1", At: t0, Usage: u1})))
	undated := session.Delta{Records: 1, Claims: []session.Claim{{Key: "m1", Usage: u1, Background: true}}}
	r := one(t, s, commit(key(c), 0, "/p/c.jsonl", 0, 1, undated))
	if !r.Record.Phantom() {
		t.Fatalf("c is not a phantom: %+v", r.Record)
	}
	r = one(t, s, commit(key(c), r.Record.Version, "/p/c.jsonl", 1, 2, delta(1, t0.Add(time.Hour))))
	if r.Record.ParentSessionID != a {
		t.Errorf("parent %q, want %q (learnt while a phantom)", r.Record.ParentSessionID, a)
	}
}

// TestBackgroundForkOfBackgroundFork pins a known limitation: z produced
// m1; y is a background fork of z that produced m2; x is a background fork
// of y that produced m3. m2 is Background in both y and x at the same time,
// and nothing in the files says which one produced it: the smaller id owns
// it. When y's id is the smaller one, all is right; when x's is, x takes
// m2 and the lineage comes out crossed (y's parent x, x's parent z). The
// result is the same whatever the order the files are read in.
func TestBackgroundForkOfBackgroundFork(t *testing.T) {
	u1 := session.Usage{Input: 3, Output: 7}
	u2 := session.Usage{Input: 5, Output: 13}
	u3 := session.Usage{Input: 1, Output: 2}
	t1, t2, t3 := t0, t0.Add(time.Minute), t0.Add(time.Hour)
	dz := delta(1, t1, session.Claim{Key: "m1", At: t1, Usage: u1})
	dy := delta(1, t1,
		session.Claim{Key: "m1", At: t1, Usage: u1, Background: true},
		session.Claim{Key: "m2", At: t2, Usage: u2, Background: true})
	dx := delta(1, t1,
		session.Claim{Key: "m1", At: t1, Usage: u1, Background: true},
		session.Claim{Key: "m2", At: t2, Usage: u2, Background: true},
		session.Claim{Key: "m3", At: t3, Usage: u3, Background: true})
	for _, tc := range []struct {
		name, z, y, x string
		// what comes out: y's and x's tokens and parents
		yTok, xTok       session.Usage
		yParent, xParent string
	}{
		{"producer has the smaller id", "z", "p1", "p2", u2, u3, "z", "p1"},
		{"copy has the smaller id (wrong: limitation)", "z", "p2", "p1", session.Usage{}, u2.Add(u3), "p1", "z"},
	} {
		for _, order := range perms("zyx") {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				s := open(t)
				for i := range order {
					id, d := tc.z, dz
					switch order[i] {
					case 'y':
						id, d = tc.y, dy
					case 'x':
						id, d = tc.x, dx
					}
					one(t, s, commit(key(id), 0, "/p/"+id+".jsonl", 0, 1, d))
				}
				ry, _ := s.Session(key(tc.y))
				rx, _ := s.Session(key(tc.x))
				if ry.Tokens != tc.yTok || rx.Tokens != tc.xTok {
					t.Errorf("tokens y=%+v x=%+v, want %+v %+v", ry.Tokens, rx.Tokens, tc.yTok, tc.xTok)
				}
				if string(ry.ParentSessionID) != tc.yParent || string(rx.ParentSessionID) != tc.xParent {
					t.Errorf("parents y=%q x=%q, want %q %q", ry.ParentSessionID, rx.ParentSessionID, tc.yParent, tc.xParent)
				}
			})
		}
	}
}
