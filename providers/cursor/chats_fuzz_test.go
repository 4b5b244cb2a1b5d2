package cursor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/session"
)

// chatBlobSeeds adds one blob of every kind the CLI writes.
func chatBlobSeeds(f *testing.F, add func(blob []byte)) {
	for _, enc := range []cursortest.ChatEncoding{cursortest.ChatJSON, cursortest.ChatEnvelope, cursortest.ChatLegacy} {
		c := cursortest.Chat{ID: "c", CWD: "/home/dev/shop", Encoding: enc,
			Messages: cursortest.ChatTurn(true, "fix it", 2, 1, "gpt-5")}
		for _, b := range cursortest.ChatBlobs(c) {
			add(b)
		}
	}
	add([]byte(`{"role":"user","content":"hi"}`))
	add([]byte{0x0a, 0x20})
}

// FuzzChatBlob: decodeBlob never panics; what it calls a message is one
// JSON object (as encoding/json reads it) with a string "role"; a node's
// children are blobs of the store.
func FuzzChatBlob(f *testing.F) {
	known := sha256.Sum256([]byte("known"))
	chatBlobSeeds(f, func(b []byte) { f.Add(b) })
	f.Add(append([]byte{0x0a, 0x20}, known[:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		exists := func(id string) bool { return id == hex.EncodeToString(known[:]) }
		d := decodeBlob(data, exists)
		switch d.kind {
		case blobMessage:
			var m map[string]any
			if err := json.Unmarshal(d.msg, &m); err != nil {
				t.Fatalf("message %q: %v", d.msg, err)
			}
			if _, ok := m["role"].(string); !ok {
				t.Fatalf("message %q without a role", d.msg)
			}
		case blobNode:
			for _, r := range d.refs {
				if !exists(r) {
					t.Fatalf("node child %q is no blob", r)
				}
			}
		}
	})
}

// FuzzAgentChatDocument: for any two blobs, the document ReadDoc would build
// from them parses, and its delta is what the reference
// (cursortest.CountChatMessages, encoding/json) counts.
func FuzzAgentChatDocument(f *testing.F) {
	var seeds [][]byte
	chatBlobSeeds(f, func(b []byte) { seeds = append(seeds, b) })
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)], "gpt-5")
	}
	f.Fuzz(func(t *testing.T, b1, b2 []byte, model string) {
		if !utf8.ValidString(model) {
			return // lastUsedModel comes decoded from JSON: valid UTF-8
		}
		var content chatContent
		content.found, content.metaOK, content.meta.LastUsedModel = true, true, model
		for _, b := range [][]byte{b1, b2} {
			switch d := decodeBlob(b, nil); d.kind {
			case blobMessage:
				content.messages = append(content.messages, d.msg)
			case blobUnknown:
				content.messages = append(content.messages, nil)
			}
		}
		doc := agentChatDocument("c", "/home/dev/shop", content, time.Unix(1772442000, 0))
		var d session.Delta
		if err := (&Parser{}).Document(doc, &d); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		want, _ := cursortest.CountChatMessages(content.messages, model)
		if len(want.Models) == 0 {
			want.Models = nil
		}
		if len(d.Models) == 0 {
			d.Models = nil
		}
		if d.Counts != want.Counts || !slices.Equal(d.Models, want.Models) || d.Records != 1+want.Records ||
			d.Malformed != want.Malformed || !d.UsageUnknown || d.CWD != "/home/dev/shop" {
			t.Fatalf("blobs %q %q:\ngot  %+v\nwant %+v", b1, b2, d, want)
		}
	})
}
