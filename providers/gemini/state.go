package gemini

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/sessiond/sessiond/session"
)

// Parser state encoding (version 1), all integers varints:
//
//	1                     version
//	flags                 bit 0: the project directory was found
//	len, projectHash      only while it was not found
//	n                     live messages, then n entries in order:
//	  tag                 bits 0–1: kind (0 contributes nothing, 1 a user
//	                      prompt, 2 other), bit 2: the id is a canonical
//	                      lowercase UUID packed in 16 bytes
//	  id                  16 bytes, or len + bytes
//	  counts, usage       kind 2 only: 4 + 5 signed varints
//
// A live message costs about 17 bytes (a prompt) to 31 (a response).
const stateV1 = 1

const (
	kindZero = iota
	kindPrompt
	kindOther
)

const (
	flagResolved = 1 << iota
)

const tagUUID = 4

// State returns the parser's state after the last line: nil before
// anything that matters was seen.
func (p *Parser) State() []byte {
	if len(p.book.list) == 0 && p.hash == "" && !p.resolved {
		return nil
	}
	b := make([]byte, 0, 16+len(p.hash)+len(p.book.enc)+(len(p.book.list)-len(p.book.encEnd))*40)
	b = append(b, stateV1)
	var flags uint64
	if p.resolved {
		flags |= flagResolved
	}
	b = binary.AppendUvarint(b, flags)
	if !p.resolved {
		b = binary.AppendUvarint(b, uint64(len(p.hash)))
		b = append(b, p.hash...)
	}
	enc := p.book.encoded()
	b = binary.AppendUvarint(b, uint64(len(p.book.list)))
	return append(b, enc...)
}

// appendEntry appends the encoding of one live message.
func appendEntry(b []byte, e entry) []byte {
	var tag byte
	switch {
	case e.c == contrib{}:
		tag = kindZero
	case e.c == prompt:
		tag = kindPrompt
	default:
		tag = kindOther
	}
	uuid := isUUID(e.id)
	if uuid {
		tag |= tagUUID
	}
	b = append(b, tag)
	if uuid {
		b = appendUUID(b, e.id)
	} else {
		b = binary.AppendUvarint(b, uint64(len(e.id)))
		b = append(b, e.id...)
	}
	if tag&3 == kindOther {
		n, u := e.c.n, e.c.u
		for _, v := range [...]int64{n.UserMessages, n.AssistantMessages, n.ToolCalls, n.ToolErrors,
			u.Input, u.Output, u.CacheRead, u.CacheWrite, u.Reasoning} {
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

// prompt is what a user prompt contributes.
var prompt = contrib{n: session.Counts{UserMessages: 1}}

// Restore sets the state saved by State; nil or empty resets the parser.
// State it did not produce gives an error wrapping ErrBadState.
func (p *Parser) Restore(state []byte) error {
	p.book = book{}
	p.hash, p.hashRaw, p.resolved, p.retry = "", nil, false, false
	if len(state) == 0 {
		return nil
	}
	if state[0] != stateV1 {
		return fmt.Errorf("%w: version %d", ErrBadState, state[0])
	}
	r := stateReader{b: state[1:]}
	flags := r.uvarint()
	if flags&^flagResolved != 0 {
		r.fail("flags")
	}
	p.resolved = flags&flagResolved != 0
	if !p.resolved {
		p.hash = string(r.bytes(r.uvarint()))
		p.hashRaw = decodeHash(p.hash)
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) { // every entry takes at least two bytes
		r.fail("message count")
	}
	var bk book
	if n > 0 {
		bk.list = make([]entry, 0, n)
		bk.index = make(map[string]int, n)
	}
	for range n {
		if r.err != nil {
			break
		}
		tag := r.byte()
		var e entry
		if tag&tagUUID != 0 {
			e.id = formatUUID(r.bytes(16))
		} else {
			e.id = string(r.bytes(r.uvarint()))
		}
		switch tag &^ tagUUID {
		case kindZero:
		case kindPrompt:
			e.c = prompt
		case kindOther:
			var v [9]int64
			for i := range v {
				v[i] = r.varint()
			}
			e.c.n.UserMessages, e.c.n.AssistantMessages, e.c.n.ToolCalls, e.c.n.ToolErrors = v[0], v[1], v[2], v[3]
			e.c.u.Input, e.c.u.Output, e.c.u.CacheRead, e.c.u.CacheWrite, e.c.u.Reasoning = v[4], v[5], v[6], v[7], v[8]
		default:
			r.fail("entry tag")
		}
		if _, dup := bk.index[e.id]; dup && r.err == nil {
			r.fail("duplicate message id")
		}
		bk.index[e.id] = len(bk.list)
		bk.list = append(bk.list, e)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		p.book, p.hash, p.hashRaw, p.resolved = book{}, "", nil, false
		return r.err
	}
	p.book = bk
	return nil
}

// stateReader decodes State's encoding; the first error sticks.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadState, what)
	}
	r.b = nil
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *stateReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// isUUID reports whether s is a canonical lowercase UUID
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), which packs into 16 bytes.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c-'0' < 10 || c-'a' < 6) {
				return false
			}
		}
	}
	return true
}

func appendUUID(b []byte, s string) []byte {
	var raw [16]byte
	hex.Decode(raw[0:4], []byte(s[0:8]))
	hex.Decode(raw[4:6], []byte(s[9:13]))
	hex.Decode(raw[6:8], []byte(s[14:18]))
	hex.Decode(raw[8:10], []byte(s[19:23]))
	hex.Decode(raw[10:16], []byte(s[24:36]))
	return append(b, raw[:]...)
}

func formatUUID(raw []byte) string {
	if len(raw) != 16 {
		return ""
	}
	var s [36]byte
	hex.Encode(s[0:8], raw[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], raw[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], raw[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], raw[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], raw[10:16])
	return string(s[:])
}
