package gemini

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/gemini/geminitest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// benchHome returns a generated Gemini CLI home of about size bytes,
// written once into $SESSIOND_BENCH_DIR (default <tmp>/sessiond-bench) and
// reused by later runs.
func benchHome(b *testing.B, size int64, seed int64) geminitest.Summary {
	b.Helper()
	dir := os.Getenv("SESSIOND_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "sessiond-bench")
	}
	home := filepath.Join(dir, fmt.Sprintf("gemini-%dMiB-seed%d", size>>20, seed))
	opt := geminitest.Options{TotalBytes: size, Seed: seed}
	done := filepath.Join(home, "complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(home); err != nil {
			b.Fatal(err)
		}
		if _, err := geminitest.Generate(home, opt); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// the conversation files the provider reads (superseded copies are not)
	var sum geminitest.Summary
	sum.Home, sum.Root = home, filepath.Join(home, ".gemini", "tmp")
	prov := New()
	prov.Roots(providers.Env{Getenv: env("GEMINI_CLI_HOME", home)})
	err := filepath.Walk(sum.Root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if _, ok := prov.Match(sum.Root, path); ok && !fi.IsDir() {
			sum.Paths = append(sum.Paths, path)
			sum.Bytes += fi.Size()
			sum.Files++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(sum.Paths)
	return sum
}

// readAll reads every conversation file of a home (warming the page cache)
// and returns the JSONL ones and the legacy documents.
func readAll(b *testing.B, sum geminitest.Summary) (jsonl, docs [][]byte) {
	b.Helper()
	for _, p := range sum.Paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasSuffix(p, ".json") {
			docs = append(docs, data)
		} else {
			jsonl = append(jsonl, data)
		}
	}
	return jsonl, docs
}

// BenchmarkParser measures the JSONL line parser on one core over a
// generated home (re-appended responses with tool results, $set patches,
// rewinds, checkpoints): one parser per file, lines split as the daemon
// does.
func BenchmarkParser(b *testing.B) {
	sum := benchHome(b, 64<<20, 1)
	files, _ := readAll(b, sum)
	var lines [][][]byte
	var n int64
	for _, data := range files {
		var ls [][]byte
		for len(data) > 0 {
			j := bytes.IndexByte(data, '\n')
			if j < 0 {
				break
			}
			ls = append(ls, data[:j])
			n += int64(j + 1)
			data = data[j+1:]
		}
		lines = append(lines, ls)
	}
	prov := New()
	prov.Roots(providers.Env{Getenv: env("GEMINI_CLI_HOME", sum.Home)})
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, ls := range lines {
			p := prov.NewParser(session.RoleMain)
			var d session.Delta
			for _, l := range ls {
				p.Line(l, &d)
			}
			_ = p.State()
		}
	}
}

// BenchmarkDocument measures the legacy document parser on one core.
func BenchmarkDocument(b *testing.B) {
	sum := benchHome(b, 64<<20, 1)
	_, docs := readAll(b, sum)
	var n int64
	for _, d := range docs {
		n += int64(len(d))
	}
	prov := New()
	prov.Roots(providers.Env{Getenv: env("GEMINI_CLI_HOME", sum.Home)})
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, data := range docs {
			var d session.Delta
			if err := prov.NewParser(session.RoleMain).(providers.DocumentParser).Document(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTreeColdScan runs the real tree (store, bus, provider, session
// actors) over a generated home of about 64 MiB with an empty data dir,
// until every file is read; MB/s counts the bytes of the conversation files
// the provider reads. Read chunks: supervisiontest's 64 KiB, and the
// daemon's default of 1 MiB.
func BenchmarkTreeColdScan(b *testing.B) {
	sum := benchHome(b, 64<<20, 1)
	readAll(b, sum) // the page cache, not the disk, is measured
	for _, chunk := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			b.SetBytes(sum.Bytes)
			for range b.N {
				e := &supervisiontest.Env{T: b, Dir: filepath.Join(b.TempDir(), "data"), Roots: []string{sum.Root},
					Prov: New(), IdleTimeout: time.Hour, ChunkBytes: chunk}
				e.Start()
				e.Idle()
				b.StopTimer()
				if got := len(e.Sessions()); got == 0 {
					b.Fatal("no sessions")
				}
				e.Stop()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkTreeLiveUpdate measures, with the tree running over a generated
// home, the time from appending a response to a live conversation to the
// store showing its tokens; it reports the p50 and p99 in milliseconds.
// "long" appends to a conversation that already holds 4,000 live messages
// (its parser state, saved with every commit, is ~48 KB; ~96 KB with the
// UUID message ids Gemini CLI writes).
func BenchmarkTreeLiveUpdate(b *testing.B) {
	for _, tc := range []struct {
		name  string
		turns int
	}{{"fresh", 0}, {"long", 2000}} {
		b.Run(tc.name, func(b *testing.B) { benchLive(b, tc.turns) })
	}
}

func benchLive(b *testing.B, turns int) {
	sum := benchHome(b, 16<<20, 2)
	work := b.TempDir()
	// a copy of the home, so that appends do not change the cached one
	home := filepath.Join(work, "home")
	if err := os.CopyFS(home, os.DirFS(sum.Home)); err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(home, ".gemini", "tmp")
	const sid = "77777777-0000-4000-8000-000000000007"
	path := filepath.Join(root, "bench", "chats", "session-2026-05-01T09-00-77777777.jsonl")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	var pre strings.Builder
	pre.WriteString(metaLine(sid, 0) + "\n")
	var input int64
	for i := range turns {
		id := fmt.Sprintf("p%d", i)
		pre.WriteString(userLine("q"+id, i) + "\n" + geminiLine(id, i, "gemini-2.5-pro", 1000+i, 0, 10, "success") + "\n")
		input += int64(1000 + i)
	}
	if err := os.WriteFile(path, []byte(pre.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	e := supervisiontest.New(b, New(), root)
	e.Idle()
	key := session.Key{Provider: session.GeminiCode, ID: sid}
	supervisiontest.Eventually(b, "the prepared session", func() (bool, string) {
		r, err := e.Store.Session(key)
		return err == nil && r.Tokens.Input == input, fmt.Sprint(r.Tokens, err)
	})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		// a response first written without tokens, then re-appended with them
		id := fmt.Sprintf("g%d", i)
		rec := userLine(fmt.Sprintf("u%d", i), i) + "\n" + geminiLine(id, i, "gemini-2.5-pro", -1, 0, 0) + "\n" +
			geminiLine(id, i, "gemini-2.5-pro", 1000+i, 0, 10, "success") + "\n" + setLine(i) + "\n"
		input += int64(1000 + i)
		start := time.Now()
		if _, err := f.WriteString(rec); err != nil {
			b.Fatal(err)
		}
		for {
			if r, err := e.Store.Session(key); err == nil && r.Tokens.Input == input {
				break
			}
			if time.Since(start) > 20*time.Second {
				b.Fatalf("append %d not seen", i)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// TestLineAllocs checks that the hot path does not allocate: once a
// message id is live (and its model seen), its records, re-appends and
// $set patches parse without allocating.
func TestLineAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	home := t.TempDir()
	sum, err := geminitest.Generate(home, geminitest.Options{TotalBytes: 2 << 20, Seed: 5, RewindFraction: -1, CheckpointFraction: -1,
		MalformedFraction: -1, LegacyFraction: -1})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range sum.Paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		var p Parser
		d := session.Delta{Models: make([]string, 0, 8)}
		for _, l := range lines { // every id live, every model seen
			p.Line(l, &d)
		}
		_ = p.State()
		for _, l := range lines[1:] {
			line := l
			if n := testing.AllocsPerRun(5, func() { p.Line(line, &d) }); n != 0 {
				t.Fatalf("%s: line allocates %v times: %.200s", path, n, line)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d lines checked", checked)
	}
}
