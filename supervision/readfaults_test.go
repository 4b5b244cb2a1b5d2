package supervision_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// ownReads is what procReadBytes itself read of /proc/self/io.
var ownReads int64

// procReadBytes is the bytes this process has read through read(2) and
// friends so far (rchar in /proc/self/io), less its own reads of that file.
func procReadBytes(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io (%v): bytes read cannot be measured here", err)
	}
	own := ownReads
	ownReads += int64(len(raw))
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n - own
		}
	}
	t.Fatal("no rchar in /proc/self/io")
	return 0
}

// newEnvWith starts a tree whose session actors use sc.
func newEnvWith(t *testing.T, sc actors.SessionConfig) *env {
	t.Helper()
	root := filepath.Join(t.TempDir(), "claude", "projects")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	se := &supervisiontest.Env{T: t, Dir: filepath.Join(t.TempDir(), "data"), Roots: []string{root}, Prov: claudecode.New(),
		IdleTimeout: time.Hour, ChunkBytes: 64 << 10, SessionConfig: sc}
	se.Start()
	t.Cleanup(se.Stop)
	e := &env{Env: se, t: t, root: root}
	e.sync()
	return e
}

// appendSlowly appends s in n pieces, the way an agent streams a long
// record. If seen is set, each piece waits until seen reports that the
// previous one was handled.
func appendSlowly(t *testing.T, path, s string, n int, seen func() bool) {
	t.Helper()
	step := len(s) / n
	for i := range n {
		end := (i + 1) * step
		if i == n-1 {
			end = len(s)
		}
		appendFile(t, path, s[i*step:end])
		if seen != nil {
			eventually(t, "append "+strconv.Itoa(i)+" read", func() (bool, string) { return seen(), "" })
		}
	}
}

// A long record written in small appends is searched for its newline in
// the new bytes only: the bytes read stay about twice the record (found,
// then read whole once), not once per append.
func TestGrowingUnterminatedLineReadsOnlyTheAppends(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("bytes read are measured through /proc/self/io")
	}
	e := newEnv(t, claudecode.New())
	sid := "88888888-0000-4000-8000-000000000001"
	p := e.path(sid)
	appendFile(t, p, prompt(sid, 1, "a"))
	e.waitSession(sid, func(r session.Record) bool { return r.UserMessages == 1 })
	e.idle()

	const size = 20 << 20
	big := prompt(sid, 2, strings.Repeat("x", size))
	tail := len(big) - 400
	before := procReadBytes(t)
	appendFile(t, p, big[:tail])
	last := before
	// each append is read (its newline searched), and the session caught
	// up, before the next
	readSince := func(n int64) func() bool {
		return func() bool {
			now := procReadBytes(t)
			if now-last < n {
				return false
			}
			e.idle()
			last = procReadBytes(t)
			return true
		}
	}
	eventually(t, "the long record scanned", func() (bool, string) { return readSince(int64(tail) - 200)(), "" })
	appendSlowly(t, p, big[tail:len(big)-1], 20, readSince(1)) // 20 appends of ~20 bytes, no newline yet
	appendFile(t, p, "\n"+reply(sid, 3, 7, 1))
	r := e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 7 })
	read := procReadBytes(t) - before
	if r.UserMessages != 2 {
		t.Fatalf("the long record counted %d times, want once: %+v", r.UserMessages-1, r.Counts)
	}
	if got := testutilCounter(e.m.ParseErrorsTotal, "claude-code"); got != 0 {
		t.Fatalf("%v parse errors for a record below the cap", got)
	}
	if read > 3*size {
		t.Fatalf("read %d MiB for one %d MiB record written in 22 appends; want about 2x the record, not once per append", read>>20, size>>20)
	}
	t.Logf("read %.1f MiB for a %d MiB record written in 22 appends", float64(read)/(1<<20), size>>20)
}

// syncLog is a slog handler keeping the text of each record.
type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (h *syncLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *syncLog) Handle(_ context.Context, r slog.Record) error {
	text := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { text += " " + a.String(); return true })
	h.mu.Lock()
	h.lines = append(h.lines, text)
	h.mu.Unlock()
	return nil
}
func (h *syncLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *syncLog) WithGroup(string) slog.Handler      { return h }

func (h *syncLog) find(substr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// A line above MaxLineBytes is skipped, even while it grows: counted as
// malformed, logged with its file and offset (never its content), and the
// lines after it count.
func TestLineAboveCapIsSkippedAndCounted(t *testing.T) {
	logs := &syncLog{}
	e := newEnvWith(t, actors.SessionConfig{MaxLineBytes: 1 << 20, Logger: slog.New(logs)})
	sid := "88888888-0000-4000-8000-000000000002"
	p := e.path(sid)
	first := prompt(sid, 1, "a")
	appendFile(t, p, first)
	e.waitSession(sid, func(r session.Record) bool { return r.UserMessages == 1 })

	big := prompt(sid, 2, strings.Repeat("y", 3<<20))
	appendFile(t, p, big[:2<<20])                      // above the cap already, unterminated
	appendSlowly(t, p, big[2<<20:len(big)-1], 10, nil) // still growing
	appendFile(t, p, "\n"+reply(sid, 3, 7, 1))
	r := e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 7 })
	if r.UserMessages != 1 {
		t.Fatalf("the skipped line counted: %+v", r.Counts)
	}
	if got := testutilCounter(e.m.ParseErrorsTotal, "claude-code"); got != 1 {
		t.Fatalf("parse errors = %v, want the skipped line once", got)
	}
	hits := logs.find("max_line_bytes")
	if len(hits) != 1 {
		t.Fatalf("skipped line logged %d times: %q", len(hits), hits)
	}
	if !strings.Contains(hits[0], p) || !strings.Contains(hits[0], "offset="+strconv.Itoa(len(first))) {
		t.Fatalf("log lacks the file or the offset: %s", hits[0])
	}
	for _, l := range logs.find("yyyy") {
		t.Fatalf("content logged: %.200s", l)
	}
	// more appends keep counting from past the skipped line
	appendFile(t, p, reply(sid, 4, 5, 1))
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 12 })
}

// denier opens files like os.Open, except that it fails with err while
// err is set (the fault injected instead of chmod 000, which root reads
// through).
type denier struct {
	mu   sync.Mutex
	path string
	err  error
}

func (d *denier) set(path string, err error) {
	d.mu.Lock()
	d.path, d.err = path, err
	d.mu.Unlock()
}

func (d *denier) open(name string) (*os.File, error) {
	d.mu.Lock()
	path, err := d.path, d.err
	d.mu.Unlock()
	if err != nil && name == path {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.Open(name)
}

func (e *env) lastError() string {
	e.t.Helper()
	st := e.tree.ProviderStatus(context.Background())
	if len(st) != 1 {
		e.t.Fatalf("status of %d providers", len(st))
	}
	return st[0].LastError
}

// A file that cannot be read (EACCES, EMFILE, EIO) fails its session at
// once, with the reason in the session and the provider's status, and is
// read again with backoff: once it can be read, the append is counted and
// the failure cleared within seconds, with no further change to the file.
func TestUnreadableFileIsReportedAndRetried(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EMFILE, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			d := &denier{}
			e := newEnvWith(t, actors.SessionConfig{Open: d.open})
			sid := "99999999-0000-4000-8000-000000000001"
			p := e.path(sid)
			appendFile(t, p, prompt(sid, 1, "a")+reply(sid, 2, 10, 1))
			e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 10 })

			d.set(p, errno)
			appendFile(t, p, reply(sid, 3, 5, 1))
			r := e.waitSession(sid, func(r session.Record) bool { return r.Status == session.StatusFailed })
			if !strings.Contains(r.FailReason, p) || !strings.Contains(r.FailReason, errno.Error()) {
				t.Fatalf("fail reason %q lacks the file or the error", r.FailReason)
			}
			if le := e.lastError(); !strings.Contains(le, errno.Error()) {
				t.Fatalf("provider last_error %q", le)
			}
			e.idle() // a failing session does not hold the provider busy

			fixed := time.Now()
			d.set("", nil)
			r = e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 15 })
			if r.Status == session.StatusFailed || r.FailReason != "" {
				t.Fatalf("still failed after recovery: %+v", r)
			}
			eventually(t, "last_error cleared", func() (bool, string) { le := e.lastError(); return le == "", le })
			if took := time.Since(fixed); took > 5*time.Second {
				t.Fatalf("recovery took %s", took)
			}
		})
	}
}
