package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// binDir holds the sessiond binaries built for these tests.
var (
	binDir   string
	binOnce  sync.Once
	bin      string
	binError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessiond-e2e")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// raceBinary builds (once) the binary the tests run, with the race detector.
func raceBinary(t testing.TB) string {
	binOnce.Do(func() {
		bin = filepath.Join(binDir, "sessiond")
		if out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput(); err != nil {
			binError = fmt.Errorf("build sessiond: %w\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return bin
}

// home is a fake home directory with a Claude Code corpus.
type home struct {
	t    *testing.T
	dir  string   // $HOME
	data string   // --data-dir
	env  []string // extra environment
}

func newHome(t *testing.T, opt claudetest.Options) *home {
	t.Helper()
	h := &home{t: t, dir: t.TempDir()}
	h.data = filepath.Join(h.dir, "data")
	if opt.TotalBytes > 0 {
		if _, err := claudetest.Generate(filepath.Join(h.dir, ".claude"), opt); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *home) cmd(args ...string) *exec.Cmd {
	c := exec.Command(raceBinary(h.t), append([]string{"--data-dir", h.data, "--log-level", "warn"}, args...)...)
	c.Env = append(os.Environ(), "HOME="+h.dir, "CLAUDE_CONFIG_DIR=", "XDG_DATA_HOME=", "XDG_CONFIG_HOME=",
		"CODEX_HOME=", "GEMINI_CLI_HOME=", "COPILOT_HOME=", "OPENCODE_DB=", "SESSIOND_LISTEN=127.0.0.1:1")
	c.Env = append(c.Env, h.env...)
	return c
}

func (h *home) run(args ...string) string {
	h.t.Helper()
	var out, errb bytes.Buffer
	c := h.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		h.t.Fatalf("sessiond %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

func (h *home) sessions(args ...string) map[session.Key]api.SessionView {
	h.t.Helper()
	var views []api.SessionView
	if err := json.Unmarshal([]byte(h.run(append([]string{"sessions", "--json"}, args...)...)), &views); err != nil {
		h.t.Fatal(err)
	}
	out := map[session.Key]api.SessionView{}
	for _, v := range views {
		out[v.Key] = v
	}
	return out
}

// expect compares sessions with the independent reference count.
func (h *home) expect(got map[session.Key]api.SessionView) {
	h.t.Helper()
	want, err := claudetest.Count(filepath.Join(h.dir, ".claude"))
	if err != nil {
		h.t.Fatal(err)
	}
	if len(got) != len(want) {
		h.t.Errorf("%d sessions, want %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			h.t.Errorf("session %s missing", k)
		case g.Status == session.StatusFailed:
			h.t.Errorf("session %s failed: %s", k, g.FailReason)
		case g.Record.Tokens != w.Tokens || g.Counts != w.Counts || g.Files != w.Files || g.Subagents != w.Subagents ||
			!slices.Equal(g.Models, w.Models) || g.CWD != w.CWD || g.Project != w.Project || g.GitBranch != w.GitBranch ||
			!g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) || string(g.ParentSessionID) != w.Parent:
			h.t.Errorf("session %s:\n got  tokens=%+v counts=%+v files=%d sub=%d models=%v cwd=%q branch=%q %s..%s parent=%q\n want tokens=%+v counts=%+v files=%d sub=%d models=%v cwd=%q branch=%q %s..%s parent=%q",
				k, g.Record.Tokens, g.Counts, g.Files, g.Subagents, g.Models, g.CWD, g.GitBranch, g.StartedAt, g.EndedAt, g.ParentSessionID,
				w.Tokens, w.Counts, w.Files, w.Subagents, w.Models, w.CWD, w.GitBranch, w.StartedAt, w.EndedAt, w.Parent)
		default:
			continue
		}
		if bad++; bad > 5 {
			h.t.Fatal("too many mismatches")
		}
	}
}

func TestScanIsExactAndIncremental(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 24 << 20, Seed: 7, ReplayFraction: 0.3, SubagentFraction: 0.4, MalformedFraction: 0.002})
	var sum struct {
		BytesRead int64  `json:"bytes_read"`
		EventHead uint64 `json:"event_head"`
	}
	if err := json.Unmarshal([]byte(h.run("scan", "--json")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.BytesRead < 20<<20 || sum.EventHead == 0 {
		t.Fatalf("first scan: %+v", sum)
	}
	h.expect(h.sessions())
	// nothing changed: nothing is read, no event is written
	if err := json.Unmarshal([]byte(h.run("scan", "--json")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.BytesRead != 0 {
		t.Fatalf("second scan read %d bytes", sum.BytesRead)
	}
	head := sum.EventHead
	var evs []session.Event
	for line := range strings.Lines(h.run("events", "--json", "--limit", "10000")) {
		var e session.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if uint64(len(evs)) != min(head, 10000) || evs[0].Seq != 1 {
		t.Fatalf("events: %d for head %d", len(evs), head)
	}
	var st struct {
		EventHead uint64 `json:"event_head"`
		Providers []struct {
			Provider string `json:"provider"`
		} `json:"providers"`
	}
	if err := json.Unmarshal([]byte(h.run("status", "--json")), &st); err != nil || st.EventHead != head || len(st.Providers) != 1 {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemon is a running `sessiond run`.
type daemon struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

func (h *home) start(addr string) *daemon {
	h.t.Helper()
	d := h.startWith(addr, nil)
	return d
}

// startWith starts `sessiond run` on addr with extra flags; its log goes
// to stderr (nil: the daemon's own buffer).
func (h *home) startWith(addr string, stderr io.Writer, extra ...string) *daemon {
	h.t.Helper()
	d := &daemon{addr: addr, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	d.cmd = h.cmd(append([]string{"run", "--listen", addr, "--idle-timeout", "1h"}, extra...)...)
	d.cmd.Stderr = d.stderr
	if stderr != nil {
		d.cmd.Stderr = stderr
	}
	if err := d.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	h.t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) client() *api.Client { return &api.Client{Base: "http://" + d.addr} }

func (d *daemon) ready(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + d.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-d.done:
			t.Fatalf("daemon exited: %v\n%s", err, d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("daemon not ready\n%s", d.stderr)
}

func (d *daemon) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	_ = d.cmd.Process.Signal(sig)
	select {
	case err := <-d.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("daemon did not stop\n%s", d.stderr)
		return nil
	}
}

func TestDaemonLiveStreamLockAndGracefulStop(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 4 << 20, Seed: 3})
	d := h.start(freePort(t))
	d.ready(t)

	// a second daemon on the same data dir fails at once
	var errb bytes.Buffer
	second := h.cmd("run", "--listen", freePort(t))
	second.Stderr = &errb
	err := second.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(errb.String(), "already running") {
		t.Fatalf("second daemon: %v %q", err, errb.String())
	}

	// follow the stream, then append to a new session
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan session.Event, 100)
	go func() {
		_ = d.client().Follow(ctx, api.SinceHead, func(e session.Event) error { got <- e; return nil })
	}()
	path := filepath.Join(h.dir, ".claude", "projects", "-home-dev-live", "aaaaaaaa-0000-4000-8000-00000000000a.jsonl")
	// wait for the stream to be connected: keep appending until an event arrives
	var first session.Event
	for first.Seq == 0 {
		if err := claudetest.AppendSession(path, 1, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case first = <-got:
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
	if first.ID != "aaaaaaaa-0000-4000-8000-00000000000a" {
		t.Fatalf("event for %s", first.ID)
	}
	// read commands go through the API while the daemon runs
	if s := h.cmd("sessions", "--json"); true {
		s.Env = append(s.Env, "SESSIOND_LISTEN="+d.addr)
		if out, err := s.Output(); err != nil || !strings.Contains(string(out), "aaaaaaaa-0000") {
			t.Fatalf("sessions via API: %v", err)
		}
	}
	// the metrics carry what happened
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sessiond_events_total{kind="created",provider="claude-code"}`,
		`sessiond_read_bytes_total{provider="claude-code"}`,
		`sessiond_watch_mode{mode="inotify",provider="claude-code"} 1`,
		`sessiond_store_commit_duration_seconds_bucket`,
		`sessiond_sessions{provider="claude-code",status="completed"}`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// graceful stop: exit 0, then the totals are those of the files
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.stderr)
	}
	h.run("scan")
	h.expect(h.sessions())
}

// TestCrashSafety SIGKILLs the real binary at random points during a large
// scan and during live appends, restarts it, and checks the totals are
// exactly those of an uninterrupted count.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	h := newHome(t, claudetest.Options{TotalBytes: 64 << 20, Seed: 11, ReplayFraction: 0.2, SubagentFraction: 0.3})
	rng := rand.New(rand.NewPCG(11, 12))
	kills := 0
	for round := 0; round < 30; round++ {
		c := h.cmd("scan")
		var errb bytes.Buffer
		c.Stderr = &errb
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("scan: %v\n%s", err, errb.String())
			}
			round = 1000 // finished
		case <-time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond):
			_ = c.Process.Kill()
			<-done
			kills++
		}
	}
	t.Logf("%d kills landed during the scan", kills)
	h.run("scan") // resume to the end (under load every round may have been killed)
	h.expect(h.sessions())

	// live appends while the daemon is killed and restarted
	var paths []string
	_ = filepath.WalkDir(filepath.Join(h.dir, ".claude", "projects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") && !strings.Contains(filepath.Base(p), "agent-") {
			paths = append(paths, p)
		}
		return nil
	})
	for round := range 4 {
		d := h.start(freePort(t))
		stop := time.After(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		for appending := true; appending; {
			p := paths[rng.IntN(len(paths))]
			if err := claudetest.AppendSession(p, 1+rng.IntN(3), int64(round*1000+rng.IntN(1000))); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stop:
				appending = false
			default:
			}
		}
		_ = d.stop(t, syscall.SIGKILL)
	}
	h.run("scan")
	h.expect(h.sessions())
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 1 << 20, Seed: 5})
	d := h.start(freePort(t))
	d.ready(t)
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.done:
		// either the graceful stop finished first (0) or the second signal won (130)
		var ee *exec.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 130) {
			t.Fatalf("exit: %v\n%s", err, d.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("two signals did not stop the daemon")
	}
}
