package cursor

import "github.com/sessiond/sessiond/providers/jsonscan"

// Helpers that walk objects and arrays with the shared scanner, keeping
// track of the nesting depth for fn.

// objectMembers scans the object at b[i] (b[i] == '{') whose container is
// at depth, calling fn for each member with its key and the start of its
// value (after whitespace). fn consumes the value and returns the position
// after it, or -1. objectMembers returns the position after the object, or
// -1 when the input is not valid JSON there.
func objectMembers(b []byte, i, depth int, fn func(k jsonscan.Str, v, depth int) int) int {
	if depth++; depth > jsonscan.MaxDepth {
		return -1
	}
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 || v >= len(b) {
			return -1
		}
		e := fn(jsonscan.Str{Raw: key, Esc: esc, OK: true}, v, depth)
		if e < 0 {
			return -1
		}
		var done bool
		if i, done = jsonscan.Next(b, e, '}'); i < 0 || done {
			return i
		}
	}
}

// arrayElements scans the array at b[i] (b[i] == '['), calling fn for each
// element's start; fn consumes it and returns the position after it. It
// returns the position after the array, or -1.
func arrayElements(b []byte, i, depth int, fn func(v, depth int) int) int {
	if depth++; depth > jsonscan.MaxDepth {
		return -1
	}
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(b) {
			return -1
		}
		e := fn(i, depth)
		if e < 0 {
			return -1
		}
		var done bool
		if i, done = jsonscan.Next(b, e, ']'); i < 0 || done {
			return i
		}
	}
}

// objectOrSkip scans the value at b[v] with objectMembers if it is an
// object, and skips it otherwise.
func objectOrSkip(b []byte, v, depth int, fn func(k jsonscan.Str, v, depth int) int) int {
	if v < len(b) && b[v] == '{' {
		return objectMembers(b, v, depth, fn)
	}
	return jsonscan.SkipValue(b, v, depth)
}

// validObject reports whether b holds exactly one JSON object (surrounding
// whitespace allowed), as encoding/json would accept it.
func validObject(b []byte) bool {
	i := jsonscan.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	e := jsonscan.SkipObject(b, i+1, 1)
	return e >= 0 && jsonscan.SkipWS(b, e) == len(b)
}
