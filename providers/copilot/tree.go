package copilot

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sessiond/sessiond/providers/jsonscan"
)

// This file replays VS Code's chat object mutation log (objectMutationLog.ts)
// over a lazily materialized JSON tree: values stay raw bytes of the log
// until a mutation has to reach inside them, so replaying a log costs about
// one pass over its bytes however large the initial state is.

// val is one JSON value of a replayed state: the raw bytes of a valid value
// (no surrounding whitespace), or a node materialized by a mutation. The zero
// val is JavaScript's undefined: absent, or deleted.
type val struct {
	raw []byte
	n   *node
}

// node is a materialized object or array.
type node struct {
	arr  bool
	keys [][]byte // object member keys, decoded, in insertion order
	vals []val    // object member values, or array elements
}

// Kinds of val, by their first byte in JSON.
const (
	kUndefined = 'u'
	kObject    = '{'
	kArray     = '['
	kString    = '"'
	kNumber    = '0'
	kTrue      = 't'
	kFalse     = 'f'
	kNull      = 'n'
)

func (v val) kind() byte {
	switch {
	case v.n != nil && v.n.arr:
		return kArray
	case v.n != nil:
		return kObject
	case len(v.raw) == 0:
		return kUndefined
	}
	switch c := v.raw[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return kNumber
}

// truthy is JavaScript's truthiness of the value.
func (v val) truthy() bool {
	switch v.kind() {
	case kUndefined, kNull, kFalse:
		return false
	case kString:
		return len(v.raw) > 2
	case kNumber:
		f, err := strconv.ParseFloat(string(v.raw), 64)
		return err != nil || f != 0
	}
	return true
}

// str returns the value as a string value, if it is one.
func (v val) str() jsonscan.Str {
	if v.n != nil || len(v.raw) < 2 || v.raw[0] != '"' {
		return jsonscan.Str{}
	}
	inner := v.raw[1 : len(v.raw)-1]
	return jsonscan.Str{Raw: inner, Esc: bytes.IndexByte(inner, '\\') >= 0, OK: true}
}

// int returns the value as an int64 if it is a number (see number).
func (v val) int() (int64, bool) {
	if v.kind() != kNumber {
		return 0, false
	}
	e, integer := jsonscan.ScanNumber(v.raw, 0)
	if e != len(v.raw) {
		return 0, false
	}
	return number(v.raw, integer)
}

// memberIter walks the members of an object value, raw or materialized.
// Raw values are validated as they are walked; bad reports invalid JSON.
type memberIter struct {
	b    []byte
	i    int
	n    *node
	j    int
	done bool
	bad  bool
}

func (v val) members() memberIter {
	switch {
	case v.n != nil:
		return memberIter{n: v.n, done: v.n.arr}
	case len(v.raw) == 0 || v.raw[0] != '{':
		return memberIter{done: true}
	}
	it := memberIter{b: v.raw, i: jsonscan.SkipWS(v.raw, 1)}
	if it.i < len(it.b) && it.b[it.i] == '}' {
		it.done = true
	}
	return it
}

// next returns the next member: its key (raw, escaped when esc) and value.
func (it *memberIter) next() (key []byte, esc bool, v val, ok bool) {
	if it.done {
		return nil, false, val{}, false
	}
	if it.n != nil {
		if it.j >= len(it.n.keys) {
			it.done = true
			return nil, false, val{}, false
		}
		j := it.j
		it.j++
		return it.n.keys[j], false, it.n.vals[j], true
	}
	key, esc, vi := jsonscan.Member(it.b, it.i)
	if vi < 0 {
		it.done, it.bad = true, true
		return nil, false, val{}, false
	}
	e := jsonscan.SkipValue(it.b, vi, 1)
	if e < 0 {
		it.done, it.bad = true, true
		return nil, false, val{}, false
	}
	v = val{raw: it.b[vi:e]}
	var closed bool
	if it.i, closed = jsonscan.Next(it.b, e, '}'); it.i < 0 {
		it.done, it.bad = true, true
		return nil, false, val{}, false
	}
	it.done = closed
	return key, esc, v, true
}

// elemIter walks the elements of an array value, raw or materialized.
type elemIter struct {
	b    []byte
	i    int
	n    *node
	j    int
	done bool
	bad  bool
}

func (v val) elems() elemIter {
	switch {
	case v.n != nil:
		return elemIter{n: v.n, done: !v.n.arr}
	case len(v.raw) == 0 || v.raw[0] != '[':
		return elemIter{done: true}
	}
	it := elemIter{b: v.raw, i: jsonscan.SkipWS(v.raw, 1)}
	if it.i < len(it.b) && it.b[it.i] == ']' {
		it.done = true
	}
	return it
}

func (it *elemIter) next() (val, bool) {
	if it.done {
		return val{}, false
	}
	if it.n != nil {
		if it.j >= len(it.n.vals) {
			it.done = true
			return val{}, false
		}
		it.j++
		return it.n.vals[it.j-1], true
	}
	e := jsonscan.SkipValue(it.b, it.i, 1)
	if e < 0 {
		it.done, it.bad = true, true
		return val{}, false
	}
	v := val{raw: it.b[it.i:e]}
	var closed bool
	if it.i, closed = jsonscan.Next(it.b, e, ']'); it.i < 0 {
		it.done, it.bad = true, true
		return val{}, false
	}
	it.done = closed
	return v, true
}

// errReplay describes why a log entry cannot be applied: JavaScript would
// throw while applying it (VS Code then fails to read the whole session;
// sessiond skips the entry and counts it malformed).
type errReplay string

func (e errReplay) Error() string { return "copilot: " + string(e) }

// maxHoles bounds how far one entry may extend an array with holes, and
// maxTotalHoles how far all entries of a log may (JS allows up to 2³²−1;
// VS Code never extends at all). Beyond, the entry is malformed: a damaged
// log cannot make the replay allocate without bound.
const (
	maxHoles      = 1 << 16
	maxTotalHoles = 1 << 20
)

// grow extends an array with n holes, within the replay's budget.
func (r *replay) grow(a []val, n int) ([]val, error) {
	if n > maxHoles || r.holes+n > maxTotalHoles {
		return a, errReplay("array extended far beyond its end")
	}
	r.holes += n
	return append(a, make([]val, n)...), nil
}

// materialize turns the container value in *slot into a node in place and
// returns it; nil if the value is not an object or array.
func materialize(slot *val) *node {
	if slot.n != nil {
		return slot.n
	}
	switch slot.kind() {
	case kObject:
		n := &node{}
		it := slot.members()
		var buf []byte
		for {
			k, esc, v, ok := it.next()
			if !ok {
				break
			}
			stable := true
			if esc || !utf8.Valid(k) {
				k, buf = (jsonscan.Str{Raw: k, Esc: esc, OK: true}).Text(buf[:0])
				stable = false
			}
			n.set(k, v, stable)
		}
		slot.n, slot.raw = n, nil
		return n
	case kArray:
		n := &node{arr: true}
		it := slot.elems()
		for {
			v, ok := it.next()
			if !ok {
				break
			}
			n.vals = append(n.vals, v)
		}
		slot.n, slot.raw = n, nil
		return n
	}
	return nil
}

// find returns the index of key in an object node, or -1.
func (n *node) find(key []byte) int {
	for j, k := range n.keys {
		if bytes.Equal(k, key) {
			return j
		}
	}
	return -1
}

// set sets an object member (a repeated key keeps its first position, as in
// JavaScript objects); an undefined value deletes it. A new key is copied
// unless stable (it aliases the document, which outlives the node).
func (n *node) set(key []byte, v val, stable bool) {
	j := n.find(key)
	switch {
	case v.kind() == kUndefined && j >= 0:
		n.keys = append(n.keys[:j], n.keys[j+1:]...)
		n.vals = append(n.vals[:j], n.vals[j+1:]...)
	case v.kind() == kUndefined:
	case j >= 0:
		n.vals[j] = v
	default:
		if !stable {
			key = bytes.Clone(key)
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, v)
	}
}

// pathKey is one step of an entry's path: a property name, and whether it
// is a canonical array index (then idx holds it).
type pathKey struct {
	name  []byte
	idx   int
	index bool
}

// child returns a pointer to the slot of key in node n, or nil when there is
// none (an undefined value).
func (n *node) child(k pathKey) *val {
	if n.arr {
		if k.index && k.idx < len(n.vals) {
			return &n.vals[k.idx]
		}
		return nil
	}
	if j := n.find(k.name); j >= 0 {
		return &n.vals[j]
	}
	return nil
}

// assign stores v under key in n as JavaScript's n[key] = v does, extending
// an array with holes when needed. A non-index key on an array makes a
// property JSON never shows: a no-op.
func (r *replay) assign(n *node, k pathKey, v val) error {
	if !n.arr {
		n.set(k.name, v, false)
		return nil
	}
	if !k.index {
		return nil
	}
	if k.idx >= len(n.vals) {
		vals, err := r.grow(n.vals, k.idx+1-len(n.vals))
		if err != nil {
			return err
		}
		n.vals = vals
	}
	n.vals[k.idx] = v
	return nil
}

// replay is the state of a mutation log being replayed.
type replay struct {
	root    val
	started bool // a kind-0 entry with a value was applied
	holes   int  // array elements added as holes so far
}

// entry is one parsed log line {kind, k, v, i}.
type entry struct {
	kind  int64
	path  []pathKey
	v     val // undefined when absent
	i     int64
	hasI  bool
	nullI bool
}

// parseEntry parses a log line in one pass. It reports an error for a line
// that is not one JSON object with a kind, or whose k is not an array of
// strings and numbers, or whose i is neither a number nor null.
func parseEntry(line []byte, e *entry, buf []byte) ([]byte, error) {
	*e = entry{path: e.path[:0], kind: -1}
	i := jsonscan.SkipWS(line, 0)
	if i == len(line) || line[i] != '{' {
		return buf, errReplay("entry is not a JSON object")
	}
	var k, kind, iv val
	hasKind := false
	exact := func(c val, depth int) (val, int) {
		n := jsonscan.SkipValue(c.raw, 0, depth)
		if n < 0 {
			return val{}, -1
		}
		return val{raw: c.raw[:n]}, n
	}
	n, _ := walkObject(val{raw: line[i:]}, 0, func(key []byte, esc bool, c val, depth int) int {
		var n int
		switch {
		case jsonscan.KeyIs(key, esc, "kind"):
			kind, n = exact(c, depth)
			hasKind = true
		case jsonscan.KeyIs(key, esc, "k"):
			k, n = exact(c, depth)
		case jsonscan.KeyIs(key, esc, "v"):
			if hasKind && isZero(kind) {
				// an initial state: index its members and its requests
				// while validating it (mutations reach into them)
				var buf2 []byte
				e.v, n, buf2 = index(c, depth, buf)
				buf = buf2
			} else {
				e.v, n = exact(c, depth)
			}
		case jsonscan.KeyIs(key, esc, "i"):
			iv, n = exact(c, depth)
			e.hasI = true
		default:
			return skip
		}
		return n
	})
	if n < 0 || jsonscan.SkipWS(line, i+n) != len(line) {
		return buf, errReplay("entry is not a JSON object")
	}
	if !hasKind {
		return buf, errReplay("entry without kind")
	}
	// JavaScript compares with ===: any number equal to an integer matches
	// (0.0, 1e0); anything else is an unknown kind.
	if kind.kind() == kNumber {
		if f, err := strconv.ParseFloat(string(kind.raw), 64); err == nil && f == math.Trunc(f) && f >= 0 && f < 1<<31 {
			e.kind = int64(f)
		}
	}
	if e.hasI {
		switch iv.kind() {
		case kNull:
			e.nullI, e.i = true, 0
		case kNumber:
			n, ok := iv.int()
			if e2, integer := jsonscan.ScanNumber(iv.raw, 0); !ok || e2 != len(iv.raw) || !integer || n < 0 || n > 1<<32-1 {
				return buf, errReplay("entry i is not a valid array length")
			}
			e.i = n
		default:
			return buf, errReplay("entry i is neither a number nor null")
		}
	}
	if e.kind == 0 {
		return buf, nil
	}
	if k.kind() != kArray {
		return buf, errReplay("entry path k is not an array")
	}
	kit := k.elems()
	for {
		p, ok := kit.next()
		if !ok {
			break
		}
		var pk pathKey
		switch p.kind() {
		case kString:
			pk.name, buf = p.str().Text(buf)
			pk.idx, pk.index = arrayIndex(pk.name)
		case kNumber:
			pk.name = p.raw
			pk.idx, pk.index = arrayIndex(p.raw)
		default:
			return buf, errReplay("entry path element is neither a string nor a number")
		}
		e.path = append(e.path, pk)
	}
	return buf, nil
}

// isZero reports whether a kind value is the number 0 (as VS Code writes
// it).
func isZero(kind val) bool { return len(kind.raw) == 1 && kind.raw[0] == '0' }

// index reads the value at the start of c like skipValue, and when it is
// an object returns it materialized one level deep, with its "requests"
// array materialized too: the same pass validates it.
func index(c val, depth int, buf []byte) (val, int, []byte) {
	if len(c.raw) == 0 || c.raw[0] != '{' {
		n := jsonscan.SkipValue(c.raw, 0, depth)
		if n < 0 {
			return val{}, -1, buf
		}
		return val{raw: c.raw[:n]}, n, buf
	}
	root := &node{}
	n, _ := walkObject(c, depth, func(k []byte, esc bool, m val, depth int) int {
		var v val
		var n int
		if jsonscan.KeyIs(k, esc, "requests") && len(m.raw) > 0 && m.raw[0] == '[' {
			arr := &node{arr: true}
			n, _ = walkArray(m, depth, func(e val, depth int) int {
				n := jsonscan.SkipValue(e.raw, 0, depth)
				if n >= 0 {
					arr.vals = append(arr.vals, val{raw: e.raw[:n]})
				}
				return n
			})
			v = val{n: arr}
		} else {
			if n = jsonscan.SkipValue(m.raw, 0, depth); n >= 0 {
				v = val{raw: m.raw[:n]}
			}
		}
		if n < 0 {
			return -1
		}
		stable := true
		if esc || !utf8.Valid(k) {
			k, buf = (jsonscan.Str{Raw: k, Esc: esc, OK: true}).Text(buf[:0])
			stable = false
		}
		root.set(k, v, stable)
		return n
	})
	if n < 0 {
		return val{}, -1, buf
	}
	return val{n: root}, n, buf
}

// arrayIndex reports whether a property name is a canonical array index
// ("0", "17"; not "01", "-1" or "1.0") and returns it.
func arrayIndex(name []byte) (int, bool) {
	if len(name) == 0 || len(name) > 10 || (name[0] == '0' && len(name) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range name {
		if !jsonscan.IsDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 1<<32-2 {
		return 0, false
	}
	return n, true
}

// apply applies one entry as ObjectMutationLog.read does. It returns an
// error where JavaScript would throw; the state is then unchanged except
// for containers materialized on the way (which does not change values).
func (r *replay) apply(e *entry) error {
	switch e.kind {
	case 0:
		r.root, r.started = e.v, e.v.kind() != kUndefined
		return nil
	case 1, 2, 3:
	default:
		return errReplay(fmt.Sprintf("unknown entry kind %d", e.kind))
	}
	if !r.started {
		return errReplay("log is missing an initial entry")
	}
	if len(e.path) == 0 {
		// _applySet returns at once for the root ("handled by the caller",
		// which does not); _applyPush would index with undefined.
		if e.kind == 2 {
			return errReplay("push to an empty path")
		}
		return nil
	}
	parent, err := r.parentOf(e.path)
	if err != nil {
		return err
	}
	last := e.path[len(e.path)-1]
	switch e.kind {
	case 1:
		return r.assign(parent, last, e.v)
	case 3:
		return r.assign(parent, last, val{})
	}
	return r.push(parent, last, e)
}

// parentOf walks the path to the container holding its last key,
// materializing containers on the way.
func (r *replay) parentOf(path []pathKey) (*node, error) {
	slot := &r.root
	for _, k := range path[:len(path)-1] {
		n := materialize(slot)
		if n == nil {
			return nil, errReplay("path goes through a value that is not an object or array")
		}
		if slot = n.child(k); slot == nil {
			return nil, errReplay("path goes through an undefined value")
		}
	}
	n := materialize(slot)
	if n == nil {
		return nil, errReplay("path ends in a value that is not an object or array")
	}
	return n, nil
}

// push applies a kind-2 entry: arr = parent[key] || []; arr.length = i if
// given; arr.push(...v); parent[key] = arr.
func (r *replay) push(parent *node, key pathKey, e *entry) error {
	var items []val
	switch e.v.kind() {
	case kArray:
		it := e.v.elems()
		for {
			v, ok := it.next()
			if !ok {
				break
			}
			items = append(items, v)
		}
	case kString:
		if e.v.truthy() {
			return errReplay("push of a string's characters")
		}
	}
	var arr *node
	slot := parent.child(key)
	switch {
	case slot == nil || !slot.truthy():
		arr = &node{arr: true}
	case slot.kind() == kArray:
		arr = materialize(slot)
	case len(items) > 0 || (e.hasI && slot.kind() != kObject):
		return errReplay("push onto a value that is not an array")
	default:
		return nil // arr.length = i on an object only adds a property
	}
	if e.hasI {
		switch i := int(e.i); {
		case i <= len(arr.vals):
			clear(arr.vals[i:])
			arr.vals = arr.vals[:i]
		default:
			vals, err := r.grow(arr.vals, i-len(arr.vals))
			if err != nil {
				return err
			}
			arr.vals = vals
		}
	}
	arr.vals = append(arr.vals, items...)
	return r.assign(parent, key, val{n: arr})
}
