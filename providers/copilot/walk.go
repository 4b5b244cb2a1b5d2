package copilot

import "github.com/sessiond/sessiond/providers/jsonscan"

// This file walks values in one pass: a handler gets each member or
// element as it comes and either reads it (returning how far it read) or
// lets the walker skip it. Values are given as vals whose raw bytes start at
// the value and run on to the end of the enclosing buffer (its end is what
// the handler finds); materialized nodes of a replayed log are walked
// directly, their children given exactly. Every byte passed over is
// validated as encoding/json would; depth is the nesting depth of the
// container holding the value, as in skipValue.

// skip is a handler's answer for a value it does not read.
const skip = -2

// walkObject calls fn for each member of the object at the start of v. fn
// returns the length of the member's value it read, skip, or -1 if the
// value is invalid. walkObject returns the object's length (0 for a node)
// and whether v is an object; a value that is not an object is skipped.
// The length is -1 when the input is not valid JSON.
func walkObject(v val, depth int, fn func(key []byte, esc bool, c val, depth int) int) (int, bool) {
	if v.n != nil {
		if v.n.arr {
			return 0, false
		}
		for j := range v.n.keys {
			fn(v.n.keys[j], false, v.n.vals[j], depth+1)
		}
		return 0, true
	}
	b := v.raw
	if len(b) == 0 || b[0] != '{' {
		return jsonscan.SkipValue(b, 0, depth), false
	}
	if depth+1 > jsonscan.MaxDepth {
		return -1, true
	}
	i := jsonscan.SkipWS(b, 1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, esc, vi := jsonscan.Member(b, i)
		if vi < 0 {
			return -1, true
		}
		var e int
		switch n := fn(key, esc, val{raw: b[vi:]}, depth+1); {
		case n == skip:
			e = jsonscan.SkipValue(b, vi, depth+1)
		case n < 0:
			return -1, true
		default:
			e = vi + n
		}
		if e < 0 {
			return -1, true
		}
		var closed bool
		if i, closed = jsonscan.Next(b, e, '}'); i < 0 {
			return -1, true
		}
		if closed {
			return i, true
		}
	}
}

// walkArray calls fn for each element of the array at the start of v, as
// walkObject does for members.
func walkArray(v val, depth int, fn func(c val, depth int) int) (int, bool) {
	if v.n != nil {
		if !v.n.arr {
			return 0, false
		}
		for _, c := range v.n.vals {
			fn(c, depth+1)
		}
		return 0, true
	}
	b := v.raw
	if len(b) == 0 || b[0] != '[' {
		return jsonscan.SkipValue(b, 0, depth), false
	}
	if depth+1 > jsonscan.MaxDepth {
		return -1, true
	}
	i := jsonscan.SkipWS(b, 1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var e int
		switch n := fn(val{raw: b[i:]}, depth+1); {
		case n == skip:
			e = jsonscan.SkipValue(b, i, depth+1)
		case n < 0:
			return -1, true
		default:
			e = i + n
		}
		if e < 0 {
			return -1, true
		}
		var closed bool
		if i, closed = jsonscan.Next(b, e, ']'); i < 0 {
			return -1, true
		}
		if closed {
			return i, true
		}
	}
}

// readStr reads the value at the start of v: a string's contents, or
// str{} for anything else (skipped). It returns the value's length (0 for
// a node).
func readStr(v val, depth int) (jsonscan.Str, int) {
	if v.n != nil {
		return jsonscan.Str{}, 0
	}
	b := v.raw
	if len(b) > 0 && b[0] == '"' {
		e, esc := jsonscan.ScanString(b, 1)
		if e < 0 {
			return jsonscan.Str{}, -1
		}
		return jsonscan.Str{Raw: b[1 : e-1], Esc: esc, OK: true}, e
	}
	return jsonscan.Str{}, jsonscan.SkipValue(b, 0, depth)
}

// num is a number value read: ok when the value was a number in range.
type num struct {
	n  int64
	ok bool
}

// readNum reads the value at the start of v as a number (see number); any
// other value is skipped and gives num{}.
func readNum(v val, depth int) (num, int) {
	if v.n != nil {
		return num{}, 0
	}
	b := v.raw
	if len(b) == 0 || (b[0] != '-' && !jsonscan.IsDigit(b[0])) {
		return num{}, jsonscan.SkipValue(b, 0, depth)
	}
	e, integer := jsonscan.ScanNumber(b, 0)
	if e < 0 {
		return num{}, -1
	}
	n, ok := number(b[:e], integer)
	return num{n, ok}, e
}

// readKind reads the value at the start of v and reports its kind (as
// val.kind) and length.
func readKind(v val, depth int) (byte, int) {
	if v.n != nil {
		return v.kind(), 0
	}
	e := jsonscan.SkipValue(v.raw, 0, depth)
	if e < 0 {
		return kUndefined, -1
	}
	return val{raw: v.raw[:e]}.kind(), e
}
