package gemini

import "github.com/sessiond/sessiond/providers/jsonscan"

// This file reads the facts the counting rules need out of one Gemini CLI
// record (a JSONL line, or the whole legacy document) in a single validating
// pass over its bytes. String values alias the input.

// Outcomes of scanning a record.
const (
	lineOK = iota
	lineBlank
	lineBad
)

// maxPaths bounds the tool-call path arguments collected from one record
// (they are only cwd candidates; see Parser).
const maxPaths = 64

// tokens is a gemini message's tokens object.
type tokens struct {
	ok                                    bool // tokens is an object
	input, output, cached, thoughts, tool int64
}

// msgFacts is what one message object says.
type msgFacts struct {
	id, typ, timestamp, model jsonscan.Str
	tok                       tokens
	toolCalls, toolErrors     int64 // toolCalls entries (objects); those with status "error"
	toolResult                bool  // content holds a functionResponse part
}

// setFacts is what a {"$set":{…}} patch says.
type setFacts struct {
	lastUpdated, projectHash jsonscan.Str
	dirs, msgs               bool // directories / messages is an array (in scanner.setDirs / setMsgs)
}

// record is what one top-level record says. Which of its readings applies
// is decided afterwards, in Gemini CLI's own order (see Parser.Line).
type record struct {
	msg                                            msgFacts // the record read as a message
	rewindTo                                       jsonscan.Str
	set                                            bool // $set is an object or an array
	setF                                           setFacts
	sessionID, projectHash, startTime, lastUpdated jsonscan.Str
	dirs, msgs                                     bool // top-level directories / messages arrays (scanner.dirs / msgs)
}

// scanner holds the buffers a record scan fills; it is reused from record
// to record so that scanning does not allocate once warm.
type scanner struct {
	msgs, setMsgs []msgFacts // message objects of messages / $set.messages
	// nonMsgs and setNonMsgs count the elements of those arrays that are
	// not objects.
	nonMsgs, setNonMsgs int
	dirs, setDirs       []jsonscan.Str // string elements of directories / $set.directories
	// wantPaths asks for the absolute paths among tool-call arguments to
	// be collected into paths.
	wantPaths bool
	paths     []jsonscan.Str
}

// reset empties the buffers before a record.
func (s *scanner) reset() {
	s.msgs, s.setMsgs, s.dirs, s.setDirs, s.paths = s.msgs[:0], s.setMsgs[:0], s.dirs[:0], s.setDirs[:0], s.paths[:0]
	s.nonMsgs, s.setNonMsgs = 0, 0
}

// eachMember calls f for every member of the object whose '{' is at i,
// with its key (unescaped; valid during the call only) and the position of
// its value (always < len(b)); f returns the position after the value or
// -1. eachMember returns the position after the closing '}' or -1.
func eachMember(b []byte, i int, f func(key []byte, v int) int) int {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 || v >= len(b) {
			return -1
		}
		if esc { // rare: the only allocation here
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(nil)
		}
		if i = f(key, v); i < 0 {
			return -1
		}
		var done bool
		if i, done = jsonscan.Next(b, i, '}'); i < 0 || done {
			return i
		}
	}
}

// eachElement calls f for every element of the array whose '[' is at i,
// with its position (always < len(b)); f returns the position after the
// element or -1. eachElement returns the
// position after the closing ']' or -1.
func eachElement(b []byte, i int, f func(v int) int) int {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(b) {
			return -1
		}
		if i = f(i); i < 0 {
			return -1
		}
		var done bool
		if i, done = jsonscan.Next(b, i, ']'); i < 0 || done {
			return i
		}
	}
}

// scanRecord validates b as one JSON object and collects its facts into r
// (and s's buffers). For keys given more than once the last one wins, as in
// encoding/json and JSON.parse.
func (s *scanner) scanRecord(r *record, b []byte) int {
	s.reset()
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return lineBlank
	}
	if b[i] != '{' {
		return lineBad
	}
	i = eachMember(b, i, func(key []byte, v int) int {
		if n, ok := s.msgMember(&r.msg, key, b, v, 1); ok {
			return n
		}
		var n int
		switch string(key) {
		case "$rewindTo":
			r.rewindTo, n = jsonscan.ScanStr(b, v, 1)
		case "$set":
			r.set, n = s.scanSet(&r.setF, b, v)
		case "sessionId":
			r.sessionID, n = jsonscan.ScanStr(b, v, 1)
		case "projectHash":
			r.projectHash, n = jsonscan.ScanStr(b, v, 1)
		case "startTime":
			r.startTime, n = jsonscan.ScanStr(b, v, 1)
		case "lastUpdated":
			r.lastUpdated, n = jsonscan.ScanStr(b, v, 1)
		case "directories":
			r.dirs, n = scanStrings(&s.dirs, b, v, 1)
		case "messages":
			r.msgs, n = s.scanMessages(&s.msgs, &s.nonMsgs, b, v, 1)
		default:
			n = jsonscan.SkipValue(b, v, 1)
		}
		return n
	})
	if i < 0 || jsonscan.SkipWS(b, i) != len(b) {
		return lineBad
	}
	return lineOK
}

// scanSet scans the value of $set at v. Like Gemini CLI's reader (any
// non-null value of type object), an array is a patch too, one that sets
// nothing it looks at.
func (s *scanner) scanSet(f *setFacts, b []byte, v int) (bool, int) {
	if v >= len(b) {
		return false, -1
	}
	*f = setFacts{}
	switch b[v] {
	case '[':
		return true, jsonscan.SkipValue(b, v, 1)
	case '{':
	default:
		return false, jsonscan.SkipValue(b, v, 1)
	}
	return true, eachMember(b, v, func(key []byte, w int) int {
		var n int
		switch string(key) {
		case "lastUpdated":
			f.lastUpdated, n = jsonscan.ScanStr(b, w, 2)
		case "projectHash":
			f.projectHash, n = jsonscan.ScanStr(b, w, 2)
		case "directories":
			f.dirs, n = scanStrings(&s.setDirs, b, w, 2)
		case "messages":
			f.msgs, n = s.scanMessages(&s.setMsgs, &s.setNonMsgs, b, w, 2)
		default:
			n = jsonscan.SkipValue(b, w, 2)
		}
		return n
	})
}

// scanStrings scans the value at v, held at nesting depth depth; if it is
// an array, its string elements replace *dst.
func scanStrings(dst *[]jsonscan.Str, b []byte, v, depth int) (bool, int) {
	if v >= len(b) || b[v] != '[' {
		return false, jsonscan.SkipValue(b, v, depth)
	}
	*dst = (*dst)[:0]
	return true, eachElement(b, v, func(e int) int {
		s, n := jsonscan.ScanStr(b, e, depth+1)
		if s.OK {
			*dst = append(*dst, s)
		}
		return n
	})
}

// scanMessages scans the value at v; if it is an array, its object
// elements, read as messages, replace *dst and *non counts the others.
func (s *scanner) scanMessages(dst *[]msgFacts, non *int, b []byte, v, depth int) (bool, int) {
	if v >= len(b) || b[v] != '[' {
		return false, jsonscan.SkipValue(b, v, depth)
	}
	*dst, *non = (*dst)[:0], 0
	return true, eachElement(b, v, func(e int) int {
		if b[e] != '{' {
			*non++
			return jsonscan.SkipValue(b, e, depth+1)
		}
		var m msgFacts
		n := eachMember(b, e, func(key []byte, w int) int {
			if n, ok := s.msgMember(&m, key, b, w, depth+2); ok {
				return n
			}
			return jsonscan.SkipValue(b, w, depth+2)
		})
		*dst = append(*dst, m)
		return n
	})
}

// msgMember scans the value at v of a message member whose object is at
// nesting depth depth; ok is false when key is not one a message has.
func (s *scanner) msgMember(m *msgFacts, key []byte, b []byte, v, depth int) (n int, ok bool) {
	switch string(key) {
	case "id":
		m.id, n = jsonscan.ScanStr(b, v, depth)
	case "type":
		m.typ, n = jsonscan.ScanStr(b, v, depth)
	case "timestamp":
		m.timestamp, n = jsonscan.ScanStr(b, v, depth)
	case "model":
		m.model, n = jsonscan.ScanStr(b, v, depth)
	case "tokens":
		n = m.tok.scan(b, v, depth)
	case "toolCalls":
		n = s.scanToolCalls(m, b, v, depth)
	case "content":
		n = m.scanContent(b, v, depth)
	default:
		return 0, false
	}
	return n, true
}

// scan scans a tokens value; only an object counts.
func (t *tokens) scan(b []byte, v, depth int) int {
	*t = tokens{}
	if v >= len(b) || b[v] != '{' {
		return jsonscan.SkipValue(b, v, depth)
	}
	t.ok = true
	return eachMember(b, v, func(key []byte, w int) int {
		var n int
		switch string(key) {
		case "input":
			t.input, n = jsonscan.ScanInt(b, w, depth+1)
		case "output":
			t.output, n = jsonscan.ScanInt(b, w, depth+1)
		case "cached":
			t.cached, n = jsonscan.ScanInt(b, w, depth+1)
		case "thoughts":
			t.thoughts, n = jsonscan.ScanInt(b, w, depth+1)
		case "tool":
			t.tool, n = jsonscan.ScanInt(b, w, depth+1)
		default:
			n = jsonscan.SkipValue(b, w, depth+1)
		}
		return n
	})
}

// scanToolCalls scans a toolCalls value: every object element is a call,
// an error when its status is "error". With s.wantPaths, the absolute
// paths among each call's args values and its resultDisplay.filePath are
// collected.
func (s *scanner) scanToolCalls(m *msgFacts, b []byte, v, depth int) int {
	m.toolCalls, m.toolErrors = 0, 0
	if v >= len(b) || b[v] != '[' {
		return jsonscan.SkipValue(b, v, depth)
	}
	return eachElement(b, v, func(e int) int {
		if b[e] != '{' {
			return jsonscan.SkipValue(b, e, depth+1)
		}
		var status jsonscan.Str
		n := eachMember(b, e, func(key []byte, w int) int {
			switch string(key) {
			case "status":
				var n int
				status, n = jsonscan.ScanStr(b, w, depth+2)
				return n
			case "args":
				if s.wantPaths && b[w] == '{' {
					return s.scanArgs(b, w, depth+2)
				}
			case "resultDisplay":
				if s.wantPaths && b[w] == '{' {
					return s.scanDisplay(b, w, depth+2)
				}
			}
			return jsonscan.SkipValue(b, w, depth+2)
		})
		m.toolCalls++
		if status.Is("error") {
			m.toolErrors++
		}
		return n
	})
}

// scanArgs scans a tool call's args object (at depth depth), collecting
// string values that are absolute paths.
func (s *scanner) scanArgs(b []byte, v, depth int) int {
	return eachMember(b, v, func(_ []byte, w int) int {
		return s.scanPath(b, w, depth+1)
	})
}

// scanPath scans the value at w (at depth depth), keeping it as a path if
// it is a string that is an absolute path and the record has room.
func (s *scanner) scanPath(b []byte, w, depth int) int {
	p, n := jsonscan.ScanStr(b, w, depth)
	if p.OK && len(s.paths) < maxPaths && absolute(p.Raw) {
		s.paths = append(s.paths, p)
	}
	return n
}

// scanDisplay scans a tool call's resultDisplay object (at depth depth),
// collecting its filePath when that is an absolute path: file tools whose
// arguments are relative (write_file, replace) report the file they
// changed there as a FileDiff {fileDiff, fileName, filePath, …}.
func (s *scanner) scanDisplay(b []byte, v, depth int) int {
	return eachMember(b, v, func(key []byte, w int) int {
		if string(key) != "filePath" {
			return jsonscan.SkipValue(b, w, depth+1)
		}
		return s.scanPath(b, w, depth+1)
	})
}

// absolute reports whether a (raw) string looks like an absolute path:
// /… or a drive letter followed by a (possibly escaped) separator.
func absolute(p []byte) bool {
	switch {
	case len(p) > 1 && p[0] == '/':
		return true
	case len(p) > 3 && ((p[0]|0x20)-'a' < 26) && p[1] == ':' && (p[2] == '/' || p[2] == '\\'):
		return true
	}
	return false
}

// scanContent scans a content value (PartListUnion: a string, a part, or
// an array of parts and strings), noting whether a part is a function
// response (a functionResponse member holding an object).
func (m *msgFacts) scanContent(b []byte, v, depth int) int {
	m.toolResult = false
	if v >= len(b) {
		return -1
	}
	switch b[v] {
	case '{':
		return m.scanPart(b, v, depth+1)
	case '[':
		return eachElement(b, v, func(e int) int {
			if b[e] == '{' {
				return m.scanPart(b, e, depth+2)
			}
			return jsonscan.SkipValue(b, e, depth+1)
		})
	}
	return jsonscan.SkipValue(b, v, depth)
}

// scanPart scans a part object whose members are at depth depth.
func (m *msgFacts) scanPart(b []byte, v, depth int) int {
	fr := false
	n := eachMember(b, v, func(key []byte, w int) int {
		if string(key) == "functionResponse" {
			fr = b[w] == '{'
		}
		return jsonscan.SkipValue(b, w, depth)
	})
	m.toolResult = m.toolResult || fr
	return n
}

// headSessionID returns the first top-level sessionId string of the JSON
// object at the start of b, reading members only as far as that one: b may
// be the first bytes of a large document (Gemini CLI writes sessionId as
// the first member, once). ok is false when b holds no such member (yet).
func headSessionID(b []byte) (id string, ok bool) {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return "", false
	}
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", false
	}
	var kb [32]byte
	for {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return "", false
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		if string(key) == "sessionId" {
			var s jsonscan.Str
			if s, i = jsonscan.ScanStr(b, v, 1); s.OK {
				t, _ := s.Text(nil)
				return string(t), true
			}
		} else {
			i = jsonscan.SkipValue(b, v, 1)
		}
		if i < 0 {
			return "", false
		}
		var done bool
		if i, done = jsonscan.Next(b, i, '}'); i < 0 || done {
			return "", false
		}
	}
}
