package actors

import (
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
	// MaxLineBytes bounds one record of an append-only file (default 64
	// MiB): a longer line is skipped and counted as malformed.
	MaxLineBytes int64
	// Open opens session files for reading (os.Open if nil); tests inject
	// faults here.
	Open func(name string) (*os.File, error)
	// parent is the spawning provider's ctx (Background if nil): a
	// session's database read ends when its provider stops.
	parent context.Context
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
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = watch.DefaultMaxLineBytes
	}
	if c.Open == nil {
		c.Open = os.Open
	}
	if c.parent == nil {
		c.parent = context.Background()
	}
}

// SessionActor owns one session: its files' committed checkpoints, their parsers
// and the version it last committed. It reads new bytes from the committed
// offsets in bounded chunks, parses complete records and sends one
// CommitSession; it advances only when the store answers. Changes that
// arrive while a commit is in flight coalesce into the next step.
type SessionActor struct {
	cfg      SessionConfig
	key      session.Key
	log      *slog.Logger
	version  uint64
	files    map[string]*tail
	inflight []*tail
	retries  int
	failed   string // reason the session was last marked failed ("" if not)
	// pendingFail is a read error to record once no commit is in flight;
	// refail: it is the failure already reported, recorded again.
	pendingFail string
	refail      bool
	// tempRetries counts consecutive temporary read errors.
	tempRetries int
	seq         uint64 // highest FileChanged.Seq received
	// retry sends the next SessionRetry (nil: none scheduled); stopped
	// when the actor stops.
	retry *time.Timer
	// backoff is the delay before the next read of a file that failed
	// (0: none failed at the last read).
	backoff time.Duration
	// ctx bounds the database reads (readVirtual), which run inside
	// Receive: it ends with the provider's ctx (cancelled from the
	// provider's own Receive when it stops or restarts, the only way a
	// read in hand is cut short) and when this actor stops or restarts.
	ctx    context.Context
	cancel context.CancelFunc
}

// maxTempRetries bounds the retries of a temporarily unreadable file
// (about half a minute) before the session is marked failed.
const maxTempRetries = 30

// A file whose read failed (EACCES, EMFILE, EIO, …) is read again after
// firstBackoff, then twice as long each time up to maxBackoff, for as
// long as the session actor lives, so a fixed file is seen within seconds
// without waiting for its next change.
const (
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
)

// tail is one file of the session.
type tail struct {
	ck     session.Checkpoint // committed
	known  bool               // ck is stored
	parser providers.Parser
	reader *watch.Tail // the append-only reader (scan state across appends)
	dirty  bool        // may have unread bytes
	gone   bool        // missing on the last read
	next   *persistence.FileUpdate
	bytes  int64 // bytes consumed by next
	// version is the latest Version announced for a virtual document.
	version string
	// renamedFrom is the committed path of a file that moved here.
	renamedFrom string
	// readFailed: the last read of the file failed (it is retried with
	// backoff); the session is not recovered while any file is so.
	readFailed bool
}

// NewSessionActor returns the producer of the actor for session key.
func NewSessionActor(cfg SessionConfig, key session.Key) actor.Producer {
	cfg.defaults()
	return func() actor.Actor {
		return &SessionActor{cfg: cfg, key: key, log: cfg.Logger.With("actor", "session", "session", key.String())}
	}
}

// Receive routes messages.
func (s *SessionActor) Receive(ctx actor.Context) {
	defer func() {
		// Let the provider know why before supervision restarts us.
		if r := recover(); r != nil {
			if p := ctx.Parent(); p != nil {
				ctx.Send(p, &messages.SessionPanicked{Key: s.key, Reason: fmt.Sprint(r)})
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
	case *messages.SessionRetry:
		s.retry = nil
		s.step(ctx)
	case *actor.ReceiveTimeout:
		s.onIdle(ctx)
	case *actor.Stopping, *actor.Restarting:
		s.stopRetry()
		if s.cancel != nil {
			s.cancel()
		}
	case *actor.Stopped:
	default:
		unhandled(s.log, m)
	}
}

func (s *SessionActor) onStarted(ctx actor.Context) {
	s.ctx, s.cancel = context.WithCancel(s.cfg.parent)
	if err := s.load(); err != nil {
		// A store we cannot read is not this session's fault: escalate
		// through supervision rather than limp on with stale state.
		panic(fmt.Errorf("load session %s: %w", s.key, err))
	}
	ctx.SetReceiveTimeout(s.cfg.PassivateAfter)
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionStarted{Key: s.key})
	}
}

// load reads the committed state; files stay as they are known otherwise.
func (s *SessionActor) load() error {
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

func (s *SessionActor) newTail(ck session.Checkpoint, known bool) (*tail, error) {
	p := s.cfg.Provider.NewParser(ck.Role)
	if known {
		if err := p.Restore(ck.Parser); err != nil {
			return nil, fmt.Errorf("restore parser state of %s: %w", ck.Path, err)
		}
	}
	return &tail{ck: ck, known: known, parser: p, reader: watch.NewTail(watch.TailConfig{
		ChunkBytes: s.cfg.ChunkBytes, MaxLineBytes: s.cfg.MaxLineBytes, Open: s.cfg.Open,
	})}, nil
}

func (s *SessionActor) onFileChanged(ctx actor.Context, m *messages.FileChanged) {
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
func (s *SessionActor) movedHere(path string, mode session.FileMode, dev, ino uint64) *tail {
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
func (s *SessionActor) step(ctx actor.Context) {
	if len(s.inflight) > 0 {
		return
	}
	budget := s.cfg.ChunkBytes
	var updates []persistence.FileUpdate
	var readErr error
	busyWait := false // a busy file is read again shortly: stay busy
	var unchanged *tail
	for _, t := range s.files {
		if !t.dirty || budget <= 0 {
			continue
		}
		fu, n, more, err := s.read(t, budget)
		if err != nil && s.ctx.Err() != nil {
			// The read was cut short because the actor stops: nothing to
			// record, the next start reads from the committed state.
			s.rollback(s.inflight)
			s.inflight = nil
			return
		}
		if errors.Is(err, providers.ErrTemporary) && s.tempRetries < maxTempRetries {
			// busy: read it again shortly; the session stays busy meanwhile
			s.tempRetries++
			s.retryLater(ctx, time.Second)
			busyWait = true
			continue // still dirty
		}
		t.readFailed = err != nil
		if err != nil {
			// still dirty: read again after the backoff
			readErr = fmt.Errorf("read %s: %w; sessiond reads it again with backoff (up to every %s) until it can", t.ck.Path, err, maxBackoff)
			s.tempRetries = 0
			s.docUnread(ctx, t)
			continue
		}
		if fu == nil {
			s.docUnread(ctx, t)
			if t.known && t.renamedFrom == "" {
				unchanged = t
			}
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
	switch {
	case readErr != nil:
		if s.failed != readErr.Error() {
			// Marked failed after the commit in hand (if any), so the two
			// don't race for the session's version.
			s.pendingFail = readErr.Error()
		}
		s.backoff = min(max(2*s.backoff, firstBackoff), maxBackoff)
		s.retryLater(ctx, s.backoff)
	case !busyWait:
		s.backoff = 0
		if len(updates) == 0 && s.failed != "" && s.pendingFail == "" && unchanged != nil {
			// Readable again with nothing new: a commit of no change
			// clears the failed status.
			updates = append(updates, persistence.FileUpdate{Checkpoint: unchanged.ck, FromOffset: unchanged.ck.Offset})
			unchanged.next, unchanged.bytes = &updates[0], 0
			s.inflight = append(s.inflight, unchanged)
		}
	}
	if len(updates) == 0 {
		if s.pendingFail != "" {
			s.fail(ctx, s.pendingFail)
		}
		if !busyWait {
			// A failed read waits for its backoff without holding one of
			// the provider's busy slots.
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
func (s *SessionActor) read(t *tail, budget int) (fu *persistence.FileUpdate, n int64, more bool, err error) {
	switch t.ck.Mode {
	case session.ModeWhole:
		fu, n, err = s.readWhole(t)
		return fu, n, false, err
	case session.ModeVirtual:
		fu, n, err = s.readVirtual(t)
		return fu, n, false, err
	}
	r, err := t.reader.Open(t.ck.Path, watch.Mark{
		Known: t.known, Dev: t.ck.Identity.Dev, Ino: t.ck.Identity.Ino,
		HeadHash: t.ck.Identity.HeadHash, HeadLen: t.ck.Identity.HeadLen, Offset: t.ck.Offset,
	})
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
	defer r.Close()
	t.gone = false
	parser := t.parser
	if r.Reset {
		parser = s.cfg.Provider.NewParser(t.ck.Role)
		s.log.Info("file rewritten; re-reading it", "path", t.ck.Path)
	}
	if !r.Reset && r.Stat.Size == r.From {
		return nil, 0, false, nil
	}
	if r.Reset {
		// A rewritten file replaces its contribution in one commit, read
		// to its end, so totals never dip while it is re-read.
		budget = 0
	}
	var d session.Delta
	end, more, err := r.Lines(budget, func(line []byte) { parser.Line(line, &d) }, func(off, n int64) {
		d.Malformed++
		s.log.Warn("line longer than run.max_line_bytes skipped and counted as malformed",
			"path", t.ck.Path, "offset", off, "bytes", n, "max_line_bytes", s.cfg.MaxLineBytes)
	})
	if err != nil {
		if !r.Reset {
			s.restoreParser(t) // it saw lines that are not committed
		}
		return nil, 0, false, err
	}
	if end == r.From && !r.Reset {
		return nil, 0, false, nil // only a partial record so far
	}
	hh, hl, err := r.Head(session.HeadSize)
	if err != nil {
		if !r.Reset {
			s.restoreParser(t)
		}
		return nil, 0, false, err
	}
	if r.Reset {
		t.parser = parser
	}
	st := r.Stat
	return &persistence.FileUpdate{
		Checkpoint: session.Checkpoint{
			Path: t.ck.Path, Role: t.ck.Role, Mode: t.ck.Mode,
			Identity: session.FileIdentity{Dev: st.Dev, Ino: st.Ino, HeadHash: hh, HeadLen: hl},
			Size:     st.Size, Offset: end, ModTime: st.ModTime.UTC(), Parser: parser.State(),
		},
		FromOffset:  r.From,
		Reset:       r.Reset,
		RenamedFrom: t.renamedFrom,
		Delta:       d,
	}, end - r.From, more, nil
}

// restoreParser sets t's parser back to its committed state.
func (s *SessionActor) restoreParser(t *tail) {
	p, err := s.newTail(t.ck, t.known)
	if err != nil {
		// Going on with a parser that saw uncommitted lines would count
		// them twice; as at load, supervision restarts the session.
		panic(fmt.Errorf("session %s: %w", s.key, err))
	}
	t.parser = p.parser
}

// maxDocument bounds a whole document read into memory.
const maxDocument = 512 << 20

// readWhole re-reads a document rewritten as a whole and replaces the
// file's contribution. A document that does not parse yet (half written)
// commits nothing: the next change retries.
func (s *SessionActor) readWhole(t *tail) (*persistence.FileUpdate, int64, error) {
	f, err := s.cfg.Open(t.ck.Path)
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
func (s *SessionActor) readVirtual(t *tail) (*persistence.FileUpdate, int64, error) {
	if t.known && t.version != "" && t.version == t.ck.Version {
		return nil, 0, nil
	}
	ex, ok := s.cfg.Provider.(providers.Expander)
	if !ok {
		return nil, 0, fmt.Errorf("provider %s has virtual documents but no Expander", s.cfg.Provider.ID())
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
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
func (s *SessionActor) document(t *tail, data []byte) (*persistence.FileUpdate, error) {
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

func (s *SessionActor) onCommitted(ctx actor.Context, m *messages.CommitSessionResult) {
	inflight := s.inflight
	s.inflight = nil
	r := m.Result
	switch {
	case r.Err == nil:
		s.retries, s.tempRetries = 0, 0
		switch {
		case s.failed == "":
		case s.readFailing():
			// Another file committed, which cleared the stored failure,
			// but one is still unreadable: record it again, quietly
			// (no new warning, no recovery announced).
			s.pendingFail, s.refail = s.failed, true
		default:
			s.failed = ""
			s.log.Info("session recovered")
			if p := ctx.Parent(); p != nil {
				ctx.Send(p, &messages.SessionRecovered{Key: s.key})
			}
		}
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
func (s *SessionActor) rollback(inflight []*tail) {
	for _, t := range inflight {
		t.next = nil
		t.dirty = true
		s.restoreParser(t)
	}
}

func (s *SessionActor) reload(ctx actor.Context) {
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
func (s *SessionActor) docUnread(ctx actor.Context, t *tail) {
	if t.ck.Mode != session.ModeVirtual || t.version == "" || t.version == t.ck.Version {
		return
	}
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.DocUnread{Path: t.ck.Path})
	}
}

// retryLater sends the actor a SessionRetry after d (once at a time).
// The timer is the actor's: stopped when it stops or restarts.
func (s *SessionActor) retryLater(ctx actor.Context, d time.Duration) {
	if s.retry != nil {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.retry = time.AfterFunc(d, func() { root.Send(self, &messages.SessionRetry{}) })
}

func (s *SessionActor) stopRetry() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry = nil
	}
}

func (s *SessionActor) onFailed(m *messages.FailSessionResult) {
	if m.Result.Err != nil {
		s.log.Error("mark session failed", "err", m.Result.Err)
		return
	}
	if len(s.inflight) == 0 {
		s.version = m.Result.Record.Version // our own change: no conflict next time
	}
}

func (s *SessionActor) fail(ctx actor.Context, reason string) {
	again := s.refail && reason == s.failed
	s.pendingFail, s.refail = "", false
	s.failed = reason
	ctx.Request(s.cfg.StorePID, &messages.FailSession{Fail: persistence.Fail{Key: s.key, Reason: reason}})
	if again {
		return // the same failure, recorded again after another file's commit
	}
	s.log.Warn("session failed", "reason", reason)
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionFailed{Key: s.key, Reason: reason})
	}
}

// readFailing reports whether a file's last read failed.
func (s *SessionActor) readFailing() bool {
	for _, t := range s.files {
		if t.readFailed {
			return true
		}
	}
	return false
}

func (s *SessionActor) caughtUp(ctx actor.Context) {
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionCaughtUp{Key: s.key, Seq: s.seq})
	}
}

func (s *SessionActor) onIdle(ctx actor.Context) {
	if len(s.inflight) > 0 {
		return
	}
	for _, t := range s.files {
		if t.dirty {
			return
		}
	}
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &messages.SessionIdle{Key: s.key})
	}
}
