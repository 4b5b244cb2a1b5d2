package copilot

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/session"
)

// addLineSeeds adds every line of every .jsonl fixture as a seed.
func addLineSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		for line := range bytes.SplitSeq(fixture(f, filepath.Base(file)), []byte("\n")) {
			f.Add(line)
		}
	}
}

// addFileSeeds adds every fixture whole as a seed.
func addFileSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		if st, err := os.Stat(file); err == nil && !st.IsDir() {
			f.Add(fixture(f, filepath.Base(file)))
		}
	}
}

// isObject reports whether encoding/json accepts line as one JSON object.
func isObject(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r\n")
	return json.Valid(line) && len(t) > 0 && t[0] == '{'
}

func sameDelta(t *testing.T, what string, got, want session.Delta) {
	t.Helper()
	if len(got.Models) == 0 {
		got.Models = nil
	}
	if len(want.Models) == 0 {
		want.Models = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s differs from the reference\n got %+v\nwant %+v", what, got, want)
	}
}

// FuzzLine: the CLI line parser never panics, every non-blank line is one
// record or one malformed line (a record exactly when encoding/json accepts
// it as an object), it agrees with the reference, and its state survives a
// round trip.
func FuzzLine(f *testing.F) {
	addLineSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // a file line holds no newline
		}
		p := &Parser{}
		p.addOut("", 7)
		var d session.Delta
		p.Line(line, &d)
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			if d.Records+d.Malformed != 0 {
				t.Fatalf("blank line counted: %+v", d)
			}
		case d.Records+d.Malformed != 1:
			t.Fatalf("Records+Malformed = %d", d.Records+d.Malformed)
		case (d.Records == 1) != isObject(line):
			t.Fatalf("record = %v, encoding/json object = %v", d.Records == 1, isObject(line))
		}
		var ref session.Delta
		run := copilottest.CLIRun{Out: map[string]int64{"": 7}}
		copilottest.CLILine(line, &ref, &run)
		sameDelta(t, "delta", d, ref)
		sameRun(t, p, run)
		var q Parser
		if err := q.Restore(p.State()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.State(), p.State()) {
			t.Fatalf("state round trip: %v != %v", q.State(), p.State())
		}
	})
}

// FuzzCLILog: a whole CLI log, read line by line with the parser
// restarted from its state every few lines, agrees with the reference
// (which carries the run's per-model output from line to line itself).
func FuzzCLILog(f *testing.F) {
	files, err := filepath.Glob("testdata/cli_*.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		f.Add(fixture(f, filepath.Base(file)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1] // complete lines only
		} else {
			return
		}
		var d session.Delta
		p := &Parser{}
		n := 0
		for line := range bytes.SplitSeq(data[:len(data)-1], []byte("\n")) {
			p.Line(bytes.TrimSuffix(line, []byte("\r")), &d)
			if n++; n%3 == 0 {
				q := &Parser{}
				if err := q.Restore(p.State()); err != nil {
					t.Fatal(err)
				}
				p = q
			}
		}
		ref, run := copilottest.CountCLI(data)
		sameDelta(t, "delta", d, ref)
		sameRun(t, p, run)
	})
}

// FuzzChatLog: replaying any log never panics, counts each complete
// non-blank line as one record or one malformed entry, and agrees with the
// reference replay.
func FuzzChatLog(f *testing.F) {
	addFileSeeds(f)
	addLineSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d session.Delta
		err := new(Parser).Document(append(appendHeader(nil, formatJSONL, ""), data...), &d)
		ref, refErr := copilottest.CountChatLog(data)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("err %v, reference %v", err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		sameDelta(t, "delta", d, ref)
	})
}

// FuzzChatJSON: any document never panics and agrees with the reference.
func FuzzChatJSON(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d session.Delta
		err := new(Parser).Document(append(appendHeader(nil, formatJSON, ""), data...), &d)
		ref, refErr := copilottest.CountChatJSON(data)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("err %v, reference %v", err, refErr)
		}
		if err == nil {
			sameDelta(t, "delta", d, ref)
		}
	})
}

// FuzzHistory: any Copilot CLI history document never panics and agrees
// with the reference, and the format is told from the content as the
// reference tells it.
func FuzzHistory(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d session.Delta
		err := new(Parser).Document(append(appendHeader(nil, formatHistory, ""), data...), &d)
		ref, refErr := copilottest.CountHistory(data)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("err %v, reference %v", err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("err = %v", err)
			}
		} else {
			sameDelta(t, "delta", d, ref)
		}
		if json.Valid(data) && isHistory(data) != copilottest.IsHistory(data) {
			t.Fatalf("isHistory = %v, reference %v", isHistory(data), copilottest.IsHistory(data))
		}
	})
}
