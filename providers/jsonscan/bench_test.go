package jsonscan

import (
	"fmt"
	"strings"
	"testing"
)

// benchDoc is a transcript-like object: mostly long strings (message text,
// tool output, escapes now and then) with some numbers and nesting.
func benchDoc() []byte {
	var sb strings.Builder
	sb.WriteString(`{"type":"assistant","timestamp":"2026-03-02T10:30:01.000Z","message":{"content":[`)
	for i := range 50 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"text","text":"%s line %d\n%s","n":%d,"f":%d.5e3,"ok":true,"x":null}`,
			strings.Repeat("Lorem ipsum dolor sit amet, ", 20), i, strings.Repeat(`\"quoted\" \u00e9 `, 3), i*1234567, i)
	}
	sb.WriteString(`]},"usage":{"input_tokens":12345,"output_tokens":678}}`)
	return []byte(sb.String())
}

func BenchmarkSkipValue(b *testing.B) {
	doc := benchDoc()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if SkipValue(doc, 0, 0) != len(doc) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkMembers reads a few members of each line and skips the rest, as
// a provider's record scanner does.
func BenchmarkMembers(b *testing.B) {
	lines := testLines(b)
	lines = append(lines, benchDoc())
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			i, done := SkipWS(l, 1), false
			for !done {
				key, esc, v := Member(l, i)
				if v < 0 {
					b.Fatal("invalid")
				}
				if KeyIs(key, esc, "timestamp") {
					var s Str
					s, i = ScanStr(l, v, 1)
					if _, ok := ParseTime(s, nil); !ok {
						b.Fatal("bad time")
					}
				} else {
					i = SkipValue(l, v, 1)
				}
				if i, done = Next(l, i, '}'); i < 0 {
					b.Fatal("invalid")
				}
			}
		}
	}
}

func BenchmarkParseTime(b *testing.B) {
	s := Str{Raw: []byte("2026-03-02T10:30:01.123Z"), OK: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseTime(s, nil); !ok {
			b.Fatal("bad")
		}
	}
}
