package opencode

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/session"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   docTokens
		want session.Usage
	}{
		{"disjoint total", docTokens{Input: 900, Output: 210, Reasoning: 50, CacheRead: 12000, CacheWrite: 800, Total: i64(13960)},
			session.Usage{Input: 900, Output: 260, Reasoning: 50, CacheRead: 12000, CacheWrite: 800}},
		{"no total: reasoning apart", docTokens{Input: 900, Output: 210, Reasoning: 50, CacheRead: 12000, CacheWrite: 800},
			session.Usage{Input: 900, Output: 260, Reasoning: 50, CacheRead: 12000, CacheWrite: 800}},
		{"inclusive total", docTokens{Input: 900, Output: 210, Reasoning: 50, CacheRead: 12000, CacheWrite: 800, Total: i64(13910)},
			session.Usage{Input: 900, Output: 210, Reasoning: 50, CacheRead: 12000, CacheWrite: 800}},
		{"inclusive-looking but reasoning > output", docTokens{Input: 1, Output: 2, Reasoning: 30, Total: i64(3)},
			session.Usage{Input: 1, Output: 32, Reasoning: 30}},
		{"no reasoning", docTokens{Input: 5, Output: 7, Total: i64(12)}, session.Usage{Input: 5, Output: 7}},
		{"other total", docTokens{Input: 5, Output: 7, Reasoning: 3, Total: i64(1000)}, session.Usage{Input: 5, Output: 10, Reasoning: 3}},
		{"negative counts", docTokens{Input: -50, Output: 7, Reasoning: -1, CacheRead: -3, CacheWrite: 2}, session.Usage{Output: 7, CacheWrite: 2}},
		{"zero", docTokens{}, session.Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := usage(&tc.in); got != tc.want {
				t.Errorf("usage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func TestDocumentCounts(t *testing.T) {
	doc := `{"v":1,"session":"ses_1","source":"db","directory":"/home/dev/shop",
	"messages":[
	 {"id":"msg_1","role":"user","created":1000},
	 {"id":"msg_2","role":"assistant","created":2000,"completed":9000,"model":"m1","cwd":"/home/dev/other","cost":0.5,"tokens":{"input":10,"output":20,"reasoning":5,"cache_read":100,"cache_write":7,"total":142}},
	 {"id":"msg_3","role":"assistant","created":9500,"model":"m2","cost":-1},
	 {"id":"msg_4","role":"system","created":500},
	 {"id":"msg_5","role":"user","created":10000}],
	"tools":{"completed":1,"error":1,"running":1,"":1},
	"parts":9,"malformed":2}`
	var d session.Delta
	if err := (&Parser{}).Document([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	want := session.Delta{
		Counts:  session.Counts{UserMessages: 2, AssistantMessages: 2, ToolCalls: 4, ToolErrors: 1},
		Usage:   session.Usage{Input: 10, Output: 25, Reasoning: 5, CacheRead: 100, CacheWrite: 7},
		Models:  []string{"m1", "m2"},
		FirstAt: ms(500), LastAt: ms(10000),
		CWD:     "/home/dev/shop",
		Records: 5 + 9, Malformed: 2, Cost: 0.5,
	}
	if d.Counts != want.Counts || d.Usage != want.Usage || !slices.Equal(d.Models, want.Models) || !d.FirstAt.Equal(want.FirstAt) ||
		!d.LastAt.Equal(want.LastAt) || d.CWD != want.CWD || d.Records != want.Records || d.Malformed != want.Malformed || d.Cost != want.Cost {
		t.Errorf("Document = %+v\nwant       %+v", d, want)
	}
}

func TestDocumentCWDFallback(t *testing.T) {
	var d session.Delta
	doc := `{"v":1,"messages":[{"role":"assistant","cwd":"/a"},{"role":"user"},{"role":"assistant","cwd":"/b"},{"role":"assistant"}]}`
	if err := (&Parser{}).Document([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	if d.CWD != "/b" || !d.FirstAt.IsZero() {
		t.Errorf("CWD = %q, FirstAt %v", d.CWD, d.FirstAt)
	}
}

func TestDocumentEmpty(t *testing.T) {
	var d session.Delta
	if err := (&Parser{}).Document([]byte(`{"v":1,"session":"ses_1","messages":[]}`), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Empty() || d.CWD != "" {
		t.Errorf("empty document counted: %+v", d)
	}
}

func TestDocumentErrors(t *testing.T) {
	for _, bad := range []string{``, `{`, `[]`, `{"v":2,"messages":[]}`, `{"messages":[]}`, `{"v":1,"messages":{}}`, `{"v":1,"parts":"x"}`} {
		var d session.Delta
		err := (&Parser{}).Document([]byte(bad), &d)
		if !errors.Is(err, ErrNotDocument) {
			t.Errorf("Document(%q) err = %v", bad, err)
		}
		if !d.Empty() {
			t.Errorf("Document(%q) counted %+v", bad, d)
		}
	}
}

func TestParserLineAndState(t *testing.T) {
	p := &Parser{}
	var d session.Delta
	p.Line([]byte(`{"role":"user"}`), &d)
	if d.Malformed != 1 || d.Records != 0 {
		t.Errorf("Line counted %+v", d)
	}
	if p.State() != nil || p.Restore([]byte("x")) != nil {
		t.Error("stateless parser has state")
	}
}

// TestDocumentRoundTrip: what the digesters produce survives the document
// encoding.
func TestDocumentRoundTrip(t *testing.T) {
	doc := document{V: docVersion, Session: "ses_1", Source: sourceDB, Messages: []docMessage{}}
	doc.addMessage("msg_1", []byte(`{"role":"user","time":{"created":1}}`))
	doc.addMessage("msg_2", []byte(`{"role":"assistant","time":{"created":2},"modelID":"m","tokens":{"input":1,"output":2,"reasoning":3,"cache":{"read":4,"write":5}},"cost":0.25}`))
	doc.addMessage("msg_3", []byte(`{"role":`))
	doc.addPart("prt_1", []byte(`{"type":"tool","state":{"status":"error"}}`))
	doc.addPart("prt_2", []byte(`{"type":"text","text":"x"}`))
	doc.addPart("prt_3", []byte(`nope`))
	doc.addV2("m_4", "assistant", []byte(`{"content":[{"type":"tool","id":"c","state":{"status":"completed"}}],"tokens":{"input":1,"output":1,"reasoning":0,"cache":{"read":0,"write":0}}}`))
	doc.addV2("m_5", "shell", []byte(`{"command":"ls"}`))
	var want session.Delta
	count(&doc, &want)
	data, err := jsonMarshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	var got session.Delta
	if err := (&Parser{}).Document(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Counts != want.Counts || got.Usage != want.Usage || got.Records != want.Records || got.Malformed != want.Malformed || got.Cost != want.Cost {
		t.Errorf("round trip %+v, want %+v", got, want)
	}
	wantCounts := session.Counts{UserMessages: 1, AssistantMessages: 2, ToolCalls: 2, ToolErrors: 1}
	if got.Counts != wantCounts || got.Records != 3+3 || got.Malformed != 2 || got.Usage.Output != 5+1 {
		t.Errorf("counts %+v records %d malformed %d usage %+v", got.Counts, got.Records, got.Malformed, got.Usage)
	}
}
