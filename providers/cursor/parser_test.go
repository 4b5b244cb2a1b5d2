package cursor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/session"
)

// fixture is a testdata/composer_*.json file: a composerData value and
// bubble values by id. A value given as a JSON string is stored as the
// string's bytes (damaged values).
type fixture struct {
	Composer json.RawMessage            `json:"composer"`
	Bubbles  map[string]json.RawMessage `json:"bubbles"`
}

// raw returns the bytes a fixture value stands for (compacted, as Cursor
// writes JSON).
func raw(v json.RawMessage) []byte {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func loadFixture(t testing.TB, name string) (composer []byte, bubbles map[string][]byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	bubbles = map[string][]byte{}
	for id, b := range f.Bubbles {
		bubbles[id] = raw(b)
	}
	return raw(f.Composer), bubbles
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestComposerDocuments checks the composer rules on the fixtures, with
// expectations worked out by hand (see each fixture).
func TestComposerDocuments(t *testing.T) {
	for _, tc := range []struct {
		file string
		cwd  string
		want session.Delta
	}{
		{"composer_example.json", "/home/dev/shop", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1, ToolCalls: 1}, Models: []string{"claude-4.5-sonnet"},
			FirstAt: ts("2026-03-02T09:00:00Z"), LastAt: ts("2026-03-02T09:01:30Z"), CWD: "/home/dev/shop", Records: 3, UsageUnknown: true}},
		{"composer_tokens.json", "", session.Delta{
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 5, ToolCalls: 4, ToolErrors: 1},
			Usage:  session.Usage{Input: 6200, Output: 1100}, Models: []string{"claude-4.5-sonnet", "gpt-5"},
			FirstAt: ts("2026-03-02T09:00:00Z"), LastAt: ts("2026-03-02T10:00:00Z"), Records: 8}},
		{"composer_legacy.json", "", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 2, ToolCalls: 1, ToolErrors: 1},
			Usage:  session.Usage{Input: 10, Output: 20}, Models: []string{"gpt-4o"},
			FirstAt: ts("2025-01-01T00:00:00Z"), LastAt: ts("2025-01-01T00:00:00Z"), Records: 4}},
		{"composer_damaged.json", "", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 2},
			FirstAt: ts("2026-03-02T09:00:00Z"), LastAt: ts("2026-03-02T09:00:00Z"), Records: 3, Malformed: 1, UsageUnknown: true}},
		{"composer_times.json", "", session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 2},
			FirstAt: ts("2026-03-02T10:00:00Z"), LastAt: ts("2026-03-02T10:11:00Z"), Records: 4, UsageUnknown: true}},
		{"composer_odd.json", "", session.Delta{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 5, ToolCalls: 2, ToolErrors: 1},
			Usage:  session.Usage{Input: 11}, Models: []string{"gpt-5"},
			FirstAt: ts("2026-03-02T09:00:00Z"), LastAt: ts("2026-03-02T09:00:00Z"), Records: 7}},
		{"composer_empty.json", "", session.Delta{
			FirstAt: ts("2026-03-02T09:00:00Z"), LastAt: ts("2026-03-02T09:00:00Z"), Records: 1, UsageUnknown: true}},
		{"composer_invalid.json", "", session.Delta{Malformed: 1, UsageUnknown: true}},
		// every bubble carries a placeholder toolFormerData ({"additionalData":…}, as
		// Cursor 0.50 writes): only the three that name a tool and a call id are calls
		{"composer_placeholders.json", "", session.Delta{
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 5, ToolCalls: 3, ToolErrors: 1},
			Usage:   session.Usage{Input: 120, Output: 30},
			FirstAt: ts("2025-05-25T08:00:00Z"), LastAt: ts("2025-05-25T09:00:00Z"), Records: 8}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			composer, bubbles := loadFixture(t, tc.file)
			doc := composerDocument("id", tc.cwd, composer, bubbles, false)
			if !json.Valid(doc) {
				t.Fatalf("document is not JSON: %s", doc)
			}
			var d session.Delta
			if err := (&Parser{}).Document(doc, &d); err != nil {
				t.Fatal(err)
			}
			if !equalDelta(d, tc.want) {
				t.Errorf("\ngot  %+v\nwant %+v", d, tc.want)
			}
		})
	}
}

func equalDelta(a, b session.Delta) bool {
	return a.Counts == b.Counts && a.Usage == b.Usage && slices.Equal(a.Models, b.Models) &&
		a.FirstAt.Equal(b.FirstAt) && a.LastAt.Equal(b.LastAt) && a.CWD == b.CWD &&
		a.Records == b.Records && a.Malformed == b.Malformed && a.UsageUnknown == b.UsageUnknown && len(a.Claims) == 0
}

// TestComposerDocumentLayout checks what ReadDoc writes: bubbles in header
// order, null for missing ones, "malformed" for damaged ones, orphans left
// out, an invalid composer as null.
func TestComposerDocumentLayout(t *testing.T) {
	composer, bubbles := loadFixture(t, "composer_damaged.json")
	doc := string(composerDocument("dmg", "/x", composer, bubbles, false))
	if !strings.HasPrefix(doc, `{"sessiond":"cursor.composer","id":"dmg","cwd":"/x","composer":{`) ||
		!strings.HasSuffix(doc, `"bubbles":[null,"malformed",{"_v":3,"type":3,"bubbleId":"a2","text":"a status bubble"},{"_v":3,"type":"1","bubbleId":"u2","text":"type is a string"},null,null]}`) {
		t.Errorf("layout: %s", doc)
	}
	if strings.Contains(doc, "orphan") {
		t.Error("a bubble missing from the headers was written")
	}
	inv, _ := loadFixture(t, "composer_invalid.json")
	if doc := string(composerDocument("inv", "", inv, nil, false)); doc != `{"sessiond":"cursor.composer","id":"inv","cwd":"","composer":null,"bubbles":[]}` {
		t.Errorf("invalid composer: %s", doc)
	}
}

func TestDocumentErrors(t *testing.T) {
	for _, doc := range []string{
		``, `  `, `[]`, `null`, `{}`, `{"sessiond":"other"}`, `{"sessiond":"cursor.composer"`,
		`{"sessiond":"cursor.composer","composer":{}} trailing`, `{"sessiond":"cursor.transcript"} x`,
		`{"sessiond":"cursor.composer","composer":{"a":}}`,
	} {
		var d session.Delta
		err := (&Parser{}).Document([]byte(doc), &d)
		if !errors.Is(err, ErrNotDocument) {
			t.Errorf("Document(%q) = %v, want ErrNotDocument", doc, err)
		}
		if d.Records != 0 || d.Malformed != 0 || d.Counts != (session.Counts{}) {
			t.Errorf("Document(%q) counted %+v", doc, d)
		}
	}
}

// TestLine covers the transcript line rules one line at a time.
func TestLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want session.Delta
	}{
		{``, session.Delta{}},
		{" \t\r", session.Delta{}},
		{`{"role":"user","message":{"content":[{"type":"text","text":"hi"}]}}`, session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}},
		{`{"message":{"content":"hi"},"role":"user"}`, session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}},
		{`{"role":"user","message":{"content":""}}`, session.Delta{Records: 1}},
		{`{"role":"user","message":{"content":[{"type":"text","text":"x"},{"type":"tool_result","is_error":true}]}}`, session.Delta{Counts: session.Counts{ToolErrors: 1}, Records: 1}},
		{`{"role":"user","message":{"content":[{"type":"tool_result","is_error":"true"}]}}`, session.Delta{Records: 1}},
		{`{"role":"assistant","message":{"content":[{"type":"tool_use"},{"type":"tool_use"},"x",7]}}`, session.Delta{Counts: session.Counts{AssistantMessages: 1, ToolCalls: 2}, Records: 1}},
		{`{"role":"assistant","message":{"content":[{"type":"tool_use"}]},"message":{"content":[]}}`, session.Delta{Counts: session.Counts{AssistantMessages: 1}, Records: 1}},
		{`{"role":"user","role":"assistant"}`, session.Delta{Counts: session.Counts{AssistantMessages: 1}, Records: 1}},
		{`{"role":"\u0075ser","message":{"content":"hi"}}`, session.Delta{Counts: session.Counts{UserMessages: 1}, Records: 1}},
		{`{"type":"turn_ended","status":"completed"}`, session.Delta{Records: 1}},
		{`{"role":"user","message":{"content":[{"type":"text"`, session.Delta{Malformed: 1}},
		{`{"role":"user"} {}`, session.Delta{Malformed: 1}},
		{`"user"`, session.Delta{Malformed: 1}},
		{`{"role":"user","message":{"content":"\x"}}`, session.Delta{Malformed: 1}},
	} {
		var d session.Delta
		(&Parser{}).Line([]byte(tc.line), &d)
		if !equalDelta(d, tc.want) {
			t.Errorf("Line(%q)\ngot  %+v\nwant %+v", tc.line, d, tc.want)
		}
	}
}

// transcriptDocument builds a transcript document as ReadDoc does.
func transcriptDocument(format string, primary bool, cwd string, mtime time.Time, body []byte) []byte {
	h, _ := json.Marshal(map[string]any{"sessiond": docTranscript, "id": "t", "format": format, "primary": primary,
		"cwd": cwd, "btime": 0, "mtime": mtime.UnixMilli()})
	doc := append(h, '\n')
	if i := strings.LastIndexByte(string(body), '\n'); i >= 0 {
		doc = append(doc, body[:i+1]...)
	}
	return doc
}

func TestTranscriptDocuments(t *testing.T) {
	mtime := ts("2026-03-02T12:00:00Z")
	for _, tc := range []struct {
		file    string
		format  string
		primary bool
		want    session.Delta
	}{
		{"transcript.jsonl", "jsonl", true, session.Delta{
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 2, ToolErrors: 1},
			FirstAt: mtime, LastAt: mtime, CWD: "/home/dev/shop", Records: 10, Malformed: 2, UsageUnknown: true}},
		{"transcript.jsonl", "jsonl", false, session.Delta{CWD: "/home/dev/shop", Records: 10, Malformed: 2, UsageUnknown: true}},
		// the shape of Cursor's 2026 transcripts: one prompt, assistant lines
		// of text and tool_use blocks, no tool results, no turn markers
		{"transcript_tools.jsonl", "jsonl", true, session.Delta{
			Counts:  session.Counts{UserMessages: 1, AssistantMessages: 5, ToolCalls: 5},
			FirstAt: mtime, LastAt: mtime, CWD: "/home/dev/shop", Records: 6, UsageUnknown: true}},
		{"transcript.txt", "txt", true, session.Delta{
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 2},
			FirstAt: mtime, LastAt: mtime, CWD: "/home/dev/shop", Records: 9, UsageUnknown: true}},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := (&Parser{}).Document(transcriptDocument(tc.format, tc.primary, "/home/dev/shop", mtime, body), &d); err != nil {
			t.Fatal(err)
		}
		if !equalDelta(d, tc.want) {
			t.Errorf("%s primary=%v\ngot  %+v\nwant %+v", tc.file, tc.primary, d, tc.want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	var p Parser
	if p.State() != nil {
		t.Fatal("state not nil")
	}
	if err := p.Restore(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Restore([]byte{1}); !errors.Is(err, ErrBadState) {
		t.Fatalf("Restore(junk) = %v", err)
	}
}
