package jsonscan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// testLines returns the lines of testdata/lines.jsonl: real transcript
// lines full of escapes and multi-byte text.
func testLines(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	return lines[:len(lines)-1] // after the last newline
}

// branchInputs are texts chosen to hit every branch of the scanner, valid
// and invalid, including both sides of the depth limit.
func branchInputs() []string {
	return []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `1E-2`, `-`, `01`, `1.`, `.5`, `1e`, `+1`, `true`, `tru`, `nul`, `false`,
		`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[{"b":{}}]}`,
		`"\u00e9"`, `"\u00g9"`, `"\ud83d\ude80"`, `"\ud83d"`, `"\x"`, `"\/"`, "\"a\tb\"", "\"a\x7fb\"",
		"\"\xff\xfe\"", "\"\xe6\x97\xa5\"", `"abc\"def"`, `"abc\\"`, `"abc\\\"`, `"12345678\"12345678"`,
		"\"12345678\\n12345678\x01\"", `"` + strings.Repeat("x", 100) + `"`, `"` + strings.Repeat("\\\\", 50) + `"`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
		strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
	}
}

// TestAgreesWithEncodingJSON checks that SkipValue and WholeValue accept
// exactly what encoding/json accepts, on inputs chosen to hit every branch.
func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range branchInputs() {
		b := []byte(in)
		want := json.Valid(b)
		if got := SkipValue(b, 0, 0) == len(b); got != want {
			t.Errorf("SkipValue(%.60q) valid = %v, encoding/json says %v", in, got, want)
		}
		if _, got := WholeValue([]byte(" \t" + in + "\r\n")); got != want {
			t.Errorf("WholeValue(%.60q) valid = %v, encoding/json says %v", in, got, want)
		}
	}
	// Every prefix of a valid line is invalid, as is the line with any
	// single byte removed, in both scanners alike.
	for _, line := range testLines(t) {
		for i := 0; i < len(line); i++ {
			for _, b := range [][]byte{line[:i], append(append([]byte(nil), line[:i]...), line[i+1:]...)} {
				got := SkipValue(b, SkipWS(b, 0), 0) == len(b)
				if want := json.Valid(b) && len(b) > 0 && b[0] != ' '; got != want {
					t.Errorf("%q: valid = %v, encoding/json says %v", b, got, want)
				}
			}
		}
	}
}

// TestDepthLimit checks that the limit counts the depth passed in: a value
// inside containers the caller walked itself may nest that much less.
func TestDepthLimit(t *testing.T) {
	for _, depth := range []int{0, 1, 5} {
		for _, n := range []int{MaxDepth - depth, MaxDepth - depth + 1} {
			b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
			if got, want := SkipValue(b, 0, depth) == len(b), n+depth <= MaxDepth; got != want {
				t.Errorf("%d arrays at depth %d: valid = %v, want %v", n, depth, got, want)
			}
		}
	}
}

func TestWholeValue(t *testing.T) {
	for in, want := range map[string]string{
		` {"a":1} `: `{"a":1}`, "\n7\t": `7`, `"x"`: `"x"`,
	} {
		if got, ok := WholeValue([]byte(in)); !ok || string(got) != want {
			t.Errorf("WholeValue(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{``, ` `, `1 2`, `{}x`} {
		if got, ok := WholeValue([]byte(in)); ok {
			t.Errorf("WholeValue(%q) = %q, ok", in, got)
		}
	}
}

// TestMembers walks an object with Member and Next and reads its values.
func TestMembers(t *testing.T) {
	b := []byte(`{ "s" : "a\"b" , "t\u0065xt":true, "n": -12 ,"f":1.5,"big":9223372036854775808, "x":[1,{}], "no": "true" }`)
	type got struct {
		key string
		val any
	}
	var all []got
	i, done := SkipWS(b, 1), false
	for !done {
		key, esc, v := Member(b, i)
		if v < 0 {
			t.Fatalf("Member at %d failed", i)
		}
		k, _ := Str{Raw: key, Esc: esc, OK: true}.Text(nil)
		var val any
		switch {
		case KeyIs(key, esc, "s"), KeyIs(key, esc, "x"):
			var s Str
			s, i = ScanStr(b, v, 1)
			text, _ := s.Text(nil)
			val = [2]any{s.OK, string(text)}
		case KeyIs(key, esc, "text"), KeyIs(key, esc, "no"):
			val, i = ScanTrue(b, v, 1)
		default:
			val, i = ScanInt(b, v, 1)
		}
		if i < 0 {
			t.Fatalf("value of %s failed", k)
		}
		all = append(all, got{string(k), val})
		if i, done = Next(b, i, '}'); i < 0 {
			t.Fatalf("Next failed after %s", k)
		}
	}
	if i != len(b) {
		t.Fatalf("ended at %d of %d", i, len(b))
	}
	want := []got{
		{"s", [2]any{true, `a"b`}}, {"text", true}, {"n", int64(-12)}, {"f", int64(0)},
		{"big", int64(0)}, {"x", [2]any{false, ""}}, {"no", false},
	}
	if len(all) != len(want) {
		t.Fatalf("got %v, want %v", all, want)
	}
	for j := range want {
		if all[j] != want[j] {
			t.Errorf("member %d = %v, want %v", j, all[j], want[j])
		}
	}
	if _, _, v := Member([]byte(`{"a" 1}`), 1); v >= 0 {
		t.Errorf("Member accepted a missing colon")
	}
	if i, _ := Next([]byte(`1 ]`), 1, '}'); i >= 0 {
		t.Errorf("Next accepted the wrong bracket")
	}
}

// TestStr compares Text and Is with encoding/json's decoding.
func TestStr(t *testing.T) {
	for _, in := range []string{
		`""`, `"plain"`, `"\u00e9t\u00e9"`, `"\ud83d\ude80"`, `"\ud83d"`, `"a\\b\/c\n"`, "\"\xff\xfe\"",
		"\"\xe6\x97\xa5\\u0041\"", `"` + strings.Repeat(`\u0078`, 20) + `"`,
	} {
		b := []byte(in)
		s, e := ScanStr(b, 0, 0)
		if e != len(b) || !s.OK {
			t.Fatalf("ScanStr(%q) = %v, %d", in, s, e)
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		scratch := []byte("keep")
		got, buf := s.Text(scratch)
		if string(got) != want || string(buf[:4]) != "keep" {
			t.Errorf("Text(%q) = %q (buf %q), want %q", in, got, buf, want)
		}
		if utf8.Valid(s.Raw) && (!s.Is(want) || s.Is(want+"x") || (want != "" && s.Is(want[1:]))) {
			t.Errorf("Is(%q) disagrees with %q", in, want)
		}
	}
	if (Str{}).Is("") {
		t.Errorf("the zero Str is a string")
	}
	if s, e := ScanStr([]byte(`12`), 0, 0); s.OK || e != 2 {
		t.Errorf("ScanStr(12) = %v, %d", s, e)
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
		want, err := strconv.ParseInt(tc.in, 10, 64)
		if err != nil {
			want = 0
		}
		if want != tc.want {
			t.Errorf("test case %s disagrees with strconv: %d", tc.in, want)
		}
		if got, ok := ParseInt([]byte(tc.in)); got != tc.want || ok != (err == nil) {
			t.Errorf("ParseInt(%s) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, err == nil)
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
		"2026-01-01T00:00:00Z", "2026-03-02T10:00:00.123456Z", "2026-03-02T12:00:00.5+02:00",
	)
	for _, c := range cases {
		want, err := time.Parse(time.RFC3339Nano, c)
		got, ok := ParseTime(Str{Raw: []byte(c), OK: true}, nil)
		if ok != (err == nil) || (ok && !got.Equal(want)) {
			t.Fatalf("ParseTime(%s) = %v, %v; time.Parse: %v, %v", c, got, ok, want, err)
		}
		if ok && got.Location() != time.UTC {
			t.Fatalf("ParseTime(%s) not in UTC", c)
		}
	}
	// An escaped timestamp takes the slow path and decodes the same.
	got, ok := ParseTime(Str{Raw: []byte(`2026-03-02T10:00:00.000\u005a`), Esc: true, OK: true}, nil)
	if want := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("escaped ParseTime = %v, %v; want %v", got, ok, want)
	}
}

// TestAllocs checks that the hot paths do not allocate.
func TestAllocs(t *testing.T) {
	line := testLines(t)[0]
	s := Str{Raw: []byte(`t\u0065xt`), Esc: true, OK: true}
	ts := Str{Raw: []byte("2026-03-02T10:30:01.000Z"), OK: true}
	if n := testing.AllocsPerRun(100, func() {
		if SkipValue(line, 0, 0) != len(line) || !s.Is("text") {
			t.Fatal("bad")
		}
		if _, ok := ParseTime(ts, nil); !ok {
			t.Fatal("bad time")
		}
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// TestStrHasPrefix: HasPrefix compares the value as encoding/json decodes
// it (escapes, U+FFFD for invalid UTF-8), however long the string is,
// without allocating.
func TestStrHasPrefix(t *testing.T) {
	long := strings.Repeat(`x\u0041`, 1000)
	for _, tc := range []struct {
		raw    string
		esc    bool
		prefix string
		want   bool
	}{
		{"<bash-stdout>ok", false, "<bash-stdout>", true},
		{"<bash-stdout", false, "<bash-stdout>", false},
		{`\u003cbash-stdout>ok`, true, "<bash-stdout>", true},
		{`\u003Cbash-stdout\u003e`, true, "<bash-stdout>", true},
		{`\"[Request`, true, `"[Request`, true},
		{`a\nb`, true, "a\nb", true},
		{`\u00e9t\u00e9`, true, "été", true},
		{`\ud83d\ude00!`, true, "😀!", true},
		{`\ud83d!`, true, "\uFFFD!", true},
		{"\xffa", false, "\uFFFDa", true},
		{"\xffa", false, "\xff", false},
		{`\u00e9`, true, "e", false},
		{"", false, "", true},
		{long, true, "xAxA", true},
		{long, true, "xAxB", false},
	} {
		s := Str{Raw: []byte(tc.raw), Esc: tc.esc, OK: true}
		if got := s.HasPrefix(tc.prefix); got != tc.want {
			t.Errorf("Str{%q}.HasPrefix(%q) = %v, want %v", tc.raw, tc.prefix, got, tc.want)
		}
	}
	if (Str{}).HasPrefix("") {
		t.Error("a value that is not a string has a prefix")
	}
	s := Str{Raw: []byte(long), Esc: true, OK: true}
	if n := testing.AllocsPerRun(100, func() { s.HasPrefix("<local-command-stdout>") }); n != 0 {
		t.Errorf("%v allocations per HasPrefix", n)
	}
}
