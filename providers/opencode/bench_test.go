package opencode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

// benchCorpus generates a corpus once per options into
// $SESSIOND_BENCH_DIR (default /tmp/sessiond-bench) and reuses it.
func benchCorpus(b *testing.B, o opencodetest.Options) (string, *opencodetest.Summary) {
	b.Helper()
	base := os.Getenv("SESSIOND_BENCH_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "sessiond-bench")
	}
	h := sha256.Sum256(fmt.Appendf(nil, "opencode-v1 %+v", o))
	dir := filepath.Join(base, "opencode-"+hex.EncodeToString(h[:6]))
	sumPath := filepath.Join(dir, "summary.json")
	if data, err := os.ReadFile(sumPath); err == nil {
		var sum opencodetest.Summary
		if json.Unmarshal(data, &sum) == nil {
			return dir, &sum
		}
	}
	os.RemoveAll(dir)
	sum, err := opencodetest.Generate(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	data, _ := json.Marshal(sum)
	if err := os.WriteFile(sumPath, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, sum
}

// warm reads every file below dir once, so the page cache, not the disk,
// is measured.
func warm(b *testing.B, dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.ReadFile(p)
		}
		return nil
	})
}

// BenchmarkParser measures turning OpenCode's stored JSON into counts, on
// one core: the message and part rows of a generated corpus digested into
// session documents, then parsed (MB/s of row data).
func BenchmarkParser(b *testing.B) {
	dir, _ := benchCorpus(b, opencodetest.Options{TotalBytes: 16 << 20, Seed: 3})
	p := testProvider(b)
	type sess struct{ msgs, parts [][2][]byte }
	var all []sess
	var n int64
	ctx := context.Background()
	db, release, _, err := p.db(filepath.Join(dir, "opencode.db")).handle()
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	rows, err := db.QueryContext(ctx, "SELECT id FROM session")
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		var s sess
		for _, q := range []struct {
			query string
			dst   *[][2][]byte
		}{{"SELECT id, data FROM message WHERE session_id = ?", &s.msgs}, {"SELECT id, data FROM part WHERE session_id = ?", &s.parts}} {
			rows, err := db.QueryContext(ctx, q.query, id)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var rid string
				var data []byte
				if err := rows.Scan(&rid, &data); err != nil {
					b.Fatal(err)
				}
				*q.dst = append(*q.dst, [2][]byte{[]byte(rid), data})
				n += int64(len(data))
			}
			rows.Close()
		}
		all = append(all, s)
	}
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, s := range all {
			doc := document{V: docVersion, Messages: []docMessage{}}
			for _, m := range s.msgs {
				doc.addMessage(string(m[0]), m[1])
			}
			for _, pt := range s.parts {
				doc.addPart(string(pt[0]), pt[1])
			}
			data, err := jsonMarshal(&doc)
			if err != nil {
				b.Fatal(err)
			}
			var d session.Delta
			if err := (&Parser{}).Document(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadDoc measures ReadDoc (SQLite reads included) over every
// session of a generated database (MB/s of database file).
func BenchmarkReadDoc(b *testing.B) {
	dir, sum := benchCorpus(b, opencodetest.Options{TotalBytes: 16 << 20, Seed: 3})
	warm(b, dir)
	p := testProvider(b)
	docs := expand(b, p, sum.DB)
	b.SetBytes(sum.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for path := range docs {
			if _, err := p.ReadDoc(context.Background(), path); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTreeColdScan runs the real tree over a generated data directory
// (a 60+ MB opencode.db and a legacy tree, a tenth of it duplicated in
// both) with an empty store until it is idle (MB/s of database and legacy
// files).
func BenchmarkTreeColdScan(b *testing.B) {
	dir, sum := benchCorpus(b, opencodetest.Options{TotalBytes: 56 << 20, Seed: 1, Legacy: true})
	warm(b, dir)
	b.SetBytes(sum.Bytes)
	b.ResetTimer()
	for b.Loop() {
		p := New()
		e := supervisiontest.New(b, p, dir)
		e.Idle()
		b.StopTimer()
		if got := len(e.Sessions()); got != len(sum.Sessions) {
			b.Fatalf("%d sessions, want %d", got, len(sum.Sessions))
		}
		e.Stop()
		p.Close()
		b.StartTimer()
	}
}

// BenchmarkTreeLiveUpdate: the tree runs idle over a database of many
// sessions; the agent works in one of them, alternately adding a message
// and rewriting its assistant message in place (the step's final tokens);
// the time from the commit until the store shows the change is reported as
// p50 and p99 milliseconds.
func BenchmarkTreeLiveUpdate(b *testing.B) {
	_, sum := benchCorpus(b, opencodetest.Options{TotalBytes: 24 << 20, Seed: 5})
	dir := b.TempDir()
	data, err := os.ReadFile(sum.DB)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "opencode.db"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	w, err := opencodetest.Open(filepath.Join(dir, "opencode.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ids := make([]string, 0, len(sum.Sessions))
	for id := range sum.Sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	id := session.ID(ids[len(ids)/2])
	p := New()
	b.Cleanup(func() { p.Close() })
	e := supervisiontest.New(b, p, dir)
	e.Idle()
	before, err := e.Session(id)
	if err != nil {
		b.Fatal(err)
	}
	input := before.Tokens.Input
	var lat []time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		at := time.Now().UnixMilli()
		t := time.Now()
		var err error
		if i%2 == 1 { // a new step: its assistant message appears
			err = w.Message(opencodetest.Message{ID: fmt.Sprintf("msg_bench_%09d", i), SessionID: string(id), Created: at, Updated: at, Data: assistantData(at, "gpt-5", 1, 1)})
			input++
		} else { // the step ends: its tokens are written in place
			err = w.Message(opencodetest.Message{ID: fmt.Sprintf("msg_bench_%09d", i-1), SessionID: string(id), Created: at, Updated: at, Data: assistantData(at, "gpt-5", int64(1+i), 1)})
			input += int64(i)
		}
		if err != nil {
			b.Fatal(err)
		}
		for {
			r, err := e.Session(id)
			if err == nil && r.Tokens.Input == input {
				break
			}
			if time.Since(t) > 10*time.Second {
				b.Fatalf("change %d not seen: %+v, want input %d", i, r.Tokens, input)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(t))
		if os.Getenv("OC_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "%s write→seen %v\n", t.Format("05.000000"), time.Since(t))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
