package codex

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScannerAgreesWithEncodingJSON checks that skipValue accepts exactly
// what encoding/json accepts, on inputs chosen to hit every branch, and
// that a record is valid exactly when encoding/json accepts it, whatever
// key the nesting hides under (payload, info, content, output, git).
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `1E-2`, `-`, `01`, `1.`, `.5`, `1e`, `+1`, `true`, `tru`, `nul`, `false`,
		`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[{"b":{}}]}`,
		`"\u00e9"`, `"\u00g9"`, `"\ud83d\ude80"`, `"\ud83d"`, `"\x"`, `"\/"`, "\"a\tb\"", "\"a\x7fb\"",
		"\"\xff\xfe\"", `"abc\"def"`, `"abc\\"`, `"abc\\\"`, `"12345678\"12345678"`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	}
	for _, in := range inputs {
		b := []byte(in)
		if got, want := skipValue(b, 0, 0) == len(b), json.Valid(b); got != want {
			t.Errorf("skipValue(%.60q) valid = %v, encoding/json says %v", in, got, want)
		}
	}
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
		for _, extra := range []int{maxDepth - depth, maxDepth - depth + 1} {
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

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"-0", 0}, {"7", 7}, {"-12", -12},
		{"9223372036854775807", 1<<63 - 1}, {"9223372036854775808", 0},
		{"-9223372036854775808", -1 << 63}, {"-9223372036854775809", 0},
		{"9999999999999999999", 0}, {"10000000000000000000", 0},
	} {
		if got := parseInt([]byte(tc.in)); got != tc.want {
			t.Errorf("parseInt(%s) = %d, want %d", tc.in, got, tc.want)
		}
		want, err := strconv.ParseInt(tc.in, 10, 64)
		if err != nil {
			want = 0
		}
		if want != tc.want {
			t.Errorf("test case %s disagrees with strconv: %d", tc.in, want)
		}
	}
}

// TestParseTime compares the fast path with time.Parse on random instants
// and on edge cases.
func TestParseTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var cases []string
	for range 20000 {
		sec := r.Int64N(7_258_118_400) // 1970–2200
		cases = append(cases, time.Unix(sec, r.Int64N(1000)*1e6).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	cases = append(cases,
		"2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z",
		"2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z",
		"1969-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000+00:00",
		"2026-01-01 00:00:00.000Z", "2026-01-01T00:00:00Z", "2026-03-02T10:00:00.123456Z",
	)
	for _, c := range cases {
		want, err := time.Parse(time.RFC3339Nano, c)
		got, ok := parseTime(str{raw: []byte(c), ok: true}, nil)
		if ok != (err == nil) || (ok && !got.Equal(want)) {
			t.Fatalf("parseTime(%s) = %v, %v; time.Parse: %v, %v", c, got, ok, want, err)
		}
	}
}

func TestEscapeBoundary(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		n    int
		want int
	}{
		{`abcdef`, 3, 3},
		{`ab\ncd`, 3, 2}, // would cut \n
		{`ab\ncd`, 4, 4},
		{`a\u00e9b`, 4, 1},
		{`a\u00e9b`, 7, 7},
		{`a\\\\u00e9`, 3, 3}, // \\ then \\: boundaries at 1, 3, 5
		{`a\\\\u00e9`, 4, 3},
		{`a\\u00e9`, 4, 4}, // \\ is one escape; "u00e9" is text
		{`\"\"\"`, 5, 4},
	} {
		if got := escapeBoundary([]byte(tc.raw), tc.n); got != tc.want {
			t.Errorf("escapeBoundary(%s, %d) = %d, want %d", tc.raw, tc.n, got, tc.want)
		}
	}
}
