package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/gemini/geminitest"
	"github.com/sessiond/sessiond/session"
)

// addSeeds adds every line of every JSONL fixture and, with docs, every
// legacy document as a seed.
func addSeeds(f *testing.F, docs bool) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		for _, l := range fixtureLines(f, filepath.Base(file)) {
			f.Add(l)
		}
	}
	if docs {
		for _, name := range []string{"legacy.json", "legacy_torn.json"} {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// isObject reports whether encoding/json accepts b as one JSON object.
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return json.Valid(b) && len(t) > 0 && t[0] == '{'
}

func isBlankLine(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }

// FuzzParserLine: the parser never panics, every non-blank line is exactly
// one record or one malformed line, a record exactly when encoding/json
// accepts it as an object, and state survives a round trip.
func FuzzParserLine(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, line []byte) {
		var p Parser
		var d session.Delta
		p.Line(line, &d)
		switch {
		case isBlankLine(line):
			if d.Records+d.Malformed != 0 {
				t.Fatalf("blank line counted: %+v", d)
			}
		case d.Records+d.Malformed != 1:
			t.Fatalf("Records+Malformed = %d", d.Records+d.Malformed)
		case (d.Records == 1) != isObject(line):
			t.Fatalf("record = %v, encoding/json object = %v", d.Records == 1, isObject(line))
		}
		var q Parser
		if err := q.Restore(p.State()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.State(), p.State()) {
			t.Fatalf("state round trip: %q != %q", q.State(), p.State())
		}
	})
}

// FuzzParserMatchesReference compares the parser, restarted from its state
// after every line, with the reference replay (geminitest.CountLines) on
// whole files: counts, tokens, models, times, records.
func FuzzParserMatchesReference(f *testing.F) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := geminitest.CountLines(data, nil)
		var c session.FileContribution
		var state []byte
		rest := data
		for {
			j := bytes.IndexByte(rest, '\n')
			if j < 0 {
				break
			}
			line := bytes.TrimSuffix(rest[:j], []byte{'\r'})
			rest = rest[j+1:]
			if len(bytes.TrimSpace(line)) == 0 {
				continue // as the daemon does
			}
			var p Parser
			if err := p.Restore(state); err != nil {
				t.Fatal(err)
			}
			var d session.Delta
			p.Line(line, &d)
			c.Apply(&d)
			state = p.State()
		}
		compare(t, want, c)
	})
}

// FuzzDocument: Document never panics, fails exactly when data is not a
// JSON object, and agrees with the reference (geminitest.CountDocument).
func FuzzDocument(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Parser
		var d session.Delta
		err := p.Document(data, &d)
		want, ok := geminitest.CountDocument(data, nil)
		if (err == nil) != ok || ok != isObject(data) {
			t.Fatalf("Document error %v, reference ok %v, object %v", err, ok, isObject(data))
		}
		if !ok {
			return
		}
		var c session.FileContribution
		c.Apply(&d)
		compare(t, want, c)
	})
}

// FuzzResolve: Resolve never panics, never names an empty session, and
// fails only with ErrUnresolved.
func FuzzResolve(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, head []byte) {
		p := New()
		for _, path := range []string{"session-x.jsonl", "session-x.json"} {
			id, err := p.Resolve(path, head)
			if (err == nil && id == "") || (err != nil && !errors.Is(err, providers.ErrUnresolved)) {
				t.Fatalf("Resolve(%s) = %q, %v", path, id, err)
			}
		}
	})
}

// compare checks a file contribution against the reference's count.
func compare(t *testing.T, want geminitest.FileCount, got session.FileContribution) {
	t.Helper()
	if len(want.Models) == 0 {
		want.Models = nil
	}
	if len(got.Models) == 0 {
		got.Models = nil
	}
	if want.Counts != got.Counts || want.Tokens != got.Usage || !slices.Equal(want.Models, got.Models) ||
		want.Records != got.Records || want.Malformed != got.Malformed ||
		!want.First.Equal(got.FirstAt) || !want.Last.Equal(got.LastAt) {
		t.Fatalf("\nwant %+v\ngot  %+v", want, got)
	}
}
