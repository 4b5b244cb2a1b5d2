package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/watch"
)

// SessionConfig configures session actors.
type SessionConfig struct {
	Provider providers.Provider
	Store    *persistence.Store // committed checkpoints are read from here
	StorePID *actor.PID
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	// ChunkBytes bounds the bytes read per step (default 1 MiB), so a
	// session never holds its mailbox (and Stop) for long.
	ChunkBytes int
	// PassivateAfter is how long a session actor idles before it asks to
	// be stopped (default 2m); it is respawned on the next change.
	PassivateAfter time.Duration
	// MaxRetries is how many times a failed commit (other than a conflict)
	// is retried before the session is marked failed (default 5).
	MaxRetries int
}

func (c *SessionConfig) defaults() {
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = 1 << 20
	}
	if c.PassivateAfter <= 0 {
		c.PassivateAfter = 2 * time.Minute
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Session owns one session: its files' committed checkpoints, their parsers
// and the version it last committed. It reads new bytes from the committed
// offsets in bounded chunks, parses complete records and sends one
// CommitSession; it advances only when the store answers. Changes that
// arrive while a commit is in flight coalesce into the next step.
type Session struct {
	cfg      SessionConfig
	key      session.Key
	log      *slog.Logger
	version  uint64
	files    map[string]*tail
	inflight []*tail
	retries  int
	failed   string // reason the session was last marked failed ("" if not)
	// pendingFail is a read error to record once no commit is in flight.
	pendingFail string
	// tempRetries counts consecutive temporary read errors.
	tempRetries int
	seq         uint64 // highest FileChanged.Seq received
	retrying    bool   // a sessionRetry is scheduled
}

// maxTempRetries bounds the retries of a temporarily unreadable file
// (about half a minute) before the session is marked failed.
const maxTempRetries = 30

// tail is one file of the session.
type tail struct {
	ck     session.Checkpoint // committed
	known  bool               // ck is stored
	parser providers.Parser
	dirty  bool // may have unread bytes
	gone   bool // missing on the last read
	next   *persistence.FileUpdate
	bytes  int64 // bytes consumed by next
	// version is the latest Version announced for a virtual document.
	version string
	// renamedFrom is the committed path of a file that moved here.
	renamedFrom string
}

type sessionRetry struct{}

// sessionIdle tells the provider a session actor idled (it may be stopped).
type sessionIdle struct{ key session.Key }

// sessionStarted tells the provider a session actor (re)started and wants
// to hear of all its files again.
type sessionStarted struct{ key session.Key }

// sessionPanicked tells the provider why a session actor is failing.
type sessionPanicked struct {
	key    session.Key
	reason string
}

// NewSession returns the producer of the actor for session key.
func NewSession(cfg SessionConfig, key session.Key) actor.Producer {
	cfg.defaults()
	return func() actor.Actor {
		return &Session{cfg: cfg, key: key, log: cfg.Logger.With("actor", "session", "session", key.String())}
	}
}

// Receive routes messages.
func (s *Session) Receive(ctx actor.Context) {
	defer func() {
		// Let the provider know why before supervision restarts us.
		if r := recover(); r != nil {
			if p := ctx.Parent(); p != nil {
				ctx.Send(p, &sessionPanicked{key: s.key, reason: fmt.Sprint(r)})
			}
			panic(r)
		}
	}()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *messages.FileChanged:
		s.onFileChanged(ctx, m)
	case *messages.CommitSessionResult:
		s.onCommitted(ctx, m)
	case *messages.FailSessionResult:
		s.onFailed(m)
	case *sessionRetry:
		s.retrying = false
		s.step(ctx)
	case *actor.ReceiveTimeout:
		s.onIdle(ctx)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		unhandled(s.log, m)
	}
}

func (s *Session) onStarted(ctx actor.Context) {
	if err := s.load(); err != nil {
		// A store we cannot read is not this session's fault: escalate
		// through supervision rather than limp on with stale state.
		panic(fmt.Errorf("load session %s: %w", s.key, err))
	}
	ctx.SetReceiveTimeout(s.cfg.PassivateAfter)
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &sessionStarted{key: s.key})
	}
}

// load reads the committed state; files stay as they are known otherwise.
func (s *Session) load() error {
	rec, err := s.cfg.Store.Session(s.key)
	switch {
	case errors.Is(err, persistence.ErrSessionNotFound):
		s.version = 0
	case err != nil:
		return err
	default:
		s.version = rec.Version
		if rec.Status == session.StatusFailed {
			s.failed = rec.FailReason
		}
	}
	cks, err := s.cfg.Store.SessionFiles(s.key)
	if err != nil {
		return err
	}
	old := s.files
	s.files = make(map[string]*tail, len(cks))
	for _, ck := range cks {
		t, err := s.newTail(ck, true)
		if err != nil {
			return err
		}
		if o := old[ck.Path]; o != nil && o.version != "" {
			t.version = o.version // announced, maybe not committed yet
		}
		s.files[ck.Path] = t
	}
	for p, t := range old {
		if _, ok := s.files[p]; ok {
			continue
		}
		if st, err := watch.Stat(p); err == nil {
			if mt := s.movedHere(p, t.ck.Mode, st.Dev, st.Ino); mt != nil {
				mt.dirty = true
				continue
			}
		}
		nt, _ := s.newTail(session.Checkpoint{Path: p, Role: t.ck.Role, Mode: t.ck.Mode}, false)
		nt.dirty, nt.version = true, t.version
		s.files[p] = nt
	}
	return nil
}

func (s *Session) newTail(ck session.Checkpoint, known bool) (*tail, error) {
	p := s.cfg.Provider.NewParser(ck.Role)
	if known {
		if err := p.Restore(ck.Parser); err != nil {
			return nil, fmt.Errorf("restore parser state of %s: %w", ck.Path, err)
		}
	}
	return &tail{ck: ck, known: known, parser: p}, nil
}

func (s *Session) onFileChanged(ctx actor.Context, m *messages.FileChanged) {
	s.seq = max(s.seq, m.Seq)
	t := s.files[m.File.Path]
	if t == nil && m.File.Removed {
		// nothing known there: no placeholder (a file that comes back to
		// this path later must still be recognised as moved)
		if len(s.inflight) == 0 {
			s.step(ctx)
		}
		return
	}
	if t == nil || !t.known && t.next == nil {
		// a path never committed may be a known file that moved here
		if mt := s.movedHere(m.File.Path, m.Mode, m.File.Dev, m.File.Ino); mt != nil {
			t = mt
		}
	}
	if t == nil {
		t, _ = s.newTail(session.Checkpoint{Path: m.File.Path, Role: m.Role, Mode: m.Mode}, false)
		s.files[m.File.Path] = t
	}
	if m.Version != "" {
		t.version = m.Version
	}
	// A removed file has nothing to read (its contribution stays: agents
	// delete old transcripts by retention); step still answers caught-up.
	t.dirty = !m.File.Removed
	if len(s.inflight) == 0 {
		s.step(ctx)
	}
}

// movedHere recognises a known file that moved to m's new path (same
// device and inode, old path gone): it continues from its checkpoint under
// the new path instead of counting the file twice.
func (s *Session) movedHere(path string, mode session.FileMode, dev, ino uint64) *tail {
	if mode == session.ModeVirtual || ino == 0 {
		return nil
	}
	for old, t := range s.files {
		id := t.ck.Identity
		if !t.known && t.next != nil {
			id = t.next.Checkpoint.Identity // its first commit is in flight
		}
		if old == path || !t.known && t.next == nil || id.Ino != ino || id.Dev != dev || t.ck.Mode != mode {
			continue
		}
		if _, err := os.Lstat(old); !errors.Is(err, fs.ErrNotExist) {
			continue // both exist: a copy, not a move
		}
		delete(s.files, old)
		if t.renamedFrom == "" {
			t.renamedFrom = old // the committed path
		}
		t.ck.Path = path
		s.files[path] = t
		s.log.Info("file moved", "from", old, "to", path)
		return t
	}
	return nil
}

// step reads every dirty file up to the chunk budget and commits what it
// read. With nothing to commit, the session is caught up.
func (s *Session) step(ctx actor.Context) {
	if len(s.inflight) > 0 {
		return
	}
	budget := s.cfg.ChunkBytes
	var updates []persistence.FileUpdate
	var readErr error
	for _, t := range s.files {
		if !t.dirty || budget <= 0 {
			continue
		}
		fu, n, more, err := s.read(t, budget)
		if errors.Is(err, providers.ErrTemporary) && s.tempRetries < maxTempRetries {
			// busy: read it again shortly; the session stays busy meanwhile
			s.tempRetries++
			s.retryLater(ctx, time.Second)
			continue // still dirty
		}
		if err != nil {
			readErr = fmt.Errorf("read %s: %w", t.ck.Path, err)
			t.dirty = false
			s.tempRetries = 0
			s.docUnread(ctx, t)
			continue
		}
		if fu == nil {
			s.docUnread(ctx, t)
		}
		t.dirty = more
		s.tempRetries = 0
		if fu == nil {
			continue
		}
		budget -= int(n)
		t.next, t.bytes = fu, n
		s.inflight = append(s.inflight, t)
		updates = append(updates, *fu)
	}
	if readErr != nil && s.failed != readErr.Error() {
		// Marked failed after the commit in hand (if any), so the two
		// don't race for the session's version.
		s.pendingFail = readErr.Error()
	}
	if len(updates) == 0 {
		if s.pendingFail != "" {
			s.fail(ctx, s.pendingFail)
		}
		if !s.retrying {
			s.caughtUp(ctx)
		}
		return
	}
	ctx.Request(s.cfg.StorePID, &messages.CommitSession{Commit: persistence.Commit{
		Key: s.key, ExpectedVersion: s.version, Files: updates,
	}})
}

// read parses the complete records of t past its committed offset, at most
// budget bytes (more only to finish one record). fu is nil when there is
// nothing new; more reports that unread complete records may remain.
func (s *Session) read(t *tail, budget int) (fu *persistence.FileUpdate, n int64, more bool, err error) {
	switch t.ck.Mode {
	case session.ModeWhole:
		fu, n, err = s.readWhole(t)
		return fu, n, false, err
	case session.ModeVirtual:
		fu, n, err = s.readVirtual(t)
		return fu, n, false, err
	}
	f, err := os.Open(t.ck.Path)
	if errors.Is(err, fs.ErrNotExist) {
		t.gone = true // deleted: keep what it contributed
		if !t.known {
			delete(s.files, t.ck.Path) // never read: nothing to keep
		}
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	defer f.Close()
	t.gone = false
	st, err := watch.StatFile(f)
	if err != nil {
		return nil, 0, false, err
	}
	reset := false
	if t.known {
		switch {
		case st.Ino != t.ck.Identity.Ino || st.Dev != t.ck.Identity.Dev, st.Size < t.ck.Offset:
			reset = true
		case t.ck.Identity.HeadLen > 0:
			h, l, err := watch.HeadHash(f, int(t.ck.Identity.HeadLen))
			if err != nil {
				return nil, 0, false, err
			}
			reset = h != t.ck.Identity.HeadHash || l != t.ck.Identity.HeadLen
		}
	}
	from := fromOffset(t, reset)
	parser := t.parser
	if reset {
		parser = s.cfg.Provider.NewParser(t.ck.Role)
		s.log.Info("file rewritten; re-reading it", "path", t.ck.Path)
	}
	if !reset && st.Size == from {
		return nil, 0, false, nil
	}
	bp := getBuf(s.cfg.ChunkBytes)
	defer putBuf(bp, s.cfg.ChunkBytes)
	// buf is *bp's array unless one record outgrew it (then it is dropped)
	buf, end, err := readRecords(f, *bp, from, st.Size, budget)
	if err != nil {
		return nil, 0, false, err
	}
	var d session.Delta
	parse := func(buf []byte) {
		for line := range bytes.SplitSeq(buf, []byte{'\n'}) {
			line = bytes.TrimSuffix(line, []byte{'\r'})
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			parser.Line(line, &d)
		}
	}
	parse(buf)
	// A rewritten file replaces its contribution in one commit, read to
	// its end, so totals never dip while it is re-read chunk by chunk.
	for reset && end < st.Size {
		more, next, err := readRecords(f, *bp, end, st.Size, s.cfg.ChunkBytes)
		if err != nil {
			return nil, 0, false, err
		}
		if next == end {
			break
		}
		parse(more)
		end = next
	}
	if end == from && !reset {
		return nil, 0, false, nil // only a partial record so far
	}
	hh, hl, err := watch.HeadHash(f, session.HeadSize)
	if err != nil {
		return nil, 0, false, err
	}
	if reset {
		t.parser = parser
	}
	return &persistence.FileUpdate{
		Checkpoint: session.Checkpoint{
			Path: t.ck.Path, Role: t.ck.Role, Mode: t.ck.Mode,
			Identity: session.FileIdentity{Dev: st.Dev, Ino: st.Ino, HeadHash: hh, HeadLen: hl},
			Size:     st.Size, Offset: end, ModTime: st.ModTime.UTC(), Parser: parser.State(),
		},
		FromOffset:  from,
		Reset:       reset,
		RenamedFrom: t.renamedFrom,
		Delta:       d,
	}, end - from, end < st.Size, nil
}

// Read buffers are reused: every session reads through one, and without
// reuse a cold scan's garbage, not its live data, sets the process size. A
// bounded free list (unlike sync.Pool) survives garbage collections.
var freeBufs = make(chan *[]byte, 16)

func getBuf(size int) *[]byte {
	select {
	case b := <-freeBufs:
		if cap(*b) >= size {
			return b
		}
	default:
	}
	b := make([]byte, 0, size)
	return &b
}

func putBuf(b *[]byte, size int) {
	if cap(*b) > 2*size {
		return // don't keep the buffer of a huge record
	}
	*b = (*b)[:0]
	select {
	case freeBufs <- b:
	default:
	}
}

// maxDocument bounds a whole document read into memory.
const maxDocument = 512 << 20

// readWhole re-reads a document rewritten as a whole and replaces the
// file's contribution. A document that does not parse yet (half written)
// commits nothing: the next change retries.
func (s *Session) readWhole(t *tail) (*persistence.FileUpdate, int64, error) {
	f, err := os.Open(t.ck.Path)
	if errors.Is(err, fs.ErrNotExist) {
		t.gone = true
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	t.gone = false
	st, err := watch.StatFile(f)
	if err != nil {
		return nil, 0, err
	}
	if t.known && t.renamedFrom == "" && st.Size == t.ck.Size && st.ModTime.UTC().Equal(t.ck.ModTime) && st.Ino == t.ck.Identity.Ino {
		return nil, 0, nil
	}
	if st.Size > maxDocument {
		return nil, 0, fmt.Errorf("document of %d bytes is larger than the %d bytes sessiond reads whole", st.Size, maxDocument)
	}
	data := make([]byte, st.Size)
	n, err := f.ReadAt(data, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	fu, err := s.document(t, data[:n])
	if fu == nil || err != nil {
		return nil, 0, err
	}
	fu.Checkpoint.Identity = session.FileIdentity{Dev: st.Dev, Ino: st.Ino}
	fu.Checkpoint.Size, fu.Checkpoint.Offset, fu.Checkpoint.ModTime = st.Size, int64(n), st.ModTime.UTC()
	return fu, int64(n), nil
}

// readVirtual reads one session's document from a container (database)
// through the provider when its version changed.
func (s *Session) readVirtual(t *tail) (*persistence.FileUpdate, int64, error) {
	if t.known && t.version != "" && t.version == t.ck.Version {
		return nil, 0, nil
	}
	ex, ok := s.cfg.Provider.(providers.Expander)
	if !ok {
		return nil, 0, fmt.Errorf("provider %s has virtual documents but no Expander", s.cfg.Provider.ID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data, err := ex.ReadDoc(ctx, t.ck.Path)
	if errors.Is(err, fs.ErrNotExist) {
		t.gone = true // the session left the database: keep what it contributed
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	fu, err := s.document(t, data)
	if fu == nil || err != nil {
		return nil, 0, err
	}
	fu.Checkpoint.Version = t.version
	fu.Checkpoint.Size, fu.Checkpoint.Offset = int64(len(data)), int64(len(data))
	return fu, int64(len(data)), nil
}

// document parses a whole document into a FileUpdate that replaces the
// file's contribution.
func (s *Session) document(t *tail, data []byte) (*persistence.FileUpdate, error) {
	p := s.cfg.Provider.NewParser(t.ck.Role)
	dp, ok := p.(providers.DocumentParser)
	if !ok {
		return nil, fmt.Errorf("provider %s reads %s whole but its parser has no Document method", s.cfg.Provider.ID(), t.ck.Path)
	}
	var d session.Delta
	if err := dp.Document(data, &d); err != nil {
		s.log.Debug("document not readable yet; waiting for the next change", "path", t.ck.Path, "err", err)
		return nil, nil
	}
	t.parser = p
	return &persistence.FileUpdate{
		Checkpoint:  session.Checkpoint{Path: t.ck.Path, Role: t.ck.Role, Mode: t.ck.Mode, Parser: p.State()},
		Reset:       true,
		RenamedFrom: t.renamedFrom,
		Delta:       d,
	}, nil
}

// fromOffset is where a read's delta starts in the store's eyes: the
// committed offset, or 0 for a new or reset file.
func fromOffset(t *tail, reset bool) int64 {
	if reset || !t.known {
		return 0
	}
	return t.ck.Offset
}

// readRecords reads from offset from up to size, at most budget bytes
// unless one record is longer, and returns the complete records (ending in
// '\n') and the offset after them.
func readRecords(f *os.File, buf []byte, from, size int64, budget int) ([]byte, int64, error) {
	want := min(size-from, int64(budget))
	buf = buf[:0:want]
	for {
		chunk := buf[len(buf):cap(buf)]
		n, err := f.ReadAt(chunk, from+int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, from, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return buf[:i+1], from + int64(i+1), nil
		}
		if n == 0 || from+int64(len(buf)) >= size {
			return nil, from, nil // a half-written record: wait for its end
		}
		// one record longer than the budget: grow until it ends
		grow := min(size-from-int64(len(buf)), int64(cap(buf))+1)
		buf = append(buf, make([]byte, grow)...)[:len(buf)]
	}
}

func (s *Session) onCommitted(ctx actor.Context, m *messages.CommitSessionResult) {
	inflight := s.inflight
	s.inflight = nil
	r := m.Result
	switch {
	case r.Err == nil:
		s.retries, s.tempRetries = 0, 0
		s.failed = ""
		s.version = r.Record.Version
		for i, t := range inflight {
			current := t.ck.Path
			t.ck = r.Files[i]
			t.known = true
			t.renamedFrom = ""
			if current != t.ck.Path {
				// moved while the commit was in flight: keep following it
				t.renamedFrom, t.ck.Path, t.dirty = t.ck.Path, current, true
			}
			if mt := s.cfg.Metrics; mt != nil {
				p := string(s.key.Provider)
				mt.ReadBytesTotal.WithLabelValues(p).Add(float64(t.bytes))
				mt.RecordsReadTotal.WithLabelValues(p).Add(float64(t.next.Delta.Records))
				mt.ParseErrorsTotal.WithLabelValues(p).Add(float64(t.next.Delta.Malformed))
			}
			t.next = nil
		}
		s.step(ctx)
	case errors.Is(r.Err, persistence.ErrConcurrentModification):
		// Someone else committed first (a previous incarnation's commit,
		// or a claim moving between sessions): reload and re-read.
		s.log.Debug("commit conflict; reloading", "err", r.Err)
		s.reload(ctx)
	case errors.Is(r.Err, persistence.ErrClosed):
		s.rollback(inflight) // shutting down: the next start resumes here
	default:
		s.rollback(inflight)
		s.retries++
		if s.retries > s.cfg.MaxRetries {
			// Give up until the next change: the session is marked failed
			// and its slot freed; its files are read again on any change.
			s.fail(ctx, fmt.Sprintf("commit failed %d times: %v", s.retries, r.Err))
			s.retries = 0
			for _, t := range s.files {
				t.dirty = false
			}
			s.caughtUp(ctx)
			return
		}
		s.retryLater(ctx, time.Duration(s.retries)*200*time.Millisecond)
	}
}

// rollback forgets what the in-flight commit read: its files are re-read
// from their committed offsets with their committed parser state.
func (s *Session) rollback(inflight []*tail) {
	for _, t := range inflight {
		t.next = nil
		t.dirty = true
		if p, err := s.newTail(t.ck, t.known); err == nil {
			t.parser = p.parser
		}
	}
}

func (s *Session) reload(ctx actor.Context) {
	if err := s.load(); err != nil {
		panic(fmt.Errorf("reload session %s: %w", s.key, err))
	}
	for _, t := range s.files {
		t.dirty = true
	}
	s.step(ctx)
}

// docUnread tells the provider that a virtual document's announced
// version was not committed (unreadable, gone), so the provider announces
// it again on the container's next change instead of skipping it.
func (s *Session) docUnread(ctx actor.Context, t *tail) {
	if t.ck.Mode != session.ModeVirtual || t.version == "" || t.version == t.ck.Version {
		return
	}
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &docUnread{path: t.ck.Path})
	}
}

// docUnread: see Session.docUnread.
type docUnread struct{ path string }

// retryLater sends the actor a sessionRetry after d (once at a time).
func (s *Session) retryLater(ctx actor.Context, d time.Duration) {
	if s.retrying {
		return
	}
	s.retrying = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(d, func() { root.Send(self, &sessionRetry{}) })
}

func (s *Session) onFailed(m *messages.FailSessionResult) {
	if m.Result.Err != nil {
		s.log.Error("mark session failed", "err", m.Result.Err)
		return
	}
	if len(s.inflight) == 0 {
		s.version = m.Result.Record.Version // our own change: no conflict next time
	}
}

func (s *Session) fail(ctx actor.Context, reason string) {
	s.pendingFail = ""
	s.failed = reason
	s.log.Warn("session failed", "reason", reason)
	ctx.Request(s.cfg.StorePID, &messages.FailSession{Fail: persistence.Fail{Key: s.key, Reason: reason}})
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionFailed{Key: s.key, Reason: reason})
	}
}

func (s *Session) caughtUp(ctx actor.Context) {
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionCaughtUp{Key: s.key, Seq: s.seq})
	}
}

func (s *Session) onIdle(ctx actor.Context) {
	if len(s.inflight) > 0 {
		return
	}
	for _, t := range s.files {
		if t.dirty {
			return
		}
	}
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &sessionIdle{key: s.key})
	}
}
