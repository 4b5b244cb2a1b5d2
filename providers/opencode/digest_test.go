package opencode

import (
	"reflect"
	"strings"
	"testing"
)

func i64(n int64) *int64 { return &n }

func TestDigestMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want messageInfo
		ok   bool
	}{
		{"assistant", `{"id":"msg_1","sessionID":"ses_1","role":"assistant","parentID":"msg_0","time":{"created":1772442000000,"completed":1772442009000},"modelID":"claude-sonnet-4-5","providerID":"anthropic","mode":"build","agent":"build","path":{"cwd":"/home/dev/shop","root":"/home/dev/shop"},"cost":0.0123,"tokens":{"input":900,"output":210,"reasoning":5,"cache":{"read":12000,"write":800}},"finish":"tool-calls"}`,
			messageInfo{docMessage{ID: "msg_1", Role: "assistant", Created: 1772442000000, Completed: 1772442009000, Model: "claude-sonnet-4-5", CWD: "/home/dev/shop", Cost: 0.0123,
				Tokens: &docTokens{Input: 900, Output: 210, Reasoning: 5, CacheRead: 12000, CacheWrite: 800}}, "ses_1"}, true},
		{"total", `{"role":"assistant","tokens":{"total":13915,"input":900,"output":210,"reasoning":5,"cache":{"read":12000,"write":800}}}`,
			messageInfo{docMessage: docMessage{Role: "assistant", Tokens: &docTokens{Input: 900, Output: 210, Reasoning: 5, CacheRead: 12000, CacheWrite: 800, Total: i64(13915)}}}, true},
		{"user", `{"role":"user","time":{"created":5},"agent":"build","model":{"providerID":"anthropic","modelID":"x"},"summary":{"diffs":[{"file":"a","before":"x","after":"y"}]}}`,
			messageInfo{docMessage: docMessage{Role: "user", Created: 5}}, true},
		{"no tokens object", `{"role":"assistant","tokens":null}`, messageInfo{docMessage: docMessage{Role: "assistant"}}, true},
		{"odd numbers", `{"role":"assistant","tokens":{"input":12.7,"output":1e3,"reasoning":"7","cache":{"read":-4,"write":1e40}},"cost":"x","time":{"created":1.5e12}}`,
			messageInfo{docMessage: docMessage{Role: "assistant", Created: 1500000000000, Tokens: &docTokens{Input: 12, Output: 1000, CacheRead: -4}}}, true},
		{"huge integer", `{"role":"assistant","tokens":{"input":123456789012345678901234}}`,
			messageInfo{docMessage: docMessage{Role: "assistant", Tokens: &docTokens{}}}, true},
		{"last key wins", `{"role":"user","role":"assistant","time":{"created":1},"time":{"completed":2}}`,
			messageInfo{docMessage: docMessage{Role: "assistant", Completed: 2}}, true},
		{"escaped keys and values", `{"\u0072ole":"assist\u0061nt","modelID":"m\u00e9","path":{"cwd":"/a\\b"}}`,
			messageInfo{docMessage: docMessage{Role: "assistant", Model: "mé", CWD: `/a\b`}}, true},
		{"wrong types", `{"role":1,"time":[1,2],"path":"x","tokens":[1],"modelID":{"a":1}}`, messageInfo{}, true},
		{"whitespace", " \n{ \"role\" : \"user\" } \n", messageInfo{docMessage: docMessage{Role: "user"}}, true},
		{"empty object", `{}`, messageInfo{}, true},
		{"array", `[{"role":"user"}]`, messageInfo{}, false},
		{"string", `"user"`, messageInfo{}, false},
		{"truncated", `{"role":"assistant","tokens":{"input":9`, messageInfo{}, false},
		{"trailing", `{"role":"user"}x`, messageInfo{}, false},
		{"two objects", `{"role":"user"}{"role":"user"}`, messageInfo{}, false},
		{"control char", "{\"role\":\"us\ter\"}", messageInfo{}, false},
		{"bad escape", `{"role":"\x"}`, messageInfo{}, false},
		{"empty", ``, messageInfo{}, false},
		{"leading zero", `{"cost":01}`, messageInfo{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := digestMessage([]byte(tc.data))
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("digestMessage = %+v (tokens %+v), %v; want %+v (tokens %+v), %v", got, got.Tokens, ok, tc.want, tc.want.Tokens, tc.ok)
			}
		})
	}
}

func TestDigestDeepNesting(t *testing.T) {
	deep := `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`
	if _, ok := digestMessage([]byte(deep)); ok {
		t.Error("nesting beyond encoding/json's limit accepted")
	}
	ok := `{"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `,"role":"user"}`
	if m, good := digestMessage([]byte(ok)); !good || m.Role != "user" {
		t.Errorf("deep but valid: %+v %v", m, good)
	}
}

func TestDigestPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want partInfo
		ok   bool
	}{
		{"tool", `{"id":"prt_1","sessionID":"ses_1","messageID":"msg_1","type":"tool","callID":"toolu_9","tool":"bash","state":{"status":"completed","input":{"command":"ls"},"output":"app.py","title":"ls","time":{"start":1,"end":2}}}`,
			partInfo{ID: "prt_1", MessageID: "msg_1", SessionID: "ses_1", Type: "tool", Status: "completed"}, true},
		{"tool error", `{"type":"tool","tool":"edit","state":{"status":"error","input":{},"error":"oldString not found"}}`, partInfo{Type: "tool", Status: "error"}, true},
		{"text", `{"type":"text","text":"hello \"world\"\n","time":{"start":1}}`, partInfo{Type: "text"}, true},
		{"step-finish", `{"type":"step-finish","reason":"stop","cost":0.1,"tokens":{"input":1,"output":2,"reasoning":0,"cache":{"read":0,"write":0}}}`, partInfo{Type: "step-finish"}, true},
		{"state not object", `{"type":"tool","state":"completed"}`, partInfo{Type: "tool"}, true},
		{"status twice", `{"type":"tool","state":{"status":"running","status":"error"}}`, partInfo{Type: "tool", Status: "error"}, true},
		{"truncated", `{"type":"tool","state":{"status":"err`, partInfo{}, false},
		{"null", `null`, partInfo{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := digestPart([]byte(tc.data))
			if ok != tc.ok || got != tc.want {
				t.Errorf("digestPart = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDigestSession(t *testing.T) {
	got, ok := digestSession([]byte(`{"id":"ses_2","slug":"x","version":"1.1.65","projectID":"global","directory":"/home/dev/shop","parentID":"ses_1","title":"t","time":{"created":1,"updated":2}}`))
	want := sessionInfo{ID: "ses_2", ParentID: "ses_1", Directory: "/home/dev/shop", Created: 1, Updated: 2}
	if !ok || got != want {
		t.Errorf("digestSession = %+v, %v", got, ok)
	}
	if _, ok := digestSession([]byte(`{"id":`)); ok {
		t.Error("truncated session accepted")
	}
}

func TestDigestV2(t *testing.T) {
	for _, tc := range []struct {
		name      string
		typ, data string
		msg       docMessage
		tools     []docTool
		kind      string
		ok        bool
	}{
		{"assistant", "assistant", `{"agent":"build","model":{"id":"gpt-5","providerID":"openai"},"content":[{"type":"text","text":"hi"},{"type":"reasoning","id":"r","text":"t"},{"type":"tool","id":"call_1","name":"bash","state":{"status":"completed","input":{},"content":[],"structured":{}},"time":{"created":1}},{"type":"tool","id":"call_2","name":"edit","state":{"status":"error","input":{},"content":[],"structured":{},"error":{"message":"x"}},"time":{"created":2}}],"finish":"tool-calls","cost":0.5,"tokens":{"input":10,"output":20,"reasoning":30,"cache":{"read":40,"write":50}},"time":{"created":100,"completed":200}}`,
			docMessage{Model: "gpt-5", Cost: 0.5, Created: 100, Completed: 200, Tokens: &docTokens{Input: 10, Output: 20, Reasoning: 30, CacheRead: 40, CacheWrite: 50}},
			[]docTool{{ID: "call_1", Status: "completed"}, {ID: "call_2", Status: "error"}}, "assistant", true},
		{"user", "user", `{"text":"add a test","files":[],"agents":[],"references":[],"time":{"created":7}}`, docMessage{Created: 7}, nil, "user", true},
		{"type in data wins", "", `{"type":"shell","callID":"c","command":"ls","output":"","time":{"created":1}}`, docMessage{Created: 1}, nil, "shell", true},
		{"content not array", "assistant", `{"content":{"type":"tool"}}`, docMessage{}, nil, "assistant", true},
		{"content odd elements", "assistant", `{"content":[1,"x",null,[],{"type":"tool","state":{"status":"running"}}]}`, docMessage{}, []docTool{{Status: "running"}}, "assistant", true},
		{"truncated", "assistant", `{"content":[{"type":"tool"`, docMessage{}, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, tools, kind, ok := digestV2(tc.typ, []byte(tc.data))
			if ok != tc.ok || kind != tc.kind || !reflect.DeepEqual(msg, tc.msg) || len(tools) != len(tc.tools) || (len(tools) > 0 && !reflect.DeepEqual(tools, tc.tools)) {
				t.Errorf("digestV2 = %+v %+v %q %v; want %+v %+v %q %v", msg, tools, kind, ok, tc.msg, tc.tools, tc.kind, tc.ok)
			}
		})
	}
}
