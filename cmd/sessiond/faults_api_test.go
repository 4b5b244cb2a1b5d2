package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int
}

// try runs sessiond with extra environment and returns what it printed and
// its exit code (never failing the test itself).
func (h *home) try(env []string, args ...string) result {
	h.t.Helper()
	c := h.cmd(args...)
	c.Env = append(c.Env, env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("sessiond %v: %v", args, err)
	}
	return r
}

// mustTry is try that fails the test on a non-zero exit.
func (h *home) mustTry(env []string, args ...string) string {
	h.t.Helper()
	r := h.try(env, args...)
	if r.code != 0 {
		h.t.Fatalf("sessiond %v: exit %d\n%s", args, r.code, r.stderr)
	}
	return r.stdout
}

func decodeSessions(t *testing.T, out string) map[session.Key]api.SessionView {
	t.Helper()
	var views []api.SessionView
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("sessions --json: %v\n%s", err, out)
	}
	m := map[session.Key]api.SessionView{}
	for _, v := range views {
		m[v.Key] = v
	}
	return m
}

// rawStatus sends a request with the given Host header over a fresh
// connection and returns the status code.
func rawStatus(t *testing.T, addr, path, host string, hdr ...string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", path, host)
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s Host %s: %v", path, host, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReadsAnswerFromTheirOwnDataDir runs two daemons over two data dirs on
// two ports. Whatever listen address the reader's configuration names,
// reads for a data dir get that data dir's sessions, and an explicit
// --listen naming the other daemon is refused.
func TestReadsAnswerFromTheirOwnDataDir(t *testing.T) {
	h1 := newHome(t, claudetest.Options{TotalBytes: 1 << 20, Seed: 21})
	h2 := newHome(t, claudetest.Options{TotalBytes: 1 << 20, Seed: 22})
	d1, d2 := h1.start(freePort(t)), h2.start(freePort(t))
	d1.ready(t)
	d2.ready(t)

	// The configured listen address is the other daemon's: the data dir
	// decides. (With the daemon holding the store, only its API can answer.)
	h1.expect(decodeSessions(t, h1.mustTry([]string{"SESSIOND_LISTEN=" + d2.addr}, "sessions", "--json")))
	h2.expect(decodeSessions(t, h2.mustTry([]string{"SESSIOND_LISTEN=" + d1.addr}, "sessions", "--json")))
	for _, h := range []*home{h1, h2} {
		var st struct {
			Running bool   `json:"running"`
			DataDir string `json:"data_dir"`
		}
		if err := json.Unmarshal([]byte(h.mustTry(nil, "status", "--json")), &st); err != nil || !st.Running || st.DataDir != h.data {
			t.Errorf("status for %s: %+v %v", h.data, st, err)
		}
	}

	// An explicit --listen is used, and verified.
	h1.expect(decodeSessions(t, h1.mustTry(nil, "sessions", "--json", "--listen", d1.addr)))
	r := h1.try(nil, "sessions", "--json", "--listen", d2.addr)
	if r.code == 0 || !strings.Contains(r.stderr, h2.data) || !strings.Contains(r.stderr, "serves the data dir") {
		t.Errorf("--listen of another data dir's daemon: exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("--listen of another data dir's daemon printed %q", r.stdout)
	}

	// The daemon file: private, and gone after a clean stop.
	fi, err := os.Stat(filepath.Join(h1.data, "daemon.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("daemon.json: %v %v", fi, err)
	}
	if err := d1.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h1.data, "daemon.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("daemon.json after a clean stop: %v", err)
	}
	// Now the store answers, still with h1's sessions.
	h1.expect(decodeSessions(t, h1.mustTry([]string{"SESSIOND_LISTEN=" + d2.addr}, "sessions", "--json")))
}

// snapshot lists the data dir's files with sizes and modification times.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err == nil {
			out[p] = fmt.Sprintf("%d %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		}
		return nil
	})
	return out
}

// TestReadCommandsNeverWriteAStore: no store is created where there is none,
// a store left by a killed daemon is not written (the reader says what to
// do), and a stale daemon.json whose port another daemon now serves is not
// believed.
func TestReadCommandsNeverWriteAStore(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 1 << 20, Seed: 23})
	for _, dir := range []string{filepath.Join(h.dir, "nonexistent"), h.dir + "/empty"} {
		if strings.HasSuffix(dir, "empty") {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		for _, args := range [][]string{{"sessions"}, {"stats"}, {"events"}, {"status"}} {
			r := h.try(nil, append([]string{"--data-dir", dir}, args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, "no sessiond store") || !strings.Contains(r.stderr, "sessiond scan") {
				t.Errorf("%v on %s: exit %d, stderr %q", args, dir, r.code, r.stderr)
			}
		}
		entries, _ := os.ReadDir(dir)
		if _, err := os.Stat(dir); strings.HasSuffix(dir, "nonexistent") && !errors.Is(err, fs.ErrNotExist) || len(entries) > 0 {
			t.Errorf("a read command created %s (%d entries)", dir, len(entries))
		}
	}

	// A daemon killed: its daemon.json stays behind and its store needs the
	// recovery only a writer does.
	d := h.start(freePort(t))
	d.ready(t)
	_ = d.stop(t, syscall.SIGKILL)
	before := snapshot(t, h.data)
	r := h.try(nil, "sessions")
	if r.code == 0 {
		// Badger may open a cleanly flushed store read-only; then the
		// answer must be right.
		h.expect(decodeSessions(t, h.mustTry(nil, "sessions", "--json")))
	} else if !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "sessiond scan") {
		t.Errorf("sessions after a kill: exit %d, stderr %q", r.code, r.stderr)
	}
	if after := snapshot(t, h.data); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a read command wrote the store:\nbefore %v\nafter  %v", before, after)
	}

	// After `scan` recovered the store, reads work, even though the stale
	// daemon.json's port is now served by another data dir's daemon.
	h.run("scan")
	var stale struct {
		Listen string `json:"listen"`
	}
	b, err := os.ReadFile(filepath.Join(h.data, "daemon.json"))
	if err == nil {
		err = json.Unmarshal(b, &stale)
	}
	if err != nil {
		t.Fatalf("stale daemon.json: %v", err)
	}
	other := newHome(t, claudetest.Options{TotalBytes: 1 << 19, Seed: 24})
	od := other.start(stale.Listen)
	od.ready(t)
	h.expect(decodeSessions(t, h.mustTry([]string{"SESSIOND_LISTEN=" + od.addr}, "sessions", "--json")))

	// A daemon that holds the store but does not answer is named as such.
	d = h.start(freePort(t))
	d.ready(t)
	_ = d.cmd.Process.Signal(syscall.SIGSTOP)
	start := time.Now()
	r = h.try(nil, "sessions")
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	if r.code == 0 || !strings.Contains(r.stderr, "does not answer") || !strings.Contains(r.stderr, fmt.Sprint(d.cmd.Process.Pid)) {
		t.Errorf("sessions with a stopped daemon: exit %d, stderr %q", r.code, r.stderr)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("sessions with a stopped daemon took %s", took)
	}
}

// TestRebindingHostRefused: a request naming the daemon by a foreign host
// (what a DNS-rebinding page's browser sends) is refused; loopback names
// are served.
func TestRebindingHostRefused(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 1 << 19, Seed: 25})
	d := h.start(freePort(t))
	d.ready(t)
	_, port, _ := net.SplitHostPort(d.addr)
	for host, want := range map[string]int{
		"evil.example:" + port: http.StatusMisdirectedRequest,
		"evil.example":         http.StatusMisdirectedRequest,
		"localhost:" + port:    http.StatusOK,
		"127.0.0.1:" + port:    http.StatusOK,
		"[::1]:" + port:        http.StatusOK,
	} {
		if got := rawStatus(t, d.addr, "/api/v1/sessions", host, "Origin", "http://"+host); got != want {
			t.Errorf("Host %s: %d, want %d", host, got, want)
		}
	}
}

// TestRemoteListenNeedsAllowRemoteAndToken: a non-loopback listen address
// is refused unless [api] allow_remote and a token are set; then the token
// is required everywhere but /healthz, the CLI sends it, and it is never
// logged.
func TestRemoteListenNeedsAllowRemoteAndToken(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 1 << 19, Seed: 26})
	_, port, _ := net.SplitHostPort(freePort(t))
	const token = "0123456789abcdef-secret"
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "allow_remote"},
		{[]string{"SESSIOND_API_TOKEN=" + token}, "allow_remote"},
		{[]string{"SESSIOND_API_ALLOW_REMOTE=true"}, "api.token"},
		{[]string{"SESSIOND_API_ALLOW_REMOTE=true", "SESSIOND_API_TOKEN=short"}, "api.token"},
	} {
		c := h.cmd("run", "--listen", "0.0.0.0:"+port)
		c.Env = append(c.Env, tc.env...)
		var errb bytes.Buffer
		c.Stderr = &errb
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("%v: %v, stderr %q (want it to mention %s)", tc.env, err, errb.String(), tc.want)
			}
		case <-time.After(30 * time.Second):
			_ = c.Process.Kill()
			<-done
			t.Errorf("%v: the daemon started on 0.0.0.0", tc.env)
		}
	}

	h.env = append(h.env, "SESSIOND_API_ALLOW_REMOTE=true", "SESSIOND_API_TOKEN="+token)
	d := h.startWith("0.0.0.0:"+port, nil, "--log-level", "debug") // every log line is searched for the token
	d.addr = "127.0.0.1:" + port
	ready := func() bool {
		req, _ := http.NewRequest("GET", "http://"+d.addr+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		select {
		case err := <-d.done:
			t.Fatalf("daemon exited: %v\n%s", err, d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon not ready")
		}
	}
	if got := rawStatus(t, d.addr, "/healthz", d.addr); got != 200 {
		t.Errorf("/healthz without token: %d", got)
	}
	for _, path := range []string{"/api/v1/sessions", "/api/v1/identity", "/metrics", "/readyz"} {
		if got := rawStatus(t, d.addr, path, d.addr); got != 401 {
			t.Errorf("%s without token: %d, want 401", path, got)
		}
		if got := rawStatus(t, d.addr, path, d.addr, "Authorization", "Bearer wrong-"+token); got != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", path, got)
		}
		if got := rawStatus(t, d.addr, path, d.addr, "Authorization", "Bearer "+token); got != 200 {
			t.Errorf("%s with the token: %d, want 200", path, got)
		}
	}
	// the CLI finds the daemon through daemon.json and sends the token;
	// without it, it says so
	h.expect(decodeSessions(t, h.mustTry(nil, "sessions", "--json")))
	if r := h.try([]string{"SESSIOND_API_TOKEN=", "SESSIOND_API_ALLOW_REMOTE=false"}, "sessions"); r.code == 0 || !strings.Contains(r.stderr, "requires its API token") {
		t.Errorf("sessions without the token: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	logs := d.stderr.String()
	if !strings.Contains(logs, "non-loopback") {
		t.Errorf("no warning about the non-loopback listener:\n%s", logs)
	}
	if strings.Contains(logs, token) {
		t.Errorf("the token was logged:\n%s", logs)
	}
}

// TestListenErrors: each listen failure says what is wrong; only an
// address in use suggests another program.
func TestListenErrors(t *testing.T) {
	h := newHome(t, claudetest.Options{})
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		listen, want string
	}{
		{"127.0.0.1:99999", "99999"},
		{"127.0.0.1:http-alt-nope", "port"},
		{"nohost.invalid:9791", "cannot resolve host"},
		{busy.Addr().String(), "another program"},
	} {
		r := h.try(nil, "run", "--listen", tc.listen)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, tc.listen) {
			t.Errorf("--listen %s: exit %d, stderr %q (want %q)", tc.listen, r.code, r.stderr, tc.want)
		}
		if tc.want != "another program" && strings.Contains(r.stderr, "another program") {
			t.Errorf("--listen %s blames another program: %q", tc.listen, r.stderr)
		}
	}
}

// TestReadParityDaemonAndStore: every read command and flag combination
// prints the same output, exit code and error whether the daemon answers
// or the store is read directly.
func TestReadParityDaemonAndStore(t *testing.T) {
	h := newHome(t, claudetest.Options{TotalBytes: 3 << 20, Files: 600, Seed: 27, SubagentFraction: 0.3})
	h.env = append(h.env, "SESSIOND_IDLE_TIMEOUT=1h", "TZ=UTC")
	d := h.start(freePort(t))
	d.ready(t)
	// (The configured address is the daemon's, as a user's would be.)
	h.env = append(h.env, "SESSIOND_LISTEN="+d.addr)
	cases := [][]string{
		{"sessions"}, {"sessions", "--json"}, {"sessions", "--provider", "claude-code"},
		{"sessions", "--provider", "codex"}, {"sessions", "--since", "2026-01-01"}, {"sessions", "--since", "2999-01-01", "--json"},
		{"sessions", "--since", "yesterday"},
		{"stats"}, {"stats", "--json"}, {"stats", "--by", "project"}, {"stats", "--by", "model", "--json"},
		{"stats", "--by", "day"}, {"stats", "--by", "month"},
		{"events"}, {"events", "--json"}, {"events", "--limit", "0"}, {"events", "--limit", "20000", "--json"},
		{"events", "--limit", "1"}, {"events", "--since", "5", "--limit", "3"}, {"events", "--limit", "-1"},
		{"events", "--since", "18446744073709551615"}, {"events", "--since", "18446744073709551614", "--limit", "0"},
	}
	viaDaemon := make([]result, len(cases))
	for i, args := range cases {
		viaDaemon[i] = h.try(nil, args...)
	}
	var head uint64
	for line := range strings.Lines(viaDaemon[15].stdout) { // events --limit 0
		fmt.Sscan(line, &head)
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i, args := range cases {
		viaStore := h.try(nil, args...)
		if viaStore != viaDaemon[i] {
			t.Errorf("%v differs:\n daemon: exit %d %q\n%s\n store:  exit %d %q\n%s", args, viaDaemon[i].code, viaDaemon[i].stderr,
				head10(viaDaemon[i].stdout), viaStore.code, viaStore.stderr, head10(viaStore.stdout))
		}
	}
	t.Logf("event head %d", head)
	if n := strings.Count(viaDaemon[15].stdout, "\n"); head == 0 || uint64(n) != head {
		t.Errorf("events --limit 0 printed %d events, head %d", n, head)
	}
	if viaDaemon[20].code == 0 || viaDaemon[20].stdout != "" {
		t.Errorf("events --since 2^64-1: %+v", viaDaemon[20])
	}
}

func head10(s string) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 10 {
		return strings.Join(lines[:10], "") + fmt.Sprintf("… (%d lines)", len(lines))
	}
	return s
}

// TestIdleConnectionFloodKeepsAppendsCounted opens ~20,000 idle keep-alive
// connections to a daemon whose descriptor limit is 1024, then appends to
// a session: the append must be counted (the API connections must not take
// the descriptors the daemon needs to read files).
func TestIdleConnectionFloodKeepsAppendsCounted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs prlimit")
	}
	if testing.Short() {
		t.Skip("opens 20,000 connections")
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	conns := min(20000, int(lim.Max)-300)
	if int(lim.Cur) < conns+200 {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}
	if conns < 5000 {
		t.Skipf("the descriptor limit (%d) allows too few connections", lim.Max)
	}
	h := newHome(t, claudetest.Options{TotalBytes: 1 << 19, Seed: 28})
	d := h.start(freePort(t))
	d.ready(t)
	daemonLimit := unix.Rlimit{Cur: 1024, Max: 1024}
	if err := unix.Prlimit(d.cmd.Process.Pid, unix.RLIMIT_NOFILE, &daemonLimit, nil); err != nil {
		t.Fatal(err)
	}

	// One connection opened before the flood and kept busy: the test's
	// view of the daemon.
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	probe := &api.Client{Base: d.addr, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	ctx := context.Background()
	if _, err := probe.Sessions(ctx, nil); err != nil {
		t.Fatal(err)
	}

	// The flood: each connection sends one request and then idles,
	// keeping the connection alive.
	var (
		mu    sync.Mutex
		flood []net.Conn
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	req := []byte("GET /healthz HTTP/1.1\r\nHost: " + d.addr + "\r\n\r\n")
	start := time.Now()
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(conns) {
				c, err := net.DialTimeout("tcp", d.addr, 100*time.Millisecond)
				if err != nil {
					continue // the accept queue is full: the kernel drops the SYN
				}
				_, _ = c.Write(req)
				mu.Lock()
				flood = append(flood, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d of %d connections established in %s", len(flood), conns, time.Since(start).Round(time.Millisecond))

	path := filepath.Join(h.dir, ".claude", "projects", "-home-dev-flood", "aaaaaaaa-0000-4000-8000-0000000000ff.jsonl")
	if err := claudetest.AppendSession(path, 2, 1); err != nil {
		t.Fatal(err)
	}
	want, err := claudetest.Count(filepath.Join(h.dir, ".claude"))
	if err != nil {
		t.Fatal(err)
	}
	key := session.Key{Provider: session.ClaudeCode, ID: "aaaaaaaa-0000-4000-8000-0000000000ff"}
	// logs reads the daemon's stderr once it has exited.
	logs := func() string { _ = d.stop(t, syscall.SIGKILL); return tail(d.stderr.String()) }
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := probe.Session(ctx, key.Provider, key.ID)
		if err == nil && v.Record.Tokens == want[key].Tokens && v.Status != session.StatusFailed {
			break
		}
		if err == nil && v.Status == session.StatusFailed {
			t.Fatalf("the session failed during the flood: %s\n%s", v.FailReason, logs())
		}
		if time.Now().After(deadline) {
			t.Fatalf("append not counted during the flood: %+v %v\n%s", v.Record.Tokens, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if l := logs(); strings.Contains(l, "too many open files") {
		t.Errorf("the daemon ran out of descriptors:\n%s", l)
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
