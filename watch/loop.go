package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// loop is the state of one Run. It is owned by Run's goroutine: nothing
// here is touched from anywhere else (Status is published by copy).
type loop struct {
	ctx context.Context
	w   *Watcher
	cfg *Config
	log *slog.Logger

	mode   string
	fsw    *fsnotify.Watcher   // nil in polling mode
	events chan fsnotify.Event // fsw.Events, or nil
	errs   chan error          // fsw.Errors, or nil
	ticker *time.Ticker

	roots   map[string]bool     // the configured roots, for quick lookup
	known   map[string]FileStat // last state reported (or queued) per matching file
	dirs    map[string]struct{} // inotify: directories watched below roots; polling: walked
	parents map[string]struct{} // directories outside roots watched for missing roots to appear
	missing map[string]struct{} // roots that do not exist (or are not directories)
	warned  map[string]struct{} // directories already logged as unreadable
	// attrs holds the access attributes (permissions, owner) last seen of
	// the files that had an attribute event: a Chmod event that changes
	// none of them (a timestamp set, a link count, another reader's
	// doing) is no change to report.
	attrs map[string]uint64
	// unlisted holds the directories whose listing failed (not for being
	// gone), each with its root. They are listed again with backoff
	// (retry), and on any event about them.
	unlisted   map[string]string
	retry      *time.Timer // nil until a listing first fails
	retryC     <-chan time.Time
	retryDelay time.Duration
	errDir     string // the directory lastErr is about, if any

	pending     map[string]FileStat // changes not yet handed to emit
	pendingFull bool                // the pending batch is a complete listing
	busy        bool                // emit is running

	overflows, rescans, reconciles int64
	lastErr                        string
}

func newLoop(ctx context.Context, w *Watcher) *loop {
	l := &loop{
		ctx:     ctx,
		w:       w,
		cfg:     &w.cfg,
		log:     w.cfg.Logger,
		mode:    ModeInotify,
		roots:   make(map[string]bool, len(w.cfg.Roots)),
		known:   make(map[string]FileStat),
		attrs:   make(map[string]uint64),
		dirs:    make(map[string]struct{}),
		parents: make(map[string]struct{}),
		missing: make(map[string]struct{}),
		warned:  make(map[string]struct{}),
		pending: make(map[string]FileStat),

		unlisted:   make(map[string]string),
		retryDelay: firstRetry,
	}
	if w.testRetryDelay > 0 {
		l.retryDelay = w.testRetryDelay
	}
	for _, r := range w.cfg.Roots {
		l.roots[r] = true
	}
	return l
}

func (l *loop) run(emit func(Batch)) error {
	// The emitter goroutine calls emit one batch at a time; emitDone tells
	// the loop it may hand over the next one. Both channels hold at most
	// one value because at most one batch is in flight.
	emitCh := make(chan Batch, 1)
	emitDone := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range emitCh {
			emit(b)
			emitDone <- struct{}{}
		}
	}()
	defer func() {
		l.closeInotify()
		if l.ticker != nil {
			l.ticker.Stop()
		}
		if l.retry != nil {
			l.retry.Stop()
		}
		close(emitCh)
		wg.Wait()
	}()

	if l.cfg.ForcePolling {
		l.mode = ModePolling
	} else {
		l.startInotify()
	}
	listing, ok := l.scan(false)
	if !ok {
		return nil // cancelled during the initial walk
	}
	l.queueFull(listing)

	interval := l.cfg.Reconcile
	if l.mode == ModePolling {
		interval = l.cfg.PollInterval
	}
	l.ticker = time.NewTicker(interval)

	for {
		if l.ctx.Err() != nil {
			return nil
		}
		if !l.busy && (l.pendingFull || len(l.pending) > 0) {
			emitCh <- l.takeBatch()
			l.busy = true
		}
		l.publish()
		select {
		case <-l.ctx.Done():
			return nil
		case <-emitDone:
			l.busy = false
		case ev, ok := <-l.events:
			if !ok {
				l.fallBack(fmt.Errorf("the inotify event stream closed unexpectedly; falling back to polling every %s", l.cfg.PollInterval))
				continue
			}
			if l.w.testHookEvent != nil && !l.w.testHookEvent(ev) {
				continue
			}
			l.handleEvent(ev)
		case err, ok := <-l.errs:
			if !ok {
				l.fallBack(fmt.Errorf("the inotify error stream closed unexpectedly; falling back to polling every %s", l.cfg.PollInterval))
				continue
			}
			l.handleError(err)
		case <-l.ticker.C:
			l.tick()
		case <-l.retryC:
			l.retryC = nil
			l.relist()
		}
	}
}

// publish copies the counters into the Watcher's Status.
func (l *loop) publish() {
	l.w.setStatus(Status{
		Mode:       l.mode,
		Dirs:       len(l.dirs),
		Files:      len(l.known),
		LastError:  l.lastErr,
		Overflows:  l.overflows,
		Rescans:    l.rescans,
		Reconciles: l.reconciles,
	})
}

// ---- inotify lifecycle ----

func (l *loop) startInotify() {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if isWatchLimit(err) {
			l.fallBack(fmt.Errorf("%w: cannot create an inotify instance (%w); falling back to polling every %s; raise fs.inotify.max_user_instances or the open-file limit (ulimit -n) and restart to get events back",
				ErrWatchLimit, err, l.cfg.PollInterval))
			return
		}
		l.fallBack(fmt.Errorf("cannot create an inotify instance (%w); falling back to polling every %s", err, l.cfg.PollInterval))
		return
	}
	l.fsw, l.events, l.errs = fsw, fsw.Events, fsw.Errors
}

func (l *loop) closeInotify() {
	if l.fsw == nil {
		return
	}
	if err := l.fsw.Close(); err != nil {
		l.log.Debug("closing inotify watcher", "err", err)
	}
	l.fsw, l.events, l.errs = nil, nil, nil
}

// fallBack switches to polling for good, recording why.
func (l *loop) fallBack(reason error) {
	if l.mode == ModePolling {
		return
	}
	l.mode = ModePolling
	l.lastErr = reason.Error()
	l.log.Warn("file watching falls back to polling", "err", reason, "interval", l.cfg.PollInterval)
	l.closeInotify()
	clear(l.parents)
	if l.ticker != nil {
		l.ticker.Reset(l.cfg.PollInterval)
	}
}

// isWatchLimit reports whether err is the kernel refusing more inotify
// watches (ENOSPC) or instances/descriptors (EMFILE, ENFILE).
func isWatchLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// watchDir adds an inotify watch on dir unless it has one, falling back to
// polling when a limit is hit. It reports whether dir is watched.
func (l *loop) watchDir(dir string) bool {
	if l.mode != ModeInotify {
		return false
	}
	if _, ok := l.dirs[dir]; ok {
		return true
	}
	if !l.addWatch(dir) {
		return false
	}
	l.dirs[dir] = struct{}{}
	return true
}

// addWatch is the fsnotify Add shared by directories below roots and the
// parents of missing roots.
func (l *loop) addWatch(dir string) bool {
	if limit := l.cfg.MaxWatches; limit > 0 && len(l.dirs)+len(l.parents) >= limit {
		l.fallBack(fmt.Errorf("%w: MaxWatches=%d directories are watched, cannot add %s; falling back to polling every %s; raise MaxWatches (0 = no cap) to get events back",
			ErrWatchLimit, limit, dir, l.cfg.PollInterval))
		return false
	}
	err := l.fsw.Add(dir)
	switch {
	case err == nil:
		return true
	case isWatchLimit(err):
		l.fallBack(fmt.Errorf("%w (fs.inotify.max_user_watches) adding %s (%w); falling back to polling every %s; raise it (sysctl fs.inotify.max_user_watches=524288) and restart to get events back",
			ErrWatchLimit, dir, err, l.cfg.PollInterval))
	case isGone(err):
		// Removed between readdir and Add: its parent's event will tell.
	default:
		l.unreadable(dir, err)
	}
	return false
}

// unwatch drops the inotify watch on dir unless another role still needs it.
func (l *loop) unwatch(dir string) {
	if l.fsw == nil {
		return
	}
	_, isDir := l.dirs[dir]
	_, isParent := l.parents[dir]
	if isDir || isParent {
		return
	}
	// ErrNonExistentWatch is expected: the kernel drops the watch of a
	// deleted directory by itself.
	_ = l.fsw.Remove(dir)
}

// ---- events ----

func (l *loop) handleError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		l.overflows++
		l.rescans++
		l.lastErr = "inotify event queue overflowed (fs.inotify.max_queued_events); events were lost, all roots were rescanned"
		l.log.Warn("inotify event queue overflowed; rescanning all roots", "overflows", l.overflows)
		if listing, ok := l.scan(true); ok {
			l.queueFull(listing)
		}
		return
	}
	l.lastErr = fmt.Sprintf("inotify: %v", err)
	l.log.Warn("inotify error", "err", err)
}

func (l *loop) handleEvent(ev fsnotify.Event) {
	// A Chmod (IN_ATTRIB: permissions, owner, timestamps) is handled like
	// any change: a file or directory that could not be read may be
	// readable now, or the reverse.
	p := ev.Name
	if len(l.missing) > 0 && l.leadsToMissingRoot(p) {
		l.checkMissing()
	}
	root := l.rootFor(p)
	if root == "" {
		return // an event in a parent watched for a missing root
	}
	if _, gone := l.missing[root]; gone {
		return
	}
	if p == root {
		// The root itself was deleted or moved away. Forget what was under
		// it; if a directory is already back in its place, walk that one.
		switch {
		case ev.Op.Has(fsnotify.Remove) || ev.Op.Has(fsnotify.Rename):
			l.removePath(root) // marks it missing and checks whether it is back
		case ev.Op.Has(fsnotify.Chmod):
			if fi, err := os.Stat(root); err == nil && fi.IsDir() {
				l.walkDir(root, root, fi, nil, make(map[fileID]struct{}), l.queueIfChanged)
			}
		}
		return
	}
	l.handlePath(root, p, ev.Op)
}

// handlePath re-stats p, below root, and reports what is there now.
func (l *loop) handlePath(root, p string, op fsnotify.Op) {
	fi, err := os.Lstat(p)
	if err != nil {
		if isGone(err) {
			l.removePath(p)
		} else {
			l.log.Debug("stat after event", "path", p, "err", err)
		}
		return
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if st, ok := l.known[p]; ok { // a file replaced by a directory
			l.queueRemoved(st)
		}
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			// The directory at p is a new one (the old one was moved or
			// deleted): forget what was under the old one first.
			l.removePath(p)
		}
		if l.descend(root, p) {
			l.walkDir(root, p, fi, nil, make(map[fileID]struct{}), l.queueIfChanged)
		}
	case mode.IsRegular():
		if !l.match(root, p) {
			return
		}
		if op == fsnotify.Chmod {
			a := accessAttrs(fi)
			last, seen := l.attrs[p]
			l.attrs[p] = a
			if seen && last == a {
				l.queueIfChanged(fileStatOf(p, fi))
				return
			}
		}
		l.queue(fileStatOf(p, fi))
	case mode&fs.ModeSymlink != 0:
		if !l.match(root, p) {
			return
		}
		if tfi, err := os.Stat(p); err == nil && tfi.Mode().IsRegular() {
			l.queue(fileStatOf(p, tfi))
		} else if st, ok := l.known[p]; ok {
			l.queueRemoved(st)
		}
	default:
		if st, ok := l.known[p]; ok {
			l.queueRemoved(st)
		}
	}
}

// removePath reports p, and everything known below it, as removed, drops
// the watches below it and marks roots at or below it as missing.
func (l *loop) removePath(p string) {
	if st, ok := l.known[p]; ok {
		l.queueRemoved(st)
		return // a file has nothing below it
	}
	_, wasDir := l.dirs[p]
	if !wasDir && !l.roots[p] {
		return // nothing we knew of (say, an editor's temporary file)
	}
	for k, st := range l.known {
		if within(k, p) {
			l.queueRemoved(st)
		}
	}
	for d := range l.dirs {
		if within(d, p) {
			delete(l.dirs, d)
			// Drop the stale watches now: were the directory moved within
			// the tree, fsnotify would otherwise keep reporting its
			// subdirectories under their old paths.
			l.unwatch(d)
		}
	}
	lost := false
	for r := range l.roots {
		if _, gone := l.missing[r]; !gone && within(r, p) {
			l.missing[r] = struct{}{}
			lost = true
			l.log.Info("watch root vanished; waiting for it to reappear", "root", r)
		}
	}
	if lost {
		l.checkMissing()
	}
}

// ---- missing roots ----

// leadsToMissingRoot reports whether p is a missing root or one of its
// ancestors.
func (l *loop) leadsToMissingRoot(p string) bool {
	for r := range l.missing {
		if within(r, p) {
			return true
		}
	}
	return false
}

// checkMissing walks the missing roots that exist now and re-aims the
// parent watches at the nearest existing ancestors of the rest. It repeats
// (a few rounds at most) while new parent watches are added, because a
// directory created just before its parent's watch existed sends no event.
func (l *loop) checkMissing() {
	for range 8 {
		for r := range l.missing {
			fi, err := os.Stat(r)
			if err != nil || !fi.IsDir() {
				continue
			}
			delete(l.missing, r)
			l.log.Info("watch root appeared", "root", r)
			l.walkDir(r, r, fi, nil, make(map[fileID]struct{}), l.queueIfChanged)
		}
		if l.updateParents() {
			return
		}
	}
}

// updateParents watches the nearest existing ancestor of every missing
// root (unless it is already watched as part of a root) and drops parent
// watches no longer needed. It reports whether nothing was added, that is
// whether the watches are known to cover every missing root. If a parent
// cannot be watched, the periodic sweep still finds the root.
func (l *loop) updateParents() (stable bool) {
	if l.mode != ModeInotify {
		return true
	}
	stable = true
	want := make(map[string]struct{}, len(l.missing))
	for r := range l.missing {
		for range 8 { // retry while ancestors vanish under us
			a := nearestDir(filepath.Dir(r))
			if a == "" {
				break
			}
			if _, ok := l.dirs[a]; ok {
				break
			}
			if _, ok := l.parents[a]; ok {
				want[a] = struct{}{}
				break
			}
			if l.addWatch(a) {
				l.parents[a] = struct{}{}
				want[a] = struct{}{}
				stable = false
				break
			}
			if l.mode != ModeInotify {
				return true
			}
			if _, err := os.Stat(a); !isGone(err) {
				break // unwatchable for another reason (logged)
			}
		}
	}
	for d := range l.parents {
		if _, ok := want[d]; !ok {
			delete(l.parents, d)
			l.unwatch(d)
		}
	}
	return stable
}

// nearestDir returns dir or its nearest ancestor that is an existing
// directory, or "" if there is none.
func nearestDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// ---- periodic sweep ----

// tick is the periodic stat-only sweep: reconcile in inotify mode, the poll
// in polling mode.
func (l *loop) tick() {
	l.reconciles++
	start := time.Now()
	listing, ok := l.scan(true)
	if !ok {
		return
	}
	l.queueDiff(listing)
	l.ticker.Reset(l.sweepInterval(time.Since(start)))
}

// Sweep duty cycles: a stat-only sweep of a large tree (30,000 files take
// ~130 ms) must not keep an idle daemon busy. The next sweep waits at
// least this many times as long as the last one took, or the configured
// interval if that is longer: at most 0.1 % of a core for the reconcile
// (inotify catches changes meanwhile), 2 % for polling.
const (
	reconcileDuty = 1000
	pollDuty      = 50
)

// sweepInterval is when the next sweep is due after one that took took.
func (l *loop) sweepInterval(took time.Duration) time.Duration {
	if l.mode == ModePolling {
		return max(l.cfg.PollInterval, pollDuty*took)
	}
	return max(l.cfg.Reconcile, reconcileDuty*took)
}

// scan walks every root and returns the matching files found, or false if
// ctx was cancelled during the walk (the listing is then partial and must
// not be used). In inotify mode it also adds watches on directories not yet
// watched, drops those of directories that are gone and, if verify, re-adds
// watches that fsnotify dropped on its own.
func (l *loop) scan(verify bool) (map[string]FileStat, bool) {
	if verify && l.mode == ModeInotify {
		have := make(map[string]struct{}, len(l.dirs)+len(l.parents))
		for _, d := range l.fsw.WatchList() {
			have[d] = struct{}{}
		}
		for d := range l.dirs {
			if _, ok := have[d]; !ok {
				delete(l.dirs, d) // the walk below re-adds it if it still exists
			}
		}
	}

	listing := make(map[string]FileStat, len(l.known))
	seen := make(map[string]struct{}, len(l.dirs))
	visited := make(map[fileID]struct{}, len(l.dirs))
	add := func(st FileStat) { listing[st.Path] = st }
	for _, r := range l.cfg.Roots {
		fi, err := os.Stat(r)
		if err != nil || !fi.IsDir() {
			if _, already := l.missing[r]; !already {
				l.missing[r] = struct{}{}
				switch {
				case err == nil:
					l.lastErr = fmt.Sprintf("watch root %s is not a directory; make it one (or fix the configured path)", r)
					l.log.Warn("watch root is not a directory; waiting for a directory to appear there", "root", r)
				case isGone(err):
					l.log.Info("watch root does not exist yet; waiting for it to appear", "root", r)
				default:
					l.lastErr = fmt.Sprintf("watch root %s cannot be read (%v); fix its permissions", r, err)
					l.log.Warn("watch root cannot be read; waiting for it to become usable", "root", r, "err", err)
				}
			}
			continue
		}
		if _, was := l.missing[r]; was {
			delete(l.missing, r)
			l.log.Info("watch root appeared", "root", r)
		}
		l.walkDir(r, r, fi, seen, visited, add)
		if l.ctx.Err() != nil {
			return nil, false
		}
	}

	if l.mode == ModeInotify {
		for d := range l.dirs {
			if _, ok := seen[d]; !ok {
				delete(l.dirs, d)
				l.unwatch(d)
			}
		}
		// Watch the parents of missing roots; if adding a watch raced with
		// a root appearing, walk that root into this listing.
		for range 8 {
			if l.updateParents() {
				break
			}
			for r := range l.missing {
				if fi, err := os.Stat(r); err == nil && fi.IsDir() {
					delete(l.missing, r)
					l.log.Info("watch root appeared", "root", r)
					l.walkDir(r, r, fi, seen, visited, add)
				}
			}
		}
	} else {
		l.dirs = seen
	}
	return listing, true
}

// fileID identifies a directory during one walk, to stop at bind-mount
// loops. Symlinked directories are never followed, so symlink loops cannot
// occur in the first place.
type fileID struct{ dev, ino uint64 }

// walkDir walks dir, a directory below (or equal to) root whose FileInfo is
// fi, watching each directory in inotify mode and passing every matching
// file to fn. Directories are recorded in seen when it is non-nil.
func (l *loop) walkDir(root, dir string, fi fs.FileInfo, seen map[string]struct{}, visited map[fileID]struct{}, fn func(FileStat)) {
	if l.ctx.Err() != nil {
		return
	}
	if dev, ino := devIno(fi); dev != 0 || ino != 0 {
		id := fileID{dev, ino}
		if _, dup := visited[id]; dup {
			l.log.Debug("directory already walked (bind mount loop?); skipping", "path", dir)
			return
		}
		visited[id] = struct{}{}
	}
	if seen != nil {
		seen[dir] = struct{}{}
	}
	// Watch before listing, so a file created in between is not missed.
	l.watchDir(dir)

	entries, err := l.readDir(dir)
	switch _, was := l.unlisted[dir]; {
	case err != nil:
		l.unreadable(dir, err)
		if !isGone(err) {
			l.listFailed(root, dir, fn)
		}
		if len(entries) == 0 {
			return
		}
	case was:
		l.listedAgain(dir)
		// hand over every file below again: reads that failed may work now
		inner := fn
		fn = func(st FileStat) { inner(st); l.queue(st) }
	}
	for _, e := range entries {
		p := join(dir, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if l.roots[p] || !l.descend(root, p) {
				continue // another root walks it, or it is excluded
			}
			dfi, err := e.Info()
			if err != nil {
				continue // gone already
			}
			l.walkDir(root, p, dfi, seen, visited, fn)
		case t.IsRegular():
			if !l.match(root, p) {
				continue
			}
			ffi, err := e.Info()
			if err != nil || !ffi.Mode().IsRegular() {
				continue
			}
			fn(fileStatOf(p, ffi))
		case t&fs.ModeSymlink != 0:
			// Report symlinks to regular files (stat'ing the target);
			// never follow symlinks to directories.
			if !l.match(root, p) {
				continue
			}
			if tfi, err := os.Stat(p); err == nil && tfi.Mode().IsRegular() {
				fn(fileStatOf(p, tfi))
			}
		}
	}
}

func (l *loop) readDir(dir string) ([]fs.DirEntry, error) {
	if h := l.w.testHookOpenDir; h != nil {
		if err := h(dir); err != nil {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1) // unsorted: cheaper than os.ReadDir
}

// unreadable logs, once per directory, that dir is skipped.
func (l *loop) unreadable(dir string, err error) {
	if isGone(err) {
		return
	}
	if _, done := l.warned[dir]; done {
		l.log.Debug("directory still unreadable; skipping", "path", dir, "err", err)
		return
	}
	l.warned[dir] = struct{}{}
	l.log.Warn("directory cannot be read or watched; skipping it (fix its permissions to have it watched)", "path", dir, "err", err)
	l.errDir = dir
	if l.roots[dir] {
		l.lastErr = fmt.Sprintf("watch root %s cannot be read or watched (%v); fix its permissions", dir, err)
	} else {
		l.lastErr = fmt.Sprintf("directory %s cannot be read or watched (%v); the files below it are not read until it can be; fix its permissions", dir, err)
	}
}

// Directories whose listing failed are listed again after firstRetry,
// then twice as long each time up to maxRetry.
const (
	firstRetry = time.Second
	maxRetry   = 30 * time.Second
)

// listFailed records that dir, below root, could not be listed. Its known
// files stay known (passed to fn, so a sweep does not report them removed);
// the first time, they are also handed over again, so their readers try
// them and report what they find.
func (l *loop) listFailed(root, dir string, fn func(FileStat)) {
	_, again := l.unlisted[dir]
	l.unlisted[dir] = root
	for p, st := range l.known {
		if within(p, dir) && p != dir {
			if !again {
				l.queue(st)
			}
			fn(st)
		}
	}
	if l.retryC == nil {
		if l.retry == nil {
			l.retry = time.NewTimer(l.retryDelay)
		} else {
			l.retry.Reset(l.retryDelay)
		}
		l.retryC = l.retry.C
	}
}

// listedAgain records that dir, which could not be listed, was listed.
func (l *loop) listedAgain(dir string) {
	delete(l.unlisted, dir)
	delete(l.warned, dir)
	l.log.Info("directory can be read again; listing it", "path", dir)
	if l.errDir == dir {
		l.lastErr, l.errDir = "", ""
	}
}

// relist lists again the directories whose listing failed, and schedules
// the next try, with a longer delay, for those still failing.
func (l *loop) relist() {
	dirs := make([]string, 0, len(l.unlisted))
	for d := range l.unlisted {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		root, ok := l.unlisted[d]
		if !ok {
			continue // listed again while walking another one
		}
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() {
			delete(l.unlisted, d) // gone: events and sweeps report its files
			continue
		}
		l.walkDir(root, d, fi, nil, make(map[fileID]struct{}), l.queueIfChanged)
	}
	if len(l.unlisted) == 0 {
		l.retryDelay = firstRetry
		if l.w.testRetryDelay > 0 {
			l.retryDelay = l.w.testRetryDelay
		}
		return
	}
	l.retryDelay = min(2*l.retryDelay, maxRetry)
	l.retry.Reset(l.retryDelay)
	l.retryC = l.retry.C
}

// ---- pending changes ----

func (l *loop) queue(st FileStat) {
	l.pending[st.Path] = st
	if st.Removed {
		delete(l.known, st.Path)
		delete(l.attrs, st.Path)
	} else {
		l.known[st.Path] = st
	}
}

func (l *loop) queueRemoved(st FileStat) {
	st.Removed = true
	l.queue(st)
}

// queueIfChanged queues st unless it matches what was last reported.
func (l *loop) queueIfChanged(st FileStat) {
	if k, ok := l.known[st.Path]; ok && sameStat(k, st) {
		return
	}
	l.queue(st)
}

// queueFull queues a complete listing: every file in it, and a removal for
// every known file missing from it.
func (l *loop) queueFull(listing map[string]FileStat) {
	l.pendingFull = true
	for p, st := range l.known {
		if _, ok := listing[p]; !ok {
			l.queueRemoved(st)
		}
	}
	for _, st := range listing {
		l.queue(st)
	}
}

// queueDiff queues the files of listing that differ from what was last
// reported, and a removal for every known file missing from it.
func (l *loop) queueDiff(listing map[string]FileStat) {
	for p, st := range l.known {
		if _, ok := listing[p]; !ok {
			l.queueRemoved(st)
		}
	}
	for _, st := range listing {
		l.queueIfChanged(st)
	}
}

func (l *loop) takeBatch() Batch {
	files := make([]FileStat, 0, len(l.pending))
	for _, st := range l.pending {
		files = append(files, st)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	b := Batch{Files: files, Full: l.pendingFull}
	l.pending = make(map[string]FileStat)
	l.pendingFull = false
	return b
}

// ---- paths ----

// rootFor returns the most specific root containing p, or "".
func (l *loop) rootFor(p string) string {
	for _, r := range l.cfg.Roots { // longest first
		if within(p, r) {
			return r
		}
	}
	return ""
}

func (l *loop) descend(root, dir string) bool {
	return l.cfg.Descend == nil || l.cfg.Descend(root, dir)
}

func (l *loop) match(root, path string) bool {
	return l.cfg.Match == nil || l.cfg.Match(root, path)
}

// within reports whether p is dir or below it. Both are clean paths.
func within(p, dir string) bool {
	if dir == "" || !strings.HasPrefix(p, dir) {
		return false
	}
	return len(p) == len(dir) || os.IsPathSeparator(p[len(dir)]) || os.IsPathSeparator(dir[len(dir)-1])
}

// join is filepath.Join for a clean dir and a plain name, without Clean.
func join(dir, name string) string {
	if os.IsPathSeparator(dir[len(dir)-1]) {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

// isGone reports whether err means the path no longer exists.
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
