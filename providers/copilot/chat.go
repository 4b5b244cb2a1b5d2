package copilot

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// This file turns a VS Code chat session (the serialized v3 session object,
// from a .json file or replayed from a .jsonl mutation log) into a delta.
// See the package documentation for the rules.

// Document formats.
const (
	formatJSON  = "json"  // <session>.json: the session object, rewritten whole
	formatJSONL = "jsonl" // <session>.jsonl: the object mutation log
)

// chatJSON counts a .json session document. A document that is not one
// valid JSON value is not readable yet (ErrIncomplete); a valid value that
// is not an object is one malformed record.
func (p *Parser) chatJSON(body []byte, d *session.Delta) error {
	i := jsonscan.SkipWS(body, 0)
	if i == len(body) || body[i] != '{' {
		if _, ok := jsonscan.WholeValue(body); !ok {
			return fmt.Errorf("%w: session document is not valid JSON", ErrIncomplete)
		}
		d.Malformed++
		return nil
	}
	var a session.Delta
	n, reported := p.countSession(val{raw: body[i:]}, 0, &a)
	if n < 0 || jsonscan.SkipWS(body, i+n) != len(body) {
		return fmt.Errorf("%w: session document is not valid JSON", ErrIncomplete)
	}
	merge(d, &a)
	d.Records++
	markUsage(d, reported)
	return nil
}

// markUsage records how reliable the document's usage is: Copilot Chat's
// token figures are estimates (billing is per premium request), and a
// session none of whose requests reports tokens has unknown usage.
func markUsage(d *session.Delta, reported bool) {
	d.UsageEstimated = true
	d.UsageUnknown = !reported
}

// merge adds what a session counted to d.
func merge(d, a *session.Delta) {
	d.Counts = d.Counts.Add(a.Counts)
	d.Usage = d.Usage.Add(a.Usage)
	d.Models = session.AddModels(d.Models, a.Models...)
	d.Observe(a.FirstAt)
	d.Observe(a.LastAt)
}

// chatLog replays a .jsonl mutation log and counts the state it ends in.
// Only complete lines (ending in a newline) are read: a last line without
// one is still being written. Entries that cannot be applied are skipped
// and counted malformed. A log without a complete line is not readable yet
// (ErrIncomplete): VS Code writes its first entry, and every compaction, in
// one write that a reader may see half done.
func (p *Parser) chatLog(body []byte, d *session.Delta) error {
	var r replay
	var e entry
	lines := 0
	for len(body) > 0 {
		j := bytes.IndexByte(body, '\n')
		if j < 0 {
			break // a line still being written
		}
		line := bytes.TrimSuffix(body[:j], []byte{'\r'})
		body = body[j+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		var err error
		if p.buf, err = parseEntry(line, &e, p.buf[:0]); err == nil {
			err = r.apply(&e)
		}
		if err != nil {
			d.Malformed++
			continue
		}
		d.Records++
	}
	if lines == 0 {
		return fmt.Errorf("%w: mutation log has no complete entry", ErrIncomplete)
	}
	reported := false
	if r.started {
		var a session.Delta
		_, reported = p.countSession(r.root, 0, &a) // the entries were validated
		merge(d, &a)
	}
	markUsage(d, reported)
	return nil
}

// observeMillis widens a's time range to a JavaScript timestamp (ms since
// the epoch), ignoring values that cannot be one.
func observeMillis(a *session.Delta, n num) {
	if n.ok && n.n > 0 && n.n < 1e14 {
		a.Observe(time.UnixMilli(n.n))
	}
}

// countSession counts the session object at the start of v (its time
// range and its requests) into a, in one pass. Of repeated keys the last
// wins, as in JSON.parse. It returns the object's length (-1 if invalid)
// and whether any request reported tokens.
func (p *Parser) countSession(v val, depth int, a *session.Delta) (int, bool) {
	var created, last num
	var reqs session.Delta
	reported := false
	n, _ := walkObject(v, depth, func(k []byte, esc bool, c val, depth int) int {
		switch {
		case jsonscan.KeyIs(k, esc, "requests"):
			var rs session.Delta
			rep := false
			n, _ := walkArray(c, depth, func(e val, depth int) int {
				n, r := p.countRequest(e, depth, &rs)
				rep = rep || r
				return n
			})
			reqs, reported = rs, rep
			return n
		case jsonscan.KeyIs(k, esc, "creationDate"):
			var n int
			created, n = readNum(c, depth)
			return n
		case jsonscan.KeyIs(k, esc, "lastMessageDate"):
			var n int
			last, n = readNum(c, depth)
			return n
		}
		return skip
	})
	*a = reqs
	observeMillis(a, created)
	observeMillis(a, last)
	return n, reported
}

// request is what one request holds that counts (of repeated keys, the
// last).
type request struct {
	ts, completed     num
	modelID, resolved jsonscan.Str
	parts             bool  // a response with content
	toolParts         int64 // response parts of kind toolInvocationSerialized
	resultObj         bool  // a result object
	roundCalls        int64 // result.metadata.toolCallRounds[].toolCalls
	metaIn, metaOut   num   // result.metadata.promptTokens/outputTokens
	resUsageObj       bool
	resIn, resOut     num // result.usage.promptTokens/completionTokens
	flatIn, flatOut   num // promptTokens/completionTokens on the request
	usageObj          bool
	usageIn, usageOut num // usage.promptTokens/completionTokens
}

// pair makes a usage of two numbers; ok when either was a number.
func pair(in, out num) (session.Usage, bool) {
	return session.Usage{Input: in.n, Output: out.n}, in.ok || out.ok
}

// countRequest counts the request at the start of v into a: a prompt, maybe
// a response, its tool calls, model and tokens. A value that is not an
// object counts nothing. It returns the value's length and whether the
// request reported tokens.
func (p *Parser) countRequest(v val, depth int, a *session.Delta) (int, bool) {
	var q request
	n, isObj := walkObject(v, depth, func(k []byte, esc bool, c val, depth int) int {
		var n int
		switch {
		case jsonscan.KeyIs(k, esc, "timestamp"):
			q.ts, n = readNum(c, depth)
		case jsonscan.KeyIs(k, esc, "modelId"):
			q.modelID, n = readStr(c, depth)
		case jsonscan.KeyIs(k, esc, "response"):
			q.parts, q.toolParts, n = responseParts(c, depth)
		case jsonscan.KeyIs(k, esc, "result"):
			n = q.result(c, depth)
		case jsonscan.KeyIs(k, esc, "usage"):
			q.usageIn, q.usageOut = num{}, num{}
			n, q.usageObj = walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
				var n int
				switch {
				case jsonscan.KeyIs(k, esc, "promptTokens"):
					q.usageIn, n = readNum(c, depth)
				case jsonscan.KeyIs(k, esc, "completionTokens"):
					q.usageOut, n = readNum(c, depth)
				default:
					return skip
				}
				return n
			})
		case jsonscan.KeyIs(k, esc, "promptTokens"):
			q.flatIn, n = readNum(c, depth)
		case jsonscan.KeyIs(k, esc, "completionTokens"):
			q.flatOut, n = readNum(c, depth)
		case jsonscan.KeyIs(k, esc, "modelState"):
			q.completed = num{}
			n, _ = walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
				if !jsonscan.KeyIs(k, esc, "completedAt") {
					return skip
				}
				var n int
				q.completed, n = readNum(c, depth)
				return n
			})
		default:
			return skip
		}
		return n
	})
	if n < 0 || !isObj {
		return n, false
	}
	observeMillis(a, q.ts)
	observeMillis(a, q.completed)
	a.UserMessages++
	if q.parts || q.resultObj {
		a.AssistantMessages++
	}
	a.ToolCalls += max(q.toolParts, q.roundCalls)
	if m := p.modelName(q.resolved, q.modelID); m != "" {
		a.Models = session.AddModels(a.Models, m)
	}
	// the first source that has a number, newest builds' first
	u, ok := pair(q.metaIn, q.metaOut)
	if f, fok := pair(q.flatIn, q.flatOut); fok {
		u, ok = f, true
	}
	if q.usageObj {
		if f, fok := pair(q.usageIn, q.usageOut); fok {
			u, ok = f, true
		}
	}
	if q.resUsageObj {
		if f, fok := pair(q.resIn, q.resOut); fok {
			u, ok = f, true
		}
	}
	a.Usage.Input += u.Input
	a.Usage.Output += u.Output
	return n, ok
}

// result reads a request's result: its usage (Copilot Chat 0.37 and
// later), its metadata's tokens, resolved model and tool call rounds.
func (q *request) result(v val, depth int) int {
	q.roundCalls, q.resolved, q.metaIn, q.metaOut = 0, jsonscan.Str{}, num{}, num{}
	q.resUsageObj, q.resIn, q.resOut = false, num{}, num{}
	n, isObj := walkObject(v, depth, func(k []byte, esc bool, c val, depth int) int {
		if jsonscan.KeyIs(k, esc, "usage") {
			q.resIn, q.resOut = num{}, num{}
			n, isObj := walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
				var n int
				switch {
				case jsonscan.KeyIs(k, esc, "promptTokens"):
					q.resIn, n = readNum(c, depth)
				case jsonscan.KeyIs(k, esc, "completionTokens"):
					q.resOut, n = readNum(c, depth)
				default:
					return skip
				}
				return n
			})
			q.resUsageObj = isObj
			return n
		}
		if !jsonscan.KeyIs(k, esc, "metadata") {
			return skip
		}
		q.roundCalls, q.resolved, q.metaIn, q.metaOut = 0, jsonscan.Str{}, num{}, num{}
		n, _ := walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
			var n int
			switch {
			case jsonscan.KeyIs(k, esc, "promptTokens"):
				q.metaIn, n = readNum(c, depth)
			case jsonscan.KeyIs(k, esc, "outputTokens"):
				q.metaOut, n = readNum(c, depth)
			case jsonscan.KeyIs(k, esc, "resolvedModel"):
				q.resolved, n = readStr(c, depth)
			case jsonscan.KeyIs(k, esc, "toolCallRounds"):
				var calls int64
				n, _ = walkArray(c, depth, func(round val, depth int) int {
					var inRound int64
					n, _ := walkObject(round, depth, func(k []byte, esc bool, c val, depth int) int {
						if !jsonscan.KeyIs(k, esc, "toolCalls") {
							return skip
						}
						inRound = 0
						n, _ := walkArray(c, depth, func(val, int) int {
							inRound++
							return skip
						})
						return n
					})
					calls += inRound
					return n
				})
				q.roundCalls = calls
			default:
				return skip
			}
			return n
		})
		return n
	})
	q.resultObj = isObj
	return n
}

// responseParts reads a request's response: an array of parts (or, in very
// old sessions, a string). It reports whether there is any content and how
// many parts are tool invocations (kind toolInvocationSerialized).
func responseParts(v val, depth int) (content bool, tools int64, n int) {
	if v.n == nil && len(v.raw) > 0 && v.raw[0] == '"' {
		s, n := readStr(v, depth)
		return len(s.Raw) > 0, 0, n
	}
	n, _ = walkArray(v, depth, func(part val, depth int) int {
		content = true
		var kind jsonscan.Str
		n, _ := walkObject(part, depth, func(k []byte, esc bool, c val, depth int) int {
			if !jsonscan.KeyIs(k, esc, "kind") {
				return skip
			}
			var n int
			kind, n = readStr(c, depth)
			return n
		})
		if kind.Is("toolInvocationSerialized") {
			tools++
		}
		return n
	})
	return content, tools, n
}

// modelName is the model a request ran on: the resolved model reported by
// Copilot, else the selected modelId without its "copilot/" vendor prefix.
func (p *Parser) modelName(resolved, modelID jsonscan.Str) string {
	if resolved.OK && len(resolved.Raw) > 0 {
		return p.models.get(resolved)
	}
	if !modelID.OK || len(modelID.Raw) == 0 {
		return ""
	}
	return strings.TrimPrefix(p.models.get(modelID), "copilot/")
}

// strCache turns repeated string values into the same Go string without
// allocating each time.
type strCache struct {
	raw [][]byte
	s   []string
}

func (c *strCache) get(s jsonscan.Str) string {
	for i, r := range c.raw {
		if bytes.Equal(r, s.Raw) {
			return c.s[i]
		}
	}
	v, _ := s.Text(nil)
	if len(c.raw) >= 16 {
		c.raw, c.s = c.raw[:0], c.s[:0]
	}
	c.raw, c.s = append(c.raw, bytes.Clone(s.Raw)), append(c.s, string(v))
	return c.s[len(c.s)-1]
}
