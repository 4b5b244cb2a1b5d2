package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/session"
)

// Fault tests for reading files: a huge unterminated line growing by small
// appends, and files or directories that cannot be read. They run the
// built binary (SESSIOND_FAULT_BIN, when set, names another binary to
// measure, e.g. an older build for before/after figures).

// faultHome is a home directory with one Claude Code project, owned by
// uid (the daemon runs as uid; -1: as this process).
type faultHome struct {
	tb       testing.TB
	dir      string
	project  string // <home>/.claude/projects/-home-dev-shop
	uid, gid int
	bin      string
	env      []string // extra environment of the daemon
}

func newFaultHome(tb testing.TB, bin string, uid, gid int) *faultHome {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sessiond-faults-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	h := &faultHome{tb: tb, dir: dir, project: filepath.Join(dir, ".claude", "projects", "-home-dev-shop"), uid: uid, gid: gid, bin: bin}
	if err := os.MkdirAll(h.project, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if uid >= 0 {
		// the daemon runs as uid: it needs the binary where it can reach it
		h.bin = filepath.Join(dir, "sessiond")
		if err := os.Link(bin, h.bin); err != nil {
			data, err := os.ReadFile(bin)
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(h.bin, data, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		h.chown()
	}
	return h
}

// chown gives everything in the home to the daemon's user.
func (h *faultHome) chown() {
	if h.uid < 0 {
		return
	}
	_ = filepath.WalkDir(h.dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && p != h.bin {
			err = os.Lchown(p, h.uid, h.gid)
		}
		if err != nil {
			h.tb.Fatal(err)
		}
		return nil
	})
}

func (h *faultHome) path(sid string) string { return filepath.Join(h.project, sid+".jsonl") }

func (h *faultHome) append(path, s string) {
	h.tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.tb.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		h.tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		h.tb.Fatal(err)
	}
	if h.uid >= 0 {
		if err := os.Chown(path, h.uid, h.gid); err != nil {
			h.tb.Fatal(err)
		}
	}
}

// faultDaemon is a running `sessiond run` over a faultHome.
type faultDaemon struct {
	tb     testing.TB
	cmd    *exec.Cmd
	addr   string
	stderr *logBuf
	done   chan error
}

func (h *faultHome) start(addr string) *faultDaemon {
	h.tb.Helper()
	d := &faultDaemon{tb: h.tb, addr: addr, stderr: &logBuf{}, done: make(chan error, 1)}
	d.cmd = exec.Command(h.bin, "--data-dir", filepath.Join(h.dir, "data"), "--log-level", "warn", "run", "--listen", addr, "--idle-timeout", "1h")
	d.cmd.Env = append(os.Environ(), "HOME="+h.dir, "CLAUDE_CONFIG_DIR=", "XDG_DATA_HOME=", "XDG_CONFIG_HOME=",
		"CODEX_HOME=", "GEMINI_CLI_HOME=", "COPILOT_HOME=", "OPENCODE_DB=", "SESSIOND_PROVIDERS=claude-code")
	d.cmd.Env = append(d.cmd.Env, h.env...)
	d.cmd.Stderr = d.stderr
	if h.uid >= 0 {
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(h.uid), Gid: uint32(h.gid)}}
	}
	if err := d.cmd.Start(); err != nil {
		h.tb.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	h.tb.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	d.wait("ready", func() (bool, string) {
		c, err := httpGet("http://" + addr + "/readyz")
		return c == 200, fmt.Sprint(c, err)
	})
	return d
}

// wait polls cond every 20 ms for up to a minute; the daemon must live.
func (d *faultDaemon) wait(what string, cond func() (bool, string)) {
	d.tb.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		select {
		case err := <-d.done:
			d.tb.Fatalf("daemon exited waiting for %s: %v\n%s", what, err, d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.tb.Fatalf("timed out waiting for %s; last: %s\n%s", what, last, d.stderr)
}

func (d *faultDaemon) session(sid string) (api.SessionView, error) {
	c := &api.Client{Base: "http://" + d.addr}
	return c.Session(context.Background(), session.ClaudeCode, session.ID(sid))
}

// waitSession waits until the session exists and cond holds.
func (d *faultDaemon) waitSession(sid string, cond func(api.SessionView) bool) api.SessionView {
	d.tb.Helper()
	var v api.SessionView
	d.wait("session "+sid, func() (bool, string) {
		var err error
		v, err = d.session(sid)
		return err == nil && cond(v), fmt.Sprintf("status=%s reason=%q tokens=%+v counts=%+v err=%v", v.Status, v.FailReason, v.Tokens, v.Counts, err)
	})
	return v
}

// lastError is the claude-code provider's last_error in the status.
func (d *faultDaemon) lastError() string {
	d.tb.Helper()
	resp, err := http.Get("http://" + d.addr + "/api/v1/status")
	if err != nil {
		d.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Providers []struct {
			Provider  string `json:"provider"`
			LastError string `json:"last_error"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		d.tb.Fatal(err)
	}
	for _, p := range st.Providers {
		if p.Provider == string(session.ClaudeCode) {
			return p.LastError
		}
	}
	return ""
}

func (d *faultDaemon) stop() {
	d.tb.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.tb.Fatalf("daemon: %v\n%s", err, d.stderr)
		}
	case <-time.After(time.Minute):
		d.tb.Fatalf("daemon did not stop\n%s", d.stderr)
	}
}

// procStatus reads a field of /proc/<pid>/status, in MiB.
func procStatusMiB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// procTicks is utime+stime of pid in clock ticks (100 Hz).
func procTicks(tb testing.TB, pid int) int64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// procReadChars is rchar of pid: the bytes it read.
func procReadChars(tb testing.TB, pid int) int64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func faultPrompt(sid string, n int, text string) string {
	at := time.Now().UTC().Add(-time.Minute).Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano)
	return fmt.Sprintf(`{"type":"user","uuid":"u%d","cwd":"/home/dev/shop","sessionId":%q,"timestamp":%q,"message":{"role":"user","content":%q}}`+"\n", n, sid, at, text)
}

func faultReply(sid string, n int, in int64) string {
	at := time.Now().UTC().Add(-time.Minute).Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano)
	return fmt.Sprintf(`{"type":"assistant","uuid":"a%d","cwd":"/home/dev/shop","sessionId":%q,"timestamp":%q,"requestId":"req_%d","message":{"id":"msg_%s_%d","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`+"\n",
		n, sid, at, n, sid, n, in)
}

// longLineFigures are what a growing unterminated line costs the daemon.
type longLineFigures struct {
	cpuPct  float64 // CPU time over wall time while the line grows
	rssMiB  float64 // resident memory at the end of the growth
	growMiB float64 // peak resident memory (VmHWM) above the resident memory before the line
	readMiB float64 // bytes the daemon read while the line grew
}

// longLine runs the daemon over a session whose second line is size bytes
// and unterminated, appends 10 bytes every interval for dur, then ends the
// line and checks that what follows counts.
func longLine(tb testing.TB, bin string, size int, interval, dur time.Duration, maxLine int64) longLineFigures {
	if runtime.GOOS != "linux" {
		tb.Skip("CPU and memory are read from /proc")
	}
	h := newFaultHome(tb, bin, -1, -1)
	if maxLine > 0 {
		cfg := filepath.Join(h.dir, "sessiond.toml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, "[run]\nmax_line_bytes = %d\n", maxLine), 0o644); err != nil {
			tb.Fatal(err)
		}
		h.env = append(h.env, "SESSIOND_CONFIG="+cfg)
	}
	sid := "f0000000-0000-4000-8000-000000000001"
	p := h.path(sid)
	h.append(p, faultPrompt(sid, 1, "a"))
	d := h.start(freePortTB(tb))
	defer d.stop()
	d.waitSession(sid, func(v api.SessionView) bool { return v.Counts.UserMessages == 1 })
	pid := d.cmd.Process.Pid
	rss0 := procStatusMiB(tb, pid, "VmRSS")

	line := strings.Replace(faultPrompt(sid, 2, "@"), "@", strings.Repeat("x", size), 1)
	cut := len(line) - 1 - int(dur/interval)*10
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r0 := procReadChars(tb, pid)
	for off := 0; off < cut; off += 1 << 20 {
		if _, err := f.WriteString(line[off:min(off+1<<20, cut)]); err != nil {
			tb.Fatal(err)
		}
	}
	d.wait("the long line scanned", func() (bool, string) { n := procReadChars(tb, pid) - r0; return n >= int64(cut)-4096, fmt.Sprint(n) })

	r1, cpu0, start := procReadChars(tb, pid), procTicks(tb, pid), time.Now()
	tick := time.NewTicker(interval)
	for off := cut; off+10 <= len(line)-1; off += 10 {
		<-tick.C
		if _, err := f.WriteString(line[off : off+10]); err != nil {
			tb.Fatal(err)
		}
	}
	tick.Stop()
	<-time.After(interval) // the last append is read
	fig := longLineFigures{
		cpuPct:  float64(procTicks(tb, pid)-cpu0) / 100 / time.Since(start).Seconds() * 100,
		rssMiB:  procStatusMiB(tb, pid, "VmRSS"),
		growMiB: procStatusMiB(tb, pid, "VmHWM") - rss0,
		readMiB: float64(procReadChars(tb, pid)-r1) / (1 << 20),
	}
	tb.Logf("%d byte line, 10 B every %s for %s: CPU %.1f%%, RSS %.1f MiB, peak growth %.1f MiB, read %.2f MiB while growing",
		size, interval, dur, fig.cpuPct, fig.rssMiB, fig.growMiB, fig.readMiB)
	if _, err := f.WriteString("\n" + faultReply(sid, 3, 7)); err != nil {
		tb.Fatal(err)
	}
	v := d.waitSession(sid, func(v api.SessionView) bool { return v.Record.Tokens.Input == 7 })
	if above := maxLine > 0 && int64(size) > maxLine || maxLine <= 0 && size > 64<<20; above != (v.Counts.UserMessages == 1) {
		tb.Fatalf("line of %d bytes with max_line_bytes %d: %d user messages", size, maxLine, v.Counts.UserMessages)
	}
	return fig
}

func freePortTB(tb testing.TB) string {
	tb.Helper()
	l, err := netListen()
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func faultBinary(tb testing.TB, build func() string) string {
	if b := os.Getenv("SESSIOND_FAULT_BIN"); b != "" {
		return b
	}
	return build()
}

// A 50 MiB unterminated line growing by 10 bytes every 100 ms: the daemon
// reads only the appends (not the line again on each) and never holds the
// unfinished line in memory; with run.max_line_bytes = 16 MiB it is
// skipped once it ends, and what follows counts.
func TestFaultLongUnterminatedLine(t *testing.T) {
	bin := faultBinary(t, func() string { return raceBinary(t) })
	fig := longLine(t, bin, 50<<20, 100*time.Millisecond, 3*time.Second, 16<<20)
	if fig.readMiB > 1 {
		t.Errorf("read %.1f MiB while 300 bytes were appended: the unfinished line is read again", fig.readMiB)
	}
	if fig.growMiB > 20 {
		t.Errorf("resident memory grew %.1f MiB for the unfinished line", fig.growMiB)
	}
	if fig.cpuPct > 20 {
		t.Errorf("CPU %.1f%% while the line grew", fig.cpuPct)
	}
}

// BenchmarkLongUnterminatedLine: the case, a 200 MB unterminated
// line growing by 10 bytes every 0.5 s, for 30 s (above the 64 MiB default
// cap: it is skipped once its newline arrives).
func BenchmarkLongUnterminatedLine(b *testing.B) {
	bin := faultBinary(b, func() string { return benchBinary(b) })
	for range b.N {
		fig := longLine(b, bin, 200_000_000, 500*time.Millisecond, 30*time.Second, 0)
		b.ReportMetric(fig.cpuPct, "CPU-%")
		b.ReportMetric(fig.rssMiB, "RSS-MiB")
		b.ReportMetric(fig.growMiB, "peak-growth-MiB")
		b.ReportMetric(fig.readMiB, "read-MiB")
	}
}

// chmod 000 on a session file, then on its directory: the daemon (run as
// an unprivileged user, since root reads through chmod 000) reports the
// session failed with the reason within seconds, and counts the appends
// and clears the failure within seconds of the fix.
func TestFaultUnreadableFileAndDirectory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		uid, gid = 65534, 65534 // nobody: chmod 000 denies it
	}
	h := newFaultHome(t, faultBinary(t, func() string { return raceBinary(t) }), uid, gid)
	sid := "f0000000-0000-4000-8000-000000000002"
	p := h.path(sid)
	h.append(p, faultPrompt(sid, 1, "a")+faultReply(sid, 2, 10))
	d := h.start(freePortTB(t))
	defer d.stop()
	d.waitSession(sid, func(v api.SessionView) bool { return v.Record.Tokens.Input == 10 })

	in := int64(10)
	for _, target := range []string{p, h.project} {
		name := map[bool]string{true: "file", false: "directory"}[target == p]
		mode := os.FileMode(0o644)
		if target != p {
			mode = 0o755
		}
		if err := os.Chmod(target, 0); err != nil {
			t.Fatal(err)
		}
		locked := time.Now()
		v := d.waitSession(sid, func(v api.SessionView) bool { return v.Status == session.StatusFailed })
		reported := time.Since(locked)
		if !strings.Contains(v.FailReason, "permission denied") || !strings.Contains(v.FailReason, p) {
			t.Errorf("%s: fail reason %q lacks the file or the error", name, v.FailReason)
		}
		if le := d.lastError(); !strings.Contains(le, "permission denied") {
			t.Errorf("%s: last_error %q", name, le)
		}
		if uid >= 0 { // root writes through chmod 000, like an agent holding the file open
			in += 5
			h.append(p, faultReply(sid, int(in), 5))
		}
		if err := os.Chmod(target, mode); err != nil {
			t.Fatal(err)
		}
		fixed := time.Now()
		v = d.waitSession(sid, func(v api.SessionView) bool {
			return v.Status != session.StatusFailed && v.Record.Tokens.Input == in
		})
		recovered := time.Since(fixed)
		d.wait("last_error cleared", func() (bool, string) { le := d.lastError(); return le == "", le })
		t.Logf("chmod 000 on the %s: failure reported in %s, recovery seen %s after the fix", name, reported.Round(time.Millisecond), recovered.Round(time.Millisecond))
		if reported > 5*time.Second || recovered > 5*time.Second {
			t.Errorf("%s: reported in %s, recovered in %s; want both within seconds", name, reported, recovered)
		}
	}
	if !strings.Contains(d.stderr.String(), "permission denied") {
		t.Errorf("the log does not say why:\n%s", d.stderr)
	}
}
