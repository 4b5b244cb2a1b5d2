package claudetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPlanShape checks the file size shape of a large corpus without
// writing it: median ≈ 100 KB, p90 ≈ 650 KB, p99 ≈ 5 MB, a few files of
// tens of MB.
func TestPlanShape(t *testing.T) {
	opt := Options{TotalBytes: 600 << 20, Seed: 1}.normalized()
	sizes := planSizes(rand.New(rand.NewPCG(1, 2)), opt)
	slices.Sort(sizes)
	pct := func(p float64) int64 { return sizes[int(p*float64(len(sizes)))] }
	var sum, big int64
	for _, s := range sizes {
		sum += s
		if s >= 10<<20 {
			big++
		}
	}
	t.Logf("%d files, p50 %d, p90 %d, p99 %d, max %d, %d ≥ 10 MiB", len(sizes), pct(.5), pct(.9), pct(.99), sizes[len(sizes)-1], big)
	within := func(name string, got, lo, hi int64) {
		if got < lo || got > hi {
			t.Errorf("%s = %d, want [%d, %d]", name, got, lo, hi)
		}
	}
	within("total", sum, 600<<20*99/100, 600<<20*101/100)
	within("p50", pct(.5), 85e3, 120e3)
	within("p90", pct(.9), 550e3, 780e3)
	within("p99", pct(.99), 4e6, 6.5e6)
	within("files ≥ 10 MiB", big, 3, 20)
	within("max", sizes[len(sizes)-1], 20e6, 70e6)
}

var (
	mainRe   = regexp.MustCompile(`^projects/[^/]+/([0-9a-f-]{36})\.jsonl$`)
	flatRe   = regexp.MustCompile(`^projects/[^/]+/agent-[0-9a-f]{8}\.jsonl$`)
	nestedRe = regexp.MustCompile(`^projects/[^/]+/([0-9a-f-]{36})/subagents/agent-a[0-9a-f]{16}\.jsonl$`)
	msgIDRe  = regexp.MustCompile(`"id":"(msg_[0-9A-Za-z]+)"`)
)

// firstSessionID returns the sessionId of the first line of a file.
func firstSessionID(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ SessionID string }
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("%s: first line: %v", path, err)
	}
	return v.SessionID
}

// TestGenerate checks a generated corpus: its size and shape, its layout,
// replays, damaged lines, and that Count sees every session and line.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	const total = 24 << 20
	sum, err := Generate(dir, Options{TotalBytes: total, Seed: 1, ReplayFraction: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	s := sum
	s.Paths = nil
	t.Logf("%+v", s)

	if sum.Bytes < total*9/10 || sum.Bytes > total*11/10 {
		t.Errorf("Bytes = %d, want about %d", sum.Bytes, total)
	}
	if sum.Files != len(sum.Paths) || sum.Files != sum.MainFiles+sum.SubagentFiles || sum.MainFiles != sum.Sessions {
		t.Errorf("inconsistent counts: %+v", s)
	}
	if sum.SubagentFiles == 0 || sum.FlatSubagentFiles == 0 || sum.FlatSubagentFiles == sum.SubagentFiles {
		t.Errorf("want subagent files in both layouts: %d, %d flat", sum.SubagentFiles, sum.FlatSubagentFiles)
	}
	if sum.Replays == 0 || sum.Malformed == 0 {
		t.Errorf("want replays and malformed lines: %d, %d", sum.Replays, sum.Malformed)
	}
	if sum.BackgroundForks == 0 || sum.BackgroundForks == sum.Replays {
		t.Errorf("want background hand-offs among the %d replays: %d", sum.Replays, sum.BackgroundForks)
	}
	if sum.FileP50 < 40e3 || sum.FileP50 > 250e3 || sum.FileP90 < 300e3 || sum.FileP90 > 1.5e6 {
		t.Errorf("file sizes p50 %d, p90 %d: off shape", sum.FileP50, sum.FileP90)
	}
	if sum.LineP50 < 2000 || sum.LineP50 > 4096 || sum.LineP90 > 4600 || sum.LineP99 < 10000 || sum.LineMax > 90000 {
		t.Errorf("line sizes p50 %d, p90 %d, p99 %d, max %d: off shape", sum.LineP50, sum.LineP90, sum.LineP99, sum.LineMax)
	}

	mains := map[string]bool{}
	for _, p := range sum.Paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if m := mainRe.FindStringSubmatch(rel); m != nil {
			mains[m[1]] = true
		}
	}
	msgFiles := map[string]map[string]bool{} // message id → main files
	for _, p := range sum.Paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case mainRe.MatchString(rel):
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgIDRe.FindAllSubmatch(data, -1) {
				id := string(m[1])
				if msgFiles[id] == nil {
					msgFiles[id] = map[string]bool{}
				}
				msgFiles[id][p] = true
			}
		case flatRe.MatchString(rel):
			if id := firstSessionID(t, p); !mains[id] {
				t.Errorf("%s: first line names session %q, not a main file", rel, id)
			}
		case nestedRe.MatchString(rel):
			id := nestedRe.FindStringSubmatch(rel)[1]
			if !mains[id] || firstSessionID(t, p) != id {
				t.Errorf("%s: parent %s missing or not named inside", rel, id)
			}
		default:
			t.Errorf("unexpected path %s", rel)
		}
	}
	shared := 0
	for _, files := range msgFiles {
		if len(files) > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no message id appears in two main files: replays copy nothing")
	}

	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	var records, malformed, subagents int64
	for _, e := range got {
		records += e.Records
		malformed += e.Malformed
		subagents += e.Subagents
		// Tokens may be zero: a session copied whole into a resume with a
		// smaller id loses its claims to it (same timestamps, id tie-break).
		if e.AssistantMessages == 0 || len(e.Models) == 0 || e.CWD == "" {
			t.Errorf("empty-looking session: %+v", e)
		}
	}
	if len(got) != sum.Sessions || records+malformed != sum.Lines || malformed != sum.Malformed || subagents != int64(sum.SubagentFiles) {
		t.Errorf("Count: %d sessions, %d records, %d malformed, %d subagents; Generate: %+v", len(got), records, malformed, subagents, s)
	}
}

// TestGenerateOptions checks determinism, Files, and turning features off.
func TestGenerateOptions(t *testing.T) {
	read := func(dir string, paths []string) map[string][]byte {
		out := map[string][]byte{}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			out[rel] = data
		}
		return out
	}
	gen := func(opt Options) (string, Summary) {
		dir := t.TempDir()
		sum, err := Generate(dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		return dir, sum
	}
	opt := Options{TotalBytes: 2 << 20, Files: 12, Seed: 9, ReplayFraction: 0.5, MalformedFraction: 0.01}
	d1, s1 := gen(opt)
	d2, s2 := gen(opt)
	a, b := read(d1, s1.Paths), read(d2, s2.Paths)
	if len(a) != len(b) {
		t.Fatalf("same seed, %d vs %d files", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("same seed, %s differs", k)
		}
	}
	if s1.Files != 12 {
		t.Errorf("Files = %d, want 12", s1.Files)
	}
	opt.Seed = 10
	if d3, s3 := gen(opt); slices.Equal(s3.Paths, s1.Paths) || len(read(d3, s3.Paths)) == 0 {
		t.Error("another seed wrote the same files")
	}

	_, off := gen(Options{TotalBytes: 2 << 20, Seed: 3, ReplayFraction: -1, SubagentFraction: -1, MalformedFraction: -1, LargeLineFraction: -1})
	if off.SubagentFiles != 0 || off.Replays != 0 || off.Malformed != 0 || off.Blank != 0 || off.LineMax > 16000 {
		t.Errorf("features not off: %+v", off)
	}
	for _, p := range off.Paths {
		if strings.Contains(p, "agent-") {
			t.Errorf("subagent file %s", p)
		}
	}
}
