package codex

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// seedLines are every line of every JSONL fixture.
func seedLines(f *testing.F) [][]byte {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		out = append(out, fixtureLines(f, filepath.Base(file))...)
	}
	return out
}

// isObject reports whether encoding/json accepts line as one JSON object.
func isObject(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\n")
	return json.Valid(line) && len(t) > 0 && t[0] == '{'
}

func isBlankLine(line []byte) bool { return len(bytes.Trim(line, " \t\r\n")) == 0 }

// FuzzParserLine: the parser never panics, every non-blank line is exactly
// one record or one malformed line, it is a record exactly when
// encoding/json accepts it as an object, and state survives a round trip.
func FuzzParserLine(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var p Parser
		var d session.Delta
		p.Line(line, &d)
		switch {
		case isBlankLine(line):
			if d.Records+d.Malformed != 0 {
				t.Fatalf("blank line counted: %+v", d)
			}
		case d.Records+d.Malformed != 1:
			t.Fatalf("Records+Malformed = %d", d.Records+d.Malformed)
		case (d.Records == 1) != isObject(line):
			t.Fatalf("record = %v, encoding/json object = %v", d.Records == 1, isObject(line))
		}
		var q Parser
		if err := q.Restore(p.State()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.State(), p.State()) {
			t.Fatalf("state round trip: %q != %q", q.State(), p.State())
		}
	})
}

// fuzzPrefix opens every fuzzed rollout: a session_meta and a token count,
// so that the fuzzed lines meet a known lineage and a previous total.
const fuzzPrefix = `{"timestamp":"2026-03-02T10:00:00.000Z","type":"session_meta","payload":{"id":"` + sid + `","cwd":"/p","git":{"branch":"b"}}}
{"timestamp":"2026-03-02T10:00:01.000Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":100,"cached_input_tokens":10,"output_tokens":5,"reasoning_output_tokens":1,"total_tokens":105},"last_token_usage":{"input_tokens":100,"cached_input_tokens":10,"output_tokens":5,"reasoning_output_tokens":1,"total_tokens":105}}}}
`

// FuzzParserMatchesCount compares the provider with the reference
// implementation on rollouts made of a fixed prefix and two fuzzed lines.
func FuzzParserMatchesCount(f *testing.F) {
	lines := seedLines(f)
	for i, l := range lines {
		f.Add(l, lines[(i*7+3)%len(lines)])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if bytes.IndexByte(a, '\n') >= 0 || bytes.IndexByte(b, '\n') >= 0 {
			return // a file line holds no newline
		}
		data := append([]byte(fuzzPrefix), a...)
		data = append(append(append(data, '\n'), b...), '\n')
		rel := "sessions/2026/03/02/rollout-2026-03-02T10-00-00-" + sid + ".jsonl"
		want, err := codextest.CountFS(fstest.MapFS{rel: {Data: data}})
		if err != nil {
			t.Fatal(err)
		}
		providertest.Diff(t, want, parseMem(t, map[string][]byte{rel: data}, 1))
	})
}

// FuzzDocument: Document never panics, and on a TypeScript CLI document
// agrees with the reference.
func FuzzDocument(f *testing.F) {
	data, err := os.ReadFile("testdata/ts_session.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"session":{"timestamp":"2025-04-20T14:03:11.500Z"},"items":[{"type":"message","role":"user","content":"hi"},7]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var p Parser
		var d session.Delta
		_ = p.Document(doc, &d)
		rel := "sessions/rollout-2025-04-20-ts1.json"
		want, err := codextest.CountFS(fstest.MapFS{rel: {Data: doc}})
		if err != nil {
			t.Fatal(err)
		}
		providertest.Diff(t, want, parseMem(t, map[string][]byte{rel: doc}, 0))
	})
}

// FuzzStrings builds tool outputs, prompts and bare user messages from a
// fuzzed text (as a JSON string, and with every character escaped) and
// compares the provider with the reference: the rules that read inside
// strings decode only a prefix when that suffices.
func FuzzStrings(f *testing.F) {
	for _, s := range []string{
		"Exit code: 1\nWall time: 0 seconds\nOutput:\n", "Exit code: 000000000000000000007", "Exit code: -0",
		"Chunk ID: ab\nWall time: 1.0 seconds\nProcess exited with code 2\nOutput:\nx",
		"Wall time: 1\nOutput:\nProcess exited with code 3", `{"output":"x","metadata":{"exit_code":1}}`,
		` {"metadata":{"exit_code":0}} `, "\n\n<environment_context>\n<cwd>/x</cwd>", "<user_instructions>",
		"# AGENTS.md instructions for /r", "\U0001F680 plain", "\t<environment_context>\nCurrent working directory: /y\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, escapeAll bool) {
		q, err := json.Marshal(s)
		if err != nil {
			return
		}
		if escapeAll {
			var b bytes.Buffer
			b.WriteByte('"')
			for _, r := range string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))) {
				if r > 0xFFFF {
					r1, r2 := 0xD800+((r-0x10000)>>10), 0xDC00+((r-0x10000)&0x3FF)
					b.WriteString(`\u` + hex4(int(r1)) + `\u` + hex4(int(r2)))
					continue
				}
				b.WriteString(`\u` + hex4(int(r)))
			}
			b.WriteByte('"')
			q = b.Bytes()
		}
		lines := fuzzPrefix +
			`{"type":"response_item","payload":{"type":"function_call_output","output":` + string(q) + "}}\n" +
			`{"type":"response_item","payload":{"type":"custom_tool_call_output","output":{"content":` + string(q) + "}}}\n" +
			`{"type":"event_msg","payload":{"type":"user_message","message":` + string(q) + "}}\n" +
			`{"type":"message","role":"user","content":[{"type":"input_text","text":` + string(q) + "}]}\n"
		rel := "sessions/2026/03/02/rollout-2026-03-02T10-00-00-" + sid + ".jsonl"
		want, err := codextest.CountFS(fstest.MapFS{rel: {Data: []byte(lines)}})
		if err != nil {
			t.Fatal(err)
		}
		providertest.Diff(t, want, parseMem(t, map[string][]byte{rel: []byte(lines)}, 0))
	})
}

func hex4(v int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12&15], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
