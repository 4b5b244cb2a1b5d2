package gemini

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// ts parses a test timestamp.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fixtureLines returns the lines of testdata/name, without newlines.
func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	return lines[:len(lines)-1] // after the last newline
}

// parseFile runs parser over the lines of testdata/name.
func parseFile(t testing.TB, parser providers.Parser, name string) session.Delta {
	t.Helper()
	var d session.Delta
	for _, l := range fixtureLines(t, name) {
		parser.Line(l, &d)
	}
	return d
}

// norm makes deltas comparable with reflect.DeepEqual.
func norm(d session.Delta) session.Delta {
	fix := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.Unix(0, t.UnixNano()).UTC()
	}
	d.FirstAt, d.LastAt = fix(d.FirstAt), fix(d.LastAt)
	if len(d.Models) == 0 {
		d.Models = nil
	}
	if len(d.Claims) == 0 {
		d.Claims = nil
	}
	return d
}

// TestParserFixtures checks every record type and write pattern against
// hand-computed deltas (see the comments for the arithmetic).
func TestParserFixtures(t *testing.T) {
	shop := "/home/dev/shop"
	for _, tc := range []struct {
		file string
		want session.Delta
	}{
		// m2 counted, then dropped by $rewindTo m2 (its spend: Dropped)
		{"metadata.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1}, Models: []string{"gemini-2.5-pro"},
			Dropped: session.Usage{Input: 1104, CacheRead: 4096, Output: 100, Reasoning: 60},
			FirstAt: ts("2026-05-01T09:00:00Z"), LastAt: ts("2026-05-01T09:00:07.1Z"), CWD: shop, Records: 5,
		}},
		// m2 written three times (no tokens; tokens + 1 call; 2 calls, 1 error):
		// m2 = in 5200-4096, cached 4096, out 40+60, thoughts 60;
		// m3 = in 6000-5000+12 (tool), cached 5000, out 20
		{"reappend.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 2, ToolCalls: 2, ToolErrors: 1},
			Usage:   session.Usage{Input: 1104 + 1012, CacheRead: 4096 + 5000, Output: 100 + 20, Reasoning: 60},
			Models:  []string{"gemini-2.5-flash", "gemini-2.5-pro"},
			FirstAt: ts("2026-05-01T09:00:00Z"), LastAt: ts("2026-05-01T09:00:10Z"), CWD: shop, Records: 8,
		}},
		// after $set.messages: summary (prompt), ack (response), tool result
		// (no prompt), g2 (in 500, cached 1500, out 30); then g3 (in 800,
		// out 10+5, thoughts 5) and g2 again with input 2500 (in 1000)
		{"set_messages.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 3},
			Usage:  session.Usage{Input: 1000 + 800, CacheRead: 1500, Output: 30 + 15, Reasoning: 5},
			// the responses the checkpoint left out
			Dropped: session.Usage{Input: 1000, Output: 150, Reasoning: 50},
			Models:  []string{"gemini-2.5-pro", "gemini-3-pro-preview"},
			FirstAt: ts("2026-05-02T10:00:00Z"), LastAt: ts("2026-05-02T10:02:00Z"), CWD: shop, Records: 9,
		}},
		// $rewindTo r3 drops r3, r4, i1; $rewindTo of an unknown id drops all; r7 stays
		{"rewind.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			Dropped: session.Usage{Input: 500, CacheRead: 100, Output: 65, Reasoning: 5},
			Models:  []string{"gemini-2.5-flash", "gemini-2.5-pro"},
			FirstAt: ts("2026-05-03T08:00:00Z"), LastAt: ts("2026-05-03T08:00:08Z"), CWD: shop, Records: 11,
		}},
		// prompts p1 (part object), p3 (string + inlineData), g3 (duplicate
		// type: user wins), p4 (functionResponse null); p2 is a tool result;
		// g1: tokens null, 2 calls (1 error); g2: input 10.5 and output "7"
		// count 0, so in 0-2, cached 2, out 0+1, thoughts 1
		{"records.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 4, AssistantMessages: 2, ToolCalls: 2, ToolErrors: 1},
			Usage:   session.Usage{Input: -2, CacheRead: 2, Output: 1, Reasoning: 1},
			Models:  []string{"gemini-2.5-pro"},
			FirstAt: ts("2026-05-04T07:00:00Z"), LastAt: ts("2026-05-04T07:00:09Z"), CWD: shop, Records: 14,
		}},
		{"malformed.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			FirstAt: ts("2026-05-05T07:00:00Z"), LastAt: ts("2026-05-05T07:00:01Z"), CWD: shop,
			Records: 2, Malformed: 9,
		}},
		// cwd from directories ("/home/dev/old-app/" trimmed); in 3000-2048
		{"subagent.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 1},
			Usage:   session.Usage{Input: 952, CacheRead: 2048, Output: 60, Reasoning: 10},
			Models:  []string{"gemini-2.5-flash"},
			FirstAt: ts("2026-05-06T07:00:00Z"), LastAt: ts("2026-05-06T07:00:02Z"), CWD: "/home/dev/old-app", Records: 3,
		}},
		// cwd from the ancestors of a tool call's absolute path
		{"toolpaths.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 2},
			Usage:   session.Usage{Input: 10, Output: 1},
			Models:  []string{"gemini-2.5-pro"},
			FirstAt: ts("2026-05-07T07:00:00Z"), LastAt: ts("2026-05-07T07:00:02Z"), CWD: "/home/dev/old-app", Records: 3,
		}},
		// tool arguments relative, the project only in a write_file's
		// resultDisplay.filePath (a FileDiff); k2 re-appended with its calls
		// counts once: in 900-512, out 30+20
		{"resultdisplay.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 2},
			Usage:   session.Usage{Input: 388, CacheRead: 512, Output: 50, Reasoning: 20},
			Models:  []string{"gemini-3-flash-preview"},
			FirstAt: ts("2026-05-11T07:00:00Z"), LastAt: ts("2026-05-11T07:00:05Z"), CWD: "/home/dev/kitchen", Records: 9,
		}},
		{"unresolved.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			FirstAt: ts("2026-05-08T07:00:00Z"), LastAt: ts("2026-05-08T07:00:01Z"), Records: 2,
		}},
		// not in projects.json: found by tmp/docs/.project_root
		{"marker.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			FirstAt: ts("2026-05-10T07:00:00Z"), LastAt: ts("2026-05-10T07:00:01Z"), CWD: "/home/dev/docs", Records: 2,
		}},
		// the 16-digit hash of early versions, found in projects.json
		{"shorthash.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			FirstAt: ts("2025-07-01T07:00:00Z"), LastAt: ts("2025-07-01T07:00:01Z"), CWD: shop, Records: 2,
		}},
		// metadata messages: a, b (in 50), a again (same); then b with in 40;
		// projectHash "notes" is a slug, found in projects.json
		{"meta_messages.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 1},
			Usage:   session.Usage{Input: 40, Output: 5},
			Models:  []string{"gemini-2.0-flash"},
			FirstAt: ts("2026-05-09T07:00:00Z"), LastAt: ts("2026-05-09T07:00:04Z"), CWD: "/home/dev/notes", Records: 2,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := parseFile(t, fixtureProvider(t).NewParser(session.RoleMain), tc.file)
			if !reflect.DeepEqual(norm(got), norm(tc.want)) {
				t.Errorf("\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestLineDeltas checks the delta of each line of a re-append/rewind
// sequence: differences, possibly negative.
func TestLineDeltas(t *testing.T) {
	p := &Parser{}
	step := func(line string) session.Delta {
		var d session.Delta
		p.Line([]byte(line), &d)
		d.FirstAt, d.LastAt, d.Models, d.Records = time.Time{}, time.Time{}, nil, 0
		return d
	}
	g := func(id string, in, cached, out, thoughts int, calls string) string {
		return `{"id":"` + id + `","type":"gemini","toolCalls":[` + calls + `],"tokens":{"input":` + itoa(in) + `,"cached":` + itoa(cached) + `,"output":` + itoa(out) + `,"thoughts":` + itoa(thoughts) + `}}`
	}
	for i, tc := range []struct {
		line string
		want session.Delta
	}{
		{`{"id":"u","type":"user","content":"hi"}`, session.Delta{Counts: session.Counts{UserMessages: 1}}},
		{g("a", 100, 40, 10, 5, ``), session.Delta{Counts: session.Counts{AssistantMessages: 1}, Usage: session.Usage{Input: 60, CacheRead: 40, Output: 15, Reasoning: 5}}},
		// re-appended with a call and more tokens: only the difference
		{g("a", 150, 40, 10, 5, `{"status":"success"}`), session.Delta{Counts: session.Counts{ToolCalls: 1}, Usage: session.Usage{Input: 50}}},
		// re-appended with fewer tokens and the call failed: negative
		{g("a", 120, 50, 10, 0, `{"status":"error"}`), session.Delta{Counts: session.Counts{ToolErrors: 1}, Usage: session.Usage{Input: -40, CacheRead: 10, Output: -5, Reasoning: -5}}},
		{`{"id":"u2","type":"user","content":"more"}`, session.Delta{Counts: session.Counts{UserMessages: 1}}},
		// rewind to a: a and u2 go
		{`{"$rewindTo":"a"}`, session.Delta{Counts: session.Counts{UserMessages: -1, AssistantMessages: -1, ToolCalls: -1, ToolErrors: -1}, Usage: session.Usage{Input: -70, CacheRead: -50, Output: -10}, Dropped: session.Usage{Input: 70, CacheRead: 50, Output: 10}}},
		// a checkpoint replacing u by itself and adding b
		{`{"$set":{"messages":[{"id":"u","type":"user","content":"hi"},` + g("b", 10, 0, 1, 0, ``) + `]}}`, session.Delta{Counts: session.Counts{AssistantMessages: 1}, Usage: session.Usage{Input: 10, Output: 1}}},
		// an empty checkpoint clears everything
		{`{"$set":{"messages":[]}}`, session.Delta{Counts: session.Counts{UserMessages: -1, AssistantMessages: -1}, Usage: session.Usage{Input: -10, Output: -1}, Dropped: session.Usage{Input: 10, Output: 1}}},
		// a $set without messages changes nothing
		{`{"$set":{"messages":null,"summary":"s"}}`, session.Delta{}},
	} {
		if got := step(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("line %d %s:\ngot  %+v\nwant %+v", i, tc.line, got, tc.want)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n < 0 {
		return appendInt(append(b, '-'), -n)
	}
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestDocument(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := fixtureProvider(t).NewParser(session.RoleMain).(*Parser)
	var d session.Delta
	if err := p.Document(data, &d); err != nil {
		t.Fatal(err)
	}
	// l1, l4 prompts; l2: in 7000-6000, cached 6000, out 300+120, 2 calls
	// (1 error); l5: tokens null; l3 info; two elements are not messages
	want := session.Delta{
		Counts:  session.Counts{UserMessages: 2, AssistantMessages: 2, ToolCalls: 2, ToolErrors: 1},
		Usage:   session.Usage{Input: 1000, CacheRead: 6000, Output: 420, Reasoning: 120},
		Models:  []string{"gemini-2.5-flash", "gemini-2.5-pro"},
		FirstAt: ts("2025-11-02T08:00:00Z"), LastAt: ts("2025-11-02T08:05:00Z"),
		CWD: "/home/dev/notes", Records: 6, Malformed: 2,
	}
	if !reflect.DeepEqual(norm(d), norm(want)) {
		t.Errorf("\ngot  %+v\nwant %+v", d, want)
	}
	if s := p.State(); s != nil {
		t.Errorf("Document left state %q", s)
	}
	// the same document compact (as a rewrite may leave it) gives the same
	var d2 session.Delta
	compact := bytes.Join(bytes.Fields(data), []byte(" "))
	if err := p.Document(compact, &d2); err != nil || !reflect.DeepEqual(norm(d2), norm(want)) {
		t.Errorf("compact: %v\ngot  %+v", err, d2)
	}

	torn, err := os.ReadFile(filepath.Join("testdata", "legacy_torn.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{torn, nil, []byte("  "), []byte("[]"), []byte(`{"messages":[]} {}`), []byte("null")} {
		var d session.Delta
		if err := p.Document(bad, &d); !errors.Is(err, ErrNotDocument) {
			t.Errorf("Document(%.20q) = %v, want ErrNotDocument", bad, err)
		}
	}
	var e session.Delta
	if err := p.Document([]byte(`{}`), &e); err != nil || e.Records != 1 || !e.Usage.IsZero() {
		t.Errorf("empty document: %v %+v", err, e)
	}
}

// TestStateRoundTrip parses each fixture in chunks, with a fresh parser
// restored from the saved state for every chunk (as the daemon does after a
// restart): the sum of the deltas must equal one uninterrupted parse.
func TestStateRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	prov := fixtureProvider(t)
	for _, f := range files {
		name := filepath.Base(f)
		lines := fixtureLines(t, name)
		want := parseFile(t, prov.NewParser(session.RoleMain), name)
		for _, chunk := range []int{1, 2, 3} {
			var got session.Delta
			var state []byte
			for i := 0; i < len(lines); i += chunk {
				p := prov.NewParser(session.RoleMain)
				if err := p.Restore(state); err != nil {
					t.Fatal(err)
				}
				var d session.Delta
				for _, l := range lines[i:min(i+chunk, len(lines))] {
					p.Line(l, &d)
				}
				merge(&got, &d)
				state = p.State()
			}
			if !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("%s, chunks of %d:\ngot  %+v\nwant %+v", name, chunk, got, want)
			}
		}
	}
}

// merge folds d into into the way a file contribution does.
func merge(into, d *session.Delta) {
	var c session.FileContribution
	c.Counts, c.Usage, c.Models, c.FirstAt, c.LastAt, c.CWD = into.Counts, into.Usage, into.Models, into.FirstAt, into.LastAt, into.CWD
	c.Records, c.Malformed = into.Records, into.Malformed
	c.Apply(d)
	into.Dropped = into.Dropped.Add(d.Dropped)
	into.Counts, into.Usage, into.Models, into.FirstAt, into.LastAt, into.CWD = c.Counts, c.Usage, c.Models, c.FirstAt, c.LastAt, c.CWD
	into.Records, into.Malformed = c.Records, c.Malformed
}

func TestState(t *testing.T) {
	var p Parser
	if s := p.State(); s != nil {
		t.Fatalf("fresh parser state = %q, want nil", s)
	}
	lines := []string{
		`{"sessionId":"s","projectHash":"` + hashOld + `"}`,
		`{"id":"9f1c7a22-0000-4d44-8e55-000000000002","type":"user","content":"x"}`,
		`{"id":"not-a-uuid","type":"gemini","tokens":{"input":5,"cached":1,"output":2},"toolCalls":[{"status":"error"}]}`,
		`{"id":"9F1C7A22-0000-4D44-8E55-000000000003","type":"info"}`,
	}
	var d session.Delta
	for _, l := range lines {
		p.Line([]byte(l), &d)
	}
	s := p.State()
	var q Parser
	if err := q.Restore(s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.State(), s) || q.hash != hashOld || q.resolved || !reflect.DeepEqual(q.book.list, p.book.list) {
		t.Fatalf("round trip: %+v\nwant %+v", q.book.list, p.book.list)
	}
	// the restored parser knows the live messages
	var e session.Delta
	q.Line([]byte(`{"$rewindTo":"not-a-uuid"}`), &e)
	if e.AssistantMessages != -1 || e.ToolErrors != -1 || e.Usage.Input != -4 {
		t.Errorf("rewind after restore: %+v", e)
	}
	// a resolved parser keeps no hash
	p.Line([]byte(`{"$set":{"directories":["/home/dev/old-app"]}}`), &d)
	if d.CWD != "/home/dev/old-app" {
		t.Fatalf("cwd = %q", d.CWD)
	}
	if err := q.Restore(p.State()); err != nil || !q.resolved || q.hash != "" {
		t.Errorf("resolved state: %v %+v", err, q)
	}
	for _, bad := range [][]byte{{9}, {1}, {1, 0}, {1, 4}, append(append([]byte{}, s...), 0), s[:len(s)-1],
		{1, 1, 2, 0, 0, 0, 0}, {1, 1, 1, 3, 0}} {
		if err := q.Restore(bad); !errors.Is(err, ErrBadState) {
			t.Errorf("Restore(%v) = %v, want ErrBadState", bad, err)
		}
		if q.State() != nil {
			t.Errorf("failed Restore(%v) left state", bad)
		}
	}
	if err := q.Restore(nil); err != nil || q.State() != nil {
		t.Errorf("Restore(nil) = %v, state %q", err, q.State())
	}
}

func TestMatchAncestor(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(sha256Hex(s)); return b }
	for _, tc := range []struct {
		path, root, want string
	}{
		{"/home/dev/app/src/a.go", "/home/dev/app", "/home/dev/app"},
		{"/home/dev/app/", "/home/dev/app", "/home/dev/app"},
		{"/home/dev/app", "/home/dev/app", "/home/dev/app"},
		{"/home/dev/application/x", "/home/dev/app", ""},
		{`C:\Users\dev\app\main.go`, `C:\Users\dev\app`, `C:\Users\dev\app`},
		{"relative/app", "/home/dev/app", ""},
	} {
		got, ok := matchAncestor([]byte(tc.path), h(tc.root))
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("matchAncestor(%s) = %q, %v; want %q", tc.path, got, ok, tc.want)
		}
	}
	// the 16-digit prefix of early versions
	short, _ := hex.DecodeString(sha256Hex("/home/dev/app")[:16])
	if got, ok := matchAncestor([]byte("/home/dev/app/x"), short); !ok || string(got) != "/home/dev/app" {
		t.Errorf("short hash: %q %v", got, ok)
	}
}

func TestRegistry(t *testing.T) {
	home := t.TempDir()
	root := filepath.Join(home, ".gemini", "tmp")
	r := newRegistry()
	r.addRoot(root)
	r.addRoot(root)
	if got := r.rootList(); !slices.Equal(got, []string{root}) {
		t.Fatalf("roots = %q", got)
	}
	if got := r.cwd(sha256Hex("/p/a")); got != "" {
		t.Fatalf("cwd without files = %q", got)
	}
	write(t, filepath.Join(home, ".gemini", "projects.json"), `{"projects":{"/p/a":"a","/p/b":"b"}}`)
	for id, want := range map[string]string{
		sha256Hex("/p/a"): "/p/a", sha256Hex("/p/b")[:16]: "/p/b", "b": "/p/b", sha256Hex("/p/c"): "", "": "",
	} {
		if got := r.cwd(id); got != want {
			t.Errorf("cwd(%s) = %q, want %q", id, got, want)
		}
	}
	if got := r.slugFor(root, sha256Hex("/p/b")); got != "b" {
		t.Errorf("slugFor = %q", got)
	}
	// rewritten (rename, as Gemini CLI does): the cache follows
	write(t, filepath.Join(home, ".gemini", "projects.json.tmp"), `{"projects":{"/p/c":"c-1"}}`)
	if err := os.Rename(filepath.Join(home, ".gemini", "projects.json.tmp"), filepath.Join(home, ".gemini", "projects.json")); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(home, ".gemini", "projects.json"), future, future); err != nil {
		t.Fatal(err)
	}
	if got := r.cwd(sha256Hex("/p/c")); got != "/p/c" {
		t.Errorf("after rewrite: cwd = %q", got)
	}
	// markers answer what projects.json does not
	write(t, filepath.Join(root, "d", ".project_root"), "/p/d\n")
	if got := r.cwd(sha256Hex("/p/d")); got != "/p/d" {
		t.Errorf("marker: cwd = %q", got)
	}
	if got := r.slugFor(root, sha256Hex("/p/d")); got != "d" {
		t.Errorf("marker: slugFor = %q", got)
	}
	// a marker written inside an existing directory is found once the scan is old
	write(t, filepath.Join(root, "e", "x"), "")
	r.cwd("nothing") // scans with e/ but without its marker
	write(t, filepath.Join(root, "e", ".project_root"), "/p/e")
	now := time.Now()
	r.now = func() time.Time { return now.Add(rescanAfter + time.Second) }
	if got := r.cwd(sha256Hex("/p/e")); got != "/p/e" {
		t.Errorf("late marker: cwd = %q", got)
	}
	// a nil registry answers nothing
	var nr *registry
	nr.addRoot(root)
	if nr.cwd("a") != "" || nr.slugFor(root, "a") != "" {
		t.Error("nil registry answered")
	}
}
