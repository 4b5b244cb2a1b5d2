package gemini

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Parser turns one Gemini CLI conversation file into session deltas: the
// lines of a JSONL file (Line, ModeAppend) or a whole legacy .json document
// (Document, ModeWhole). See the package documentation for the rules.
//
// For JSONL it keeps the live message list (book): for every live message
// id, in order, what that message contributes. A message re-appended under
// the same id adds the difference to what it contributed before (possibly
// negative), a $rewindTo subtracts the messages it drops, and a
// $set.messages checkpoint subtracts everything and adds the new list. The
// usage of messages that leave the list (rewound, or missing from a
// checkpoint) is reported as Delta.Dropped: spend the store keeps.
// State and Restore carry that list, and whether the project directory was
// found, across restarts.
//
// A Parser is used by one goroutine at a time. The zero value is ready to
// use but finds the project directory only from candidate paths in the
// records; Provider.NewParser gives it the provider's project registry.
type Parser struct {
	reg      *registry // nil: no projects.json / .project_root lookups
	s        scanner
	book     book
	hash     string // projectHash of the conversation ("" until seen)
	hashRaw  []byte // hash decoded from hex, when it is a SHA-256 (or its 16-digit prefix)
	resolved bool   // the project directory was found and reported as CWD
	retry    bool   // a reason to ask the registry again arose in this record
	buf      []byte // scratch for decoded strings
	model    jsonscan.Cache
}

var (
	_ providers.Parser         = (*Parser)(nil)
	_ providers.DocumentParser = (*Parser)(nil)
)

// Line parses one JSONL record (without its newline) into d.
func (p *Parser) Line(line []byte, d *session.Delta) {
	var r record
	p.s.wantPaths = !p.resolved && p.hashRaw != nil // tool-call paths are only worth it then
	switch p.s.scanRecord(&r, line) {
	case lineBlank:
		return
	case lineBad:
		d.Malformed++
		return
	}
	d.Records++
	// Gemini CLI's reader (loadConversationRecord) tries the readings in
	// this order.
	switch {
	case r.rewindTo.OK:
		var id []byte
		id, p.buf = r.rewindTo.Text(p.buf[:0])
		gone := p.book.rewind(id)
		contrib{}.sub(gone).apply(d)
		d.Dropped = d.Dropped.Add(gone.u)
	case r.msg.id.OK:
		p.message(&p.book, &r.msg, d)
	case r.set:
		p.observe(r.setF.lastUpdated, d)
		if r.setF.projectHash.OK {
			p.setHash(r.setF.projectHash)
		}
		if r.setF.msgs {
			p.replace(p.s.setMsgs, d)
		}
		if r.setF.dirs {
			p.candidates(p.s.setDirs, d)
		}
	case r.sessionID.OK && r.projectHash.OK:
		p.setHash(r.projectHash)
		p.observe(r.startTime, d)
		p.observe(r.lastUpdated, d)
		if r.dirs {
			p.candidates(p.s.dirs, d)
		}
		if r.msgs {
			p.replace(p.s.msgs, d)
		}
		p.retry = true
	}
	p.finish(d)
}

// Document parses a whole legacy .json conversation into d. It returns an
// error wrapping ErrNotDocument when data is not one JSON object (a file
// caught half written): the caller retries on the next change.
func (p *Parser) Document(data []byte, d *session.Delta) error {
	q := Parser{reg: p.reg}
	var r record
	q.s.wantPaths = true
	if q.s.scanRecord(&r, data) != lineOK {
		return fmt.Errorf("gemini: %w", ErrNotDocument)
	}
	d.Records++
	if r.projectHash.OK {
		q.setHash(r.projectHash)
	}
	q.observe(r.startTime, d)
	q.observe(r.lastUpdated, d)
	if r.msgs {
		d.Malformed += int64(q.s.nonMsgs)
		for i := range q.s.msgs {
			if m := &q.s.msgs[i]; m.id.OK {
				d.Records++
				q.message(&q.book, m, d)
			} else {
				d.Malformed++
			}
		}
	}
	if r.dirs {
		q.candidates(q.s.dirs, d)
	}
	q.retry = true
	q.finish(d)
	return nil
}

// finish tries the remaining ways to find the project directory: the
// absolute paths of the record's tool calls, then the registry.
func (p *Parser) finish(d *session.Delta) {
	if !p.resolved && len(p.s.paths) > 0 {
		p.candidates(p.s.paths, d)
	}
	if p.retry && !p.resolved && p.reg != nil && p.hash != "" {
		if cwd := p.reg.cwd(p.hash); cwd != "" {
			p.resolve([]byte(cwd), d)
		}
	}
	p.retry = false
}

// message applies one message record: it becomes (or replaces) the live
// message of its id in bk.
func (p *Parser) message(bk *book, m *msgFacts, d *session.Delta) {
	p.observe(m.timestamp, d)
	var c contrib
	switch {
	case m.typ.Is("user"):
		if !m.toolResult {
			c.n.UserMessages = 1
		}
	case m.typ.Is("gemini"):
		c.n = session.Counts{AssistantMessages: 1, ToolCalls: m.toolCalls, ToolErrors: m.toolErrors}
		if m.tok.ok {
			c.u = usage(m.tok)
		}
		if m.model.OK && len(m.model.Raw) > 0 {
			d.Models = session.AddModels(d.Models, p.model.Get(m.model))
		}
	}
	var id []byte
	id, p.buf = m.id.Text(p.buf[:0])
	old, live := bk.upsert(id, c)
	c.sub(old).apply(d)
	if !live && c.n.UserMessages > 0 {
		p.retry = true // a new prompt: worth another registry lookup if still unresolved
	}
}

// usage maps a tokens object to sessiond's token contract.
func usage(t tokens) session.Usage {
	return session.Usage{
		Input:     t.input - t.cached + t.tool,
		CacheRead: t.cached,
		Output:    t.output + t.thoughts,
		Reasoning: t.thoughts,
	}
}

// replace applies a full checkpoint of the message list.
// Messages of the old list missing from the new one are dropped.
func (p *Parser) replace(list []msgFacts, d *session.Delta) {
	old := slices.Clone(p.book.list)
	contrib{}.sub(p.book.truncate(0)).apply(d)
	for i := range list {
		if list[i].id.OK {
			p.message(&p.book, &list[i], d)
		}
	}
	for _, e := range old {
		if _, live := p.book.index[e.id]; !live {
			d.Dropped = d.Dropped.Add(e.c.u)
		}
	}
}

// observe widens d's time range with a timestamp value.
func (p *Parser) observe(s jsonscan.Str, d *session.Delta) {
	if !s.OK {
		return
	}
	if t, ok := jsonscan.ParseTime(s, p.buf[:0]); ok {
		d.Observe(t)
	}
}

// setHash records the conversation's projectHash. A different hash than
// the one the directory was found for starts the search again.
func (p *Parser) setHash(s jsonscan.Str) {
	var h []byte
	h, p.buf = s.Text(p.buf[:0])
	if string(h) == p.hash {
		return
	}
	p.hash, p.resolved, p.retry = string(h), false, true
	p.hashRaw = decodeHash(p.hash)
}

// decodeHash decodes a SHA-256 hex digest, or the 16-digit prefix early
// Gemini CLI versions used; nil for anything else (a slug).
func decodeHash(h string) []byte {
	if len(h) != 64 && len(h) != 16 {
		return nil
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return nil
	}
	return raw
}

// maxAncestors bounds the directories tried per candidate path.
const maxAncestors = 32

// candidates tries paths (and their parent directories) as the project
// directory: one whose SHA-256 is the conversation's projectHash is it.
func (p *Parser) candidates(paths []jsonscan.Str, d *session.Delta) {
	if p.resolved || p.hashRaw == nil {
		return
	}
	for _, s := range paths {
		var path []byte
		path, p.buf = s.Text(p.buf[:0])
		if dir, ok := matchAncestor(path, p.hashRaw); ok {
			p.resolve(dir, d)
			return
		}
	}
}

// matchAncestor returns path or the nearest of its parent directories
// whose SHA-256 starts with hash.
func matchAncestor(path, hash []byte) ([]byte, bool) {
	path = bytes.TrimRight(path, `/\`)
	for range maxAncestors {
		if len(path) == 0 {
			return nil, false
		}
		if sum := sha256.Sum256(path); bytes.HasPrefix(sum[:], hash) {
			return path, true
		}
		j := bytes.LastIndexAny(path, `/\`)
		if j <= 0 {
			return nil, false
		}
		path = bytes.TrimRight(path[:j], `/\`)
	}
	return nil, false
}

// resolve reports the project directory.
func (p *Parser) resolve(dir []byte, d *session.Delta) {
	p.resolved = true
	d.CWD = string(dir)
}
