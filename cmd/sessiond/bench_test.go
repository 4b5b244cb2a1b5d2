package main_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// Benchmarks run the real, non-race binary on generated corpora kept in
// $SESSIOND_BENCH_DIR (default: <tmp>/sessiond-bench), generated once.
// Figures, machine and commands are in BENCHMARKS.md.

var (
	benchBinOnce sync.Once
	benchBin     string
)

func benchBinary(b *testing.B) string {
	benchBinOnce.Do(func() {
		benchBin = filepath.Join(binDir, "sessiond-bench")
		if out, err := exec.Command("go", "build", "-o", benchBin, ".").CombinedOutput(); err != nil {
			b.Fatalf("build: %v\n%s", err, out)
		}
	})
	return benchBin
}

func benchDir() string {
	if d := os.Getenv("SESSIOND_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sessiond-bench")
}

// corpus returns a home directory holding a generated Claude corpus.
func corpus(b *testing.B, name string, opt claudetest.Options) (string, claudetest.Summary) {
	b.Helper()
	home := filepath.Join(benchDir(), name)
	marker := filepath.Join(home, ".complete")
	if _, err := os.Stat(marker); err != nil {
		_ = os.RemoveAll(home)
		start := time.Now()
		if _, err := claudetest.Generate(filepath.Join(home, ".claude"), opt); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %s in %s", name, time.Since(start))
	}
	var sum claudetest.Summary
	_ = filepath.WalkDir(filepath.Join(home, ".claude"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			if fi, err := d.Info(); err == nil {
				sum.Bytes += fi.Size()
				sum.Files++
			}
		}
		return nil
	})
	return home, sum
}

func benchCmd(b *testing.B, home, data string, args ...string) *exec.Cmd {
	c := exec.Command(benchBinary(b), append([]string{"--data-dir", data, "--log-level", "warn"}, args...)...)
	c.Env = append(os.Environ(), "HOME="+home, "CLAUDE_CONFIG_DIR=", "XDG_DATA_HOME=", "SESSIOND_LISTEN=127.0.0.1:1")
	c.Stderr = os.Stderr
	return c
}

func maxRSSMiB(c *exec.Cmd) float64 {
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return 0
}

// warm reads every file once so the page cache, not the disk, is measured
// (the figure is about sessiond, and a developer's logs are usually cached).
func warm(b *testing.B, home string) {
	_ = filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if f, err := os.Open(p); err == nil {
				buf := make([]byte, 1<<20)
				for {
					if _, err := f.Read(buf); err != nil {
						break
					}
				}
				f.Close()
			}
		}
		return nil
	})
}

// BenchmarkColdScan: `sessiond scan` of a ≥ 600 MB corpus into an empty
// data dir, end to end (read, parse, commit). Target ≥ 500 MB/s, peak RSS
// < 150 MiB.
func BenchmarkColdScan(b *testing.B) {
	home, sum := corpus(b, "cold-600mb", claudetest.Options{TotalBytes: 620 << 20, Seed: 1})
	warm(b, home)
	var rss float64
	b.SetBytes(sum.Bytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := b.TempDir()
		c := benchCmd(b, home, data, "scan")
		b.StartTimer()
		if err := c.Run(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rss = max(rss, maxRSSMiB(c))
		b.StartTimer()
	}
	b.ReportMetric(rss, "peak-RSS-MiB")
	b.ReportMetric(float64(sum.Files), "files")
}

// BenchmarkRescanUnchanged: a second `sessiond scan` over 3000 files with
// nothing changed. Target < 0.3 s.
func BenchmarkRescanUnchanged(b *testing.B) {
	home, sum := corpus(b, "files-3000", claudetest.Options{TotalBytes: 300 << 20, Files: 3000, Seed: 2})
	data := filepath.Join(benchDir(), "files-3000-data")
	_ = os.RemoveAll(data)
	if err := benchCmd(b, home, data, "scan").Run(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := benchCmd(b, home, data, "scan").Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Files), "files")
}

// BenchmarkAppendToEvent: with the daemon running over 3000 sessions, the
// time from appending one response to a session file to receiving its
// committed event on the SSE stream. Target p99 < 50 ms.
func BenchmarkAppendToEvent(b *testing.B) {
	home, _ := corpus(b, "files-3000", claudetest.Options{TotalBytes: 300 << 20, Files: 3000, Seed: 2})
	data := filepath.Join(benchDir(), "files-3000-data")
	if _, err := os.Stat(data); err != nil {
		if err := benchCmd(b, home, data, "scan").Run(); err != nil {
			b.Fatal(err)
		}
	}
	addr := freePortB(b)
	d := benchCmd(b, home, data, "run", "--listen", addr)
	if err := d.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
	waitReady(b, addr)
	paths := mainFiles(home)
	cl := &api.Client{Base: "http://" + addr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan session.Event, 1024)
	go func() { _ = cl.Follow(ctx, api.SinceHead, func(e session.Event) error { events <- e; return nil }) }()
	time.Sleep(200 * time.Millisecond) // let the stream connect before the first sample
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := paths[rng.IntN(len(paths))]
		id := session.ID(strings.TrimSuffix(filepath.Base(p), ".jsonl"))
		start := time.Now()
		if err := claudetest.AppendSession(p, 1, int64(i)); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case e := <-events:
				if e.ID != id {
					continue
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("no event for %s", id)
			}
			break
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkIdle: the daemon idle over histories of 3,000 and 30,000
// transcript files (about 2,000 and 20,000 sessions; restarted over a
// scanned store): resident memory, live
// Go heap and CPU used during 30 s without changes, after a settle
// ($SESSIOND_BENCH_SETTLE, default 150 s: the runtime's periodic GC and
// scavenger return the start-up garbage within about two minutes).
// Targets: CPU < 1 % of a core; RSS growing sub-linearly with sessions.
// The bytes per tracked session are the RSS and heap differences between
// the two sizes divided by the difference in sessions.
func BenchmarkIdle(b *testing.B) {
	settle := 150 * time.Second
	if v := os.Getenv("SESSIOND_BENCH_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SESSIOND_BENCH_SETTLE: %v", err)
		}
		settle = d
	}
	for _, c := range []struct {
		name string
		opt  claudetest.Options
	}{
		{"files=3000", claudetest.Options{TotalBytes: 300 << 20, Files: 3000, Seed: 2}},
		{"files=30000", claudetest.Options{TotalBytes: 300 << 20, Files: 30000, Seed: 2}},
	} {
		b.Run(c.name, func(b *testing.B) {
			name := "files-" + strconv.Itoa(c.opt.Files)
			home, _ := corpus(b, name, c.opt)
			data := filepath.Join(benchDir(), name+"-data")
			if _, err := os.Stat(data); err != nil {
				if err := benchCmd(b, home, data, "scan").Run(); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < b.N; i++ {
				addr := freePortB(b)
				d := benchCmd(b, home, data, "run", "--listen", addr)
				if err := d.Start(); err != nil {
					b.Fatal(err)
				}
				waitReady(b, addr)
				time.Sleep(settle)
				cpu0 := cpuTicks(b, d.Process.Pid)
				time.Sleep(30 * time.Second)
				cpu1 := cpuTicks(b, d.Process.Pid)
				rss := rssMiB(b, d.Process.Pid)
				heap := scrapeGauge(b, addr, "go_memstats_heap_inuse_bytes")
				sessions := scrapeGauge(b, addr, "sessiond_sessions")
				_ = d.Process.Signal(syscall.SIGTERM)
				_ = d.Wait()
				b.ReportMetric(sessions, "sessions")
				b.ReportMetric(rss, "RSS-MiB")
				b.ReportMetric(heap/(1<<20), "heap-MiB")
				b.ReportMetric(float64(cpu1-cpu0)/100/30*100, "CPU-%") // ticks are 1/100 s
			}
		})
	}
}

// scrapeGauge sums the samples of a metric on the daemon's /metrics.
func scrapeGauge(b *testing.B, addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

func mainFiles(home string) []string {
	var out []string
	_ = filepath.WalkDir(filepath.Join(home, ".claude", "projects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") && !strings.HasPrefix(filepath.Base(p), "agent-") {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func freePortB(b *testing.B) string {
	l, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(b *testing.B, addr string) {
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if (&api.Client{Base: "http://" + addr}).Healthy(context.Background()) {
			if resp, err := httpGet("http://" + addr + "/readyz"); err == nil && resp == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("daemon not ready")
}

// cpuTicks is utime+stime of pid in clock ticks (100 Hz).
func cpuTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func rssMiB(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
