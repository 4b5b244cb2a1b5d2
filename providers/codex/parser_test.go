package codex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// fixtureLines returns the lines of a testdata file (without newlines).
func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for len(data) > 0 {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:j])
		data = data[j+1:]
	}
	return lines
}

// parseFixture parses a fixture the way the daemon does: line by line with
// one parser for .jsonl, as a whole document for .json.
func parseFixture(t testing.TB, name string) (session.Delta, *Parser) {
	t.Helper()
	var p Parser
	var d session.Delta
	if strings.HasSuffix(name, ".json") {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Document(data, &d); err != nil {
			t.Fatal(err)
		}
		return d, &p
	}
	for _, l := range fixtureLines(t, name) {
		p.Line(l, &d)
	}
	return d, &p
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

const (
	sid     = "0195a1b2-0000-7000-8000-00000000abcd"
	parent  = "0195a1b2-1111-7000-8000-000000000001"
	child   = "0195a1b2-2222-7000-8000-000000000002"
	forkRef = "0195a1b2-3333-7000-8000-000000000003"
	sub     = "0195a1b2-4444-7000-8000-000000000004"
	bareID  = "5973b6c0-94b8-487b-a530-2aeb6098ae0e"
	cw      = "0195a1b2-6666-7000-8000-000000000006"
)

func claim(lineage, total string, ts string, in, read, out, reasoning int64) session.Claim {
	return session.Claim{Key: lineage + "\x00" + total, At: at(ts),
		Usage: session.Usage{Input: in, CacheRead: read, Output: out, Reasoning: reasoning}}
}

// claimW is claim with cache writes.
func claimW(lineage, total string, ts string, in, read, write, out, reasoning int64) session.Claim {
	c := claim(lineage, total, ts, in, read, out, reasoning)
	c.Usage.CacheWrite = write
	return c
}

func TestParserFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want session.Delta
	}{
		{"envelope.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 4, ToolErrors: 1},
			Claims: []session.Claim{
				claim(sid, "8000,6000,300,120,8300", "2026-03-02T10:00:06Z", 2000, 6000, 300, 120),
				claim(sid, "10100,7800,390,160,10490", "2026-03-02T10:00:07.020Z", 300, 1800, 90, 40),
			},
			Models: []string{"gpt-5-codex"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T10:00:00.100Z"), LastAt: at("2026-03-02T10:00:08.040Z"),
			Records: 27,
		}},
		{"tool_outputs.jsonl", session.Delta{
			Counts: session.Counts{ToolCalls: 12, ToolErrors: 7},
			CWD:    "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T10:10:00Z"), LastAt: at("2026-03-02T10:11:04Z"),
			Records: 30,
		}},
		{"tokens.jsonl", session.Delta{
			Claims: []session.Claim{
				claim(sid, "1000,200,50,10,1050", "2026-03-02T10:20:01Z", 800, 200, 50, 10),
				claim(sid, "3000,1200,150,40,3150", "2026-03-02T10:20:04Z", 1000, 1000, 100, 30),
				claim(sid, "500,0,20,0,272520", "2026-03-02T10:20:06Z", 500, 0, 20, 0),
				claim(sid, "100,0,5,0,105", "2026-03-02T10:20:07Z", 100, 0, 5, 0),
				claim(sid, "400,100,0,0,405", "2026-03-02T10:20:08Z", 200, 100, 0, 0),
			},
			CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T10:20:00Z"), LastAt: at("2026-03-02T10:20:10Z"),
			Records: 11,
		}},
		// 0.146: cache_write_input_tokens, inside input_tokens (total =
		// input + output): input 20000-4096-8192; then a total without
		// last (its change: 11000-9000-1024); a reset to zero counts
		// nothing; the key names cache writes only when there are some
		{"cache_write.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1},
			Claims: []session.Claim{
				claimW(cw, "20000,4096,120,64,20120,8192", "2026-08-04T09:00:03Z", 7712, 4096, 8192, 120, 64),
				claimW(cw, "31000,13096,200,94,31200,9216", "2026-08-04T09:00:06Z", 976, 9000, 1024, 80, 30),
				claim(cw, "500,0,10,0,510", "2026-08-04T09:00:09Z", 500, 0, 10, 0),
			},
			Models: []string{"gpt-5.6-terra"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-08-04T09:00:00Z"), LastAt: at("2026-08-04T09:00:09Z"),
			Records: 9,
		}},
		{"user_messages.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 6},
			CWD:    "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T10:30:00Z"), LastAt: at("2026-03-02T10:30:10Z"),
			Records: 11,
		}},
		{"fork_parent.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 2, ToolCalls: 1},
			Claims: []session.Claim{
				claim(parent, "5000,0,200,50,5200", "2026-03-02T09:00:03.010Z", 5000, 0, 200, 50),
				claim(parent, "11000,4800,300,80,11300", "2026-03-02T09:00:05.010Z", 1200, 4800, 100, 30),
			},
			Models: []string{"gpt-5-codex"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T09:00:00Z"), LastAt: at("2026-03-02T09:00:05.010Z"),
			Records: 10,
		}},
		{"fork_child.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 3, AssistantMessages: 3, ToolCalls: 1},
			Claims: []session.Claim{
				claim(parent, "5000,0,200,50,5200", "2026-03-02T11:00:00.005Z", 5000, 0, 200, 50),
				claim(parent, "11000,4800,300,80,11300", "2026-03-02T11:00:00.005Z", 1200, 4800, 100, 30),
				claim(parent, "18000,10000,450,100,18450", "2026-03-02T11:01:02.010Z", 1800, 5200, 150, 20),
			},
			Models: []string{"gpt-5", "gpt-5-codex"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T11:00:00Z"), LastAt: at("2026-03-02T11:01:02.010Z"),
			Records: 15,
		}},
		{"fork_reference.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1},
			Claims: []session.Claim{
				claim(forkRef, "11100,4900,270,60,11370", "2026-03-02T11:10:02Z", 1200, 4900, 70, 10),
				claim(forkRef, "11400,5100,275,60,11675", "2026-03-02T11:10:03Z", 100, 200, 5, 0),
			},
			Models: []string{"gpt-5-codex"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T11:10:00Z"), LastAt: at("2026-03-02T11:10:03Z"),
			Records: 6,
		}},
		{"subagent.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 1, ToolErrors: 1},
			Claims: []session.Claim{
				claim(sub, "3000,1000,80,20,3080", "2026-03-02T11:20:02.010Z", 2000, 1000, 80, 20),
			},
			Models: []string{"gpt-5-codex-mini"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T11:20:00Z"), LastAt: at("2026-03-02T11:20:02.010Z"),
			Records: 7,
		}},
		{"resumed.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 2},
			Claims: []session.Claim{
				claim(sid, "1000,0,10,0,1010", "2026-03-02T10:40:02Z", 1000, 0, 10, 0),
				claim(sid, "2500,900,30,5,2530", "2026-03-03T08:00:05Z", 600, 900, 20, 5),
			},
			Models: []string{"gpt-5", "gpt-5-codex"}, CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T10:40:00Z"), LastAt: at("2026-03-03T08:00:05Z"),
			Records: 7,
		}},
		{"bare.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 1, ToolCalls: 2, ToolErrors: 1},
			CWD:    "/home/dev/legacy app", GitBranch: "dev",
			FirstAt: at("2025-06-10T08:15:00.123Z"), LastAt: at("2025-06-10T08:15:00.123Z"),
			Records: 13, UsageUnknown: true,
		}},
		{"ts_session.json", session.Delta{
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 1, ToolCalls: 2, ToolErrors: 1},
			Models:  []string{"o4-mini"},
			FirstAt: at("2025-04-20T14:03:11.5Z"), LastAt: at("2025-04-20T14:03:11.5Z"),
			Records: 9, Malformed: 1, UsageUnknown: true,
		}},
		{"malformed.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1},
			Claims: []session.Claim{
				claim("0195a1b2-5555-7000-8000-000000000005", "100,0,10,0,110", "2026-03-02T12:00:06Z", 100, 0, 10, 0),
			},
			CWD: "/home/dev/shop", GitBranch: "main",
			FirstAt: at("2026-03-02T12:00:00Z"), LastAt: at("2026-03-02T12:00:06Z"),
			Records: 6, Malformed: 7,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, _ := parseFixture(t, tc.file)
			diffDelta(t, tc.want, got)
		})
	}
}

// diffDelta reports the differences between two deltas.
func diffDelta(t *testing.T, want, got session.Delta) {
	t.Helper()
	if got.Counts != want.Counts {
		t.Errorf("counts = %+v, want %+v", got.Counts, want.Counts)
	}
	if got.Usage != want.Usage {
		t.Errorf("usage = %+v, want %+v", got.Usage, want.Usage)
	}
	if !slices.EqualFunc(got.Claims, want.Claims, func(a, b session.Claim) bool {
		return a.Key == b.Key && a.At.Equal(b.At) && a.Usage == b.Usage
	}) {
		t.Errorf("claims =\n%s\nwant\n%s", fmtClaims(got.Claims), fmtClaims(want.Claims))
	}
	if !slices.Equal(got.Models, want.Models) {
		t.Errorf("models = %q, want %q", got.Models, want.Models)
	}
	if got.CWD != want.CWD || got.GitBranch != want.GitBranch {
		t.Errorf("cwd, branch = %q, %q; want %q, %q", got.CWD, got.GitBranch, want.CWD, want.GitBranch)
	}
	if !got.FirstAt.Equal(want.FirstAt) || !got.LastAt.Equal(want.LastAt) {
		t.Errorf("times = %v – %v, want %v – %v", got.FirstAt, got.LastAt, want.FirstAt, want.LastAt)
	}
	if got.UsageUnknown != want.UsageUnknown || got.UsageEstimated || got.Cost != 0 {
		t.Errorf("unknown, estimated, cost = %v, %v, %v; want %v, false, 0", got.UsageUnknown, got.UsageEstimated, got.Cost, want.UsageUnknown)
	}
	if got.Records != want.Records || got.Malformed != want.Malformed {
		t.Errorf("records, malformed = %d, %d; want %d, %d", got.Records, got.Malformed, want.Records, want.Malformed)
	}
}

func fmtClaims(cs []session.Claim) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %q @ %s %+v\n", c.Key, c.At.Format(time.RFC3339Nano), c.Usage)
	}
	return b.String()
}

// TestParserRestartEquivalence: parsing a fixture with the parser replaced
// by a restored copy after every line gives the same delta as one pass.
func TestParserRestartEquivalence(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			want, wp := parseFixture(t, name)
			var got session.Delta
			var state []byte
			for _, l := range fixtureLines(t, name) {
				var p Parser
				if err := p.Restore(state); err != nil {
					t.Fatal(err)
				}
				p.Line(l, &got)
				state = p.State()
			}
			diffDelta(t, want, got)
			if !bytes.Equal(state, wp.State()) {
				t.Errorf("state %q != %q", state, wp.State())
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	var p Parser
	if p.State() != nil {
		t.Fatalf("fresh parser state = %q", p.State())
	}
	for _, l := range fixtureLines(t, "fork_child.jsonl") {
		p.Line(l, &session.Delta{})
	}
	st := p.State()
	var q Parser
	if err := q.Restore(st); err != nil {
		t.Fatal(err)
	}
	if q.own != child || q.lineage != parent || !q.hasPrev || q.prev != (tokens{18000, 10000, 450, 100, 18450}) {
		t.Fatalf("restored %+v", q)
	}
	if !bytes.Equal(q.State(), st) {
		t.Fatal("state differs after round trip")
	}
	// a total without cache writes keeps the version-1 encoding (five
	// counters: states saved before cache writes were read restore); one
	// with cache writes is version 2
	if st[0] != stateV1 {
		t.Fatalf("state version %d without cache writes", st[0])
	}
	var w Parser
	for _, l := range fixtureLines(t, "cache_write.jsonl")[:4] {
		w.Line(l, &session.Delta{})
	}
	if st := w.State(); st[0] != stateV2 {
		t.Fatalf("state version %d with cache writes", st[0])
	} else if err := q.Restore(st); err != nil || q.prev != (tokens{20000, 4096, 120, 64, 20120, 8192}) || !bytes.Equal(q.State(), st) {
		t.Fatalf("cache writes: %v, restored %+v", err, q.prev)
	}
	if err := q.Restore(nil); err != nil || q.State() != nil {
		t.Fatalf("reset: %v %q", err, q.State())
	}
	for _, bad := range [][]byte{
		{2}, {stateV1}, {stateV1, 7}, {stateV1, 1, 0x80}, st[:len(st)-1], append(slices.Clone(st), 0),
	} {
		if err := q.Restore(bad); !errors.Is(err, ErrBadState) {
			t.Errorf("Restore(%q) = %v", bad, err)
		}
	}
}

func TestDocumentIncomplete(t *testing.T) {
	data, err := os.ReadFile("testdata/ts_session.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{data[:len(data)/2], nil, []byte(`{"session":{}}`), []byte(`[]`), []byte(`{"items":null}`)} {
		var p Parser
		d := session.Delta{}
		if err := p.Document(doc, &d); !errors.Is(err, ErrIncompleteDocument) {
			t.Errorf("Document(%.40q) = %v", doc, err)
		}
	}
	var p Parser
	var d session.Delta
	if err := p.Document([]byte(`{"session":"x","items":[]}`), &d); err != nil || d.Records != 0 {
		t.Errorf("empty document: %v %+v", err, d)
	}
}

// TestLineEquivalentToBareDocument: an item counts the same in a bare JSONL
// line and in a TypeScript document.
func TestLineEquivalentToBareDocument(t *testing.T) {
	lines := fixtureLines(t, "bare.jsonl")[1:] // without the meta line
	var p Parser
	var byLine session.Delta
	for _, l := range lines {
		p.Line(l, &byLine)
	}
	doc := []byte(`{"session":{"id":"x"},"items":[` + string(bytes.Join(lines, []byte(","))) + `]}`)
	var q Parser
	var byDoc session.Delta
	if err := q.Document(doc, &byDoc); err != nil {
		t.Fatal(err)
	}
	byDoc.Records--
	byDoc.CWD, byDoc.UsageUnknown = byLine.CWD, byLine.UsageUnknown
	diffDelta(t, byLine, byDoc)
}

// TestEdgeCasesMatchReference runs lines built to reach past the decoded
// prefixes (long whitespace, long digit runs, escapes and surrogate pairs
// at the cut, long headers) through the parser and the reference.
func TestEdgeCasesMatchReference(t *testing.T) {
	esc := func(s string) string { // JSON string content
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	escAll := func(s string) string { // every character as \uXXXX
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	}
	out := func(s string) string {
		return `{"type":"response_item","payload":{"type":"function_call_output","call_id":"c","output":"` + s + `"}}`
	}
	user := func(s string) string {
		return `{"type":"event_msg","payload":{"type":"user_message","message":"` + s + `"}}`
	}
	bareUser := func(s string) string {
		return `{"type":"message","role":"user","content":[{"type":"input_text","text":"` + s + `"}]}`
	}
	long := strings.Repeat("x", 600)
	lines := []string{
		user(strings.Repeat(" ", 300) + "<environment_context>"),
		user(strings.Repeat(`\n`, 300) + "<user_instructions>"),
		user(strings.Repeat(`\u0020`, 100) + "# AGENTS.md instructions for /x"),
		user(escAll("# AGENTS.md instructions for /x")),
		user(escAll("<environment_context") + ">"),
		user(strings.Repeat("😀", 60) + "<environment_context>"),
		user(strings.Repeat(`\ud83d\ude00`, 20) + "x"),
		out(esc("Exit code: " + strings.Repeat("0", 700) + "1\nOutput:\n")),
		out(esc("Exit code: " + strings.Repeat("0", 700) + "\nOutput:\n")),
		out(esc("Exit code: -0\n")),
		out(esc("Exit code: 00007")),
		out(esc("Exit code: x1")),
		out(esc("Chunk ID: " + long + "\nWall time: 1 seconds\nProcess exited with code 2\nOutput:\n")),
		out(esc("Wall time: 1 seconds\n" + long + "\nOutput:\nProcess exited with code 2\n")),
		out(esc("Wall time: 1\nProcess exited with code 0" + strings.Repeat("0", 600) + "3\n")),
		out(esc("Wall time: 1\nOutput:\r\nProcess exited with code 3\n")),
		out(esc(`{"output":"` + long + `","metadata":{"exit_code":1}}`)),
		out(esc(`{"output":"x","metadata":{"exit_code":1}} trailing`)),
		out(esc(`{"metadata":{"exit_code":1},"metadata":null}`)),
		out(esc(`{"metadata":{"exit_code":1.0}}`)),
		out(esc(`{"metadata":{"exit_code":99999999999999999999}}`)),
		out(esc("\t\n " + `{"metadata":{"exit_code":-3}}` + " \n")),
		out(escAll("Exit code: 1")),
		out(strings.Repeat(`\ud83d\ude00`, 100) + "Exit code: 1"),
		`{"type":"response_item","payload":{"type":"function_call_output","output":{"content":"Exit code: 4","success":true}}}`,
		`{"type":"response_item","payload":{"type":"function_call_output","output":{"success":false,"success":true}}}`,
		bareUser(esc("<environment_context>\n" + strings.Repeat("pad ", 2000) + "<cwd> /far away </cwd>")),
		bareUser(esc("<environment_context>\nCurrent working directory: /from/label")),
		bareUser(esc("<environment_context>\nCurrent working directory: /from/label\nmore")),
		bareUser(esc("<environment_context><cwd>/open")),
		bareUser(esc("  <user_instructions>x</user_instructions>")),
		`{"type":"message","role":"user","content":"plain string content"}`,
		`{"type":"message","role":"user","content":[{"type":"input_image"},{"type":"input_text","text":"<environment_context><cwd>/img</cwd>"}]}`,
	}
	for i, l := range lines {
		data := []byte(fuzzPrefix + l + "\n")
		rel := "sessions/2026/03/02/rollout-2026-03-02T10-00-00-" + sid + ".jsonl"
		want, err := codextest.CountFS(fstest.MapFS{rel: {Data: data}})
		if err != nil {
			t.Fatal(err)
		}
		got := parseMem(t, map[string][]byte{rel: data}, 0)
		if !providertest.Equal(want[session.Key{Provider: session.Codex, ID: sid}], got[session.Key{Provider: session.Codex, ID: sid}]) {
			t.Errorf("line %d: %.120s\nwant %+v\ngot  %+v", i, l, want, got)
		}
	}
}
