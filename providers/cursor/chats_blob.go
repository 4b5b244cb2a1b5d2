package cursor

import (
	"encoding/hex"
	"unicode/utf8"

	"github.com/sessiond/sessiond/providers/jsonscan"
	"google.golang.org/protobuf/encoding/protowire"
)

// Blobs of a Cursor Agent CLI chat store (store.db, table blobs(id, data);
// see the package documentation, "Cursor Agent CLI chats"). A blob is a
// message — a JSON object with a "role", as such or inside a protobuf
// envelope — or a node of the conversation tree (a protobuf whose field 1
// repeats the ids of other blobs), or something this reader does not know.

// Kinds of blob.
const (
	blobUnknown = iota // neither a message nor a node
	blobMessage        // one message (msg holds its JSON)
	blobNode           // a tree node (refs holds its children's ids)
)

// Protobuf fields of a message envelope (from the origin app's reading;
// see the package documentation).
const (
	pbContent = 1 // user: the text; assistant: ContentWrapper{1: text}; node: a child's id
	pbUUID    = 2 // user messages: the message id
	pbJSON    = 4 // a JSON message (tool calls and the rest)
)

// maxRefs bounds the children a node may list.
const maxRefs = 1 << 20

// decodedBlob is what decodeBlob found in one blob.
type decodedBlob struct {
	kind int
	msg  []byte   // blobMessage: a JSON object with a "role" member
	refs []string // blobNode: children's ids (64 lowercase hex digits)
}

// decodeBlob classifies a blob. exists reports whether a blob id is in
// the store; it tells a node's child ids from a message's text. A message
// is, in this order: a JSON object with a "role" member; a protobuf whose
// field 4 is such an object; a protobuf whose field 1 holds a
// ContentWrapper{1: text} (an assistant message) or, with a field 2 id,
// the text itself (a user message); those two are given a JSON form
// ({"role":…,"content":[{"type":"text","text":…}]}). A protobuf whose
// field 1 values all name blobs of the store is a node. decodeBlob never
// fails: what it does not recognise is blobUnknown.
func decodeBlob(data []byte, exists func(id string) bool) decodedBlob {
	if i := jsonscan.SkipWS(data, 0); i < len(data) && data[i] == '{' {
		if isMessageJSON(data) {
			return decodedBlob{kind: blobMessage, msg: data}
		}
		return decodedBlob{}
	}
	var content [][]byte
	var uuid, js []byte
	hasUUID := false
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return decodedBlob{}
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return decodedBlob{}
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return decodedBlob{}
		}
		b = b[n:]
		switch num {
		case pbContent:
			if len(content) >= maxRefs {
				return decodedBlob{}
			}
			content = append(content, v)
		case pbUUID:
			uuid, hasUUID = v, true
		case pbJSON:
			js = v
		}
	}
	if js != nil && isMessageJSON(js) {
		return decodedBlob{kind: blobMessage, msg: js}
	}
	if refs, ok := nodeRefs(content, exists); ok {
		return decodedBlob{kind: blobNode, refs: refs}
	}
	if len(content) != 1 {
		return decodedBlob{}
	}
	if text, ok := contentWrapper(content[0]); ok {
		return decodedBlob{kind: blobMessage, msg: textMessage("assistant", text)}
	}
	if hasUUID && utf8.Valid(uuid) && utf8.Valid(content[0]) {
		return decodedBlob{kind: blobMessage, msg: textMessage("user", content[0])}
	}
	return decodedBlob{}
}

// nodeRefs returns the blob ids that field 1 values name — 32 raw bytes
// (a SHA-256) or 64 hex digits — when there is at least one and every
// value names a blob of the store.
func nodeRefs(content [][]byte, exists func(string) bool) ([]string, bool) {
	if len(content) == 0 || exists == nil {
		return nil, false
	}
	refs := make([]string, 0, len(content))
	for _, v := range content {
		id, ok := blobRef(v)
		if !ok || !exists(id) {
			return nil, false
		}
		refs = append(refs, id)
	}
	return refs, true
}

// blobRef reads a reference to a blob: 32 raw bytes or 64 hex digits.
func blobRef(v []byte) (string, bool) {
	switch len(v) {
	case 32:
		return hex.EncodeToString(v), true
	case 64:
		b := make([]byte, 64)
		for i, c := range v {
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
				b[i] = c
			case c >= 'A' && c <= 'F':
				b[i] = c + ('a' - 'A')
			default:
				return "", false
			}
		}
		return string(b), true
	}
	return "", false
}

// contentWrapper reads ContentWrapper{1: text}: a protobuf of exactly one
// field 1 holding UTF-8 text.
func contentWrapper(v []byte) ([]byte, bool) {
	num, typ, n := protowire.ConsumeTag(v)
	if n < 0 || num != 1 || typ != protowire.BytesType {
		return nil, false
	}
	text, m := protowire.ConsumeBytes(v[n:])
	if m < 0 || n+m != len(v) || !utf8.Valid(text) {
		return nil, false
	}
	return text, true
}

// textMessage renders a text message as JSON.
func textMessage(role string, text []byte) []byte {
	b := make([]byte, 0, len(text)+64)
	b = append(b, `{"role":"`+role+`","content":[{"type":"text","text":`...)
	b = appendJSONString(b, string(text))
	return append(b, "}]}"...)
}

// isMessageJSON reports whether b is one JSON object with a string "role"
// member.
func isMessageJSON(b []byte) bool {
	i := jsonscan.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	role := false
	e := objectMembers(b, i, 0, func(k jsonscan.Str, v, depth int) int {
		if k.Is("role") && b[v] == '"' {
			role = true
		}
		return jsonscan.SkipValue(b, v, depth)
	})
	return role && e >= 0 && jsonscan.SkipWS(b, e) == len(b)
}
