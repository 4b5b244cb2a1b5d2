package jsonscan

import (
	"math/bits"
)

// MaxDepth is encoding/json's nesting limit: a text nested deeper is
// invalid.
const MaxDepth = 10000

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// SkipWS returns the position of the first non-whitespace byte at or after i.
func SkipWS(b []byte, i int) int {
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

// ScanString scans the rest of a string whose opening quote is at i-1. It
// returns the position after the closing quote and whether the string holds
// an escape sequence. Runs of plain bytes are skipped eight at a time: a
// word's bytes equal to '"' or '\\', or below 0x20, are found with the
// classic SWAR zero-byte tests, whose lowest flagged byte is exact.
func ScanString(b []byte, i int) (int, bool) {
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
				if i+6 > len(b) || !IsHex(b[i+2]) || !IsHex(b[i+3]) || !IsHex(b[i+4]) || !IsHex(b[i+5]) {
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

// IsHex reports whether c is an ASCII hexadecimal digit.
func IsHex(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 6
}

// IsDigit reports whether c is an ASCII decimal digit.
func IsDigit(c byte) bool { return c-'0' < 10 }

// ScanNumber scans a number starting at i. It returns the position after it
// and whether it is a plain integer (no fraction, no exponent).
func ScanNumber(b []byte, i int) (int, bool) {
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
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
	default:
		return -1, false
	}
	integer := true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i >= len(b) || !IsDigit(b[i]) {
			return -1, false
		}
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !IsDigit(b[i]) {
			return -1, false
		}
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
	}
	return i, integer
}

// ScanLiteral scans the literal lit (true, false, null) at i.
func ScanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// SkipValue skips the value starting at i (no leading whitespace); depth is
// the nesting depth of the container holding it.
func SkipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := ScanString(b, i+1)
		return e
	case '{':
		return SkipObject(b, i+1, depth+1)
	case '[':
		return SkipArray(b, i+1, depth+1)
	case 't':
		return ScanLiteral(b, i, "true")
	case 'f':
		return ScanLiteral(b, i, "false")
	case 'n':
		return ScanLiteral(b, i, "null")
	default:
		e, _ := ScanNumber(b, i)
		return e
	}
}

// SkipObject skips the rest of an object whose '{' is at i-1; depth is the
// object's own nesting depth (1 for a top-level object).
func SkipObject(b []byte, i, depth int) int {
	if depth > MaxDepth {
		return -1
	}
	i = SkipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		if i, _ = ScanString(b, i+1); i < 0 {
			return -1
		}
		if i = SkipWS(b, i); i >= len(b) || b[i] != ':' {
			return -1
		}
		if i = SkipValue(b, SkipWS(b, i+1), depth); i < 0 {
			return -1
		}
		if i = SkipWS(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// SkipArray skips the rest of an array whose '[' is at i-1; depth is the
// array's own nesting depth (1 for a top-level array).
func SkipArray(b []byte, i, depth int) int {
	if depth > MaxDepth {
		return -1
	}
	i = SkipWS(b, i)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = SkipValue(b, i, depth); i < 0 {
			return -1
		}
		if i = SkipWS(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// WholeValue reports the single JSON value b holds (surrounding whitespace
// allowed), without the whitespace, or ok false when b is not exactly one
// valid JSON value. ok is true exactly when encoding/json's Valid is.
func WholeValue(b []byte) (v []byte, ok bool) {
	i := SkipWS(b, 0)
	e := SkipValue(b, i, 0)
	if e < 0 || SkipWS(b, e) != len(b) {
		return nil, false
	}
	return b[i:e], true
}

// Member parses the key and colon of the object member starting at i (after
// whitespace). It returns the key's raw bytes (between the quotes), whether
// the key holds escapes, and the start of the value (after whitespace), or
// -1.
func Member(b []byte, i int) (key []byte, esc bool, v int) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, -1
	}
	e, esc := ScanString(b, i+1)
	if e < 0 {
		return nil, false, -1
	}
	key = b[i+1 : e-1]
	if e = SkipWS(b, e); e >= len(b) || b[e] != ':' {
		return nil, false, -1
	}
	return key, esc, SkipWS(b, e+1)
}

// Next consumes the separator after a member or element ending at i. It
// returns the start of the next one (after whitespace), whether the
// container ended (then the position is after close), or -1.
func Next(b []byte, i int, close byte) (int, bool) {
	if i = SkipWS(b, i); i >= len(b) {
		return -1, false
	}
	switch b[i] {
	case ',':
		return SkipWS(b, i+1), false
	case close:
		return i + 1, true
	}
	return -1, false
}

// ScanTrue scans the value at i and reports whether it is the literal true.
func ScanTrue(b []byte, i, depth int) (bool, int) {
	if i < len(b) && b[i] == 't' {
		return true, ScanLiteral(b, i, "true")
	}
	return false, SkipValue(b, i, depth)
}

// ScanInt scans the value at i and returns it as an int64 if it is an
// integer number that fits; any other value gives 0.
func ScanInt(b []byte, i, depth int) (int64, int) {
	if i >= len(b) || (b[i] != '-' && !IsDigit(b[i])) {
		return 0, SkipValue(b, i, depth)
	}
	e, integer := ScanNumber(b, i)
	if e < 0 || !integer {
		return 0, e
	}
	n, _ := ParseInt(b[i:e])
	return n, e
}

// ParseInt parses a valid JSON integer (as ScanNumber accepts it with
// integer true), returning 0, false if it does not fit an int64. Nineteen
// digits always fit a uint64; JSON forbids leading zeros, so more digits
// always overflow.
func ParseInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n > 1<<63:
		return 0, false
	case neg:
		return -int64(n), true
	case n > 1<<63-1:
		return 0, false
	}
	return int64(n), true
}
