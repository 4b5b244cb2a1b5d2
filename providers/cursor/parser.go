package cursor

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Document kinds: the "sessiond" member of a document's header.
const (
	docComposer   = "cursor.composer"
	docTranscript = "cursor.transcript"
	// docChat ("cursor.chat") is in workspace.go.
)

// Parser turns the documents ReadDoc builds into session deltas, and lines
// of agent transcripts into deltas (Line). It keeps no state between
// documents or lines; its fields are scratch space reused to avoid
// allocation. The zero value is ready to use.
type Parser struct {
	buf     []byte         // decoded strings
	model   jsonscan.Cache // last model name seen
	types   []int8         // composer: header types, in order
	bubbles []bubbleFacts  // composer: the elements of "bubbles", in order
}

var (
	_ providers.Parser         = (*Parser)(nil)
	_ providers.DocumentParser = (*Parser)(nil)
)

// span is a value's extent in a document.
type span struct{ start, end int }

// State returns nil: the parser has no state between lines or documents.
func (*Parser) State() []byte { return nil }

// Restore accepts only the empty state State returns.
func (*Parser) Restore(state []byte) error {
	if len(state) != 0 {
		return fmt.Errorf("%w: %d bytes", ErrBadState, len(state))
	}
	return nil
}

// header is the envelope of a document.
type header struct {
	kind     jsonscan.Str
	cwd      jsonscan.Str
	composer span         // composer documents: the composerData value
	bubbles  span         // composer documents: the array of bubbles
	format   jsonscan.Str // transcripts: "jsonl" or "txt"
	primary  bool         // transcripts: the conversation is counted from this file
	shadowed bool         // composer documents: counted from another document
	tab      span         // chat documents: the tab value
	btime    int64
	mtime    int64
}

// Document parses a document built by ReadDoc into d. It returns an error
// wrapping ErrNotDocument when data is not such a document; damage inside
// it (a bubble or a transcript line that is not valid JSON) is counted in
// d.Malformed instead.
func (p *Parser) Document(data []byte, d *session.Delta) error {
	var h header
	end := p.header(data, &h)
	if end < 0 {
		return fmt.Errorf("%w: bad header", ErrNotDocument)
	}
	switch {
	case h.kind.Is(docComposer):
		if jsonscan.SkipWS(data, end) != len(data) {
			return fmt.Errorf("%w: data after the document", ErrNotDocument)
		}
		p.composerDoc(data, &h, d)
	case h.kind.Is(docChat):
		if jsonscan.SkipWS(data, end) != len(data) {
			return fmt.Errorf("%w: data after the document", ErrNotDocument)
		}
		p.chatDoc(data, &h, d)
	case h.kind.Is(docAgentChat):
		return p.agentChatDoc(data, d) // the Agent CLI's chat stores (chats_parse.go)
	case h.kind.Is(docTranscript):
		i := end
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r') {
			i++
		}
		if i < len(data) && data[i] != '\n' {
			return fmt.Errorf("%w: no newline after the transcript header", ErrNotDocument)
		}
		p.transcriptDoc(data[min(i+1, len(data)):], &h, d)
	default:
		return fmt.Errorf("%w: unknown kind", ErrNotDocument)
	}
	return nil
}

// header scans the envelope object at the start of data (validating it,
// and so every value it holds) and returns the position after it, or -1.
func (p *Parser) header(data []byte, h *header) int {
	i := jsonscan.SkipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return -1
	}
	h.composer, h.bubbles, h.tab = span{-1, -1}, span{-1, -1}, span{-1, -1}
	p.bubbles = p.bubbles[:0]
	return objectMembers(data, i, 0, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("sessiond"):
			s, e := jsonscan.ScanStr(data, v, depth)
			h.kind = s
			return e
		case k.Is("cwd"):
			s, e := jsonscan.ScanStr(data, v, depth)
			h.cwd = s
			return e
		case k.Is("format"):
			s, e := jsonscan.ScanStr(data, v, depth)
			h.format = s
			return e
		case k.Is("primary"):
			b, e := jsonscan.ScanTrue(data, v, depth)
			h.primary = b
			return e
		case k.Is("shadowed"):
			b, e := jsonscan.ScanTrue(data, v, depth)
			h.shadowed = b
			return e
		case k.Is("tab"):
			e := jsonscan.SkipValue(data, v, depth)
			h.tab = span{v, e}
			return e
		case k.Is("btime"):
			n, e := jsonscan.ScanInt(data, v, depth)
			h.btime = n
			return e
		case k.Is("mtime"):
			n, e := jsonscan.ScanInt(data, v, depth)
			h.mtime = n
			return e
		case k.Is("composer"):
			e := jsonscan.SkipValue(data, v, depth)
			h.composer = span{v, e}
			return e
		case k.Is("bubbles"):
			// parsed (and so validated) in one pass; the last "bubbles" wins
			p.bubbles = p.bubbles[:0]
			if data[v] != '[' {
				h.bubbles = span{-1, -1}
				return jsonscan.SkipValue(data, v, depth)
			}
			e := arrayElements(data, v, depth, func(v, depth int) int {
				var f bubbleFacts
				e := p.scanBubble(data, v, depth, &f)
				p.bubbles = append(p.bubbles, f)
				return e
			})
			h.bubbles = span{v, e}
			return e
		}
		return jsonscan.SkipValue(data, v, depth)
	})
}

// composer holds what a composerData value says.
type composer struct {
	created, updated time.Time
	model            jsonscan.Str
	headers          bool // fullConversationHeadersOnly is a non-empty array
	conversation     span // legacy inline bubbles (an array), or {-1,-1}
}

// composerDoc applies a composer document: the composerData value and its
// bubbles, aligned with the composer's headers. See the package
// documentation for the counting rules.
func (p *Parser) composerDoc(data []byte, h *header, d *session.Delta) {
	if h.shadowed {
		d.UsageUnknown = true
		return // a workspace's inline copy of a global composer: counted there
	}
	if h.cwd.OK && len(h.cwd.Raw) > 0 {
		var cwd []byte
		cwd, p.buf = h.cwd.Text(p.buf[:0])
		d.CWD = string(cwd)
	}
	d.UsageUnknown = true
	var c composer
	if h.composer.start < 0 || !p.composer(data, h.composer.start, &c) {
		d.Malformed++
		return
	}
	d.Records++
	d.Observe(c.created)
	d.Observe(c.updated)
	var b bubbleStats
	if c.headers {
		for i, typ := range p.types {
			f := bubbleFacts{kind: bubbleMissing}
			if h.bubbles.start >= 0 && i < len(p.bubbles) {
				f = p.bubbles[i]
			}
			p.applyBubble(data, &f, typ, d, &b)
		}
	} else if c.conversation.start >= 0 {
		arrayElements(data, c.conversation.start, 0, func(v, depth int) int {
			var f bubbleFacts
			e := p.scanBubble(data, v, depth, &f)
			p.applyBubble(data, &f, 0, d, &b)
			return e
		})
	}
	if !b.model && c.model.OK && len(c.model.Raw) > 0 {
		d.Models = session.AddModels(d.Models, p.model.Get(c.model))
	}
	if c.created.IsZero() && c.updated.IsZero() {
		d.Observe(b.first)
		d.Observe(b.last)
	}
	d.UsageUnknown = d.Usage.IsZero()
}

// composer scans a composerData value; false if it is not an object.
func (p *Parser) composer(data []byte, i int, c *composer) bool {
	if data[i] != '{' {
		return false
	}
	c.conversation = span{-1, -1}
	p.types = p.types[:0]
	objectMembers(data, i, 0, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("createdAt"):
			t, e := p.scanTime(data, v, depth)
			c.created = t
			return e
		case k.Is("lastUpdatedAt"):
			t, e := p.scanTime(data, v, depth)
			c.updated = t
			return e
		case k.Is("modelConfig"):
			c.model = jsonscan.Str{}
			return p.scanModel(data, v, depth, "modelName", &c.model)
		case k.Is("fullConversationHeadersOnly"):
			p.types = p.types[:0]
			c.headers = false
			if data[v] != '[' {
				return jsonscan.SkipValue(data, v, depth)
			}
			e := arrayElements(data, v, depth, func(v, depth int) int {
				var typ int64
				e := objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
					if k.Is("type") {
						var e int
						typ, e = jsonscan.ScanInt(data, v, depth)
						return e
					}
					return jsonscan.SkipValue(data, v, depth)
				})
				p.types = append(p.types, clampType(typ))
				return e
			})
			c.headers = len(p.types) > 0
			return e
		case k.Is("conversation"):
			e := jsonscan.SkipValue(data, v, depth)
			c.conversation = span{-1, -1}
			if data[v] == '[' {
				c.conversation = span{v, e}
			}
			return e
		}
		return jsonscan.SkipValue(data, v, depth)
	})
	return true
}

// clampType keeps bubble types in int8 (1 user, 2 assistant, 0 other).
func clampType(t int64) int8 {
	if t == 1 || t == 2 {
		return int8(t)
	}
	return 0
}

// bubbleStats accumulates over a composer's bubbles.
type bubbleStats struct {
	model       bool // some bubble named its model
	first, last time.Time
}

// Kinds of bubble value.
const (
	bubbleMissing = iota // null: a header whose bubble is not written (yet)
	bubbleObject
	bubbleOther // not an object: damaged
)

// bubbleFacts is what one bubble value says.
type bubbleFacts struct {
	kind          int8
	hasType       bool
	typ           int64
	in, out       int64
	tool, toolErr bool
	model         jsonscan.Str
	created       int // position of the createdAt value, -1 if none
}

// scanBubble scans the bubble value at data[v] into f and returns the
// position after it, or -1 when it is not valid JSON.
func (p *Parser) scanBubble(data []byte, v, depth int, f *bubbleFacts) int {
	f.created = -1
	switch data[v] {
	case 'n':
		f.kind = bubbleMissing
		return jsonscan.SkipValue(data, v, depth)
	case '{':
		f.kind = bubbleObject
	default:
		f.kind = bubbleOther
		return jsonscan.SkipValue(data, v, depth)
	}
	return objectMembers(data, v, depth, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("type"):
			n, e := jsonscan.ScanInt(data, v, depth)
			f.typ, f.hasType = n, true
			return e
		case k.Is("createdAt"):
			f.created = v
			return jsonscan.SkipValue(data, v, depth)
		case k.Is("tokenCount"):
			f.in, f.out = 0, 0
			return objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				switch {
				case k.Is("inputTokens"):
					n, e := jsonscan.ScanInt(data, v, depth)
					f.in = max(n, 0)
					return e
				case k.Is("outputTokens"):
					n, e := jsonscan.ScanInt(data, v, depth)
					f.out = max(n, 0)
					return e
				}
				return jsonscan.SkipValue(data, v, depth)
			})
		case k.Is("modelInfo"):
			f.model = jsonscan.Str{}
			return p.scanModel(data, v, depth, "modelName", &f.model)
		case k.Is("toolFormerData"):
			// every bubble may carry a placeholder {"additionalData":…}: only
			// one that names its tool or call is an invocation
			// (the last of duplicate members wins, as in encoding/json)
			var name, call, tool, failed bool
			e := objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				switch {
				case k.Is("status"):
					s, e := jsonscan.ScanStr(data, v, depth)
					failed = s.Is("error")
					return e
				case k.Is("name"), k.Is("toolCallId"):
					s, e := jsonscan.ScanStr(data, v, depth)
					if k.Is("name") {
						name = s.OK && len(s.Raw) > 0
					} else {
						call = s.OK && len(s.Raw) > 0
					}
					return e
				case k.Is("tool"):
					n, e := jsonscan.ScanInt(data, v, depth)
					tool = n > 0
					return e
				}
				return jsonscan.SkipValue(data, v, depth)
			})
			named := name || call || tool
			f.tool, f.toolErr = named, named && failed
			return e
		}
		return jsonscan.SkipValue(data, v, depth)
	})
}

// applyBubble applies one bubble; typ is its header's type (0 for inline
// bubbles). A missing or damaged bubble still counts its header's type.
func (p *Parser) applyBubble(data []byte, f *bubbleFacts, typ int8, d *session.Delta, b *bubbleStats) {
	switch f.kind {
	case bubbleMissing:
		countType(typ, d)
		return
	case bubbleOther:
		d.Malformed++
		countType(typ, d)
		return
	}
	d.Records++
	if f.hasType {
		typ = clampType(f.typ)
	}
	countType(typ, d)
	if f.tool {
		d.ToolCalls++
		if f.toolErr {
			d.ToolErrors++
		}
	}
	d.Usage.Input += f.in
	d.Usage.Output += f.out
	if f.model.OK && len(f.model.Raw) > 0 {
		d.Models = session.AddModels(d.Models, p.model.Get(f.model))
		b.model = true
	}
	if f.created >= 0 {
		if t, _ := p.scanTime(data, f.created, 0); !t.IsZero() {
			if b.first.IsZero() || t.Before(b.first) {
				b.first = t
			}
			if t.After(b.last) {
				b.last = t
			}
		}
	}
}

// countType counts a message by its type.
func countType(typ int8, d *session.Delta) {
	switch typ {
	case 1:
		d.UserMessages++
	case 2:
		d.AssistantMessages++
	}
}

// scanModel scans an object value and stores its string member name in
// *out (left unset otherwise).
func (p *Parser) scanModel(data []byte, v, depth int, name string, out *jsonscan.Str) int {
	return objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
		if k.Is(name) {
			s, e := jsonscan.ScanStr(data, v, depth)
			*out = s
			return e
		}
		return jsonscan.SkipValue(data, v, depth)
	})
}

// scanTime scans a timestamp: milliseconds since the epoch (Cursor's
// createdAt and lastUpdatedAt) or an RFC 3339 string (bubbles' createdAt).
// Other values, and times before 2000 or after 2200, give the zero time.
func (p *Parser) scanTime(data []byte, v, depth int) (time.Time, int) {
	if data[v] == '"' {
		s, e := jsonscan.ScanStr(data, v, depth)
		t, ok := jsonscan.ParseTime(s, p.buf[:0])
		if !ok || !plausible(t) {
			return time.Time{}, e
		}
		return t, e
	}
	ms, e := jsonscan.ScanInt(data, v, depth)
	t := time.UnixMilli(ms).UTC()
	if ms == 0 || !plausible(t) {
		return time.Time{}, e
	}
	return t, e
}

// plausible bounds the timestamps taken from the data.
func plausible(t time.Time) bool {
	return t.Year() >= 2000 && t.Year() < 2200
}

// transcriptDoc applies a transcript document: body is the transcript's
// bytes up to its last newline.
func (p *Parser) transcriptDoc(body []byte, h *header, d *session.Delta) {
	var local session.Delta
	txt := h.format.Is("txt")
	for len(body) > 0 {
		j := bytes.IndexByte(body, '\n')
		if j < 0 {
			break // a partial last line: not ours yet
		}
		line := bytes.TrimSuffix(body[:j], []byte{'\r'})
		body = body[j+1:]
		if txt {
			txtLine(line, &local)
		} else {
			p.Line(line, &local)
		}
	}
	if h.primary {
		d.Counts = d.Counts.Add(local.Counts)
		for _, ms := range []int64{h.btime, h.mtime} {
			if t := time.UnixMilli(ms).UTC(); ms > 0 && plausible(t) {
				d.Observe(t)
			}
		}
	}
	d.Records += local.Records
	d.Malformed += local.Malformed
	if h.cwd.OK && len(h.cwd.Raw) > 0 {
		var cwd []byte
		cwd, p.buf = h.cwd.Text(p.buf[:0])
		d.CWD = string(cwd)
	}
	d.UsageUnknown = true
}

// Line parses one line of an agent transcript (JSONL, without its
// newline) into d: a blank line is nothing; a line that is not one JSON
// object is Malformed; any other line is a Record. A "user" line is a
// prompt when its message content is a non-empty string or holds a text
// block and no tool_result block; each tool_result block with is_error true
// is a ToolErrors. An "assistant" line is an AssistantMessages and each of
// its tool_use blocks a ToolCalls. Other lines (turn_ended markers) count
// only as records. Transcripts carry no usage, times or models.
func (p *Parser) Line(line []byte, d *session.Delta) {
	i := jsonscan.SkipWS(line, 0)
	if i == len(line) {
		return
	}
	var role jsonscan.Str
	var content int // contentNone, contentText or contentBlocks
	var texts, uses, results, errs int64
	end := -1
	if line[i] == '{' {
		end = objectMembers(line, i, 0, func(k jsonscan.Str, v, depth int) int {
			switch {
			case k.Is("role"):
				s, e := jsonscan.ScanStr(line, v, depth)
				role = s
				return e
			case k.Is("message"):
				content, texts, uses, results, errs = contentNone, 0, 0, 0, 0
				return objectOrSkip(line, v, depth, func(k jsonscan.Str, v, depth int) int {
					if !k.Is("content") {
						return jsonscan.SkipValue(line, v, depth)
					}
					content, texts, uses, results, errs = contentNone, 0, 0, 0, 0
					switch line[v] {
					case '"':
						s, e := jsonscan.ScanStr(line, v, depth)
						if len(s.Raw) > 0 {
							content = contentText
						}
						return e
					case '[':
						content = contentBlocks
						return arrayElements(line, v, depth, func(v, depth int) int {
							var typ jsonscan.Str
							var isErr bool
							e := objectOrSkip(line, v, depth, func(k jsonscan.Str, v, depth int) int {
								switch {
								case k.Is("type"):
									s, e := jsonscan.ScanStr(line, v, depth)
									typ = s
									return e
								case k.Is("is_error"):
									b, e := jsonscan.ScanTrue(line, v, depth)
									isErr = b
									return e
								}
								return jsonscan.SkipValue(line, v, depth)
							})
							switch {
							case typ.Is("text"):
								texts++
							case typ.Is("tool_use"):
								uses++
							case typ.Is("tool_result"):
								results++
								if isErr {
									errs++
								}
							}
							return e
						})
					}
					return jsonscan.SkipValue(line, v, depth)
				})
			}
			return jsonscan.SkipValue(line, v, depth)
		})
	}
	if end < 0 || jsonscan.SkipWS(line, end) != len(line) {
		d.Malformed++
		return
	}
	d.Records++
	switch {
	case role.Is("user"):
		d.ToolErrors += errs
		if results == 0 && (content == contentText || content == contentBlocks && texts > 0) {
			d.UserMessages++
		}
	case role.Is("assistant"):
		d.AssistantMessages++
		d.ToolCalls += uses
	}
}

// Kinds of message.content.
const (
	contentNone = iota
	contentText
	contentBlocks
)

// txtLine parses one line of a legacy plain-text transcript: the labels
// "user:" and "assistant:" (or "A:") alone on a line start a prompt and a
// response, "[Tool call] <name>" is a tool call, "[Tool result]" and
// "[Thinking]" lines are records; everything else is message text.
func txtLine(line []byte, d *session.Delta) {
	t := bytes.TrimSpace(line)
	switch {
	case string(t) == "user:":
		d.Records++
		d.UserMessages++
	case string(t) == "assistant:" || string(t) == "A:":
		d.Records++
		d.AssistantMessages++
	case bytes.HasPrefix(t, []byte("[Tool call]")):
		d.Records++
		d.ToolCalls++
	case bytes.HasPrefix(t, []byte("[Tool result]")), bytes.HasPrefix(t, []byte("[Thinking]")):
		d.Records++
	}
}

// chatDoc applies a chat document (an old chat tab of a workspace
// database): the tab is a record (Malformed if it is not an object, and
// nothing else counts), dated by its lastSendTime; each bubble object is a
// record — "user" with a non-empty text a UserMessages (the last, empty
// one is the unsent input box), "ai" an AssistantMessages naming its
// modelType — and any other element Malformed. Chat tabs carry no usage.
func (p *Parser) chatDoc(data []byte, h *header, d *session.Delta) {
	if h.cwd.OK && len(h.cwd.Raw) > 0 {
		var cwd []byte
		cwd, p.buf = h.cwd.Text(p.buf[:0])
		d.CWD = string(cwd)
	}
	d.UsageUnknown = true
	if h.tab.start < 0 || data[h.tab.start] != '{' {
		d.Malformed++
		return
	}
	// the last of duplicate members wins, as in encoding/json
	var sent time.Time
	var tab session.Delta
	objectMembers(data, h.tab.start, 0, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("lastSendTime"):
			t, e := p.scanTime(data, v, depth)
			sent = t
			return e
		case k.Is("bubbles"):
			tab = session.Delta{}
			if data[v] != '[' {
				return jsonscan.SkipValue(data, v, depth)
			}
			return arrayElements(data, v, depth, func(v, depth int) int {
				if data[v] != '{' {
					tab.Malformed++
					return jsonscan.SkipValue(data, v, depth)
				}
				var typ, model jsonscan.Str
				text := false
				e := objectMembers(data, v, depth, func(k jsonscan.Str, v, depth int) int {
					switch {
					case k.Is("type"):
						s, e := jsonscan.ScanStr(data, v, depth)
						typ = s
						return e
					case k.Is("text"):
						s, e := jsonscan.ScanStr(data, v, depth)
						text = s.OK && len(s.Raw) > 0
						return e
					case k.Is("modelType"):
						s, e := jsonscan.ScanStr(data, v, depth)
						model = s
						return e
					}
					return jsonscan.SkipValue(data, v, depth)
				})
				tab.Records++
				switch {
				case typ.Is("user"):
					if text {
						tab.UserMessages++
					}
				case typ.Is("ai"):
					tab.AssistantMessages++
					if model.OK && len(model.Raw) > 0 {
						tab.Models = session.AddModels(tab.Models, p.model.Get(model))
					}
				}
				return e
			})
		}
		return jsonscan.SkipValue(data, v, depth)
	})
	d.Records += 1 + tab.Records
	d.Malformed += tab.Malformed
	d.Counts = d.Counts.Add(tab.Counts)
	d.Models = session.AddModels(d.Models, tab.Models...)
	d.Observe(sent)
}
