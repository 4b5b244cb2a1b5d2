package copilottest

import (
	"strings"
	"time"

	"github.com/sessiond/sessiond/session"
)

// IsHistory reports whether a document handed over without a header is a
// Copilot CLI history document (history-session-state/session_<id>_<ms>.json):
// an object without a requests member.
func IsHistory(data []byte) bool {
	v, ok := decode(data)
	m, isObj := v.(map[string]any)
	if !ok || !isObj {
		return false
	}
	_, rq := m["requests"]
	return !rq
}

// CountHistory counts a Copilot CLI history document as sessiond's rules
// say: one record; prompts, responses and tool calls the larger of the
// timeline's (type user, copilot, tool_call_* by distinct callId) and the
// chatMessages' (role user, assistant, and the assistants' tool_calls);
// the time range from startTime and the timeline's timestamps; no tokens
// (unknown). An object with neither a timeline nor chatMessages is not a
// session yet (ErrIncomplete).
func CountHistory(data []byte) (session.Delta, error) {
	var d session.Delta
	v, ok := decode(data)
	if !ok {
		return d, ErrIncomplete
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		d.Malformed++
		return d, nil
	}
	_, tlKey := m["timeline"]
	_, cmKey := m["chatMessages"]
	if !tlKey && !cmKey {
		return d, ErrIncomplete // just created: not a session yet
	}
	d.Records++
	d.UsageUnknown = true
	observe := func(v any) {
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				d.Observe(t.UTC())
			}
		}
	}
	observe(m["startTime"])
	var tlUser, tlAssistant, tlAnon int64
	calls := map[string]bool{}
	tl, _ := m["timeline"].([]any)
	for _, e := range tl {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		observe(em["timestamp"])
		typ, _ := em["type"].(string)
		switch {
		case typ == "user":
			tlUser++
		case typ == "copilot":
			tlAssistant++
		case strings.HasPrefix(typ, "tool_call_"):
			if id, _ := em["callId"].(string); id != "" {
				calls[id] = true
			} else {
				tlAnon++
			}
		}
	}
	var cmUser, cmAssistant, cmCalls int64
	cm, _ := m["chatMessages"].([]any)
	for _, e := range cm {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		switch em["role"] {
		case "user":
			cmUser++
		case "assistant":
			cmAssistant++
			tc, _ := em["tool_calls"].([]any)
			cmCalls += int64(len(tc))
		}
	}
	d.UserMessages = max(tlUser, cmUser)
	d.AssistantMessages = max(tlAssistant, cmAssistant)
	d.ToolCalls = max(int64(len(calls))+tlAnon, cmCalls)
	return d, nil
}
