package codex

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/providers/jsonscan"
)

// TestRecordAgreesWithEncodingJSON checks that a record is valid exactly
// when encoding/json accepts it, whatever key the nesting hides under
// (payload, info, content, output, git). The scanner itself is tested in
// package jsonscan.
func TestRecordAgreesWithEncodingJSON(t *testing.T) {
	// Depth: the deepest nesting encoding/json accepts, reached through
	// every member the record scanner descends into.
	for _, path := range []string{
		`{"payload":{"info":{"total_token_usage":{"input_tokens":%s}}}}`,
		`{"payload":{"content":[{"text":%s}]}}`,
		`{"payload":{"output":{"content":%s}}}`,
		`{"payload":{"git":{"branch":%s}}}`,
		`{"content":[{"type":%s}]}`,
		`{"output":{"success":%s}}`,
		`{"info":{"last_token_usage":{"total_tokens":%s}}}`,
	} {
		depth := strings.Count(path, "{") + strings.Count(path, "[")
		for _, extra := range []int{jsonscan.MaxDepth - depth, jsonscan.MaxDepth - depth + 1} {
			v := strings.Repeat("[", extra) + strings.Repeat("]", extra)
			line := []byte(strings.Replace(path, "%s", v, 1))
			var r record
			if got, want := r.scan(line) == lineOK, json.Valid(line); got != want {
				t.Errorf("%s with %d more levels: record = %v, encoding/json says %v", path, extra, got, want)
			}
		}
	}
	// Every prefix of a valid line is invalid, as is the line with any
	// single byte removed, in both scanners alike.
	line := fixtureLines(t, "user_messages.jsonl")[9]
	for i := 0; i < len(line); i++ {
		for _, b := range [][]byte{line[:i], append(append([]byte(nil), line[:i]...), line[i+1:]...)} {
			var r record
			got := r.scan(b) == lineOK
			if want := json.Valid(b) && strings.HasPrefix(strings.TrimLeft(string(b), " \t\r\n"), "{"); got != want {
				t.Errorf("%q: valid = %v, encoding/json says %v", b, got, want)
			}
		}
	}
}
