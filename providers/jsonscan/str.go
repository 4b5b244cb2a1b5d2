package jsonscan

import (
	"slices"
	"unicode/utf8"

	"github.com/buger/jsonparser"
)

// Str is a string value as found in the input, not yet decoded. The zero
// Str stands for a value that is absent or not a string.
type Str struct {
	Raw []byte // between the quotes, still escaped
	Esc bool   // Raw holds escapes
	OK  bool   // the value is a string
}

// ScanStr scans the value at i, returning it as a Str if it is a string;
// any other value is skipped and gives the zero Str.
func ScanStr(b []byte, i, depth int) (Str, int) {
	if i < len(b) && b[i] == '"' {
		e, esc := ScanString(b, i+1)
		if e < 0 {
			return Str{}, -1
		}
		return Str{Raw: b[i+1 : e-1], Esc: esc, OK: true}, e
	}
	return Str{}, SkipValue(b, i, depth)
}

// Text returns the value of the string s as encoding/json decodes it:
// escapes decoded and each byte of invalid UTF-8 replaced by U+FFFD. When
// that differs from the raw bytes it is built at the end of buf, which is
// returned grown; the result aliases the input or buf.
func (s Str) Text(buf []byte) ([]byte, []byte) {
	v := s.Raw
	if s.Esc {
		start := len(buf)
		buf = slices.Grow(buf, len(v))
		out, err := jsonparser.Unescape(v, buf[start:start+len(v)])
		if err == nil { // always: ScanString validated the escapes
			v = out
			buf = buf[:start+len(out)]
		}
	}
	if utf8.Valid(v) {
		return v, buf
	}
	start := len(buf)
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRune(v[i:])
		buf = utf8.AppendRune(buf, r)
		i += n
	}
	return buf[start:], buf
}

// Is reports whether s is a string whose value equals lit. A value without
// escapes is compared as it stands (invalid UTF-8 is not replaced, unlike
// Text); an escaped one is decoded, without allocating up to 64 bytes.
func (s Str) Is(lit string) bool {
	if !s.OK {
		return false
	}
	if !s.Esc {
		return string(s.Raw) == lit
	}
	if len(s.Raw) < len(lit) {
		return false
	}
	var tmp [64]byte
	v, _ := s.Text(tmp[:0])
	return string(v) == lit
}

// KeyIs reports whether a member key (raw, esc as from Member) equals lit.
func KeyIs(raw []byte, esc bool, lit string) bool {
	return Str{Raw: raw, Esc: esc, OK: true}.Is(lit)
}
