package claudecode

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScannerAgreesWithEncodingJSON checks that skipValue accepts exactly
// what encoding/json accepts, on inputs chosen to hit every branch.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `1E-2`, `-`, `01`, `1.`, `.5`, `1e`, `+1`, `true`, `tru`, `nul`, `false`,
		`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[{"b":{}}]}`,
		`"\u00e9"`, `"\u00g9"`, `"\ud83d\ude80"`, `"\ud83d"`, `"\x"`, `"\/"`, "\"a\tb\"", "\"a\x7fb\"",
		"\"\xff\xfe\"", "\"\xe6\x97\xa5\"", `"abc\"def"`, `"abc\\"`, `"abc\\\"`, `"12345678\"12345678"`,
		"\"12345678\\n12345678\x01\"", `"` + strings.Repeat("x", 100) + `"`, `"` + strings.Repeat("\\\\", 50) + `"`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	}
	for _, in := range inputs {
		b := []byte(in)
		got := skipValue(b, 0, 0) == len(b)
		if want := json.Valid(b); got != want {
			t.Errorf("skipValue(%.60q) valid = %v, encoding/json says %v", in, got, want)
		}
	}
	// Every prefix of a valid line is invalid, as is the line with any
	// single byte removed, in both scanners alike.
	line := fixtureLines(t, "unicode.jsonl")[1]
	for i := 0; i < len(line); i++ {
		for _, b := range [][]byte{line[:i], append(append([]byte(nil), line[:i]...), line[i+1:]...)} {
			got := skipValue(b, skipWS(b, 0), 0) == len(b)
			if want := json.Valid(b) && len(b) > 0 && b[0] != ' '; got != want {
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
		{"9999999999999999999", 0}, {"10000000000000000000", 0}, {"18446744073709551616", 0},
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
		"2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00.000Z", "2000-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z",
		"2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z", "2026-01-00T00:00:00.000Z",
		"2026-01-01T24:00:00.000Z", "2026-01-01T23:60:00.000Z", "2026-01-01T23:59:60.000Z", "1969-12-31T23:59:59.999Z",
		"0001-01-01T00:00:00.000Z", "2026-01-01t00:00:00.000z", "2026-01-01T00:00:00.000+00:00", "2026-01-01 00:00:00.000Z",
		"2026-01-01T00:00:00,000Z", "2026-1-01T00:00:00.000Z", "２026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.00aZ",
	)
	for _, c := range cases {
		want, err := time.Parse(time.RFC3339Nano, c)
		got, ok := parseTime(str{raw: []byte(c), ok: true}, nil)
		if ok != (err == nil) || (ok && !got.Equal(want)) {
			t.Fatalf("parseTime(%s) = %v, %v; time.Parse: %v, %v", c, got, ok, want, err)
		}
		if ok && got.Location() != time.UTC {
			t.Fatalf("parseTime(%s) not in UTC", c)
		}
	}
}
