package persistence

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/sessiond/sessiond/session"
)

// Op is one change applied by Apply: *Commit or *Fail.
type Op interface{ isOp() }

func (*Commit) isOp() {}
func (*Fail) isOp()   {}

// Apply commits ops in one Badger transaction (group commit) and returns one
// Result per op, in order. Each op is atomic on its own: an op that fails
// (version conflict, invalid input) writes nothing and the others still
// commit. Event sequence numbers are assigned inside the transaction, so the
// log is gapless: an event exists if and only if its change was committed.
// Apply must be called by one goroutine at a time (the store actor).
//
// The ledger is monotonic (see package session): claims are never withdrawn,
// a reset file keeps the spend it lost (retain), and a parser's dropped usage
// is kept. A commit of a session that has no record and, after it, no dated
// record and no spend stores its checkpoints only: no record, no event, and
// Result.Record.Version 0, so the writer's next ExpectedVersion 0 matches.
func (s *Store) Apply(ops []Op) []Result {
	res := make([]Result, len(ops))
	if s.closed.Load() || s.opts.ReadOnly {
		for i := range res {
			res[i].Err = ErrClosed
		}
		return res
	}
	var head uint64
	var newClaims []uint64
	err := s.db.Update(func(txn *badger.Txn) error {
		t := newTx(s, txn)
		defer func() { newClaims = t.newClaims }()
		for i, op := range ops {
			t.begin()
			var r Result
			var err error
			switch op := op.(type) {
			case *Commit:
				r, err = t.commit(op)
			case *Fail:
				r, err = t.fail(op)
			default:
				err = fmt.Errorf("%w: unknown op %T", ErrInvalidCommit, op)
			}
			if err != nil {
				t.rollback()
				res[i] = Result{Err: err}
				continue
			}
			if err := t.flush(); err != nil {
				return err
			}
			r.Events = t.takeEvents()
			res[i] = r
		}
		head = t.head
		return t.writeHead()
	})
	if err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) && len(ops) > 1 {
			h := len(ops) / 2
			return append(s.Apply(ops[:h]), s.Apply(ops[h:])...)
		}
		for i := range res {
			res[i] = Result{Err: fmt.Errorf("commit: %w", err)}
		}
		return res
	}
	s.head.Store(head)
	for _, h := range newClaims {
		s.claimSet[h] = struct{}{}
	}
	return res
}

// CompleteIdle marks completed every active session whose newest activity
// is at least the idle timeout before now, and returns the events.
func (s *Store) CompleteIdle(now time.Time) ([]session.Event, error) {
	if s.closed.Load() || s.opts.ReadOnly {
		return nil, ErrClosed
	}
	now = now.UTC()
	cutoff := now.Add(-s.opts.IdleTimeout).UnixNano()
	var due []session.Key
	err := s.db.View(func(txn *badger.Txn) error {
		return scan(txn, pfxActive, true, func(k, v []byte) error {
			if int64(u64(v)) <= cutoff {
				if key, ok := splitKey(pfxActive, k); ok {
					due = append(due, key)
				}
			}
			return nil
		})
	})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	var events []session.Event
	var head uint64
	err = s.db.Update(func(txn *badger.Txn) error {
		t := newTx(s, txn)
		t.begin()
		for _, k := range due {
			rec, ok, err := t.record(k)
			if err != nil {
				return err
			}
			t.del(activeKey(k))
			if !ok || rec.Status != session.StatusActive || rec.Phantom() {
				continue // a phantom of an older sessiond is no session to complete
			}
			rec.Status = session.StatusCompleted
			rec.Version++
			rec.UpdatedAt = now
			t.emit(now, rec, session.EventCompleted, session.Change{
				Status: rec.Status, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt,
				Duration: rec.DurationMS, Version: rec.Version,
			})
		}
		if err := t.flush(); err != nil {
			return err
		}
		events = t.takeEvents()
		head = t.head
		return t.writeHead()
	})
	if err != nil {
		return nil, fmt.Errorf("complete idle sessions: %w", err)
	}
	s.head.Store(head)
	return events, nil
}

// tx is one Badger transaction plus an overlay holding the writes of the op
// being applied, so a failed op can be rolled back without touching the
// transaction.
type tx struct {
	s        *Store
	txn      *badger.Txn
	head     uint64
	headSeen uint64 // head at begin(), for rollback
	stage    map[string]*staged
	order    []string
	events   []session.Event
	// newClaims are hashes of claim keys first written by this
	// transaction, added to Store.claimSet once it commits.
	newClaims []uint64
	newSet    map[uint64]struct{}
	opClaims  int // len(newClaims) at begin(), for rollback
}

type staged struct {
	rec *session.Record
	cks []session.Checkpoint
	cl  *claimEntry
	pr  *parentRef
	raw []byte
	del bool
}

func newTx(s *Store, txn *badger.Txn) *tx {
	return &tx{s: s, txn: txn, head: s.head.Load(), newSet: map[uint64]struct{}{}}
}

func (t *tx) begin() {
	t.stage = map[string]*staged{}
	t.order = t.order[:0]
	t.events = nil
	t.headSeen = t.head
	t.opClaims = len(t.newClaims)
}

func (t *tx) rollback() {
	t.stage = map[string]*staged{}
	t.order = t.order[:0]
	t.events = nil
	t.head = t.headSeen
	for _, h := range t.newClaims[t.opClaims:] {
		delete(t.newSet, h)
	}
	t.newClaims = t.newClaims[:t.opClaims]
}

func (t *tx) put(k []byte, v *staged) {
	ks := string(k)
	if _, ok := t.stage[ks]; !ok {
		t.order = append(t.order, ks)
	}
	t.stage[ks] = v
}

func (t *tx) del(k []byte) { t.put(k, &staged{del: true}) }

// flush writes the staged op into the Badger transaction.
func (t *tx) flush() error {
	for _, k := range t.order {
		v := t.stage[k]
		var err error
		switch {
		case v.del:
			err = t.txn.Delete([]byte(k))
		default:
			var b []byte
			switch {
			case v.rec != nil:
				b, err = json.Marshal(v.rec)
			case v.cks != nil:
				b, err = json.Marshal(v.cks)
			case v.cl != nil:
				b, err = json.Marshal(v.cl)
			case v.pr != nil:
				b, err = json.Marshal(v.pr)
			default:
				b = v.raw
			}
			if err == nil {
				err = t.txn.Set([]byte(k), b)
			}
		}
		if err != nil {
			return err
		}
	}
	t.stage = map[string]*staged{}
	t.order = t.order[:0]
	return nil
}

func (t *tx) takeEvents() []session.Event {
	ev := t.events
	t.events = nil
	return ev
}

func (t *tx) writeHead() error {
	if t.head == t.s.head.Load() {
		return nil
	}
	return t.txn.Set(keyHead, putU64(t.head))
}

// record returns the staged, mutable record of k (staging it on first use).
func (t *tx) record(k session.Key) (*session.Record, bool, error) {
	key := sessionKey(k)
	if v, ok := t.stage[string(key)]; ok {
		return v.rec, v.rec != nil, nil
	}
	r := &session.Record{Key: k}
	ok, err := getJSON(t.txn, key, r)
	if err != nil {
		return nil, false, err
	}
	if ok {
		t.put(key, &staged{rec: r})
	}
	return r, ok, nil
}

func (t *tx) emit(now time.Time, r *session.Record, kind session.EventKind, ch session.Change) {
	t.head++
	e := session.Event{Seq: t.head, Time: now, Key: r.Key, Kind: kind, Change: ch}
	b, _ := json.Marshal(&e) // plain structs: cannot fail
	t.put(eventKey(e.Seq), &staged{raw: b})
	t.events = append(t.events, e)
}

// commit applies one Commit to the overlay.
func (t *tx) commit(c *Commit) (Result, error) {
	if c.Key.Provider == "" || c.Key.ID == "" || len(c.Files) == 0 {
		return Result{}, fmt.Errorf("%w: session %s with %d files", ErrInvalidCommit, c.Key, len(c.Files))
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	rec, exists, err := t.record(c.Key)
	if err != nil {
		return Result{}, err
	}
	if rec.Version != c.ExpectedVersion {
		return Result{}, &ConflictError{Key: c.Key.String(), Expected: c.ExpectedVersion, Actual: rec.Version}
	}
	stored, err := loadCheckpoints(t.txn, c.Key)
	if err != nil {
		return Result{}, err
	}
	files := make(map[string]*session.Checkpoint, len(stored)+len(c.Files))
	for i := range stored {
		files[stored[i].Path] = &stored[i]
	}
	before := *rec
	adj := map[session.ID]session.Usage{}
	ps := map[session.ID]*parentRef{}
	var delta session.Delta
	out := make([]session.Checkpoint, 0, len(c.Files))
	for i := range c.Files {
		fu := &c.Files[i]
		path := fu.Checkpoint.Path
		if path == "" {
			return Result{}, fmt.Errorf("%w: session %s: file update without a path", ErrInvalidCommit, c.Key)
		}
		old := files[path]
		if fu.RenamedFrom != "" && fu.RenamedFrom != path {
			if old != nil {
				return Result{}, fmt.Errorf("%w: session %s: rename %s over the known file %s", ErrInvalidCommit, c.Key, fu.RenamedFrom, path)
			}
			old = files[fu.RenamedFrom]
			if old == nil {
				return Result{}, &ConflictError{Key: c.Key.String(), Path: fu.RenamedFrom, Expected: uint64(fu.FromOffset)}
			}
			delete(files, fu.RenamedFrom)
			if err := t.renameClaims(c.Key, fu.RenamedFrom, path); err != nil {
				return Result{}, err
			}
		}
		var base session.FileContribution
		switch {
		case fu.Reset:
			// The file's claims stay: a response once counted stays
			// counted, and its sightings in the new content revise it.
			if fu.FromOffset != 0 {
				return Result{}, fmt.Errorf("%w: session %s file %s: reset must start at offset 0", ErrInvalidCommit, c.Key, path)
			}
		case old == nil:
			if fu.FromOffset != 0 {
				return Result{}, &ConflictError{Key: c.Key.String(), Path: path, Expected: uint64(fu.FromOffset)}
			}
		default:
			if fu.FromOffset != old.Offset {
				return Result{}, &ConflictError{Key: c.Key.String(), Path: path, Expected: uint64(fu.FromOffset), Actual: uint64(old.Offset)}
			}
			base = old.Contribution
		}
		ck := fu.Checkpoint
		base.Models = slices.Clone(base.Models)
		base.Apply(&fu.Delta)
		ck.Contribution = base
		ck.Retained = session.Spend{}
		if old != nil {
			ck.Retained = retain(old, &ck, fu.Reset)
		}
		if old == nil || !fu.Reset || !sameContent(old, &ck) {
			// responses the parser dropped (a rewind) stay counted; a
			// re-read of the same content drops them again: kept already
			ck.Retained.Usage = ck.Retained.Usage.Add(fu.Delta.Dropped)
		}
		if err := t.applyClaims(c.Key, path, fu.Delta.Claims, adj, ps); err != nil {
			return Result{}, err
		}
		files[path] = &ck
		out = append(out, ck)
		if old != nil && fu.Reset {
			// the event reports what changed: the new contribution minus the old one
			delta.Counts = delta.Counts.Add(ck.Contribution.Counts).Add(negCounts(old.Contribution.Counts))
		} else {
			delta.Counts = delta.Counts.Add(fu.Delta.Counts)
		}
		delta.Records += fu.Delta.Records
		delta.Models = session.AddModels(delta.Models, fu.Delta.Models...)
	}
	t.put(ckptKey(c.Key), &staged{cks: sortedFiles(files)})
	rec.ClaimedTokens = rec.ClaimedTokens.Add(adj[c.Key.ID])
	delete(adj, c.Key.ID)
	if learnt := ps[c.Key.ID]; learnt != nil || !exists || before.Phantom() {
		// a record that is not there yet (or hidden) did not take the
		// parents learnt for it before: they are in its ref
		parent, known, err := t.learnParent(c.Key, learnt)
		if err != nil {
			return Result{}, err
		}
		if known {
			rec.ParentSessionID = parent
		}
	}
	delete(ps, c.Key.ID)
	aggregate(rec, files)
	if (!exists || before.Phantom()) && rec.Phantom() {
		// Not a session yet (no dated record, no spend: a summary-only
		// transcript, a file that is not one): its checkpoints are kept
		// so it is not read again, but it has no record and no event
		// until its first dated record. The version stays where it was
		// (0 when new), so the writer's next ExpectedVersion matches.
		if exists {
			t.del(activeKey(c.Key)) // a record written by an older sessiond
			rec.Version++
			rec.UpdatedAt = now
			t.put(sessionKey(c.Key), &staged{rec: rec})
		}
		if err := t.adjustOthers(c.Key.Provider, adj, ps, now); err != nil {
			return Result{}, err
		}
		return Result{Record: *rec, Files: out}, nil
	}
	rec.Version++
	t.setStatus(rec, now)
	rec.UpdatedAt = now
	t.put(sessionKey(c.Key), &staged{rec: rec})

	ch := session.Change{
		Tokens: rec.Tokens.Sub(before.Tokens), Counts: delta.Counts, Records: delta.Records,
		Models: delta.Models, Status: rec.Status, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt,
		Duration: rec.DurationMS, Version: rec.Version,
	}
	if rec.ParentSessionID != before.ParentSessionID {
		ch.Parent = rec.ParentSessionID
	}
	switch {
	case !exists || before.Phantom():
		// the session's first dated record (or spend): it appears now
		ch.Tokens = rec.Tokens
		t.emit(now, rec, session.EventCreated, ch)
	case ch.Tokens != (session.Usage{}) || ch.Counts != (session.Counts{}) || ch.Records != 0 || ch.Parent != "" ||
		before.Status != rec.Status && rec.Status == session.StatusActive:
		t.emit(now, rec, session.EventUpdated, ch)
	}
	if rec.Status == session.StatusCompleted && (before.Status != session.StatusCompleted || !exists || before.Phantom()) {
		t.emit(now, rec, session.EventCompleted, session.Change{
			Status: rec.Status, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt, Duration: rec.DurationMS, Version: rec.Version,
		})
	}
	if err := t.adjustOthers(c.Key.Provider, adj, ps, now); err != nil {
		return Result{}, err
	}
	return Result{Record: *rec, Files: out}, nil
}

// adjustOthers moves claimed tokens of other sessions (ownership changed)
// and records the parents learnt for them (ps): one change per session.
// A session without a record (or a phantom) keeps its parent in its ref
// until its record appears.
func (t *tx) adjustOthers(p session.Provider, adj map[session.ID]session.Usage, ps map[session.ID]*parentRef, now time.Time) error {
	ids := make([]session.ID, 0, len(adj)+len(ps))
	for id, u := range adj {
		if !u.IsZero() {
			ids = append(ids, id)
		}
	}
	for id := range ps {
		if u := adj[id]; u.IsZero() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := session.Key{Provider: p, ID: id}
		parent, known, err := t.learnParent(k, ps[id])
		if err != nil {
			return err
		}
		u := adj[id]
		r, ok, err := t.record(k)
		if err != nil {
			return err
		}
		if !ok || r.Phantom() {
			if u.IsZero() {
				continue
			}
			// A session known only by its checkpoints (no dated record
			// yet, or the hidden phantom record an older version wrote)
			// whose undated sighting came to own usage: spend makes it a
			// session.
			if err := t.createFromFiles(r, u, now); err != nil {
				return err
			}
			continue
		}
		ch := session.Change{Tokens: u, Status: r.Status}
		if known && parent != r.ParentSessionID {
			r.ParentSessionID = parent
			ch.Parent = parent
		}
		if u.IsZero() && ch.Parent == "" {
			continue
		}
		r.ClaimedTokens = r.ClaimedTokens.Add(u)
		r.Tokens = r.Tokens.Add(u)
		r.Version++
		r.UpdatedAt = now
		ch.Version = r.Version
		t.put(sessionKey(k), &staged{rec: r})
		t.emit(now, r, session.EventUpdated, ch)
	}
	return nil
}

// createFromFiles writes the first record of a session that had only
// checkpoints, now that it owns claimed usage.
func (t *tx) createFromFiles(r *session.Record, claimed session.Usage, now time.Time) error {
	cks, err := loadCheckpoints(t.txn, r.Key)
	if err != nil {
		return err
	}
	if len(cks) == 0 {
		// A sighting is only written with its file's checkpoint.
		return fmt.Errorf("claim owner %s has no record and no files: %w", r.Key, ErrCorrupt)
	}
	files := make(map[string]*session.Checkpoint, len(cks))
	for i := range cks {
		files[cks[i].Path] = &cks[i]
	}
	r.ClaimedTokens = claimed
	parent, known, err := t.learnParent(r.Key, nil)
	if err != nil {
		return err
	}
	if known {
		r.ParentSessionID = parent
	}
	aggregate(r, files)
	r.Version++ // 1, or past an older version's phantom record
	t.setStatus(r, now)
	r.UpdatedAt = now
	t.put(sessionKey(r.Key), &staged{rec: r})
	t.emit(now, r, session.EventCreated, session.Change{
		Tokens: r.Tokens, Counts: r.Counts, Models: r.Models, Status: r.Status,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, Duration: r.DurationMS, Version: r.Version,
		Parent: r.ParentSessionID,
	})
	return nil
}

func (t *tx) setStatus(rec *session.Record, now time.Time) {
	last := rec.EndedAt
	if last.IsZero() {
		last = now // no timestamped record yet: the activity is now
	}
	if now.Sub(last) >= t.s.opts.IdleTimeout {
		rec.Status = session.StatusCompleted
		t.del(activeKey(rec.Key))
	} else {
		rec.Status = session.StatusActive
		t.put(activeKey(rec.Key), &staged{raw: putU64(uint64(last.UnixNano()))})
	}
	rec.FailReason = ""
}

// aggregate recomputes a record's derived fields from its files.
func aggregate(rec *session.Record, files map[string]*session.Checkpoint) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var counts session.Counts
	var usage session.Usage
	var models []string
	var first, last time.Time
	var cwd, branch, subCWD, subBranch string
	var subagents int64
	var cost float64
	estimated, unknown := false, len(paths) > 0
	for _, p := range paths {
		c := &files[p].Contribution
		kept := &files[p].Retained
		cost += c.Cost + kept.Cost
		usage = usage.Add(kept.Usage)
		models = session.AddModels(models, kept.Models...)
		estimated = estimated || c.Estimated
		unknown = unknown && c.Unknown
		counts = counts.Add(c.Counts)
		usage = usage.Add(c.Usage)
		models = session.AddModels(models, c.Models...)
		if !c.FirstAt.IsZero() && (first.IsZero() || c.FirstAt.Before(first)) {
			first = c.FirstAt
		}
		if c.LastAt.After(last) {
			last = c.LastAt
		}
		if files[p].Role == session.RoleSubagent {
			subagents++
			if c.CWD != "" {
				subCWD = c.CWD
			}
			if c.GitBranch != "" {
				subBranch = c.GitBranch
			}
			continue
		}
		if c.CWD != "" {
			cwd = c.CWD
		}
		if c.GitBranch != "" {
			branch = c.GitBranch
		}
	}
	if cwd == "" {
		cwd = subCWD
	}
	if branch == "" {
		branch = subBranch
	}
	rec.Counts = counts
	rec.Tokens = usage.Add(rec.ClaimedTokens)
	rec.CostUSD, rec.TokensEstimated = cost, estimated
	rec.TokensUnknown = unknown && rec.Tokens.IsZero()
	if models == nil {
		models = []string{}
	}
	rec.Models = models
	rec.StartedAt, rec.EndedAt = first, last
	rec.DurationMS = 0
	if !first.IsZero() {
		rec.DurationMS = last.Sub(first).Milliseconds()
	}
	rec.CWD, rec.GitBranch = cwd, branch
	rec.Project = session.ProjectFromCWD(cwd)
	rec.Files = int64(len(files))
	rec.Subagents = subagents
}

// retain is the spend a file keeps after an update (old is its stored
// checkpoint, ck the new one with its new contribution): what it retained
// before, plus, when the file was reset, the spend its contribution lost.
// The ledger is monotonic per file: a response that disappears from the
// file (truncation, rewrite, rewind, a document losing a request) stays
// counted. When the file still holds its old content, only the decrease
// is kept, field by field, so re-read responses are not counted twice;
// when it holds new content (copytruncate, another file at the path),
// all of the old contribution is kept. Claims (Claude Code, Codex) are
// exact per response and never dropped: they are not part of this.
func retain(old, ck *session.Checkpoint, reset bool) session.Spend {
	r := session.Spend{Usage: old.Retained.Usage, Cost: old.Retained.Cost, Models: slices.Clone(old.Retained.Models)}
	if !reset {
		return r
	}
	was, now := &old.Contribution, &ck.Contribution
	lost, lostCost := was.Usage, was.Cost
	if sameContent(old, ck) {
		lost = was.Usage.Sub(now.Usage).Max(session.Usage{})
		lostCost = max(0, was.Cost-now.Cost)
	}
	if lost.IsZero() && lostCost <= 0 {
		return r
	}
	r.Usage = r.Usage.Add(lost)
	r.Cost += lostCost
	r.Models = session.AddModels(r.Models, was.Models...)
	return r
}

// sameContent reports whether a reset file still holds the content it
// had, truncated or revised (rather than new content): documents read
// whole are always the same document revised; an append file is when its
// head is unchanged. When the two head hashes cover different lengths
// (the file is now shorter than the head that was hashed) the records'
// times decide: content that starts after the old content ended is new
// (copytruncate, then appends), anything else is the old content cut.
func sameContent(old, ck *session.Checkpoint) bool {
	if ck.Mode != session.ModeAppend {
		return true
	}
	o, n := old.Identity, ck.Identity
	if o.HeadLen > 0 && n.HeadLen == o.HeadLen {
		return n.HeadHash == o.HeadHash
	}
	was, now := &old.Contribution, &ck.Contribution
	return now.FirstAt.IsZero() || was.LastAt.IsZero() || !now.FirstAt.After(was.LastAt)
}

func negCounts(c session.Counts) session.Counts {
	return session.Counts{UserMessages: -c.UserMessages, AssistantMessages: -c.AssistantMessages, ToolCalls: -c.ToolCalls, ToolErrors: -c.ToolErrors}
}

func sortedFiles(files map[string]*session.Checkpoint) []session.Checkpoint {
	out := make([]session.Checkpoint, 0, len(files))
	for _, c := range files {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b session.Checkpoint) int { return strings.Compare(a.Path, b.Path) })
	return out
}
