package claudecode

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Parser turns the lines of one Claude Code transcript into session deltas
// (see the package documentation for the rules). It keeps one piece of state
// between lines, the message.id of the last assistant line, so that a
// response written as several lines counts once; State and Restore carry it
// across restarts. The zero value is ready to use.
type Parser struct {
	last    []byte // message.id of the last counted assistant line
	hasLast bool   // an assistant line has been seen

	buf []byte // scratch for decoded strings, reset per line
	// Caches turning repeated values into the same string without
	// allocating on every line.
	cwd, branch, model jsonscan.Cache
	key                string // last claim key built
}

var _ providers.Parser = (*Parser)(nil)

// stateV1 tags the encoding of State.
const stateV1 = 1

// ErrBadState is returned by Restore for state it did not produce.
var ErrBadState = errors.New("claudecode: bad parser state")

// State returns the parser's state after the last line: nil before any
// assistant line, else a version byte followed by the last message.id.
func (p *Parser) State() []byte {
	if !p.hasLast {
		return nil
	}
	return append([]byte{stateV1}, p.last...)
}

// Restore sets the state saved by State; nil or empty resets the parser.
func (p *Parser) Restore(state []byte) error {
	if len(state) == 0 {
		p.last, p.hasLast = p.last[:0], false
		return nil
	}
	if state[0] != stateV1 {
		return fmt.Errorf("%w: version %d", ErrBadState, state[0])
	}
	p.last, p.hasLast = append(p.last[:0], state[1:]...), true
	return nil
}

// Line parses one line (without its newline) into d.
func (p *Parser) Line(line []byte, d *session.Delta) {
	var f facts
	switch f.scan(line) {
	case lineBlank:
		return
	case lineBad:
		d.Malformed++
		return
	}
	d.Records++
	p.buf = p.buf[:0]

	var at time.Time
	if f.timestamp.OK {
		if t, ok := jsonscan.ParseTime(f.timestamp, p.buf); ok {
			at = t
			d.Observe(t)
		}
	}
	if f.cwd.OK && len(f.cwd.Raw) > 0 {
		d.CWD = p.cwd.Get(f.cwd)
	}
	if f.gitBranch.OK && len(f.gitBranch.Raw) > 0 {
		d.GitBranch = p.branch.Get(f.gitBranch)
	}
	switch {
	case f.typ.Is("user"):
		p.user(&f, d)
	case f.typ.Is("assistant"):
		p.assistant(&f, at, d)
	}
}

// user applies a user line: a prompt, tool results, or neither.
func (p *Parser) user(f *facts, d *session.Delta) {
	m := &f.message
	if !m.ok {
		return
	}
	d.ToolErrors += m.toolErrors
	if m.toolResults > 0 || f.isMeta || f.isCompactSummary || f.isSidechain || f.promptSource.Is("system") {
		return
	}
	switch m.content {
	case contentText:
		if !notTyped(m.text) {
			d.UserMessages++
		}
	case contentBlocks:
		if m.typed > 0 {
			d.UserMessages++
		}
	}
}

// notTypedPrefixes begin the text of user lines that Claude Code writes
// itself: interruption markers and the output of local and shell commands.
var notTypedPrefixes = [...]string{
	"[Request interrupted by user",
	"<local-command-stdout>",
	"<local-command-stderr>",
	"<bash-stdout>",
	"<bash-stderr>",
}

// notTyped reports whether a user line's text (a string value) is one
// Claude Code wrote rather than a person.
func notTyped(text jsonscan.Str) bool {
	// Every marker begins with '[' or '<' (TestNotTypedPrefixesStart), which
	// an escape may also spell: most prompts are ruled out by one byte.
	if len(text.Raw) == 0 {
		return false
	}
	if c := text.Raw[0]; c != '[' && c != '<' && c != '\\' {
		return false
	}
	for _, p := range notTypedPrefixes {
		if text.HasPrefix(p) {
			return true
		}
	}
	return false
}

// assistant applies an assistant line: one content block of a response.
func (p *Parser) assistant(f *facts, at time.Time, d *session.Delta) {
	m := &f.message
	if f.isAPIError || !m.ok {
		return
	}
	var id []byte
	if m.id.OK {
		id, p.buf = m.id.Text(p.buf)
	}
	if !p.hasLast || !bytes.Equal(id, p.last) {
		d.AssistantMessages++
		p.last, p.hasLast = append(p.last[:0], id...), true
	}
	if m.model.OK && len(m.model.Raw) > 0 {
		if model := p.model.Get(m.model); model != "<synthetic>" {
			d.Models = session.AddModels(d.Models, model)
		}
	}
	d.ToolCalls += m.toolUses
	if !m.hasUsage {
		return
	}
	if len(id) == 0 {
		d.Usage = d.Usage.Add(m.usage)
		return
	}
	var req []byte
	if f.requestID.OK {
		req, p.buf = f.requestID.Text(p.buf)
	}
	if !keyIs(p.key, id, req) {
		p.key = string(id) + "\x00" + string(req)
	}
	bg := f.sessionKind.Is("bg")
	// The lines of one response usually follow each other: fold them into
	// one claim (earliest time, field-wise max usage), which is what the
	// store makes of several sightings anyway.
	if n := len(d.Claims); n > 0 && d.Claims[n-1].Key == p.key {
		c := &d.Claims[n-1]
		c.Usage = c.Usage.Max(m.usage)
		c.Background = c.Background && bg
		if at.Before(c.At) {
			c.At = at
		}
		return
	}
	d.Claims = append(d.Claims, session.Claim{Key: p.key, At: at, Usage: m.usage, Background: bg})
}

// keyIs reports whether k == id + "\x00" + req.
func keyIs(k string, id, req []byte) bool {
	return len(k) == len(id)+1+len(req) && k[:len(id)] == string(id) &&
		k[len(id)] == 0 && k[len(id)+1:] == string(req)
}

// Outcomes of scanning a line.
const (
	lineOK = iota
	lineBlank
	lineBad
)

// Kinds of message.content.
const (
	contentNone   = iota // absent or another type
	contentText          // a non-empty string
	contentEmpty         // an empty string
	contentBlocks        // an array of blocks
)

// facts are what one line says, as far as the counting rules care. String
// values alias the line.
type facts struct {
	typ, timestamp, cwd, gitBranch, requestID jsonscan.Str
	promptSource, sessionKind                 jsonscan.Str
	isMeta, isCompactSummary, isAPIError      bool
	isSidechain                               bool
	message                                   message
}

// message is what a line's message object says.
type message struct {
	ok        bool // message is an object
	id, model jsonscan.Str
	content   int
	text      jsonscan.Str // content when it is a string
	// Content blocks by type; typed counts the text blocks a person typed
	// (see notTyped), toolErrors the tool_result blocks with is_error true.
	typed, toolUses, toolResults, toolErrors int64
	usage                                    session.Usage
	hasUsage                                 bool // usage is an object
}

// scan validates line as one JSON object and collects its facts. For keys
// given more than once the last one wins, as in encoding/json.
func (f *facts) scan(b []byte) int {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) {
		return lineBlank
	}
	if b[i] != '{' {
		return lineBad
	}
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == '}' {
		i, done = i+1, true
	}
	var kb [32]byte
	for !done {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return lineBad
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		switch string(key) {
		case "type":
			f.typ, i = jsonscan.ScanStr(b, v, 1)
		case "timestamp":
			f.timestamp, i = jsonscan.ScanStr(b, v, 1)
		case "cwd":
			f.cwd, i = jsonscan.ScanStr(b, v, 1)
		case "gitBranch":
			f.gitBranch, i = jsonscan.ScanStr(b, v, 1)
		case "requestId":
			f.requestID, i = jsonscan.ScanStr(b, v, 1)
		case "isMeta":
			f.isMeta, i = jsonscan.ScanTrue(b, v, 1)
		case "isCompactSummary":
			f.isCompactSummary, i = jsonscan.ScanTrue(b, v, 1)
		case "isApiErrorMessage":
			f.isAPIError, i = jsonscan.ScanTrue(b, v, 1)
		case "isSidechain":
			f.isSidechain, i = jsonscan.ScanTrue(b, v, 1)
		case "promptSource":
			f.promptSource, i = jsonscan.ScanStr(b, v, 1)
		case "sessionKind":
			f.sessionKind, i = jsonscan.ScanStr(b, v, 1)
		case "message":
			i = f.message.scan(b, v)
		default:
			i = jsonscan.SkipValue(b, v, 1)
		}
		if i < 0 {
			return lineBad
		}
		if i, done = jsonscan.Next(b, i, '}'); i < 0 {
			return lineBad
		}
	}
	if jsonscan.SkipWS(b, i) != len(b) {
		return lineBad
	}
	return lineOK
}

// scan scans the value at i as a line's message (depth 2 members).
func (m *message) scan(b []byte, i int) int {
	*m = message{}
	if i >= len(b) {
		return -1
	}
	if b[i] != '{' {
		return jsonscan.SkipValue(b, i, 1)
	}
	m.ok = true
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	var kb [32]byte
	for !done {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return -1
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		switch string(key) {
		case "id":
			m.id, i = jsonscan.ScanStr(b, v, 2)
		case "model":
			m.model, i = jsonscan.ScanStr(b, v, 2)
		case "content":
			i = m.scanContent(b, v)
		case "usage":
			i = m.scanUsage(b, v)
		default:
			i = jsonscan.SkipValue(b, v, 2)
		}
		if i < 0 {
			return -1
		}
		if i, done = jsonscan.Next(b, i, '}'); i < 0 {
			return -1
		}
	}
	return i
}

// scanContent scans message.content at i.
func (m *message) scanContent(b []byte, i int) int {
	m.content, m.typed, m.toolUses, m.toolResults, m.toolErrors = contentNone, 0, 0, 0, 0
	m.text = jsonscan.Str{}
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		var e int
		m.text, e = jsonscan.ScanStr(b, i, 2)
		if e < 0 {
			return -1
		}
		m.content = contentText
		if len(m.text.Raw) == 0 {
			m.content = contentEmpty
		}
		return e
	case '[':
	default:
		return jsonscan.SkipValue(b, i, 2)
	}
	m.content = contentBlocks
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for !done {
		if i < len(b) && b[i] == '{' {
			i = m.scanBlock(b, i)
		} else {
			i = jsonscan.SkipValue(b, i, 3)
		}
		if i < 0 {
			return -1
		}
		if i, done = jsonscan.Next(b, i, ']'); i < 0 {
			return -1
		}
	}
	return i
}

// scanBlock scans the content block object at i (depth 4 members) and
// tallies it.
func (m *message) scanBlock(b []byte, i int) int {
	var typ, text jsonscan.Str
	var isError bool
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == '}' {
		i, done = i+1, true
	}
	var kb [32]byte
	for !done {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return -1
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		switch string(key) {
		case "type":
			typ, i = jsonscan.ScanStr(b, v, 4)
		case "is_error":
			isError, i = jsonscan.ScanTrue(b, v, 4)
		case "text":
			text, i = jsonscan.ScanStr(b, v, 4)
		default:
			i = jsonscan.SkipValue(b, v, 4)
		}
		if i < 0 {
			return -1
		}
		if i, done = jsonscan.Next(b, i, '}'); i < 0 {
			return -1
		}
	}
	switch {
	case typ.Is("text"):
		if !text.OK || !notTyped(text) {
			m.typed++
		}
	case typ.Is("tool_use"):
		m.toolUses++
	case typ.Is("tool_result"):
		m.toolResults++
		if isError {
			m.toolErrors++
		}
	}
	return i
}

// scanUsage scans message.usage at i (depth 3 members).
func (m *message) scanUsage(b []byte, i int) int {
	m.usage, m.hasUsage = session.Usage{}, false
	if i >= len(b) {
		return -1
	}
	if b[i] != '{' {
		return jsonscan.SkipValue(b, i, 2)
	}
	m.hasUsage = true
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	var kb [32]byte
	for !done {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return -1
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		switch string(key) {
		case "input_tokens":
			m.usage.Input, i = jsonscan.ScanInt(b, v, 3)
		case "cache_creation_input_tokens":
			m.usage.CacheWrite, i = jsonscan.ScanInt(b, v, 3)
		case "cache_read_input_tokens":
			m.usage.CacheRead, i = jsonscan.ScanInt(b, v, 3)
		case "output_tokens":
			m.usage.Output, i = jsonscan.ScanInt(b, v, 3)
		default:
			i = jsonscan.SkipValue(b, v, 3)
		}
		if i < 0 {
			return -1
		}
		if i, done = jsonscan.Next(b, i, '}'); i < 0 {
			return -1
		}
	}
	return i
}

// sessionID returns the top-level sessionId of line if line is a valid JSON
// object and sessionId a string ("" otherwise).
func sessionID(b []byte) string {
	i := jsonscan.SkipWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return ""
	}
	var id jsonscan.Str
	i, done := jsonscan.SkipWS(b, i+1), false
	if i < len(b) && b[i] == '}' {
		i, done = i+1, true
	}
	var kb [32]byte
	for !done {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return ""
		}
		if esc {
			key, _ = (jsonscan.Str{Raw: key, Esc: true, OK: true}).Text(kb[:0])
		}
		if string(key) == "sessionId" {
			id, i = jsonscan.ScanStr(b, v, 1)
		} else {
			i = jsonscan.SkipValue(b, v, 1)
		}
		if i < 0 {
			return ""
		}
		if i, done = jsonscan.Next(b, i, '}'); i < 0 {
			return ""
		}
	}
	if jsonscan.SkipWS(b, i) != len(b) || !id.OK {
		return ""
	}
	v, _ := id.Text(nil)
	return string(v)
}
