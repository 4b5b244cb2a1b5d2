package cursor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
)

// transcriptSeeds adds every line of the transcript fixtures.
func transcriptSeeds(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "transcript.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		f.Add(l)
	}
	f.Add(cursortest.TranscriptLine("user", "hi", 0, 2, 1))
	f.Add(cursortest.TranscriptLine("assistant", "ok", 3, 0, 0))
	f.Add([]byte(cursortest.TurnEnded))
}

// isObject reports whether encoding/json accepts line as one JSON object.
func isObject(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\n")
	return json.Valid(line) && len(t) > 0 && t[0] == '{'
}

// FuzzLine: the transcript line parser never panics; a non-blank line is
// exactly one record or one malformed line, a record exactly when
// encoding/json accepts it as an object; and it counts what the reference
// counts.
func FuzzLine(f *testing.F) {
	transcriptSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // a file line holds no newline
		}
		var d session.Delta
		(&Parser{}).Line(line, &d)
		blank := len(bytes.Trim(line, " \t\r")) == 0
		switch {
		case blank:
			if d.Records+d.Malformed != 0 {
				t.Fatalf("blank line counted: %+v", d)
			}
		case d.Records+d.Malformed != 1:
			t.Fatalf("Records+Malformed = %d", d.Records+d.Malformed)
		case (d.Records == 1) != isObject(line):
			t.Fatalf("record = %v, encoding/json object = %v", d.Records == 1, isObject(line))
		}
		want := cursortest.CountTranscript(append(slices.Clip(line), '\n'), "jsonl")
		if d.Counts != want.Counts || d.Records != want.Records || d.Malformed != want.Malformed {
			t.Fatalf("line %q:\ngot  %+v\nwant %+v", line, d, want)
		}
	})
}

// composerSeeds adds the composer fixtures: their composerData value and
// their first bubble.
func composerSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "composer_*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		composer, bubbles := loadFixture(f, filepath.Base(file))
		ids, _ := headerIDs(composer)
		b1, b2 := []byte(nil), []byte(nil)
		if len(ids) > 0 {
			b1 = bubbles[ids[0]]
		}
		if len(ids) > 1 {
			b2 = bubbles[ids[1]]
		}
		f.Add(composer, b1, b2)
	}
	f.Add([]byte(`{"fullConversationHeadersOnly":[{"bubbleId":"b1","type":1},{"bubbleId":"b2","type":2}]}`),
		cursortest.Bubble{ID: "b1", Type: 1, Text: "hi", Created: time.Unix(1772442000, 0)}.JSON(),
		cursortest.Bubble{ID: "b2", Type: 2, Tool: "edit_file", ToolStatus: "error", In: 5, Out: 7, Model: "gpt-5"}.JSON())
}

// FuzzComposerDocument: for any composerData value and bubbles, the
// document ReadDoc would build parses, and its delta is what the reference
// (encoding/json) counts. The bubbles are stored as b1 and b2.
func FuzzComposerDocument(f *testing.F) {
	composerSeeds(f)
	f.Fuzz(func(t *testing.T, composer, b1, b2 []byte) {
		bubbles := map[string][]byte{}
		if b1 != nil {
			bubbles["b1"] = b1
		}
		if b2 != nil {
			bubbles["b2"] = b2
		}
		doc := composerDocument("c", "/home/dev/shop", composer, bubbles, false)
		var d session.Delta
		if err := (&Parser{}).Document(doc, &d); err != nil {
			t.Fatalf("document of %q: %v", composer, err)
		}
		want := cursortest.CountComposer(composer, bubbles)
		if len(want.Models) == 0 {
			want.Models = nil
		}
		if len(d.Models) == 0 {
			d.Models = nil
		}
		if d.Counts != want.Counts || d.Usage != want.Tokens || !slices.Equal(d.Models, want.Models) ||
			!d.FirstAt.Equal(want.StartedAt) || !d.LastAt.Equal(want.EndedAt) || d.Records != want.Records ||
			d.Malformed != want.Malformed || d.UsageUnknown != want.TokensUnknown || d.CWD != "/home/dev/shop" {
			t.Fatalf("composer %q bubbles %q %q:\ngot  %+v\nwant %+v", composer, b1, b2, d, want)
		}
	})
}

// FuzzChatDocument: for any valid JSON tab value, the chat document
// ReadDoc would build parses, and its delta is what the reference
// (encoding/json) counts.
func FuzzChatDocument(f *testing.F) {
	f.Add(cursortest.ChatTab{ID: "t1", Title: "x", LastSend: time.Unix(1731818231, 0), Draft: true, Bubbles: []cursortest.ChatBubble{
		{ID: "q", User: true, Text: "why"}, {ID: "r", Text: "because", Model: "claude-3.5-sonnet"}}}.JSON())
	f.Add([]byte(`{"tabId":"t","bubbles":[{"type":"user","text":""},7,{"type":"ai","modelType":""}],"bubbles":[{"type":"ai"}],"lastSendTime":"2024-11-16T19:20:00Z"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, tab []byte) {
		if !json.Valid(tab) {
			return // ReadDoc passes on values encoding/json decoded
		}
		var d session.Delta
		if err := (&Parser{}).Document(chatDocument("t", "/home/dev/app", tab), &d); err != nil {
			t.Fatalf("document of %q: %v", tab, err)
		}
		want := cursortest.CountChatTab(tab)
		if len(want.Models) == 0 {
			want.Models = nil
		}
		if len(d.Models) == 0 {
			d.Models = nil
		}
		if d.Counts != want.Counts || !d.Usage.IsZero() || !slices.Equal(d.Models, want.Models) ||
			!d.FirstAt.Equal(want.StartedAt) || !d.LastAt.Equal(want.EndedAt) || d.Records != want.Records ||
			d.Malformed != want.Malformed || !d.UsageUnknown || d.CWD != "/home/dev/app" {
			t.Fatalf("tab %q:\ngot  %+v\nwant %+v", tab, d, want)
		}
	})
}

// FuzzDocument: Document never panics on any input; when it reports an
// error it counted nothing.
func FuzzDocument(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "composer_*.json"))
	for _, file := range files {
		composer, bubbles := loadFixture(f, filepath.Base(file))
		f.Add(composerDocument("c", "/x", composer, bubbles, false))
	}
	body, _ := os.ReadFile(filepath.Join("testdata", "transcript.jsonl"))
	f.Add(transcriptDocument("jsonl", true, "/x", time.Unix(1772442000, 0), body))
	body, _ = os.ReadFile(filepath.Join("testdata", "transcript.txt"))
	f.Add(transcriptDocument("txt", false, "", time.Unix(1772442000, 0), body))
	f.Add(chatDocument("t", "/x", cursortest.ChatTab{ID: "t", Bubbles: []cursortest.ChatBubble{{ID: "q", User: true, Text: "hi"}}}.JSON()))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d session.Delta
		if err := (&Parser{}).Document(data, &d); err != nil {
			if d.Records != 0 || d.Malformed != 0 || d.Counts != (session.Counts{}) || !d.Usage.IsZero() || d.CWD != "" {
				t.Fatalf("error %v after counting %+v", err, d)
			}
			return
		}
		if d.Records < 0 || d.Malformed < 0 || d.Usage.Input < 0 || d.Usage.Output < 0 {
			t.Fatalf("negative counts: %+v", d)
		}
	})
}

// FuzzCWDFromToolPaths: the search never panics, and a folder it finds is
// absolute and slugs to the slug.
func FuzzCWDFromToolPaths(f *testing.F) {
	f.Add(cursortest.ToolPathLine("x", "/home/dev/my app/src/a.go", "/etc/hosts"), "home-dev-my-app")
	f.Add([]byte(`{"message":{"content":[{"type":"tool_use","input":{"p":"/"}}]}}`), "")
	f.Fuzz(func(t *testing.T, body []byte, slug string) {
		got := cwdFromToolPaths(append(body, '\n'), slug)
		if got != "" && (!filepath.IsAbs(got) || cursortest.Slug(got) != strings.TrimPrefix(slug, "-")) {
			t.Fatalf("cwdFromToolPaths(%q, %q) = %q", body, slug, got)
		}
	})
}
