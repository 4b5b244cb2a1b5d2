package actors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/watch"
)

// ProviderConfig configures a provider actor.
type ProviderConfig struct {
	Provider providers.Provider
	Roots    []string // the directories to watch (from Provider.Roots unless overridden)
	Session  SessionConfig
	// SessionStrategy supervises the session actors (from supervision/).
	SessionStrategy actor.SupervisorStrategy
	Reconcile       time.Duration
	PollInterval    time.Duration
	ForcePolling    bool
	// MaxBusy bounds the sessions reading at once (default 8).
	MaxBusy int
	// MaxLive bounds the session actors kept alive once caught up
	// (default 256): beyond it a session actor is stopped as soon as it
	// has caught up, not after Session.PassivateAfter, so a first scan of
	// a long history holds a bounded number of actors, not one per
	// session. It is respawned from the store on its next change.
	MaxLive int
	Logger  *slog.Logger
}

// ProviderActor owns one agent's watch goroutine and routes file changes to
// session actors, spawning them on demand and stopping them when they idle.
type ProviderActor struct {
	cfg   ProviderConfig
	id    session.Provider
	log   *slog.Logger
	m     *metrics.Metrics
	files map[string]*fileEntry
	sess  map[session.ID]*sessEntry
	unres map[string]watch.FileStat // files whose session is not known yet
	// expanding holds the containers being listed; true: list again after
	expanding   map[string]bool
	expandQueue []string // containers waiting for an expansion slot
	// expandRetries counts consecutive busy listings per container
	expandRetries map[string]int
	// expandTimers send the ExpandAgain of a busy container (one per
	// container at a time); stopped when the actor stops or restarts.
	expandTimers map[string]*time.Timer
	// ctx is cancelled when the actor stops or restarts: the watch,
	// expand and resolve goroutines and the session actors' database
	// reads derive from it.
	ctx    context.Context
	w      *watch.Watcher
	cancel context.CancelFunc
	// wg counts the goroutines above; the actor waits for them (bounded
	// by stopWait) before it stops or restarts.
	wg sync.WaitGroup

	busy  int          // sessions told of a change and not caught up yet
	queue []session.ID // sessions waiting for a busy slot, in order
	live  int          // session actors spawned and not yet stopped

	overflows int64 // watcher overflows already counted in metrics
	stopping  bool  // children stop because we do: not failures

	initial  bool         // the first full listing was routed
	resolves int          // resolve goroutines running
	waiters  []*actor.PID // AwaitIdle requests
	lastErr  string
}

type fileEntry struct {
	key     session.Key
	role    session.FileRole
	mode    session.FileMode
	version string // ModeVirtual: the latest announced version
	// ck is what was committed for the file as loaded at start, only as
	// much as tells an unchanged file (nil: changed since, or new). The
	// whole checkpoint (parser state, contribution) is not kept: a
	// provider holds one entry per file it has ever seen.
	ck   *committedFile
	stat watch.FileStat
}

// committedFile is the part of a stored checkpoint route compares a
// file's stat with.
type committedFile struct {
	size, offset int64
	ino          uint64
	modTime      int64 // Unix nanoseconds
	version      string
}

// sessEntry is a session the provider has routed a change to. Its path
// lists are short (a transcript and its subagents' files): slices, not
// maps, since a provider keeps one entry per session it has seen.
type sessEntry struct {
	pid         *actor.PID
	paths       []string // every file of the session
	busy        bool     // told of a change, not caught up yet
	queued      bool     // waiting in ProviderActor.queue
	changed     []string // changed paths not yet sent
	sent        uint64   // Seq of the last FileChanged sent
	passivating bool     // poisoned after idling
	again       bool     // changed while passivating: respawn
	panicReason string
	failed      string
}

// NewProviderActor returns the producer of a provider actor.
func NewProviderActor(cfg ProviderConfig) actor.Producer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Session.Provider = cfg.Provider
	if cfg.Session.Logger == nil {
		cfg.Session.Logger = cfg.Logger
	}
	cfg.Session.defaults()
	if cfg.MaxBusy <= 0 {
		cfg.MaxBusy = 8
	}
	if cfg.MaxLive <= 0 {
		cfg.MaxLive = 256
	}
	return func() actor.Actor {
		id := cfg.Provider.ID()
		return &ProviderActor{
			cfg: cfg, id: id, m: cfg.Session.Metrics,
			log: cfg.Logger.With("actor", "provider", "provider", string(id)),
		}
	}
}

// Receive routes messages.
func (p *ProviderActor) Receive(ctx actor.Context) {
	if p.stopping && p.whileStopping(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.onStarted(ctx)
	case *messages.FilesChanged:
		p.onFilesChanged(ctx, m)
	case *messages.FileResolved:
		p.onResolved(ctx, m)
	case *messages.Expanded:
		p.onExpanded(ctx, m)
	case *messages.ExpandAgain:
		p.onExpandAgain(ctx, m)
	case *messages.SessionCaughtUp:
		p.onCaughtUp(ctx, m)
	case *messages.DocUnread:
		if fe := p.files[m.Path]; fe != nil {
			fe.version = "" // announce it again on the next listing
		}
	case *messages.SessionFailed:
		// a read or commit error: the session is retried on its next change
		p.lastErr = m.Key.String() + ": " + m.Reason
	case *messages.SessionRecovered:
		if strings.HasPrefix(p.lastErr, m.Key.String()+": ") {
			p.lastErr = "" // that failure is over
		}
	case *messages.FailSessionResult:
		if m.Result.Err != nil {
			p.log.Error("mark session failed", "err", m.Result.Err)
		}
	case *messages.SessionStarted:
		p.onSessionStarted(ctx, m.Key)
	case *messages.SessionIdle:
		p.onSessionIdle(ctx, m.Key)
	case *messages.SessionPanicked:
		if e := p.sess[m.Key.ID]; e != nil {
			e.panicReason = m.Reason
		}
	case *actor.Terminated:
		p.onTerminated(ctx, m)
	case *messages.SessionStopped:
		p.onSessionStopped(ctx, m.Key)
	case *messages.AwaitIdle:
		p.waiters = append(p.waiters, ctx.Sender())
		p.checkIdle(ctx)
	case *messages.ProviderStatusRequest:
		ctx.Respond(p.status())
	case *messages.WatchStopped:
		if m.Err != nil {
			p.lastErr = m.Err.Error()
			p.log.Error("watcher stopped", "err", m.Err)
		}
	case *actor.Stopping:
		p.onStopping(ctx) // its goroutines end while the sessions stop
	case *actor.Restarting:
		// A fresh instance takes over: tell the waiters to ask it again
		// (their answer would never come), then release the watcher.
		for _, w := range p.waiters {
			ctx.Send(w, &messages.AwaitIdleResult{Provider: p.id, Err: ErrRestarted})
		}
		p.waiters = nil
		p.onStopping(ctx)
		p.awaitGoroutines() // before the fresh instance starts its own
	case *actor.Stopped:
		p.awaitGoroutines()
	default:
		unhandled(p.log, m)
	}
}

func (p *ProviderActor) onStarted(ctx actor.Context) {
	p.files = map[string]*fileEntry{}
	p.sess = map[session.ID]*sessEntry{}
	p.unres = map[string]watch.FileStat{}
	p.expanding = map[string]bool{}
	p.expandRetries = map[string]int{}
	p.expandTimers = map[string]*time.Timer{}
	err := p.cfg.Session.Store.FileMarks(p.id, func(m persistence.FileMark) {
		p.files[m.Path] = &fileEntry{key: m.Key, role: m.Role, mode: m.Mode, version: m.Version,
			ck:   &committedFile{size: m.Size, offset: m.Offset, ino: m.Ino, modTime: m.ModTime.UnixNano(), version: m.Version},
			stat: watch.FileStat{Path: m.Path}}
	})
	if err != nil {
		panic(err) // cannot route without knowing what was read: let supervision retry
	}
	c, cancel := context.WithCancel(context.Background())
	p.ctx, p.cancel = c, cancel
	prov := p.cfg.Provider
	w, err := watch.New(watch.Config{
		Roots:        p.cfg.Roots,
		Descend:      prov.Descend,
		Match:        func(root, path string) bool { _, ok := prov.Match(root, path); return ok },
		Reconcile:    p.cfg.Reconcile,
		PollInterval: p.cfg.PollInterval,
		ForcePolling: p.cfg.ForcePolling,
		Logger:       p.log,
	})
	if err != nil {
		p.lastErr = err.Error()
		p.log.Error("cannot watch", "roots", p.cfg.Roots, "err", err)
		p.initial = true
		return
	}
	p.w = w
	self, root := ctx.Self(), ctx.ActorSystem().Root
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := w.Run(c, func(b watch.Batch) {
			// a batch's slice is fresh (watch's takeBatch): the message owns it
			root.Send(self, &messages.FilesChanged{Files: b.Files, Full: b.Full})
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			root.Send(self, &messages.WatchStopped{Err: err})
		}
	}()
}

// whileStopping handles a message that arrives after Stopping (protoactor
// still delivers the mailbox's user messages then) and reports whether it
// did. Nothing may be spawned any more: a child spawned now is never told
// to stop, and the provider would never terminate.
func (p *ProviderActor) whileStopping(ctx actor.Context) bool {
	switch ctx.Message().(type) {
	case *actor.Stopping, *actor.Stopped, *actor.Restarting, *actor.Terminated:
		return false
	case *messages.AwaitIdle:
		ctx.Respond(&messages.AwaitIdleResult{Provider: p.id, Err: ErrStopped})
	case *messages.ProviderStatusRequest:
		ctx.Respond(p.status())
	}
	// Routing, results and timers are dropped: the next start resumes
	// from what the store holds.
	return true
}

func (p *ProviderActor) onStopping(ctx actor.Context) {
	p.stopping = true
	for _, w := range p.waiters {
		ctx.Send(w, &messages.AwaitIdleResult{Provider: p.id, Err: ErrStopped})
	}
	p.waiters = nil
	for key, t := range p.expandTimers {
		t.Stop()
		delete(p.expandTimers, key)
	}
	if p.cancel != nil {
		p.cancel()
	}
}

// stopWait bounds how long a stopping provider waits for its goroutines
// once their ctx is cancelled; on a timeout (a read stuck in the kernel) the
// waiter goroutine outlives the actor until that read returns.
const stopWait = 10 * time.Second

// awaitGoroutines waits for the goroutines the provider started, at most
// stopWait; onStopping has cancelled their ctx.
func (p *ProviderActor) awaitGoroutines() {
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		// Not seen in practice: a read blocked in the kernel (a hung
		// network file system). It ends when that read returns.
		p.log.Error("provider goroutines still running after it stopped; they end when their read returns", "waited", stopWait)
	}
}

func (p *ProviderActor) rootOf(path string) string {
	best := ""
	for _, r := range p.cfg.Roots {
		if (path == r || strings.HasPrefix(path, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator))) && len(r) > len(best) {
			best = r
		}
	}
	return best
}

func (p *ProviderActor) onFilesChanged(ctx actor.Context, m *messages.FilesChanged) {
	p.updateWatchMetrics()
	for _, st := range m.Files {
		p.route(ctx, st)
	}
	if m.Full {
		p.initial = true
	}
	p.checkIdle(ctx)
}

func (p *ProviderActor) route(ctx actor.Context, st watch.FileStat) {
	fe := p.files[st.Path]
	if st.Removed {
		delete(p.unres, st.Path)
		if fe != nil && p.sess[fe.key.ID] != nil {
			fe.stat = st // the session hears that it is gone
			p.tell(ctx, fe, st)
		}
		return
	}
	if fe != nil {
		if ck := fe.ck; ck != nil && ck.size == st.Size && ck.offset == ck.size && ck.ino == st.Ino && ck.modTime == st.ModTime.UnixNano() {
			fe.stat = st
			return // unchanged since it was committed: nothing to read
		}
		fe.ck = nil
		fe.stat = st
		p.tell(ctx, fe, st)
		return
	}
	match, ok := p.cfg.Provider.Match(p.rootOf(st.Path), st.Path)
	if !ok {
		return
	}
	if match.Container {
		p.expand(ctx, st.Path)
		return
	}
	if match.ID == "" {
		p.resolve(ctx, st)
		return
	}
	fe = &fileEntry{key: session.Key{Provider: p.id, ID: match.ID}, role: match.Role, mode: match.Mode, stat: st}
	p.files[st.Path] = fe
	p.tell(ctx, fe, st)
}

// containerKey names a database by its main file: a change of its -wal
// or -shm file is a change of the database.
func containerKey(path string) string {
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		if strings.HasSuffix(path, suf) {
			return strings.TrimSuffix(path, suf)
		}
	}
	return path
}

// expand lists a container's sessions in a goroutine; changes that arrive
// meanwhile coalesce into one more expansion.
func (p *ProviderActor) expand(ctx actor.Context, path string) {
	key := containerKey(path)
	if _, running := p.expanding[key]; running {
		p.expanding[key] = true // again when done
		return
	}
	if len(p.expanding) >= maxExpansions {
		// bounded: a legacy tree of thousands of small containers must not
		// start thousands of goroutines at once
		if !slices.Contains(p.expandQueue, key) {
			p.expandQueue = append(p.expandQueue, key)
		}
		return
	}
	ex, ok := p.cfg.Provider.(providers.Expander)
	if !ok {
		p.lastErr = "provider matched a container but cannot expand it"
		return
	}
	p.expanding[key] = false
	self, root := ctx.Self(), ctx.ActorSystem().Root
	c := p.ctx
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		docs, err := ex.Expand(c, key)
		root.Send(self, &messages.Expanded{Container: key, Docs: docs, Err: err})
	}()
}

func (p *ProviderActor) onExpanded(ctx actor.Context, m *messages.Expanded) {
	again := p.expanding[m.Container]
	if errors.Is(m.Err, providers.ErrTemporary) && p.expandRetries[m.Container] < maxTempExpands {
		// busy: list it again shortly; it stays counted as expanding
		p.expandRetries[m.Container]++
		self, root, key := ctx.Self(), ctx.ActorSystem().Root, m.Container
		p.expandTimers[key] = time.AfterFunc(time.Second, func() { root.Send(self, &messages.ExpandAgain{Container: key}) })
		return
	}
	delete(p.expandRetries, m.Container)
	delete(p.expanding, m.Container)
	if m.Err != nil {
		if !errors.Is(m.Err, context.Canceled) {
			p.lastErr = m.Container + ": " + m.Err.Error()
			p.log.Warn("cannot list the sessions of a database; retried on its next change", "path", m.Container, "err", m.Err)
		}
	}
	for _, d := range m.Docs {
		fe := p.files[d.Path]
		if fe != nil && fe.version == d.Version && (fe.ck == nil || fe.ck.version == d.Version) {
			continue // unchanged
		}
		if fe == nil {
			fe = &fileEntry{key: session.Key{Provider: p.id, ID: d.ID}, role: d.Role, mode: session.ModeVirtual, stat: watch.FileStat{Path: d.Path}}
			p.files[d.Path] = fe
		}
		fe.version, fe.ck = d.Version, nil
		p.tell(ctx, fe, fe.stat)
	}
	if again {
		p.expand(ctx, m.Container)
	}
	for len(p.expandQueue) > 0 && len(p.expanding) < maxExpansions {
		next := p.expandQueue[0]
		p.expandQueue = p.expandQueue[1:]
		p.expand(ctx, next)
	}
	p.checkIdle(ctx)
}

// maxExpansions bounds the containers listed at once per provider.
const maxExpansions = 4

// maxTempExpands bounds the retries of a container that is busy (about
// half a minute) before the listing is given up until its next change.
const maxTempExpands = 30

// onExpandAgain lists a container whose last listing found it busy.
func (p *ProviderActor) onExpandAgain(ctx actor.Context, m *messages.ExpandAgain) {
	if p.stopping {
		return
	}
	delete(p.expandTimers, m.Container)
	delete(p.expanding, m.Container)
	p.expand(ctx, m.Container)
}

// resolve reads a file's head in a goroutine to learn its session.
func (p *ProviderActor) resolve(ctx actor.Context, st watch.FileStat) {
	if _, pending := p.unres[st.Path]; pending {
		p.unres[st.Path] = st
		return
	}
	p.unres[st.Path] = st
	p.resolves++
	self, root := ctx.Self(), ctx.ActorSystem().Root
	prov, c := p.cfg.Provider, p.ctx
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		id, err := resolveHead(c, prov, st.Path)
		root.Send(self, &messages.FileResolved{Stat: st, ID: id, Err: err})
	}()
}

// resolveHead reads path's head until prov can tell its session; it stops
// between reads once ctx is cancelled.
func resolveHead(ctx context.Context, prov providers.Provider, path string) (session.ID, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// The first record usually names the session; a long first line needs more.
	for size := 64 << 10; ; size *= 4 {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		head := make([]byte, size)
		n, err := f.ReadAt(head, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		id, err := prov.Resolve(path, head[:n])
		if !errors.Is(err, providers.ErrUnresolved) || n < size || size >= 16<<20 {
			return id, err
		}
	}
}

func (p *ProviderActor) onResolved(ctx actor.Context, m *messages.FileResolved) {
	if p.resolves > 0 { // a reply from before a restart is not counted
		p.resolves--
	}
	latest, pending := p.unres[m.Stat.Path]
	delete(p.unres, m.Stat.Path)
	switch {
	case m.Err == nil && pending:
		match, _ := p.cfg.Provider.Match(p.rootOf(latest.Path), latest.Path)
		fe := &fileEntry{key: session.Key{Provider: p.id, ID: m.ID}, role: match.Role, mode: match.Mode, stat: latest}
		p.files[latest.Path] = fe
		p.tell(ctx, fe, latest)
	case errors.Is(m.Err, providers.ErrUnresolved):
		// no record names the session yet: retried when the file changes
	case m.Err != nil && !errors.Is(m.Err, os.ErrNotExist) && !errors.Is(m.Err, context.Canceled):
		p.log.Warn("cannot tell the session of a file", "path", m.Stat.Path, "err", m.Err)
	}
	if pending && latest.Size != m.Stat.Size && m.Err != nil {
		p.resolve(ctx, latest)
	}
	p.checkIdle(ctx)
}

// tell forwards a change to the file's session actor. At most MaxBusy
// sessions read at once (the rest queue, in order): a cold scan then holds
// a few chunks in memory instead of one per session, and the store's
// mailbox stays short.
func (p *ProviderActor) tell(ctx actor.Context, fe *fileEntry, st watch.FileStat) {
	e := p.sess[fe.key.ID]
	if e == nil {
		e = &sessEntry{}
		p.sess[fe.key.ID] = e
	}
	e.paths = addPath(e.paths, st.Path)
	if e.failed != "" && e.pid == nil {
		return // gave up on it; a restart of the daemon retries
	}
	e.changed = addPath(e.changed, st.Path)
	switch {
	case e.passivating:
		e.again = true
	case e.busy:
		p.sendChanged(ctx, e)
	case p.busy >= p.cfg.MaxBusy:
		if !e.queued {
			e.queued = true
			p.queue = append(p.queue, fe.key.ID)
		}
	default:
		p.dispatch(ctx, fe.key, e)
	}
}

// dispatch makes a session busy and tells it what changed.
func (p *ProviderActor) dispatch(ctx actor.Context, key session.Key, e *sessEntry) {
	p.markBusy(e)
	if e.pid == nil {
		p.spawn(ctx, key, e) // its SessionStarted asks for every file
		return
	}
	p.sendChanged(ctx, e)
}

func (p *ProviderActor) markBusy(e *sessEntry) {
	if !e.busy {
		e.busy = true
		p.busy++
	}
}

func (p *ProviderActor) markIdle(ctx actor.Context, e *sessEntry) {
	if e.busy {
		e.busy = false
		p.busy--
	}
	for len(p.queue) > 0 && p.busy < p.cfg.MaxBusy {
		id := p.queue[0]
		p.queue = p.queue[1:]
		q := p.sess[id]
		if q == nil || !q.queued {
			continue
		}
		q.queued = false
		switch {
		case len(q.changed) == 0:
		case q.passivating:
			q.again = true // respawned with its changes once stopped
		default:
			p.dispatch(ctx, session.Key{Provider: p.id, ID: id}, q)
		}
	}
}

func (p *ProviderActor) sendChanged(ctx actor.Context, e *sessEntry) {
	slices.Sort(e.changed)
	for _, path := range e.changed {
		if fe := p.files[path]; fe != nil {
			e.sent++
			ctx.Send(e.pid, &messages.FileChanged{File: fe.stat, Role: fe.role, Mode: fe.mode, Version: fe.version, Seq: e.sent})
		}
	}
	e.changed = e.changed[:0]
}

func (p *ProviderActor) spawn(ctx actor.Context, key session.Key, e *sessEntry) {
	sc := p.cfg.Session
	sc.parent = p.ctx // its database reads end when the provider stops
	props := actor.PropsFromProducer(NewSessionActor(sc, key))
	pid, err := ctx.SpawnNamed(props, sessionActorName(key.ID))
	if err != nil {
		// ErrNameExists cannot happen: names are removed on Terminated.
		panic(err)
	}
	e.pid = pid
	p.live++
	e.passivating, e.again, e.panicReason = false, false, ""
	e.sent = 0 // the new actor has seen nothing
}

func sessionActorName(id session.ID) string {
	return "session:" + strings.NewReplacer("/", "_", "$", "_").Replace(string(id))
}

// onSessionStarted re-sends every known file to a (re)started session
// actor: after a restart the message in hand was dropped.
func (p *ProviderActor) onSessionStarted(ctx actor.Context, key session.Key) {
	e := p.sess[key.ID]
	if e == nil || e.pid == nil {
		return
	}
	p.markBusy(e)
	for _, path := range e.paths {
		e.changed = addPath(e.changed, path)
	}
	p.sendChanged(ctx, e)
}

func (p *ProviderActor) onCaughtUp(ctx actor.Context, m *messages.SessionCaughtUp) {
	// an answer older than the last change sent does not count: the
	// session has that change still to handle
	if e := p.sess[m.Key.ID]; e != nil && m.Seq >= e.sent {
		p.markIdle(ctx, e)
		if p.live > p.cfg.MaxLive {
			p.onSessionIdle(ctx, m.Key) // over the bound: stop it now
		}
	}
	p.checkIdle(ctx)
}

func (p *ProviderActor) onSessionIdle(ctx actor.Context, key session.Key) {
	e := p.sess[key.ID]
	if e == nil || e.pid == nil || e.busy || e.passivating || e.queued || len(e.changed) > 0 {
		return
	}
	e.passivating = true
	ctx.Poison(e.pid)
}

func (p *ProviderActor) onTerminated(ctx actor.Context, m *actor.Terminated) {
	if p.stopping {
		return
	}
	for id, e := range p.sess {
		if e.pid != nil && e.pid.Equal(m.Who) {
			// Handle it after the messages already queued (a panicking
			// session's SessionPanicked may still be in the mailbox).
			ctx.Send(ctx.Self(), &messages.SessionStopped{Key: session.Key{Provider: p.id, ID: id}})
			return
		}
	}
}

func (p *ProviderActor) onSessionStopped(ctx actor.Context, key session.Key) {
	e := p.sess[key.ID]
	if e == nil || p.stopping {
		return
	}
	if e.pid != nil {
		p.live--
	}
	e.pid = nil
	if e.passivating {
		e.passivating = false
		if e.again || len(e.changed) > 0 {
			e.again = false
			if fe := p.anyFile(e); fe != nil {
				p.tell(ctx, fe, fe.stat)
			}
		}
		return
	}
	p.markIdle(ctx, e)
	// Stopped by supervision after repeated failures.
	reason := "session actor stopped after repeated failures"
	if e.panicReason != "" {
		reason += ": " + e.panicReason
	}
	e.failed = reason
	p.lastErr = key.String() + ": " + reason
	p.log.Error("session failed", "session", key.String(), "reason", reason)
	ctx.Request(p.cfg.Session.StorePID, &messages.FailSession{Fail: persistence.Fail{Key: key, Reason: reason}})
	p.checkIdle(ctx)
}

func (p *ProviderActor) checkIdle(ctx actor.Context) {
	if len(p.waiters) == 0 || !p.initial || p.resolves > 0 || len(p.expanding) > 0 || len(p.expandQueue) > 0 {
		return
	}
	if p.busy > 0 || len(p.queue) > 0 {
		return
	}
	for _, e := range p.sess {
		if e.again {
			return
		}
	}
	keys := map[session.ID]struct{}{}
	for _, fe := range p.files {
		keys[fe.key.ID] = struct{}{}
	}
	ids := make([]session.ID, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	res := &messages.AwaitIdleResult{Provider: p.id, Files: len(p.files), Sessions: len(keys), IDs: ids}
	for _, w := range p.waiters {
		ctx.Send(w, res)
	}
	p.waiters = nil
}

func (p *ProviderActor) updateWatchMetrics() {
	if p.m == nil || p.w == nil {
		return
	}
	st := p.w.Status()
	p.m.SetWatchMode(string(p.id), st.Mode)
	p.m.WatchedDirectories.WithLabelValues(string(p.id)).Set(float64(st.Dirs))
	if st.Overflows > p.overflows {
		p.m.WatchOverflowsTotal.WithLabelValues(string(p.id)).Add(float64(st.Overflows - p.overflows))
		p.overflows = st.Overflows
	}
}

func (p *ProviderActor) status() *messages.ProviderStatus {
	s := &messages.ProviderStatus{Provider: p.id, Roots: p.cfg.Roots, Files: len(p.files), Sessions: len(p.sess), LastError: p.lastErr}
	if p.w != nil {
		ws := p.w.Status()
		s.WatchMode, s.Dirs = ws.Mode, ws.Dirs
		if ws.LastError != "" && s.LastError == "" {
			s.LastError = ws.LastError
		}
	}
	for id, e := range p.sess {
		if e.pid != nil {
			s.Active++
		}
		if e.failed != "" {
			s.Failed = append(s.Failed, string(id))
		}
	}
	slices.Sort(s.Failed)
	return s
}

// addPath adds path to a short set kept as a slice.
func addPath(paths []string, path string) []string {
	if slices.Contains(paths, path) {
		return paths
	}
	return append(paths, path)
}

// anyFile returns one of the session's files (it has at least one).
func (p *ProviderActor) anyFile(e *sessEntry) *fileEntry {
	for _, path := range e.paths {
		if fe := p.files[path]; fe != nil {
			return fe
		}
	}
	return nil
}
