package claudecode

import (
	"bytes"
	"os"
	"testing"

	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/session"
)

// generatedLines generates a realistic corpus of about total bytes and
// returns its lines (of all files, in path order).
func generatedLines(b testing.TB, total int64) [][]byte {
	lines, _ := benchLines(b, total)
	return lines
}

// benchLines generates a realistic corpus and returns its lines and size.
func benchLines(b testing.TB, total int64) ([][]byte, int64) {
	b.Helper()
	dir := b.TempDir()
	sum, err := claudetest.Generate(dir, claudetest.Options{TotalBytes: total, Seed: 42})
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

// BenchmarkParserLine measures the line parser over a generated corpus
// (lines mostly 2–4 KB, some 10–80 KB).
func BenchmarkParserLine(b *testing.B) {
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

// TestLineAllocs checks that the hot path does not allocate: only a claim
// for a new response (its key, and the growth of Claims) may.
func TestLineAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	lines := generatedLines(t, 2<<20)
	var p Parser
	d := session.Delta{Claims: make([]session.Claim, 0, 1<<16), Models: make([]string, 0, 8)}
	for _, l := range lines { // warm up caches and buffers
		p.Line(l, &d)
	}
	i := 0
	var prev []byte
	for _, l := range lines {
		// Lines that start no new claim: everything but the first line of
		// a response with usage.
		if bytes.Contains(l, []byte(`"type":"assistant"`)) && (prev == nil || !sameMessage(prev, l)) {
			prev = l
			continue
		}
		line := l
		if n := testing.AllocsPerRun(10, func() { p.Line(line, &d) }); n != 0 {
			t.Fatalf("line %d allocates %v times: %.200s", i, n, line)
		}
		i++
		if bytes.Contains(l, []byte(`"type":"assistant"`)) {
			prev = l
		}
	}
	if i < 100 {
		t.Fatalf("only %d lines checked", i)
	}
}

// sameMessage reports whether two assistant lines carry the same
// message.id and requestId (so the second folds into the first's claim).
func sameMessage(a, b []byte) bool {
	id := func(l []byte) string {
		i := bytes.Index(l, []byte(`"id":"msg_`))
		j := bytes.Index(l, []byte(`"requestId":"`))
		if i < 0 || j < 0 {
			return ""
		}
		return string(l[i:i+40]) + string(l[j:j+40])
	}
	return id(a) != "" && id(a) == id(b)
}
