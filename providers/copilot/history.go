package copilot

import (
	"fmt"

	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// This file reads the Copilot CLI's older session documents,
// history-session-state/session_<id>_<ms>.json (CLI versions up to
// 0.0.341, 2025): one JSON object {sessionId, startTime, chatMessages[],
// timeline[]} rewritten whole. See the package documentation for the
// rules.

// formatHistory names a CLI history document (told from its content: the
// core hands ModeWhole files to Document without a header).
const formatHistory = "history"

// isHistory reports whether body, handed over without a header, is a CLI
// history document: an object without a requests member (every VS Code
// session has one, and VS Code sessions come with ReadDoc's header; the
// core hands over as they stand only the history-session-state documents).
// It reads the top-level keys only.
func isHistory(body []byte) bool {
	i := jsonscan.SkipWS(body, 0)
	if i == len(body) || body[i] != '{' {
		return false
	}
	chat := false
	walkObject(val{raw: body[i:]}, 0, func(k []byte, esc bool, _ val, _ int) int {
		if jsonscan.KeyIs(k, esc, "requests") {
			chat = true
		}
		return skip
	})
	return !chat
}

// history is what a CLI history document holds that counts (of repeated
// keys, the last).
type history struct {
	start               jsonscan.Str
	tlUser, tlAssistant int64
	tlCalls             map[string]struct{} // timeline tool calls by callId
	tlAnonCalls         int64               // timeline tool calls without a callId
	times               []jsonscan.Str      // timeline timestamps
	cmUser, cmAssistant int64
	cmCalls             int64 // chatMessages[].tool_calls
}

// historyDoc counts a CLI history document. A document that is not one
// valid JSON value is not readable yet (ErrIncomplete), nor is one without
// a timeline or chatMessages member (just created: not a session yet); a
// valid value that is not an object is one malformed record.
func (p *Parser) historyDoc(body []byte, d *session.Delta) error {
	i := jsonscan.SkipWS(body, 0)
	if i == len(body) || body[i] != '{' {
		if _, ok := jsonscan.WholeValue(body); !ok {
			return fmt.Errorf("%w: history document is not valid JSON", ErrIncomplete)
		}
		d.Malformed++
		return nil
	}
	var h history
	conversation := false
	n, _ := walkObject(val{raw: body[i:]}, 0, func(k []byte, esc bool, c val, depth int) int {
		var n int
		switch {
		case jsonscan.KeyIs(k, esc, "startTime"):
			h.start, n = readStr(c, depth)
		case jsonscan.KeyIs(k, esc, "timeline"):
			n, conversation = h.timeline(c, depth), true
		case jsonscan.KeyIs(k, esc, "chatMessages"):
			n, conversation = h.chatMessages(c, depth), true
		default:
			return skip
		}
		return n
	})
	if n < 0 || jsonscan.SkipWS(body, i+n) != len(body) {
		return fmt.Errorf("%w: history document is not valid JSON", ErrIncomplete)
	}
	if !conversation {
		return fmt.Errorf("%w: history document has no timeline or chatMessages yet", ErrIncomplete)
	}
	d.Records++
	d.UsageUnknown = true // these documents report no tokens
	for _, s := range append(h.times, h.start) {
		if t, ok := jsonscan.ParseTime(s, p.buf[:0]); s.OK && ok {
			d.Observe(t)
		}
	}
	d.UserMessages += max(h.tlUser, h.cmUser)
	d.AssistantMessages += max(h.tlAssistant, h.cmAssistant)
	d.ToolCalls += max(int64(len(h.tlCalls))+h.tlAnonCalls, h.cmCalls)
	return nil
}

// timeline reads the timeline: entries {id, timestamp, type, …}; type
// user is a prompt, copilot a response, tool_call_* a tool call (one per
// callId).
func (h *history) timeline(v val, depth int) int {
	h.tlUser, h.tlAssistant, h.tlCalls, h.tlAnonCalls, h.times = 0, 0, nil, 0, h.times[:0]
	n, _ := walkArray(v, depth, func(e val, depth int) int {
		var typ, ts, call jsonscan.Str
		n, isObj := walkObject(e, depth, func(k []byte, esc bool, c val, depth int) int {
			var n int
			switch {
			case jsonscan.KeyIs(k, esc, "type"):
				typ, n = readStr(c, depth)
			case jsonscan.KeyIs(k, esc, "timestamp"):
				ts, n = readStr(c, depth)
			case jsonscan.KeyIs(k, esc, "callId"):
				call, n = readStr(c, depth)
			default:
				return skip
			}
			return n
		})
		if n < 0 || !isObj {
			return n
		}
		if ts.OK {
			h.times = append(h.times, ts)
		}
		switch {
		case typ.Is("user"):
			h.tlUser++
		case typ.Is("copilot"):
			h.tlAssistant++
		case typ.OK && hasPrefix(typ, "tool_call_"):
			if !call.OK || len(call.Raw) == 0 {
				h.tlAnonCalls++
				break
			}
			if h.tlCalls == nil {
				h.tlCalls = map[string]struct{}{}
			}
			id, _ := call.Text(nil)
			h.tlCalls[string(id)] = struct{}{}
		}
		return n
	})
	return n
}

// hasPrefix reports whether the string value s starts with prefix.
func hasPrefix(s jsonscan.Str, prefix string) bool {
	v, _ := s.Text(nil)
	return len(v) >= len(prefix) && string(v[:len(prefix)]) == prefix
}

// chatMessages reads the chat messages (OpenAI style {role, content,
// tool_calls[]}): role user is a prompt, assistant a response with its
// tool calls.
func (h *history) chatMessages(v val, depth int) int {
	h.cmUser, h.cmAssistant, h.cmCalls = 0, 0, 0
	n, _ := walkArray(v, depth, func(e val, depth int) int {
		var role jsonscan.Str
		var calls int64
		n, isObj := walkObject(e, depth, func(k []byte, esc bool, c val, depth int) int {
			var n int
			switch {
			case jsonscan.KeyIs(k, esc, "role"):
				role, n = readStr(c, depth)
			case jsonscan.KeyIs(k, esc, "tool_calls"):
				calls = 0
				n, _ = walkArray(c, depth, func(val, int) int {
					calls++
					return skip
				})
			default:
				return skip
			}
			return n
		})
		if n < 0 || !isObj {
			return n
		}
		switch {
		case role.Is("user"):
			h.cmUser++
		case role.Is("assistant"):
			h.cmAssistant++
			h.cmCalls += calls
		}
		return n
	})
	return n
}
