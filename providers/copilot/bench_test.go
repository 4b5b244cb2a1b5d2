package copilot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// benchCorpus returns a generated corpus of about size bytes, written once
// into $SESSIOND_BENCH_DIR (default <tmp>/sessiond-bench) and reused by
// later runs, and the bytes of the files the provider reads (superseded
// .json files and older copies are not read).
func benchCorpus(b *testing.B, size, seed int64) (copilottest.Summary, int64) {
	b.Helper()
	dir := os.Getenv("SESSIOND_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "sessiond-bench")
	}
	corpus := filepath.Join(dir, fmt.Sprintf("copilot-%dMiB-seed%d", size>>20, seed))
	opt := copilottest.Options{TotalBytes: size, Seed: seed}
	done := filepath.Join(corpus, "complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(corpus); err != nil {
			b.Fatal(err)
		}
		if _, err := copilottest.Generate(corpus, opt); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	sum := copilottest.Summary{User: filepath.Join(corpus, "Code", "User"), CLI: filepath.Join(corpus, "copilot", "session-state")}
	p := New()
	read := map[string]bool{}
	for _, root := range sum.Roots() {
		err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			m, ok := p.Match(root, path)
			if !ok {
				return nil
			}
			sum.Paths = append(sum.Paths, path)
			sum.Bytes += fi.Size()
			if !m.Container {
				read[path] = true
				return nil
			}
			cf, _ := parseChatFile(path)
			_ = p.chats.ensure(context.Background(), cf.user)
			if best, ok := p.chats.choose(cf.user, cf.id); ok {
				read[best.path] = true
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var n int64
	for path := range read {
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		n += fi.Size()
	}
	slices.Sort(sum.Paths)
	return sum, n
}

// readFiles reads the corpus files whose name ends in suffix and that match
// filter (warming the page cache).
func readFiles(b *testing.B, sum copilottest.Summary, filter func(string) bool) [][]byte {
	b.Helper()
	var out [][]byte
	for _, p := range sum.Paths {
		if !filter(p) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func isChatLog(p string) bool {
	return strings.HasSuffix(p, ".jsonl") && !strings.Contains(p, "session-state")
}
func isChatJSON(p string) bool { return strings.HasSuffix(p, ".json") }
func isCLI(p string) bool      { return strings.Contains(p, "session-state") }

// BenchmarkParser measures the parsers on one core over a generated corpus:
// VS Code .json documents and .jsonl mutation logs (whole, as ReadDoc
// returns them), and Copilot CLI event logs line by line as the daemon
// splits them.
func BenchmarkParser(b *testing.B) {
	sum, _ := benchCorpus(b, 64<<20, 1)
	docBench := func(name, format string, filter func(string) bool) {
		files := readFiles(b, sum, filter)
		var n int64
		for i, f := range files {
			files[i] = append(appendHeader(nil, format, "/home/dev/shop"), f...)
			n += int64(len(f))
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				for _, data := range files {
					var d session.Delta
					if err := new(Parser).Document(data, &d); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	docBench("chat-json", formatJSON, isChatJSON)
	docBench("chat-jsonl", formatJSONL, isChatLog)
	b.Run("cli", func(b *testing.B) {
		var lines [][][]byte
		var n int64
		for _, data := range readFiles(b, sum, isCLI) {
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
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			for _, ls := range lines {
				p := &Parser{}
				var d session.Delta
				for _, l := range ls {
					p.Line(l, &d)
				}
				_ = p.State()
			}
		}
	})
}

// BenchmarkTreeColdScan runs the real tree (store, bus, provider, session
// actors) over a generated corpus of about 64 MiB (VS Code chat sessions
// and Copilot CLI logs) with an empty data dir, until every file is read;
// MB/s counts the bytes of the session files read (superseded .json files
// and older copies are listed, not read).
func BenchmarkTreeColdScan(b *testing.B) {
	sum, n := benchCorpus(b, 64<<20, 1)
	readFiles(b, sum, func(string) bool { return true }) // the page cache, not the disk, is measured
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		e := supervisiontest.New(b, New(), sum.Roots()...)
		e.Idle()
		b.StopTimer()
		if got := len(e.Sessions()); got == 0 {
			b.Fatal("no sessions")
		}
		e.Stop()
		b.StartTimer()
	}
}

// BenchmarkTreeLiveUpdate measures, with the tree running over a generated
// corpus, the time from a change to a live session's file to the store
// showing it: a request appended to a VS Code .jsonl log of about 400 KB
// (which is replayed whole), and an assistant message appended to a
// Copilot CLI log. It reports the p50 and p99 in milliseconds.
func BenchmarkTreeLiveUpdate(b *testing.B) {
	sum, _ := benchCorpus(b, 16<<20, 2)
	work := b.TempDir()
	corpus := filepath.Join(work, "corpus")
	if err := os.CopyFS(corpus, os.DirFS(filepath.Dir(filepath.Dir(sum.User)))); err != nil {
		b.Fatal(err)
	}
	user := filepath.Join(corpus, "Code", "User")
	cli := filepath.Join(corpus, "copilot", "session-state")
	e := supervisiontest.New(b, New(), user, cli)
	e.Idle()

	measure := func(b *testing.B, key session.Key, write func(i int) error, seen func(r session.Record, i int) bool) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			if err := write(i); err != nil {
				b.Fatal(err)
			}
			for {
				if r, err := e.Store.Session(key); err == nil && seen(r, i) {
					break
				}
				if time.Since(start) > 20*time.Second {
					b.Fatalf("change %d not seen", i)
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

	// b.Run runs each function more than once: every run takes a new session
	run := 0
	b.Run("chat-jsonl", func(b *testing.B) {
		run++
		id := fmt.Sprintf("77777777-0000-4000-8000-%012d", run)
		path := filepath.Join(user, "workspaceStorage", "live", "chatSessions", id+".jsonl")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		var reqs []string
		for i := range 40 { // ≈ 400 KB of history
			reqs = append(reqs, strings.Replace(chatRequest(i, 1, 1), `"a`, `"`+strings.Repeat("x", 10000)+`a`, 1))
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(initial(reqs...)); err != nil {
			b.Fatal(err)
		}
		key := session.Key{Provider: session.GitHubCopilot, ID: session.ID(id)}
		e.WaitSession(key.ID, func(r session.Record) bool { return r.UserMessages == 40 })
		measure(b, key, func(i int) error {
			_, err := f.WriteString(`{"kind":2,"k":["requests"],"v":[` + chatRequest(100+i, 1000, 1) + "]}\n")
			return err
		}, func(r session.Record, i int) bool { return r.UserMessages == int64(41+i) })
	})
	b.Run("cli", func(b *testing.B) {
		run++
		id := fmt.Sprintf("77777777-0000-4000-8000-%012d", run)
		path := filepath.Join(cli, id, "events.jsonl")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(cliEvent("session.start", 0, `{"context":{"cwd":"/home/dev/live"}}`)); err != nil {
			b.Fatal(err)
		}
		key := session.Key{Provider: session.GitHubCopilot, ID: session.ID(id)}
		e.WaitSession(key.ID, func(r session.Record) bool { return r.CWD == "/home/dev/live" })
		var out int64
		measure(b, key, func(i int) error {
			out += int64(10 + i)
			_, err := f.WriteString(cliEvent("assistant.message", i+1, fmt.Sprintf(`{"messageId":"m%d","content":"ok","model":"gpt-5","outputTokens":%d}`, i, 10+i)))
			return err
		}, func(r session.Record, _ int) bool { return r.Tokens.Output == out })
	})
}
