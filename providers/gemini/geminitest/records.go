package geminitest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The JSON shapes Gemini CLI writes (chatRecordingTypes.ts), in its member
// order.

type tokensJSON struct {
	Input    int64 `json:"input"`
	Output   int64 `json:"output"`
	Cached   int64 `json:"cached"`
	Thoughts int64 `json:"thoughts"`
	Tool     int64 `json:"tool"`
	Total    int64 `json:"total"`
}

// fileDiffJSON is the resultDisplay of the file-writing tools (write_file,
// replace): their arguments may be relative, filePath is absolute.
type fileDiffJSON struct {
	FileDiff        string         `json:"fileDiff"`
	FileName        string         `json:"fileName"`
	FilePath        string         `json:"filePath"`
	OriginalContent string         `json:"originalContent"`
	NewContent      string         `json:"newContent"`
	DiffStat        map[string]int `json:"diffStat"`
	IsNewFile       bool           `json:"isNewFile"`
}

type thoughtJSON struct {
	Subject     string `json:"subject"`
	Description string `json:"description"`
	Timestamp   string `json:"timestamp"`
}

type toolCallJSON struct {
	ID                     string         `json:"id"`
	Name                   string         `json:"name"`
	Args                   map[string]any `json:"args"`
	Result                 []any          `json:"result,omitempty"`
	Status                 string         `json:"status"`
	Timestamp              string         `json:"timestamp"`
	DisplayName            string         `json:"displayName"`
	Description            string         `json:"description"`
	ResultDisplay          any            `json:"resultDisplay,omitempty"` // a string, or a *fileDiffJSON`
	RenderOutputAsMarkdown bool           `json:"renderOutputAsMarkdown"`
}

// message is one MessageRecord; Tokens is written as null on gemini
// messages without usage, as Gemini CLI does.
type message struct {
	ID        string         `json:"id"`
	Timestamp string         `json:"timestamp"`
	Type      string         `json:"type"`
	Content   any            `json:"content"`
	ToolCalls []toolCallJSON `json:"toolCalls,omitempty"`
	Thoughts  []thoughtJSON  `json:"thoughts,omitempty"`
	Tokens    *tokensJSON    `json:"tokens,omitempty"`
	NullTok   bool           `json:"-"`
	Model     string         `json:"model,omitempty"`
}

// MarshalJSON writes "tokens":null for gemini messages without tokens.
func (m message) MarshalJSON() ([]byte, error) {
	type plain message
	b, err := json.Marshal(plain(m))
	if err != nil || !m.NullTok || m.Tokens != nil {
		return b, err
	}
	return append(b[:len(b)-1], `,"tokens":null}`...), nil
}

type metadata struct {
	SessionID   string    `json:"sessionId"`
	ProjectHash string    `json:"projectHash"`
	StartTime   string    `json:"startTime"`
	LastUpdated string    `json:"lastUpdated"`
	Kind        string    `json:"kind,omitempty"`
	Directories []string  `json:"directories,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	Messages    []message `json:"messages,omitempty"` // legacy documents only
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// words is the vocabulary of generated text.
var words = strings.Fields(`the a to of and in is it for on that this with as be are
file function return error value line test build run update check change module package
import type struct config server client request response handler session token cache
index query table column field parser scanner buffer stream event queue worker retry
please can you fix add remove refactor explain why does fails when after before where
go python typescript rust json yaml sql http api cli flag option default path directory`)

// appendText appends about n bytes of words, with the occasional quote,
// backslash, newline and non-ASCII character that JSON must escape.
func appendText(b []byte, r *rand.Rand, n int) []byte {
	start := len(b)
	for len(b)-start < n {
		if len(b) > start {
			switch r.IntN(40) {
			case 0:
				b = append(b, '\n')
			case 1:
				b = append(b, `"q" `...)
			case 2:
				b = append(b, `C:\path `...)
			case 3:
				b = append(b, "café → ok "...)
			default:
				b = append(b, ' ')
			}
		}
		b = append(b, words[r.IntN(len(words))]...)
	}
	return b
}

func text(r *rand.Rand, n int) string { return string(appendText(nil, r, n)) }

func newUUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
