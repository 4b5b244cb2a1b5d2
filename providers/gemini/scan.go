package gemini

import (
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/buger/jsonparser"
)

// This file holds a minimal validating JSON scanner, adapted from package
// claudecode's. It accepts exactly the texts encoding/json accepts (RFC 8259
// grammar, no control characters in strings, valid escapes, nesting depth ≤
// maxDepth; invalid UTF-8 is tolerated as encoding/json tolerates it), and it
// skips values it is not asked about at several GB/s: strings, which are most
// of a Gemini CLI record (message text, tool results), are scanned eight
// bytes at a time.
//
// Every function takes the input and a position and returns the position
// after what it consumed, or -1 when the input is not valid JSON there.

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipWS returns the position of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the rest of a string whose opening quote is at i-1. It
// returns the position after the closing quote and whether the string holds
// an escape sequence. Runs of plain bytes are skipped eight at a time: a
// word's bytes equal to '"' or '\\', or below 0x20, are found with the
// classic SWAR zero-byte tests, whose lowest flagged byte is exact.
func scanString(b []byte, i int) (int, bool) {
	esc := false
	for {
		for i+8 <= len(b) {
			w := load64(b, i)
			q, s := w^(lsb*'"'), w^(lsb*'\\')
			if m := ((q-lsb)&^q | (s-lsb)&^s | (w-lsb*0x20)&^w) & msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				goto found
			}
		}
		return -1, esc
	found:
		switch b[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return -1, esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, esc
				}
				i += 6
			default:
				return -1, esc
			}
		default: // a control character
			return -1, esc
		}
	}
}

func isHex(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 6
}

func isDigit(c byte) bool { return c-'0' < 10 }

// scanNumber scans a number starting at i. It returns the position after it
// and whether it is a plain integer (no fraction, no exponent).
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1, false
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1, false
	}
	integer := true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, integer
}

// scanLiteral scans the literal lit (true, false, null) at i.
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipValue skips the value starting at i (no leading whitespace); depth is
// the nesting depth of the container holding it.
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := scanString(b, i+1)
		return e
	case '{':
		return skipObject(b, i+1, depth+1)
	case '[':
		return skipArray(b, i+1, depth+1)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		e, _ := scanNumber(b, i)
		return e
	}
}

// skipObject skips the rest of an object whose '{' is at i-1.
func skipObject(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		if i, _ = scanString(b, i+1); i < 0 {
			return -1
		}
		if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
			return -1
		}
		if i = skipValue(b, skipWS(b, i+1), depth); i < 0 {
			return -1
		}
		if i = skipWS(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// skipArray skips the rest of an array whose '[' is at i-1.
func skipArray(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipWS(b, i)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = skipValue(b, i, depth); i < 0 {
			return -1
		}
		if i = skipWS(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// member parses the key and colon of the object member starting at i (after
// whitespace). It returns the key's raw bytes (between the quotes), whether
// the key holds escapes, and the start of the value (after whitespace), or
// -1.
func member(b []byte, i int) (key []byte, esc bool, v int) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, -1
	}
	e, esc := scanString(b, i+1)
	if e < 0 {
		return nil, false, -1
	}
	key = b[i+1 : e-1]
	if e = skipWS(b, e); e >= len(b) || b[e] != ':' {
		return nil, false, -1
	}
	return key, esc, skipWS(b, e+1)
}

// next consumes the separator after a member or element ending at i. It
// returns the start of the next one (after whitespace), whether the
// container ended (then the position is after close), or -1.
func next(b []byte, i int, close byte) (int, bool) {
	if i = skipWS(b, i); i >= len(b) {
		return -1, false
	}
	switch b[i] {
	case ',':
		return skipWS(b, i+1), false
	case close:
		return i + 1, true
	}
	return -1, false
}

// str is a string value as found in the input.
type str struct {
	raw []byte // between the quotes, still escaped
	esc bool   // raw holds escapes
	ok  bool   // the value is a string
}

// scanStr scans the value at i, returning it as a str if it is a string.
func scanStr(b []byte, i, depth int) (str, int) {
	if i < len(b) && b[i] == '"' {
		e, esc := scanString(b, i+1)
		if e < 0 {
			return str{}, -1
		}
		return str{raw: b[i+1 : e-1], esc: esc, ok: true}, e
	}
	return str{}, skipValue(b, i, depth)
}

// scanInt scans the value at i and returns it as an int64 if it is an
// integer number that fits; any other value gives 0.
func scanInt(b []byte, i, depth int) (int64, int) {
	if i >= len(b) || (b[i] != '-' && !isDigit(b[i])) {
		return 0, skipValue(b, i, depth)
	}
	e, integer := scanNumber(b, i)
	if e < 0 || !integer {
		return 0, e
	}
	return parseInt(b[i:e]), e
}

// parseInt parses a valid JSON integer, returning 0 if it does not fit an
// int64. Nineteen digits always fit a uint64; JSON forbids leading zeros, so
// more digits always overflow.
func parseInt(b []byte) int64 {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 19 {
		return 0
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n > 1<<63:
		return 0
	case neg:
		return -int64(n)
	case n > 1<<63-1:
		return 0
	}
	return int64(n)
}

// text returns the value of the string s as encoding/json decodes it:
// escapes decoded and each byte of invalid UTF-8 replaced by U+FFFD. When
// that differs from the raw bytes it is built at the end of buf; the result
// aliases the input or buf.
func text(s str, buf []byte) ([]byte, []byte) {
	v := s.raw
	if s.esc {
		start := len(buf)
		buf = slices.Grow(buf, len(v))
		out, err := jsonparser.Unescape(v, buf[start:start+len(v)])
		if err == nil { // always: scanString validated the escapes
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

// is reports whether the string value s equals lit.
func is(s str, lit string) bool {
	if !s.ok {
		return false
	}
	if !s.esc {
		return string(s.raw) == lit
	}
	if len(s.raw) < len(lit) {
		return false
	}
	var tmp [64]byte
	v, _ := text(s, tmp[:0])
	return string(v) == lit
}
