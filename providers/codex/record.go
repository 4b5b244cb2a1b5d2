package codex

import "github.com/sessiond/sessiond/providers/jsonscan"

// This file extracts, in one validating pass, what the counting rules need
// from a rollout line: the envelope {timestamp, type, payload} of current
// rollouts, or the bare object of early ones (a meta line, a ResponseItem,
// a {"record_type":"state"} line). Values it does not need are skipped
// without being decoded. For keys given more than once the last one wins,
// and a repeated object replaces the earlier one as a whole.

// Indexes of the counters of a Codex TokenUsage.
const (
	tIn         = iota // input_tokens (cached reads and cache writes included)
	tCached            // cached_input_tokens
	tOut               // output_tokens (reasoning included)
	tReasoning         // reasoning_output_tokens
	tTotal             // total_tokens
	tCacheWrite        // cache_write_input_tokens (0.14x builds; 0 when absent)
	nTokens
)

// tokens is a Codex TokenUsage: input, cached input, output, reasoning
// output, total and cache-write tokens, in that order.
type tokens [nTokens]int64

// covers reports whether every counted field of t is at least o's (the
// total is not compared: a context-window fill rewrites it alone).
func (t tokens) covers(o tokens) bool {
	return t[tIn] >= o[tIn] && t[tCached] >= o[tCached] && t[tOut] >= o[tOut] && t[tReasoning] >= o[tReasoning] &&
		t[tCacheWrite] >= o[tCacheWrite]
}

func (t tokens) sub(o tokens) tokens {
	for i := range t {
		t[i] -= o[i]
	}
	return t
}

// tokenInfo is an event_msg/token_count's info.
type tokenInfo struct {
	obj               bool // info is an object (not null, not absent)
	total, last       tokens
	hasTotal, hasLast bool // total_token_usage / last_token_usage are objects
}

// Kinds of a tool output value.
const (
	outNone   = iota // absent
	outString        // a string (the usual form)
	outObject        // an object {content, success}
	outOther         // content items or another value
)

// item is what one JSON object says, as far as the counting rules care:
// an envelope's payload, or a bare record of the early formats. String
// values alias the line.
type item struct {
	obj                                        bool // the value is an object
	typ, role, id, cwd, model, kind, timestamp jsonscan.Str
	recordType, branch, message, text          jsonscan.Str
	// output of a function_call_output / custom_tool_call_output.
	out       jsonscan.Str
	outKind   int
	outFailed bool // an object output with success false
	info      tokenInfo
}

// record is one line: the top-level object and, for envelopes, its payload.
type record struct {
	item
	hasPayload bool // a payload member is present
	payload    item
}

// scan validates b as one JSON object and collects its facts.
func (r *record) scan(b []byte) int {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return lineBlank
	}
	if b[i] != '{' {
		return lineBad
	}
	if i = r.item.scan(b, i, 1, r); i < 0 || jsonscan.SkipWS(b, i) != len(b) {
		return lineBad
	}
	return lineOK
}

// Outcomes of scanning a line.
const (
	lineOK = iota
	lineBlank
	lineBad
)

// eachMember calls f for every member of the object whose '{' is at i,
// with the member's (unescaped) key and the start of its value; f returns
// the position after the value, or -1. eachMember returns the position
// after the object, or -1.
func eachMember(b []byte, i int, f func(key []byte, v int) int) int {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return -1
		}
		if esc { // rare: decoded into a new buffer
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
// with the start of the element; f returns the position after it, or -1.
func eachElement(b []byte, i int, f func(v int) int) int {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = f(i); i < 0 {
			return -1
		}
		var done bool
		if i, done = jsonscan.Next(b, i, ']'); i < 0 || done {
			return i
		}
	}
}

// scan scans the object at i, whose members are at nesting depth depth.
// rec is the line being scanned when this is its top-level object (only
// there is a payload member looked at), else nil.
func (it *item) scan(b []byte, i, depth int, rec *record) int {
	it.obj = true
	return eachMember(b, i, func(key []byte, v int) int {
		switch string(key) {
		case "type":
			it.typ, v = jsonscan.ScanStr(b, v, depth)
		case "role":
			it.role, v = jsonscan.ScanStr(b, v, depth)
		case "id":
			it.id, v = jsonscan.ScanStr(b, v, depth)
		case "cwd":
			it.cwd, v = jsonscan.ScanStr(b, v, depth)
		case "model":
			it.model, v = jsonscan.ScanStr(b, v, depth)
		case "kind":
			it.kind, v = jsonscan.ScanStr(b, v, depth)
		case "timestamp":
			it.timestamp, v = jsonscan.ScanStr(b, v, depth)
		case "record_type":
			it.recordType, v = jsonscan.ScanStr(b, v, depth)
		case "message":
			it.message, v = jsonscan.ScanStr(b, v, depth)
		case "git":
			v = it.scanGit(b, v, depth)
		case "content":
			v = it.scanContent(b, v, depth)
		case "output":
			v = it.scanOutput(b, v, depth)
		case "info":
			v = it.info.scan(b, v, depth)
		case "payload":
			if rec == nil {
				return jsonscan.SkipValue(b, v, depth)
			}
			rec.hasPayload, rec.payload = true, item{}
			if v < len(b) && b[v] == '{' {
				return rec.payload.scan(b, v, depth+1, nil)
			}
			return jsonscan.SkipValue(b, v, depth)
		default:
			v = jsonscan.SkipValue(b, v, depth)
		}
		return v
	})
}

// scanGit scans a git object {commit_hash, branch, repository_url} at v.
func (it *item) scanGit(b []byte, v, depth int) int {
	it.branch = jsonscan.Str{}
	if v >= len(b) || b[v] != '{' {
		return jsonscan.SkipValue(b, v, depth)
	}
	return eachMember(b, v, func(key []byte, v int) int {
		if string(key) == "branch" {
			it.branch, v = jsonscan.ScanStr(b, v, depth+1)
			return v
		}
		return jsonscan.SkipValue(b, v, depth+1)
	})
}

// scanContent scans a message's content at v: it keeps the first text of
// an input_text / output_text / text block (or the content itself when it
// is a string).
func (it *item) scanContent(b []byte, v, depth int) int {
	it.text = jsonscan.Str{}
	if v >= len(b) {
		return -1
	}
	switch b[v] {
	case '"':
		it.text, v = jsonscan.ScanStr(b, v, depth)
		return v
	case '[':
	default:
		return jsonscan.SkipValue(b, v, depth)
	}
	return eachElement(b, v, func(e int) int {
		if e >= len(b) || b[e] != '{' {
			return jsonscan.SkipValue(b, e, depth+1)
		}
		var typ, txt jsonscan.Str
		e = eachMember(b, e, func(key []byte, v int) int {
			switch string(key) {
			case "type":
				typ, v = jsonscan.ScanStr(b, v, depth+2)
			case "text":
				txt, v = jsonscan.ScanStr(b, v, depth+2)
			default:
				v = jsonscan.SkipValue(b, v, depth+2)
			}
			return v
		})
		if e >= 0 && !it.text.OK && txt.OK && (typ.Is("input_text") || typ.Is("output_text") || typ.Is("text")) {
			it.text = txt
		}
		return e
	})
}

// scanOutput scans a tool output at v: a string, an object {content,
// success} (success false marks a failure), or content items.
func (it *item) scanOutput(b []byte, v, depth int) int {
	it.out, it.outKind, it.outFailed = jsonscan.Str{}, outNone, false
	if v >= len(b) {
		return -1
	}
	switch b[v] {
	case '"':
		it.outKind = outString
		it.out, v = jsonscan.ScanStr(b, v, depth)
		return v
	case '{':
	default:
		it.outKind = outOther
		return jsonscan.SkipValue(b, v, depth)
	}
	it.outKind = outObject
	return eachMember(b, v, func(key []byte, v int) int {
		switch string(key) {
		case "content":
			it.out, v = jsonscan.ScanStr(b, v, depth+1)
		case "success":
			it.outFailed = v < len(b) && b[v] == 'f'
			v = jsonscan.SkipValue(b, v, depth+1)
		default:
			v = jsonscan.SkipValue(b, v, depth+1)
		}
		return v
	})
}

// scan scans a token_count's info at v: null, or an object holding
// total_token_usage and last_token_usage.
func (t *tokenInfo) scan(b []byte, v, depth int) int {
	*t = tokenInfo{}
	if v >= len(b) || b[v] != '{' {
		return jsonscan.SkipValue(b, v, depth)
	}
	t.obj = true
	return eachMember(b, v, func(key []byte, v int) int {
		switch string(key) {
		case "total_token_usage":
			t.total, t.hasTotal, v = scanTokens(b, v, depth+1)
		case "last_token_usage":
			t.last, t.hasLast, v = scanTokens(b, v, depth+1)
		default:
			v = jsonscan.SkipValue(b, v, depth+1)
		}
		return v
	})
}

// scanTokens scans a TokenUsage object at v. Fields that are absent or not
// integers count as 0; ok is false when the value is not an object.
func scanTokens(b []byte, v, depth int) (t tokens, ok bool, end int) {
	if v >= len(b) || b[v] != '{' {
		return t, false, jsonscan.SkipValue(b, v, depth)
	}
	end = eachMember(b, v, func(key []byte, v int) int {
		switch string(key) {
		case "input_tokens":
			t[tIn], v = jsonscan.ScanInt(b, v, depth+1)
		case "cached_input_tokens":
			t[tCached], v = jsonscan.ScanInt(b, v, depth+1)
		case "cache_write_input_tokens":
			t[tCacheWrite], v = jsonscan.ScanInt(b, v, depth+1)
		case "output_tokens":
			t[tOut], v = jsonscan.ScanInt(b, v, depth+1)
		case "reasoning_output_tokens":
			t[tReasoning], v = jsonscan.ScanInt(b, v, depth+1)
		case "total_tokens":
			t[tTotal], v = jsonscan.ScanInt(b, v, depth+1)
		default:
			v = jsonscan.SkipValue(b, v, depth+1)
		}
		return v
	})
	return t, true, end
}
