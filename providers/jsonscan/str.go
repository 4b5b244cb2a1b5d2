package jsonscan

import (
	"slices"
	"strings"
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

// HasPrefix reports whether s is a string whose value, as encoding/json
// decodes it (see Text), begins with prefix. Only the head of the value
// the prefix needs is decoded, without allocating for a prefix of up to
// 40 bytes.
func (s Str) HasPrefix(prefix string) bool {
	if !s.OK || !utf8.ValidString(prefix) {
		return false // a decoded value is always valid UTF-8
	}
	if !s.Esc && !strings.ContainsRune(prefix, utf8.RuneError) {
		// the value's runes are the raw ones where the prefix can match
		return len(s.Raw) >= len(prefix) && string(s.Raw[:len(prefix)]) == prefix
	}
	// Each decoded byte takes at most 6 raw bytes (\u0041 is one): the
	// head up to 6 bytes per prefix byte, cut between escapes, decodes to
	// at least the prefix's length before anything the cut garbles.
	limit, i := 6*len(prefix)+12, 0
	for i < len(s.Raw) && i < limit {
		switch {
		case s.Raw[i] != '\\':
			i++
		case i+1 < len(s.Raw) && s.Raw[i+1] == 'u':
			i += 6
		default:
			i += 2
		}
	}
	i = min(i, len(s.Raw))
	if i < len(s.Raw) && !utf8.RuneStart(s.Raw[i]) {
		// not inside a rune either: back to its lead byte, if it has one
		// (an escape is ASCII: never among these bytes)
		j := i - 1
		for j > i-4 && j > 0 && !utf8.RuneStart(s.Raw[j]) {
			j--
		}
		if j >= 0 && s.Raw[j] >= 0xC0 {
			i = j
		}
	}
	// room for the head decoded and, if it holds invalid UTF-8, re-encoded
	var tmp [4 * (6*40 + 18)]byte
	v, _ := Str{Raw: s.Raw[:i], Esc: s.Esc, OK: true}.Text(tmp[:0])
	return len(v) >= len(prefix) && string(v[:len(prefix)]) == prefix
}
