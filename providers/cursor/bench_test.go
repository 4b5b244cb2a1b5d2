package cursor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// benchCorpus returns a generated tree of about size bytes, cached under
// $SESSIOND_BENCH_DIR (default /tmp/sessiond-bench) across runs.
func benchCorpus(b *testing.B, size int64, seed int64) cursortest.Summary {
	b.Helper()
	base := os.Getenv("SESSIOND_BENCH_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "sessiond-bench")
	}
	dir := filepath.Join(base, fmt.Sprintf("cursor-v1-%d-%d", size, seed))
	l := cursortest.NewLayout(dir)
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		if _, err := cursortest.Generate(dir, cursortest.Options{TotalBytes: size, Seed: seed}); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	sum := cursortest.Summary{Layout: l}
	for _, root := range l.Roots() {
		filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				data, _ := os.ReadFile(path) // into the page cache
				if filepath.Base(path) == "state.vscdb" && filepath.Base(filepath.Dir(path)) == "globalStorage" {
					sum.DBBytes = int64(len(data))
				} else {
					sum.TranscriptSize += int64(len(data))
				}
			}
			return nil
		})
	}
	return sum
}

// benchDocs reads every document of a corpus once.
func benchDocs(b *testing.B, sum cursortest.Summary) (docs [][]byte, n int64) {
	b.Helper()
	p := New()
	defer p.Close()
	ctx := context.Background()
	list, err := p.Expand(ctx, sum.GlobalDB())
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range list {
		data, err := p.ReadDoc(ctx, d.Path)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
		n += int64(len(data))
	}
	return docs, n
}

// BenchmarkParser measures the document parser on one core over the
// composer documents of a generated corpus (bubbles of 2–160 KB).
func BenchmarkParser(b *testing.B) {
	docs, n := benchDocs(b, benchCorpus(b, 16<<20, 1))
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var p Parser
		for _, doc := range docs {
			var d session.Delta
			if err := p.Document(doc, &d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParserLine measures the transcript line parser.
func BenchmarkParserLine(b *testing.B) {
	var lines [][]byte
	var n int64
	for i := range 2000 {
		var l []byte
		switch i % 4 {
		case 0:
			l = cursortest.TranscriptLine("user", "please add a health endpoint to the service and test it", 0, 0, 0)
		case 1:
			l = cursortest.TranscriptLine("assistant", "I'll look at the router first, then add the handler and a test.", 2, 0, 0)
		case 2:
			l = cursortest.TranscriptLine("user", "", 0, 2, 1)
		default:
			l = []byte(cursortest.TurnEnded)
		}
		lines = append(lines, l)
		n += int64(len(l) + 1)
	}
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

// BenchmarkExpand measures listing an unchanged database of a corpus (the
// work done on every write of the agent).
func BenchmarkExpand(b *testing.B) {
	sum := benchCorpus(b, 64<<20, 1)
	p := New()
	defer p.Close()
	ctx := context.Background()
	if _, err := p.Expand(ctx, sum.GlobalDB()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Expand(ctx, sum.GlobalDB()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTreeColdScan runs the real tree over a 64 MB corpus (database
// plus transcripts) with an empty store until it is idle. Besides MB/s it
// reports the process's CPU time per byte (MB per CPU-second), which
// varies less on a shared machine.
func BenchmarkTreeColdScan(b *testing.B) {
	sum := benchCorpus(b, 64<<20, 1)
	n := sum.DBBytes + sum.TranscriptSize
	b.SetBytes(n)
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0 := processCPU()
		p := New()
		e := supervisiontest.New(b, p, sum.Roots()...)
		e.Idle()
		cpu += processCPU() - c0
		b.StopTimer()
		if len(e.Sessions()) == 0 {
			b.Fatal("no sessions")
		}
		e.Stop()
		p.Close()
		b.StartTimer()
	}
	if cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkTreeLiveUpdate measures, with the tree running over a corpus,
// the time from a write of the agent to the store showing it: a composer
// gets one more turn; a transcript one more line.
func BenchmarkTreeLiveUpdate(b *testing.B) {
	sum := benchCorpus(b, 16<<20, 2)
	for _, kind := range []string{"composer", "transcript"} {
		b.Run(kind, func(b *testing.B) {
			root := b.TempDir()
			l := cursortest.NewLayout(root)
			// a private copy: the benchmark writes
			if err := os.CopyFS(root, os.DirFS(sum.Root)); err != nil {
				b.Fatal(err)
			}
			os.MkdirAll(filepath.Join(l.Code, "shop"), 0o755)
			db, err := cursortest.Open(l.GlobalDB(), "wal")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			p := New()
			defer p.Close()
			e := supervisiontest.New(b, p, l.Roots()...)
			e.Idle()
			id := session.ID("live")
			c := conv("live", 1, 10, 1)
			path := filepath.Join(l.TranscriptDir(filepath.Join(l.Code, "shop")), "tlive", "tlive.jsonl")
			switch kind {
			case "composer":
				if err := db.WriteComposer(c); err != nil {
					b.Fatal(err)
				}
			default:
				id = "tlive"
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(transcriptLines(1)), 0o644)
			}
			e.WaitSession(id, func(r session.Record) bool { return r.UserMessages >= 1 })
			var lat []time.Duration
			line := append(cursortest.TranscriptLine("user", "one more", 0, 0, 0), '\n')
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				want := int64(i + 2)
				var start time.Time
				switch kind {
				case "composer":
					// as Cursor does: the new bubble, then the composer
					bubble := cursortest.Bubble{ID: "u" + strconv.Itoa(i), Type: 1, Text: "again", Created: c.Updated}
					c.Bubbles = append(c.Bubbles, bubble)
					c.Updated = c.Updated.Add(time.Second)
					if err := db.PutKV(cursortest.BubbleKey(c.ID, bubble.ID), bubble.JSON()); err != nil {
						b.Fatal(err)
					}
					start = time.Now()
					if err := db.PutKV(cursortest.ComposerKey(c.ID), c.JSON()); err != nil {
						b.Fatal(err)
					}
				default:
					start = time.Now()
					f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
					f.Write(line)
					f.Close()
				}
				for {
					r, err := e.Session(id)
					if err == nil && r.UserMessages >= want {
						break
					}
					if time.Since(start) > 20*time.Second {
						b.Fatalf("update %d not seen", i)
					}
					time.Sleep(100 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
		})
	}
}
