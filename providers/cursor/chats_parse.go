package cursor

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Counting a chat store's document (docAgentChat, built by readChat). The
// messages are the Vercel AI SDK's shape ({role, content: string |
// [{type: text | reasoning | tool-call | tool-result, …}], providerOptions:
// {cursor: {modelName}}}), Anthropic's block names (tool_use, tool_result,
// is_error) accepted too.

// userQuery marks the text a person typed in a CLI user message; the
// other user messages hold context the CLI added (<user_info>, …).
var userQuery = []byte("<user_query>")

// chatFacts accumulates over a chat document's messages.
type chatFacts struct {
	typed, queries int64 // user messages with text; of them, with <user_query>
	model          bool  // some message named its model
}

// agentChatDoc applies a chat store's document: see the package documentation,
// "Cursor Agent CLI chats", for the counting rules.
func (p *Parser) agentChatDoc(data []byte, d *session.Delta) error {
	i := jsonscan.SkipWS(data, 0)
	var cwd, model jsonscan.Str
	var meta bool
	var created, mtime int64
	messages := -1
	end := objectMembers(data, i, 0, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("cwd"):
			s, e := jsonscan.ScanStr(data, v, depth)
			cwd = s
			return e
		case k.Is("model"):
			s, e := jsonscan.ScanStr(data, v, depth)
			model = s
			return e
		case k.Is("meta"):
			b, e := jsonscan.ScanTrue(data, v, depth)
			meta = b
			return e
		case k.Is("created"):
			n, e := jsonscan.ScanInt(data, v, depth)
			created = n
			return e
		case k.Is("mtime"):
			n, e := jsonscan.ScanInt(data, v, depth)
			mtime = n
			return e
		case k.Is("messages"):
			messages = v
		}
		return jsonscan.SkipValue(data, v, depth)
	})
	if end < 0 || jsonscan.SkipWS(data, end) != len(data) {
		return fmt.Errorf("%w: bad chat document", ErrNotDocument)
	}
	d.UsageUnknown = true // the CLI's messages carry no usage
	if cwd.OK && len(cwd.Raw) > 0 {
		var b []byte
		b, p.buf = cwd.Text(p.buf[:0])
		d.CWD = string(b)
	}
	if meta {
		d.Records++
	} else {
		d.Malformed++ // its messages still count (read by rowid, see readChat)
	}
	for _, ms := range []int64{created, mtime} {
		if t := time.UnixMilli(ms).UTC(); ms > 0 && plausible(t) {
			d.Observe(t)
		}
	}
	var f chatFacts
	if messages >= 0 && data[messages] == '[' {
		arrayElements(data, messages, 0, func(v, depth int) int {
			if data[v] != '{' {
				if data[v] != 'n' { // null: nothing; anything else is damage
					d.Malformed++
				}
				return jsonscan.SkipValue(data, v, depth)
			}
			d.Records++
			return p.chatMessage(data, v, depth, d, &f)
		})
	}
	if f.queries > 0 {
		d.UserMessages += f.queries
	} else {
		d.UserMessages += f.typed
	}
	if !f.model && model.OK && len(model.Raw) > 0 {
		d.Models = session.AddModels(d.Models, p.model.Get(model))
	}
	return nil
}

// messageFacts is what one message says.
type messageFacts struct {
	role                  jsonscan.Str
	text, query           bool // has text; text holding <user_query>
	calls, results, fails int64
	model                 jsonscan.Str
}

// chatMessage scans the message object at data[v] and counts it.
func (p *Parser) chatMessage(data []byte, v, depth int, d *session.Delta, f *chatFacts) int {
	var m messageFacts
	e := objectMembers(data, v, depth, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("role"):
			s, e := jsonscan.ScanStr(data, v, depth)
			m.role = s
			return e
		case k.Is("providerOptions"):
			return p.cursorModel(data, v, depth, &m.model)
		case k.Is("content"):
			m.text, m.query, m.calls, m.results, m.fails = false, false, 0, 0, 0
			switch data[v] {
			case '"':
				s, e := jsonscan.ScanStr(data, v, depth)
				p.noteText(s, &m)
				return e
			case '[':
				return arrayElements(data, v, depth, func(v, depth int) int {
					return p.chatPart(data, v, depth, &m, d, f)
				})
			}
		}
		return jsonscan.SkipValue(data, v, depth)
	})
	switch {
	case m.role.Is("user"):
		d.ToolErrors += m.fails
		if m.text && m.results == 0 {
			f.typed++
			if m.query {
				f.queries++
			}
		}
	case m.role.Is("assistant"):
		d.AssistantMessages++
		d.ToolCalls += m.calls
	case m.role.Is("tool"):
		d.ToolErrors += m.fails
	}
	if m.model.OK && len(m.model.Raw) > 0 {
		d.Models = session.AddModels(d.Models, p.model.Get(m.model))
		f.model = true
	}
	return e
}

// chatPart scans one content part.
func (p *Parser) chatPart(data []byte, v, depth int, m *messageFacts, d *session.Delta, f *chatFacts) int {
	var typ, text, model jsonscan.Str
	var isError, isErrorSnake bool // last of each wins, as in encoding/json
	e := objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
		switch {
		case k.Is("type"):
			s, e := jsonscan.ScanStr(data, v, depth)
			typ = s
			return e
		case k.Is("text"):
			s, e := jsonscan.ScanStr(data, v, depth)
			text = s
			return e
		case k.Is("isError"):
			b, e := jsonscan.ScanTrue(data, v, depth)
			isError = b
			return e
		case k.Is("is_error"):
			b, e := jsonscan.ScanTrue(data, v, depth)
			isErrorSnake = b
			return e
		case k.Is("providerOptions"):
			return p.cursorModel(data, v, depth, &model)
		}
		return jsonscan.SkipValue(data, v, depth)
	})
	switch {
	case typ.Is("text"):
		p.noteText(text, m)
	case typ.Is("tool-call"), typ.Is("tool_use"):
		m.calls++
	case typ.Is("tool-result"), typ.Is("tool_result"):
		m.results++
		if isError || isErrorSnake {
			m.fails++
		}
	}
	if model.OK && len(model.Raw) > 0 {
		d.Models = session.AddModels(d.Models, p.model.Get(model))
		f.model = true
	}
	return e
}

// noteText notes a text: non-empty, and whether it holds <user_query>.
func (p *Parser) noteText(s jsonscan.Str, m *messageFacts) {
	if !s.OK || len(s.Raw) == 0 {
		return
	}
	m.text = true
	var t []byte
	t, p.buf = s.Text(p.buf[:0])
	if bytes.Contains(t, userQuery) {
		m.query = true
	}
}

// cursorModel scans providerOptions and stores cursor.modelName in *out
// (the zero Str if there is none; the last member of a name wins).
func (p *Parser) cursorModel(data []byte, v, depth int, out *jsonscan.Str) int {
	*out = jsonscan.Str{}
	return objectOrSkip(data, v, depth, func(k jsonscan.Str, v, depth int) int {
		if k.Is("cursor") {
			*out = jsonscan.Str{}
			return p.scanModel(data, v, depth, "modelName", out)
		}
		return jsonscan.SkipValue(data, v, depth)
	})
}

// isSystemMessage reports whether a message JSON has the role "system".
func isSystemMessage(msg []byte) bool {
	i := jsonscan.SkipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return false
	}
	system := false
	objectMembers(msg, i, 0, func(k jsonscan.Str, v, depth int) int {
		if k.Is("role") {
			s, e := jsonscan.ScanStr(msg, v, depth)
			system = s.Is("system")
			return e
		}
		return jsonscan.SkipValue(msg, v, depth)
	})
	return system
}
