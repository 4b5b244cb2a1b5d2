package persistence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// A claim entry records every sighting of one dedupe key (for Claude Code:
// one API response, message.id + requestId) across the files and sessions of
// a provider. The usage counted is the field-wise maximum over all
// sightings; it belongs to the session of the earliest sighting (ties: a
// sighting that is not Background before one that is, then the smaller
// session id, then the smaller path), so the result never depends on the
// order files were read in. A Background sighting is a line of a background
// session that copied the chain of the session it was handed off from:
// the response belongs to the session that produced it, not to the copy,
// whichever id is smaller (between two Background sightings at one time,
// as when a background session is itself handed off, nothing says which
// one produced it: the smaller id wins). A sighting is never withdrawn: a response
// once counted stays counted when the file that showed it is truncated or
// rewritten (its re-read lines revise the sighting, field-wise max), and it
// stays with the session that owns it.
type claimEntry struct {
	Sightings []sighting `json:"s"`
}

type sighting struct {
	ID    session.ID    `json:"i"`
	File  string        `json:"f"`
	At    time.Time     `json:"t"`
	Usage session.Usage `json:"u"`
	// BG: every line of this file that showed the claim was a background
	// session's (see session.Claim.Background).
	BG bool `json:"b,omitempty"`
}

func (a *sighting) before(b *sighting) bool {
	if !a.At.Equal(b.At) {
		// a zero time (no timestamp) sorts last
		if a.At.IsZero() || b.At.IsZero() {
			return b.At.IsZero()
		}
		return a.At.Before(b.At)
	}
	if a.BG != b.BG {
		return b.BG
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return a.File < b.File
}

// owner is the owning session and the usage it is credited with.
func (e *claimEntry) owner() (session.ID, session.Usage) {
	best, u := e.best()
	if best == nil {
		return "", u
	}
	return best.ID, u
}

// best is the owning sighting (nil if none) and the usage counted.
func (e *claimEntry) best() (*sighting, session.Usage) {
	if len(e.Sightings) == 0 {
		return nil, session.Usage{}
	}
	best := &e.Sightings[0]
	u := best.Usage
	for i := 1; i < len(e.Sightings); i++ {
		s := &e.Sightings[i]
		u = u.Max(s.Usage)
		if s.before(best) {
			best = s
		}
	}
	return best, u
}

// A parentRef is the newest copied sighting of one session seen so far: a
// Background sighting of it in a claim owned by another session. A
// background session's transcript begins with a copy of the whole chain of
// the session it was handed off from, and the newest response of that
// chain is the parent's own: so the parent is the owner of the newest
// copied sighting (by time; zero times are oldest; ties: the larger claim
// key). The store keeps it per session (v1/p/), so the parent does not
// depend on the order files are read in and is known before the session
// has a record. A plain resume (not Background) names no parent.
type parentRef struct {
	At     time.Time  `json:"t"`
	Claim  string     `json:"k"`
	Parent session.ID `json:"p"`
}

// after reports whether r is a newer copied sighting than o.
func (r *parentRef) after(o *parentRef) bool {
	if !r.At.Equal(o.At) {
		return r.At.After(o.At)
	}
	return r.Claim > o.Claim
}

// merge is the ref kept of the one known (old) and one learnt now (r): a
// newer sighting, or the same claim with its current owner.
func (r *parentRef) merge(old *parentRef) *parentRef {
	if old == nil || r.Claim == old.Claim || r.after(old) {
		return r
	}
	return old
}

// parents adds to ps, for every Background sighting of the claim (key)
// that another session owns, a parentRef naming the owner. A copy that
// owns the claim itself names no parent by it. (Ownership passes to a copy
// only when its own sighting is revised to an earlier time; a ref already
// pointing at that claim keeps its last owner then.)
func (e *claimEntry) parents(key string, ps map[session.ID]*parentRef) {
	best, _ := e.best()
	if best == nil {
		return
	}
	for i := range e.Sightings {
		s := &e.Sightings[i]
		if s.BG && s.ID != best.ID {
			ps[s.ID] = (&parentRef{At: s.At, Claim: key, Parent: best.ID}).merge(ps[s.ID])
		}
	}
}

func parentKey(k session.Key) []byte { return join(pfxParent, string(k.Provider), string(k.ID)) }

// parentRef is the stored ref of k (nil if none).
func (t *tx) parentRef(k session.Key) (*parentRef, error) {
	key := parentKey(k)
	if v, ok := t.stage[string(key)]; ok {
		return v.pr, nil
	}
	r := &parentRef{}
	ok, err := getJSON(t.txn, key, r)
	if err != nil || !ok {
		return nil, err
	}
	return r, nil
}

// learnParent merges a ref learnt now (nil: none) into k's stored one and
// returns the parent it names; known is false when k has no ref at all.
func (t *tx) learnParent(k session.Key, learnt *parentRef) (parent session.ID, known bool, err error) {
	old, err := t.parentRef(k)
	if err != nil {
		return "", false, err
	}
	r := old
	if learnt != nil {
		r = learnt.merge(old)
		if old == nil || *r != *old {
			t.put(parentKey(k), &staged{pr: r})
		}
	}
	if r == nil {
		return "", false, nil
	}
	return r.Parent, true, nil
}

func (t *tx) claim(p session.Provider, key string) (*claimEntry, []byte, error) {
	k := claimKey(p, key)
	if v, ok := t.stage[string(k)]; ok {
		if v.cl == nil {
			return &claimEntry{}, k, nil
		}
		return v.cl, k, nil
	}
	e := &claimEntry{}
	h := xxhash.Sum64(k)
	_, known := t.s.claimSet[h]
	if _, mine := t.newSet[h]; !known && !mine {
		t.newClaims = append(t.newClaims, h)
		t.newSet[h] = struct{}{}
		return e, k, nil // certainly not stored
	}
	if _, err := getJSON(t.txn, k, e); err != nil {
		return nil, nil, err
	}
	return e, k, nil
}

// applyClaims records a file's sightings and accumulates, per session, the
// change of claimed usage in adj and the parents learnt in ps.
func (t *tx) applyClaims(k session.Key, path string, claims []session.Claim, adj map[session.ID]session.Usage, ps map[session.ID]*parentRef) error {
	if len(claims) == 0 {
		return nil
	}
	// One response usually spans several lines: fold them first.
	merged := make(map[string]int, len(claims))
	uniq := make([]session.Claim, 0, len(claims))
	for _, c := range claims {
		if c.Key == "" {
			continue
		}
		if i, ok := merged[c.Key]; ok {
			u := &uniq[i]
			u.Usage = u.Usage.Max(c.Usage)
			u.Background = u.Background && c.Background
			if !c.At.IsZero() && (u.At.IsZero() || c.At.Before(u.At)) {
				u.At = c.At
			}
			continue
		}
		merged[c.Key] = len(uniq)
		uniq = append(uniq, c)
	}
	for _, c := range uniq {
		e, key, err := t.claim(k.Provider, c.Key)
		if err != nil {
			return err
		}
		oldOwner, oldU := e.owner()
		found := false
		for i := range e.Sightings {
			s := &e.Sightings[i]
			if s.ID == k.ID && s.File == path {
				found = true
				s.Usage = s.Usage.Max(c.Usage)
				s.BG = s.BG && c.Background
				if !c.At.IsZero() && (s.At.IsZero() || c.At.Before(s.At)) {
					s.At = c.At.UTC()
				}
			}
		}
		if !found {
			e.Sightings = append(e.Sightings, sighting{ID: k.ID, File: path, At: c.At.UTC(), Usage: c.Usage, BG: c.Background})
		}
		newOwner, newU := e.owner()
		if oldOwner != newOwner || oldU != newU {
			if oldOwner != "" {
				adj[oldOwner] = adj[oldOwner].Sub(oldU)
			}
			adj[newOwner] = adj[newOwner].Add(newU)
		}
		e.parents(c.Key, ps)
		t.put(key, &staged{cl: e})
	}
	return nil
}

type claimHit struct {
	key []byte
	e   *claimEntry
}

// claimsOf finds every claim with a sighting of one file. It scans the
// provider's claims: rewrites and moves are rare, claims are many, and an
// index per file would double the write cost of every response.
func (t *tx) claimsOf(k session.Key, path string) ([]claimHit, error) {
	pfx := claimPrefix(k.Provider)
	var hits []claimHit
	// Only entries whose JSON holds the path (encoded as encoding/json
	// encodes it) can have a sighting of it: skip decoding the rest.
	enc, _ := json.Marshal(path)
	needle := enc[1 : len(enc)-1]
	err := scan(t.txn, pfx, true, func(key, v []byte) error {
		var e *claimEntry
		if st, ok := t.stage[string(key)]; ok {
			e = st.cl
		} else {
			if !bytes.Contains(v, needle) {
				return nil
			}
			e = &claimEntry{}
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("claim %q: %w: %w", key, ErrCorrupt, err)
			}
		}
		if e == nil {
			return nil
		}
		for i := range e.Sightings {
			if e.Sightings[i].ID == k.ID && e.Sightings[i].File == path {
				hits = append(hits, claimHit{append([]byte(nil), key...), e})
				break
			}
		}
		return nil
	})
	return hits, err
}

// renameClaims moves a file's sightings to its new path.
func (t *tx) renameClaims(k session.Key, from, to string) error {
	hits, err := t.claimsOf(k, from)
	if err != nil {
		return err
	}
	for _, h := range hits {
		for i := range h.e.Sightings {
			if s := &h.e.Sightings[i]; s.ID == k.ID && s.File == from {
				s.File = to
			}
		}
		t.put(h.key, &staged{cl: h.e})
	}
	return nil
}

func (t *tx) fail(f *Fail) (Result, error) {
	if f.Key.Provider == "" || f.Key.ID == "" {
		return Result{}, fmt.Errorf("%w: fail without a session key", ErrInvalidCommit)
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	rec, _, err := t.record(f.Key)
	if err != nil {
		return Result{}, err
	}
	if rec.Models == nil {
		rec.Models = []string{}
	}
	if rec.Project == "" {
		rec.Project = session.ProjectFromCWD(rec.CWD)
	}
	rec.Status = session.StatusFailed
	rec.FailReason = f.Reason
	rec.Version++
	rec.UpdatedAt = now
	t.put(sessionKey(f.Key), &staged{rec: rec})
	t.del(activeKey(f.Key))
	t.emit(now, rec, session.EventFailed, session.Change{Status: rec.Status, Reason: f.Reason, Version: rec.Version})
	return Result{Record: *rec}, nil
}

// keyClaimRules marks a store whose Claude Code claims were recorded with
// the background-session rules (issue 7: a sighting says whether it is a
// background copy, and sidechain prompts do not count). A store that has
// Claude Code claims and no mark was written by an older sessiond: its
// sightings decode as not Background and its files are never read again,
// so its figures stay as counted then until `sessiond store rebuild`
// re-reads the files (re-counting in place cannot tell an old sighting
// from a foreground one).
var keyClaimRules = []byte("v1/m/claims")

const claimRules = "2"

// errStopScan ends a scan early.
var errStopScan = errors.New("stop scan")

// checkClaimRules marks a store without Claude Code claims as counted by
// the current rules, or finds and reports (once per open) that its claims
// are older.
func (s *Store) checkClaimRules(txn *badger.Txn) error {
	_, err := txn.Get(keyClaimRules)
	if err == nil {
		return nil
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("read claim rules mark: %w", err)
	}
	old := false
	err = scan(txn, claimPrefix(session.ClaudeCode), false, func(_, _ []byte) error {
		old = true
		return errStopScan
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return fmt.Errorf("look for claims: %w", err)
	}
	if !old {
		if s.opts.ReadOnly {
			return nil
		}
		return txn.Set(keyClaimRules, []byte(claimRules))
	}
	s.staleClaims = true
	s.log.Warn("the Claude Code figures in this store were counted by an older sessiond (a background session may hold tokens of the session it was handed off from, and subagent prompts may count as prompts); stop the daemon and run `sessiond store rebuild` to re-read the files",
		"data_dir", s.dir)
	return nil
}

// StaleClaims reports whether the store's Claude Code figures were counted
// by an older sessiond and need `sessiond store rebuild` (see
// keyClaimRules).
func (s *Store) StaleClaims() bool { return s.staleClaims }
