package codex

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Parser turns the records of one Codex rollout into session deltas (see
// the package documentation for the rules). It reads every generation of
// the format: Line takes the lines of a JSONL rollout, envelope or bare,
// and Document a whole TypeScript CLI session document.
//
// Its state, carried across restarts by State and Restore, is the last
// cumulative token total seen and the session ids that key token claims.
// The zero value is ready to use.
type Parser struct {
	own     string // id of the file's first session_meta: the file's own session
	lineage string // id of the last session_meta seen (replays copy their parent's)
	prev    tokens // last cumulative total_token_usage
	hasPrev bool

	buf []byte // scratch for decoded strings, reset per line
	// Caches turning repeated values into the same string without
	// allocating on every line.
	cwd, branch, model jsonscan.Cache
	key                []byte
}

var (
	_ providers.Parser         = (*Parser)(nil)
	_ providers.DocumentParser = (*Parser)(nil)
)

// Versions of the encoding of State: stateV1 holds the five counters
// before cache writes, stateV2 all six. A total without cache writes is
// saved as stateV1, so states saved before cache writes were read restore,
// and stay byte for byte what they were.
const (
	stateV1 = 1
	stateV2 = 2
)

// State returns the parser's state after the last record: nil before any
// session_meta or token count, else a version byte, a flag byte, the
// counters of the last total (five, or six with cache writes) and the two
// session ids, length-prefixed.
func (p *Parser) State() []byte {
	if !p.hasPrev && p.own == "" && p.lineage == "" {
		return nil
	}
	counters := p.prev[:tCacheWrite]
	b := []byte{stateV1, 0}
	if p.prev[tCacheWrite] != 0 {
		counters, b[0] = p.prev[:], stateV2
	}
	if p.hasPrev {
		b[1] = 1
	}
	for _, v := range counters {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(p.own)))
	b = append(b, p.own...)
	b = binary.AppendUvarint(b, uint64(len(p.lineage)))
	return append(b, p.lineage...)
}

// Restore sets the state saved by State; nil or empty resets the parser.
func (p *Parser) Restore(state []byte) error {
	p.own, p.lineage, p.prev, p.hasPrev = "", "", tokens{}, false
	if len(state) == 0 {
		return nil
	}
	n := tCacheWrite // counters saved
	switch state[0] {
	case stateV1:
	case stateV2:
		n = nTokens
	default:
		return fmt.Errorf("%w: version %d", ErrBadState, state[0])
	}
	if len(state) < 2 || state[1] > 1 {
		return fmt.Errorf("%w: bad flags", ErrBadState)
	}
	hasPrev := state[1] == 1
	b := state[2:]
	var prev tokens
	for i := range prev[:n] {
		v, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("%w: truncated total", ErrBadState)
		}
		prev[i], b = v, b[n:]
	}
	var ids [2]string
	for i := range ids {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return fmt.Errorf("%w: truncated session id", ErrBadState)
		}
		ids[i], b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadState, len(b))
	}
	p.own, p.lineage, p.prev, p.hasPrev = ids[0], ids[1], prev, hasPrev
	return nil
}

// Line parses one line (without its newline) into d.
func (p *Parser) Line(line []byte, d *session.Delta) {
	var r record
	switch r.scan(line) {
	case lineBlank:
		return
	case lineBad:
		d.Malformed++
		return
	}
	d.Records++
	p.buf = p.buf[:0]
	var at time.Time
	if r.timestamp.OK {
		if t, ok := jsonscan.ParseTime(r.timestamp, p.buf); ok {
			at = t
			d.Observe(t)
		}
	}
	if r.hasPayload && r.typ.OK {
		p.envelope(&r, at, d)
	} else {
		p.bare(&r.item, d)
	}
	if cap(p.buf) > maxScratch {
		p.buf = nil // a huge tool output was decoded: do not keep its buffer
	}
}

// maxScratch bounds the scratch buffer a parser keeps between lines.
const maxScratch = 64 << 10

// envelope applies a line of the current format {timestamp, type, payload}.
func (p *Parser) envelope(r *record, at time.Time, d *session.Delta) {
	pl := &r.payload
	if !pl.obj {
		return
	}
	switch {
	case r.typ.Is("session_meta"):
		p.sessionMeta(pl, d)
	case r.typ.Is("turn_context"):
		if pl.cwd.OK && len(pl.cwd.Raw) > 0 {
			d.CWD = p.cwd.Get(pl.cwd)
		}
		if pl.model.OK && len(pl.model.Raw) > 0 {
			d.Models = session.AddModels(d.Models, p.model.Get(pl.model))
		}
	case r.typ.Is("response_item"):
		p.responseItem(pl, false, d)
	case r.typ.Is("event_msg"):
		switch {
		case pl.typ.Is("user_message"):
			if !pl.kind.Is("user_instructions") && !pl.kind.Is("environment_context") &&
				!(pl.message.OK && isInjected(pl.message, &p.buf)) {
				d.UserMessages++
			}
		case pl.typ.Is("token_count"):
			p.tokenCount(&pl.info, at, d)
		}
	}
}

// sessionMeta applies a session_meta payload or an early format's meta
// line. The first one names the file's own session; later ones with
// another id are copies of a parent's, replayed at the top of a fork, and
// set only the lineage that keys token claims.
func (p *Parser) sessionMeta(it *item, d *session.Delta) {
	var id string
	if it.id.OK && len(it.id.Raw) > 0 {
		v, _ := it.id.Text(p.buf)
		if string(v) != p.lineage {
			p.lineage = string(v)
		}
		id = p.lineage
		if p.own == "" {
			p.own = id
		}
	}
	if id != "" && id != p.own {
		return
	}
	if it.cwd.OK && len(it.cwd.Raw) > 0 {
		d.CWD = p.cwd.Get(it.cwd)
	}
	if it.branch.OK && len(it.branch.Raw) > 0 {
		d.GitBranch = p.branch.Get(it.branch)
	}
}

// responseItem applies a ResponseItem: an envelope's payload, a bare line
// of the early JSONL format, or an item of a TypeScript CLI document
// (bare). Only in the bare formats are user messages prompts (the envelope
// format has event_msg/user_message for them).
func (p *Parser) responseItem(it *item, bare bool, d *session.Delta) {
	switch {
	case it.typ.Is("message"):
		switch {
		case it.role.Is("assistant"):
			d.AssistantMessages++
		case bare && it.role.Is("user"):
			if !it.text.OK || !isInjected(it.text, &p.buf) {
				d.UserMessages++
			} else if cwd := environmentCWD(it.text, &p.buf); cwd != "" {
				d.CWD = cwd
			}
		}
	case it.typ.Is("function_call"), it.typ.Is("custom_tool_call"), it.typ.Is("local_shell_call"),
		// Hosted tools (web search, tool search, image generation): the
		// call is the item itself, with no output item.
		it.typ.Is("web_search_call"), it.typ.Is("tool_search_call"), it.typ.Is("image_generation_call"):
		d.ToolCalls++
	case it.typ.Is("function_call_output"), it.typ.Is("custom_tool_call_output"):
		if failed(it, &p.buf) {
			d.ToolErrors++
		}
	}
}

// bare applies a line of the early JSONL format: the meta line {id,
// timestamp, instructions, git}, a {"record_type":"state"} line, or a
// ResponseItem.
func (p *Parser) bare(it *item, d *session.Delta) {
	switch {
	case it.recordType.OK:
	case !it.typ.OK && it.id.OK:
		// The meta line of an early rollout: that format records no usage.
		d.UsageUnknown = true
		p.sessionMeta(it, d)
	default:
		p.responseItem(it, true, d)
	}
}

// tokenCount applies an event_msg/token_count: its last_token_usage (the
// change of the cumulative total_token_usage since the last one when it
// has none), as a claim keyed by the lineage and the total so that a
// replayed copy counts once.
func (p *Parser) tokenCount(info *tokenInfo, at time.Time, d *session.Delta) {
	if !info.obj || !info.hasTotal {
		return
	}
	cur := info.total
	if p.hasPrev && cur == p.prev {
		return // repeated (rate-limit updates re-send the same total)
	}
	// last_token_usage is this response's own usage. The change of the
	// total equals it in every file Codex writes, but not in a file that
	// lost lines (truncated, rewritten): there the total continues past
	// responses the file no longer shows, whose claims the store keeps.
	var u tokens
	switch {
	case info.hasLast:
		u = info.last
	case p.hasPrev && cur.covers(p.prev):
		u = cur.sub(p.prev)
	default:
		u = cur
	}
	p.prev, p.hasPrev = cur, true
	// input_tokens holds the cache reads and the cache writes (total_tokens
	// = input + output): what is left is the uncached input.
	usage := session.Usage{
		Input:      max(0, u[tIn]-max(0, u[tCached])-max(0, u[tCacheWrite])),
		CacheRead:  max(0, u[tCached]),
		CacheWrite: max(0, u[tCacheWrite]),
		Output:     max(0, u[tOut]),
		Reasoning:  max(0, u[tReasoning]),
	}
	if usage.IsZero() {
		return
	}
	// The key: lineage, the five historic counters of the total, and the
	// cache writes only when there are some, so that keys of totals
	// without them stay what they were before cache writes were read.
	k := append(p.key[:0], p.lineage...)
	for i, v := range cur[:tCacheWrite] {
		if i == 0 {
			k = append(k, 0)
		} else {
			k = append(k, ',')
		}
		k = strconv.AppendInt(k, v, 10)
	}
	if cur[tCacheWrite] != 0 {
		k = append(k, ',')
		k = strconv.AppendInt(k, cur[tCacheWrite], 10)
	}
	p.key = k
	d.Claims = append(d.Claims, session.Claim{Key: string(k), At: at, Usage: usage})
}

// Document parses a whole TypeScript CLI session document {"session":
// {timestamp, id, instructions, model?}, "items": [ResponseItem…]} into d:
// the session object and every item is a record, items that are not
// objects are malformed. A document that is not one complete JSON object
// with an items array returns an error wrapping ErrIncompleteDocument.
func (p *Parser) Document(data []byte, d *session.Delta) error {
	var doc struct {
		Session json.RawMessage    `json:"session"`
		Items   *[]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %w", ErrIncompleteDocument, err)
	}
	if doc.Items == nil {
		return fmt.Errorf("%w: no items array", ErrIncompleteDocument)
	}
	d.UsageUnknown = true // the TypeScript CLI recorded no usage
	if s := bytes.TrimSpace(doc.Session); len(s) > 0 && s[0] == '{' {
		var r record
		if r.scan(s) == lineOK {
			d.Records++
			p.buf = p.buf[:0]
			if r.timestamp.OK {
				if t, ok := jsonscan.ParseTime(r.timestamp, p.buf); ok {
					d.Observe(t)
				}
			}
			if r.model.OK && len(r.model.Raw) > 0 {
				d.Models = session.AddModels(d.Models, p.model.Get(r.model))
			}
		}
	}
	for _, raw := range *doc.Items {
		var r record
		if r.scan(raw) != lineOK {
			d.Malformed++
			continue
		}
		d.Records++
		p.buf = p.buf[:0]
		p.responseItem(&r.item, true, d)
	}
	return nil
}
