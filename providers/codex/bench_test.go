package codex

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// benchCorpus returns a generated Codex home of about total bytes, cached
// under $SESSIOND_BENCH_DIR (default /tmp/sessiond-bench) across runs, and
// its summary. Its files are read once, so the page cache, not the disk,
// is measured.
func benchCorpus(b testing.TB, total int64, seed int64) (string, codextest.Summary) {
	b.Helper()
	base := os.Getenv("SESSIOND_BENCH_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "sessiond-bench")
	}
	opt := codextest.Options{TotalBytes: total, Seed: seed}
	dir := filepath.Join(base, fmt.Sprintf("codex-%dMiB-seed%d", total>>20, seed))
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		if _, err := codextest.Generate(dir, opt); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var sum codextest.Summary
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == done {
			return err
		}
		data, err := os.ReadFile(path) // warm the page cache
		if err != nil {
			return err
		}
		sum.Files++
		sum.Bytes += int64(len(data))
		sum.Paths = append(sum.Paths, path)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, sum
}

// benchLines generates a corpus and returns the lines of its JSONL
// rollouts and their size.
func benchLines(b testing.TB, total int64) ([][]byte, int64) {
	b.Helper()
	dir := b.TempDir()
	sum, err := codextest.Generate(dir, codextest.Options{TotalBytes: total, Seed: 42, LegacyFraction: -1})
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	var n int64
	for _, p := range sum.Paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		for len(data) > 0 {
			j := bytes.IndexByte(data, '\n')
			lines = append(lines, data[:j])
			n += int64(j + 1)
			data = data[j+1:]
		}
	}
	return lines, n
}

// BenchmarkParser measures the line parser, one core, over a generated
// corpus (lines mostly 0.3–4 KB: session_meta 5–15 KB, tool outputs up to
// 80 KB).
func BenchmarkParser(b *testing.B) {
	lines, n := benchLines(b, 32<<20)
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var p Parser
		var d session.Delta
		for _, l := range lines {
			p.Line(l, &d)
		}
	}
}

// TestParserAllocs checks that the hot path does not allocate: only a
// token count (its claim key, the growth of Claims) and a line larger than
// the scratch buffer a parser keeps (maxScratch) may.
func TestParserAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	lines, _ := benchLines(t, 2<<20)
	var p Parser
	d := session.Delta{Claims: make([]session.Claim, 0, 1<<16), Models: make([]string, 0, 8)}
	for _, l := range lines { // warm up caches and buffers
		p.Line(l, &d)
	}
	checked := 0
	for i, l := range lines {
		if bytes.Contains(l, []byte(`"type":"token_count"`)) || bytes.Contains(l, []byte(`"type":"session_meta"`)) {
			continue
		}
		if len(l) > maxScratch {
			continue // a tool output larger than the kept scratch buffer is decoded into a new one, by design
		}
		line := l
		if n := testing.AllocsPerRun(5, func() { p.Line(line, &d) }); n != 0 {
			t.Fatalf("line %d allocates %v times: %.200s", i, n, line)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d lines checked", checked)
	}
}

func codexRoots(home string) []string {
	return New().Roots(providers.Env{Getenv: func(k string) string {
		if k == "CODEX_HOME" {
			return home
		}
		return ""
	}})
}

// startTree starts the real tree over roots with the daemon's read chunk
// (1 MiB; supervisiontest.New uses 64 KiB to exercise chunking).
func startTree(b testing.TB, roots []string) *supervisiontest.Env {
	e := &supervisiontest.Env{T: b, Dir: filepath.Join(b.TempDir(), "data"), Roots: roots, Prov: New(),
		IdleTimeout: time.Hour, ChunkBytes: 1 << 20}
	e.Start()
	return e
}

// BenchmarkTreeColdScan runs the real tree (store, bus, this provider)
// over a 64 MiB corpus with an empty data dir until it is idle.
func BenchmarkTreeColdScan(b *testing.B) {
	dir, sum := benchCorpus(b, 64<<20, 1)
	b.SetBytes(sum.Bytes)
	b.ReportMetric(float64(sum.Files), "files")
	b.ResetTimer()
	for b.Loop() {
		e := startTree(b, codexRoots(dir))
		b.Cleanup(e.Stop) // Stop is idempotent: this only matters on failure
		e.Idle()
		b.StopTimer()
		if n := len(e.Sessions()); n != sum.Files {
			b.Fatalf("%d sessions stored of %d files", n, sum.Files)
		}
		e.Stop()
		b.StartTimer()
	}
}

// BenchmarkTreeLiveUpdate measures, with the tree idle over a corpus, the
// time from appending a token_count to one rollout until the store shows
// the new tokens (p50 and p99 in ms).
func BenchmarkTreeLiveUpdate(b *testing.B) {
	dir, sum := benchCorpus(b, 64<<20, 1)
	// the corpus (hard links: its files are never written) and one live
	// session, in one home
	live := b.TempDir()
	for _, p := range sum.Paths {
		rel, _ := filepath.Rel(dir, p)
		dst := filepath.Join(live, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.Link(p, dst); err != nil {
			data, rerr := os.ReadFile(p)
			if rerr != nil || os.WriteFile(dst, data, 0o644) != nil {
				b.Fatal(err)
			}
		}
	}
	id := "0195a1b2-beef-7000-8000-000000000001"
	path := filepath.Join(live, "sessions", "2026", "03", "02", "rollout-2026-03-02T10-00-00-"+id+".jsonl")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(metaLine(0, id, nil)+promptLine(1, "go")), 0o644); err != nil {
		b.Fatal(err)
	}
	e := startTree(b, codexRoots(live))
	b.Cleanup(e.Stop)
	e.Idle()
	b.ReportMetric(float64(len(e.Sessions())), "sessions")
	key := session.Key{Provider: session.Codex, ID: session.ID(id)}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var total [4]int64
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		last := [4]int64{1000, 400, 50, 10}
		for j := range total {
			total[j] += last[j]
		}
		l := countLine(i+2, total, last)
		start := time.Now()
		if _, err := f.WriteString(l); err != nil {
			b.Fatal(err)
		}
		for {
			r, err := e.Store.Session(key)
			if err == nil && r.Tokens.Output == total[2] {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no update after 10 s: %+v %v", r.Tokens, err)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
