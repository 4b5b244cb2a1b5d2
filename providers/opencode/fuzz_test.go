package opencode

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/sessiond/sessiond/session"
)

// isObject reports whether encoding/json accepts data as one JSON object.
func isObject(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return json.Valid(data) && len(t) > 0 && t[0] == '{'
}

// recordSeeds adds every message, part and session_message record of the
// fixtures.
func recordSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		fx := loadFixture(f, filepath.Base(file))
		for _, s := range fx.Sessions {
			for _, rows := range [][]fxRow{s.Messages, s.Parts, s.V2} {
				for _, r := range rows {
					f.Add(r.bytes())
				}
			}
		}
	}
	f.Add([]byte(`{"role":"assistant","tokens":{"input":1e400}}`))
	f.Add([]byte(`{"a":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]}`))
}

// str returns m[k] if it is a string.
func strOf(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// FuzzDigestMessage: never panics; a record is digested exactly when
// encoding/json accepts it as an object, with the same role, modelID and
// path.cwd.
func FuzzDigestMessage(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ok := digestMessage(data)
		if ok != isObject(data) {
			t.Fatalf("digested = %v, encoding/json object = %v", ok, isObject(data))
		}
		if !ok {
			return
		}
		v := decodeMap(t, data)
		cwd := ""
		if p, isMap := v["path"].(map[string]any); isMap {
			cwd = strOf(p, "cwd")
		}
		if m.Role != strOf(v, "role") || m.Model != strOf(v, "modelID") || m.CWD != cwd {
			t.Fatalf("digest %+v, encoding/json %v", m, v)
		}
		if tok, isMap := v["tokens"].(map[string]any); isMap != (m.Tokens != nil) {
			t.Fatalf("tokens %+v, encoding/json %v", m.Tokens, tok)
		}
	})
}

// FuzzDigestPart: never panics; digested exactly when encoding/json
// accepts an object, with the same type and state.status.
func FuzzDigestPart(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, ok := digestPart(data)
		if ok != isObject(data) {
			t.Fatalf("digested = %v, encoding/json object = %v", ok, isObject(data))
		}
		if !ok {
			return
		}
		v := decodeMap(t, data)
		status := ""
		if s, isMap := v["state"].(map[string]any); isMap {
			status = strOf(s, "status")
		}
		if p.Type != strOf(v, "type") || p.Status != status {
			t.Fatalf("digest %+v, encoding/json %v", p, v)
		}
	})
}

// FuzzDigestV2: never panics; digested exactly when encoding/json accepts
// an object.
func FuzzDigestV2(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, tools, _, ok := digestV2("assistant", data)
		if ok != isObject(data) {
			t.Fatalf("digested = %v, encoding/json object = %v", ok, isObject(data))
		}
		if !ok && len(tools) != 0 {
			t.Fatal("tools from a malformed record")
		}
	})
}

// FuzzDocument: Document never panics, accepts exactly the documents of
// this version, and counts nothing for what it rejects; a document it
// accepts counts the same after an encoding round trip.
func FuzzDocument(f *testing.F) {
	for _, name := range []string{"basic.json", "tokens.json", "v2.json", "malformed.json"} {
		fx := loadFixture(f, name)
		dir := f.TempDir()
		db := writeDB(f, dir, fx)
		p := New()
		for _, d := range collectDocs(f, p, db) {
			f.Add(d)
		}
		p.Close()
	}
	f.Add([]byte(`{"v":1,"messages":[{"role":"assistant","tokens":{"input":-9223372036854775808,"output":9223372036854775807,"reasoning":9223372036854775807,"total":1}}]}`))
	f.Add([]byte(`{"v":1,"messages":null,"tools":[{}],"parts":-5,"malformed":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d session.Delta
		err := (&Parser{}).Document(data, &d)
		if err != nil {
			if !d.Empty() || d.CWD != "" || len(d.Models) != 0 {
				t.Fatalf("rejected document counted: %+v", d)
			}
			return
		}
		var doc document
		if json.Unmarshal(data, &doc) != nil || doc.V != docVersion {
			t.Fatal("accepted what encoding/json rejects")
		}
		again, _ := json.Marshal(&doc)
		var d2 session.Delta
		if err := (&Parser{}).Document(again, &d2); err != nil {
			t.Fatal(err)
		}
		if d2.Counts != d.Counts || d2.Usage != d.Usage || d2.Records != d.Records || d2.CWD != d.CWD {
			t.Fatalf("round trip %+v != %+v", d2, d)
		}
	})
}

// collectDocs returns the documents of every session of a database.
func collectDocs(t testing.TB, p *Provider, db string) [][]byte {
	var out [][]byte
	for path := range expand(t, p, db) {
		data, err := p.ReadDoc(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// decodeMap decodes a JSON object as encoding/json does (numbers kept as
// text: a valid 1e400 does not fit a float64).
func decodeMap(t *testing.T, data []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
