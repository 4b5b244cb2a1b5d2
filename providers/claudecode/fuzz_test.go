package claudecode

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers/claudecode/claudetest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// addSeeds adds every line of every fixture as a seed.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		for _, l := range fixtureLines(f, filepath.Base(file)) {
			f.Add(l)
		}
	}
}

// isObject reports whether encoding/json accepts line as one JSON object.
func isObject(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\n")
	return json.Valid(line) && len(t) > 0 && t[0] == '{'
}

func isBlankLine(line []byte) bool { return len(bytes.Trim(line, " \t\r\n")) == 0 }

// FuzzParserLine: the parser never panics, every non-blank line is exactly
// one record or one malformed line, it is a record exactly when
// encoding/json accepts it as an object, and state survives a round trip.
func FuzzParserLine(f *testing.F) {
	addSeeds(f)
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

// FuzzParserMatchesCount compares the parser with the reference
// implementation on one-line transcripts.
func FuzzParserMatchesCount(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // a file line holds no newline
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "projects", "-p", sid+".jsonl")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(slices.Clip(line), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		want, err := claudetest.Count(dir)
		if err != nil {
			t.Fatal(err)
		}
		var p Parser
		var d session.Delta
		p.Line(line, &d)
		got := fold([]fileDelta{{id: sid, role: session.RoleMain, d: d}})
		providertest.Diff(t, want, got)
	})
}
