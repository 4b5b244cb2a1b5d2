package claudecode

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/jsonscan"
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

// parseLines runs one parser over lines into one delta.
func parseLines(lines [][]byte) session.Delta {
	var p Parser
	var d session.Delta
	for _, l := range lines {
		p.Line(l, &d)
	}
	return d
}

func claim(key, at string, u session.Usage) session.Claim {
	var t time.Time
	if at != "" {
		t = ts(at)
	}
	return session.Claim{Key: key, At: t, Usage: u}
}

// TestParserFixtures checks every record type against hand-computed
// deltas.
func TestParserFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want session.Delta
	}{
		{"prompt_string.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 3},
			FirstAt: ts("2026-03-02T10:00:00Z"), LastAt: ts("2026-03-02T10:00:04Z"),
			CWD: "/home/dev/shop/sub", GitBranch: "feature/x", Records: 5,
		}},
		{"prompt_blocks.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 3},
			FirstAt: ts("2026-03-02T10:01:00Z"), LastAt: ts("2026-03-02T10:01:05Z"), Records: 6,
		}},
		{"tool_result.jsonl", session.Delta{
			Counts:  session.Counts{ToolErrors: 3},
			FirstAt: ts("2026-03-02T10:02:00Z"), LastAt: ts("2026-03-02T10:02:04Z"), Records: 5,
		}},
		{"assistant_multiline.jsonl", session.Delta{
			Counts: session.Counts{AssistantMessages: 3, ToolCalls: 3},
			Claims: []session.Claim{
				claim("msg_1\x00req_1", "2026-03-02T10:03:00Z", session.Usage{Input: 12, Output: 85, CacheRead: 9000, CacheWrite: 3000}),
				claim("msg_2\x00req_2", "2026-03-02T10:03:04Z", session.Usage{Input: 5, Output: 30, CacheRead: 12000, CacheWrite: 100}),
				claim("msg_1\x00", "2026-03-02T10:03:05Z", session.Usage{Input: 12, Output: 85, CacheRead: 9000, CacheWrite: 3000}),
			},
			Models:  []string{"claude-opus-4-6", "claude-sonnet-4-5"},
			FirstAt: ts("2026-03-02T10:03:00Z"), LastAt: ts("2026-03-02T10:03:05Z"),
			CWD: "/home/dev/shop", Records: 6,
		}},
		{"synthetic.jsonl", session.Delta{
			Counts:  session.Counts{AssistantMessages: 1},
			Claims:  []session.Claim{claim("b9d6a1e4-synthetic\x00req_s", "2026-03-02T10:04:00Z", session.Usage{})},
			FirstAt: ts("2026-03-02T10:04:00Z"), LastAt: ts("2026-03-02T10:04:00Z"), Records: 1,
		}},
		{"api_error.jsonl", session.Delta{
			FirstAt: ts("2026-03-02T10:05:00Z"), LastAt: ts("2026-03-02T10:05:01Z"),
			CWD: "/home/dev/shop", Records: 2,
		}},
		{"bookkeeping.jsonl", session.Delta{
			FirstAt: ts("2026-03-02T11:00:00Z"), LastAt: ts("2026-03-02T11:00:04Z"),
			CWD: "/home/dev/other", GitBranch: "dev", Records: 10,
		}},
		{"sidechain.jsonl", session.Delta{
			// the Task prompt on the sidechain is not the user's
			Counts:  session.Counts{AssistantMessages: 1, ToolCalls: 1},
			Claims:  []session.Claim{claim("msg_s1\x00req_s1", "2026-03-02T10:10:01Z", session.Usage{Input: 3, Output: 20, CacheRead: 500})},
			Models:  []string{"claude-haiku-4-5-20251001"},
			FirstAt: ts("2026-03-02T10:10:00Z"), LastAt: ts("2026-03-02T10:10:01Z"),
			CWD: "/home/dev/shop", GitBranch: "main", Records: 2,
		}},
		// What a person typed, in a 1.0.x main file: slash commands and
		// prompts count; inline sidechain (Task) prompts, isMeta lines,
		// interruption markers, command output and system-sourced
		// notifications do not.
		{"not_typed.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 3, AssistantMessages: 2, ToolCalls: 2},
			Claims: []session.Claim{
				claim("msg_n1\x00req_n1", "2026-03-03T09:00:05Z", session.Usage{Input: 4, Output: 50, CacheRead: 2000, CacheWrite: 100}),
				claim("msg_n2\x00req_n2", "2026-03-03T09:00:07Z", session.Usage{Input: 3, Output: 20, CacheRead: 900}),
			},
			Models:  []string{"claude-sonnet-4-5"},
			FirstAt: ts("2026-03-03T09:00:00Z"), LastAt: ts("2026-03-03T09:00:20Z"),
			CWD: "/home/dev/todo", GitBranch: "main", Records: 16,
		}},
		// A background session (sessionKind "bg" on its chain entries):
		// its claims are Background, a line without the mark is not.
		{"bg_fork.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 2, ToolCalls: 1},
			Claims: []session.Claim{
				{Key: "msg_g1\x00req_g1", At: ts("2026-03-04T08:00:04Z"), Usage: session.Usage{Input: 6, Output: 310, CacheRead: 15000, CacheWrite: 1200}, Background: true},
				claim("msg_g2\x00req_g2", "2026-03-04T08:00:09Z", session.Usage{Input: 2, Output: 12, CacheRead: 16200, CacheWrite: 300}),
			},
			Models:  []string{"claude-opus-4-6"},
			FirstAt: ts("2026-03-04T08:00:00Z"), LastAt: ts("2026-03-04T08:00:09Z"),
			CWD: "/home/dev/todo", GitBranch: "main", Records: 6,
		}},
		{"malformed.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 1},
			FirstAt: ts("2026-03-02T10:20:00Z"), LastAt: ts("2026-03-02T10:20:00Z"),
			Records: 1, Malformed: 15,
		}},
		{"empty.jsonl", session.Delta{
			Counts:  session.Counts{UserMessages: 2},
			FirstAt: ts("2026-03-02T10:25:00Z"), LastAt: ts("2026-03-02T10:25:01Z"), Records: 2,
		}},
		{"unicode.jsonl", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 1},
			Claims: []session.Claim{
				claim("msg_ü\x00req_é", "2026-03-02T10:30:01Z", session.Usage{Input: 1, Output: 2}),
				claim("msg_ü\x00", "2026-03-02T10:30:02Z", session.Usage{Input: 1}),
			},
			Models:  []string{"claude-opus-4-6"},
			FirstAt: ts("2026-03-02T10:30:00Z"), LastAt: ts("2026-03-02T10:30:02Z"),
			CWD: `C:\Users\dev\win-app`, GitBranch: "fix/ünïcode", Records: 3,
		}},
		{"timestamps.jsonl", session.Delta{
			FirstAt: ts("2026-03-02T09:59:59.999Z"), LastAt: ts("2026-03-02T10:40:04Z"), Records: 9,
		}},
		{"no_id_usage.jsonl", session.Delta{
			Counts: session.Counts{AssistantMessages: 2},
			Usage:  session.Usage{Input: 10, Output: 20, CacheRead: 30, CacheWrite: 40},
			Claims: []session.Claim{
				claim("msg_n\x00", "2026-03-02T10:50:04Z", session.Usage{Input: -3, CacheRead: 1<<63 - 1}),
			},
			Models:  []string{"claude-3-5-sonnet"},
			FirstAt: ts("2026-03-02T10:50:00Z"), LastAt: ts("2026-03-02T10:50:04Z"), Records: 5,
		}},
		{"duplicate_keys.jsonl", session.Delta{
			Counts:  session.Counts{AssistantMessages: 1},
			Claims:  []session.Claim{claim("m\x00", "", session.Usage{Input: 5})},
			Models:  []string{"x"},
			Records: 1,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := parseLines(fixtureLines(t, tc.file))
			if !reflect.DeepEqual(norm(got), norm(tc.want)) {
				t.Errorf("\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// norm makes deltas comparable with reflect.DeepEqual: times in UTC without
// location pointers that differ, nil for empty slices.
func norm(d session.Delta) session.Delta {
	fix := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.Unix(0, t.UnixNano()).UTC()
	}
	d.FirstAt, d.LastAt = fix(d.FirstAt), fix(d.LastAt)
	d.Claims = slices.Clone(d.Claims)
	for i := range d.Claims {
		d.Claims[i].At = fix(d.Claims[i].At)
	}
	if len(d.Claims) == 0 {
		d.Claims = nil
	}
	if len(d.Models) == 0 {
		d.Models = nil
	}
	return d
}

// foldClaims merges claims by key the way the store does (max usage,
// earliest time), in key order.
func foldClaims(cs []session.Claim) []session.Claim {
	m := map[string]session.Claim{}
	for _, c := range cs {
		if x, ok := m[c.Key]; ok {
			c.Usage = c.Usage.Max(x.Usage)
			if x.At.Before(c.At) {
				c.At = x.At
			}
		}
		m[c.Key] = c
	}
	out := make([]session.Claim, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b session.Claim) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}

// TestStateRoundTrip parses each fixture, and a realistic generated
// transcript, in chunks with a fresh parser restored from the saved state
// for every chunk (as the daemon does after a restart): the merged result
// must equal one uninterrupted parse, claims folded by key.
func TestStateRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][][]byte{}
	for _, f := range files {
		inputs[filepath.Base(f)] = fixtureLines(t, filepath.Base(f))
	}
	inputs["generated"] = generatedLines(t, 1<<20)
	for name, lines := range inputs {
		want := parseLines(lines)
		want.Claims = foldClaims(want.Claims)
		for _, chunk := range []int{1, 2, 3, 7} {
			var got session.Delta
			var state []byte
			for i := 0; i < len(lines); i += chunk {
				var p Parser
				if err := p.Restore(state); err != nil {
					t.Fatal(err)
				}
				// a restored parser keeps adding to the same delta
				for _, l := range lines[i:min(i+chunk, len(lines))] {
					p.Line(l, &got)
				}
				state = p.State()
			}
			got.Claims = foldClaims(got.Claims)
			if !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("%s, chunks of %d:\ngot  %+v\nwant %+v", name, chunk, got.Counts, want.Counts)
			}
		}
	}
}

func TestState(t *testing.T) {
	var p Parser
	if s := p.State(); s != nil {
		t.Fatalf("fresh parser state = %q, want nil", s)
	}
	var d session.Delta
	p.Line([]byte(`{"type":"assistant","message":{"id":"msg_7","content":[]}}`), &d)
	s := p.State()
	if want := append([]byte{stateV1}, "msg_7"...); !bytes.Equal(s, want) {
		t.Fatalf("state = %q, want %q", s, want)
	}
	var q Parser
	if err := q.Restore(s); err != nil {
		t.Fatal(err)
	}
	q.Line([]byte(`{"type":"assistant","message":{"id":"msg_7","content":[]}}`), &d)
	if d.AssistantMessages != 1 {
		t.Errorf("restored parser counted the same response again: %d", d.AssistantMessages)
	}
	// An assistant line without id is state too: the next one is not new.
	p.Line([]byte(`{"type":"assistant","message":{"content":[]}}`), &d)
	if s := p.State(); !bytes.Equal(s, []byte{stateV1}) {
		t.Errorf("state after id-less line = %q", s)
	}
	if err := q.Restore([]byte{9, 'x'}); !errors.Is(err, ErrBadState) {
		t.Errorf("Restore(bad version) = %v, want ErrBadState", err)
	}
	if err := q.Restore(nil); err != nil || q.State() != nil {
		t.Errorf("Restore(nil) = %v, state %q", err, q.State())
	}
}

// TestNotTypedEscaped: the markers are recognised however the JSON string
// spells them, as encoding/json would decode it.
func TestNotTypedEscaped(t *testing.T) {
	for raw, want := range map[string]bool{
		`[Request interrupted by user]`:                   true,
		`\u005bRequest interrupted by user for tool use]`: true,
		`\u003clocal-command-stdout\u003eok`:              true,
		`<local-command-stdout\u003E`:                     true,
		`<bash-stdout>`:                                   true,
		`<bash-std`:                                       false,
		`\u00e9<bash-stdout>`:                             false,
		` [Request interrupted by user]`:                  false,
		`\"[Request interrupted by user]`:                 false,
		`<command-name>/review</command-name>`:            false,
		``:                                                false,
	} {
		text := jsonscan.Str{Raw: []byte(raw), Esc: strings.Contains(raw, `\`), OK: true}
		if got := notTyped(text); got != want {
			t.Errorf("notTyped(%s) = %v, want %v", raw, got, want)
		}
	}
}

// TestNotTypedPrefixesStart: notTyped rules a text out by its first byte,
// which holds only while every marker begins with '[' or '<'.
func TestNotTypedPrefixesStart(t *testing.T) {
	for _, p := range notTypedPrefixes {
		if p == "" || (p[0] != '[' && p[0] != '<') {
			t.Errorf("marker %q does not begin with '[' or '<'", p)
		}
	}
}
