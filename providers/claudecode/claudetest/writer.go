package claudetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessiond/sessiond/session"
)

// WriterOptions configure a Writer. Zero fields are taken from the file's
// existing records, then from defaults.
type WriterOptions struct {
	Seed int64
	// SessionID is written into every record; default: the existing
	// records' sessionId, else the file name's stem.
	SessionID session.ID
	// CWD is the working directory (plain, not JSON-escaped); default: the
	// existing records' cwd, else "/home/dev/shop".
	CWD string
	// At is the time of the first record appended; default: a little after
	// the file's last timestamp, else DefaultStart.
	At time.Time
	// Subagent writes isSidechain lines, as in subagent transcripts.
	Subagent bool
	// Malformed is the probability that a record is damaged (default 0).
	Malformed float64
	// Large is the probability that a line is 10–80 KB (default 0).
	Large float64
}

// Writer appends realistic records to one transcript, as a running Claude
// Code does: each call is one write(2) of whole lines, except Torn, which
// leaves a line half-written. It is not safe for concurrent use.
type Writer struct {
	f       *os.File
	c       *conv
	buf     []byte
	pending []byte // rest of a torn line
}

// OpenWriter opens (creating it and its directories if needed) the
// transcript at path for appending.
func OpenWriter(path string, opt WriterOptions) (*Writer, error) {
	last := lastRecord(path)
	id := string(opt.SessionID)
	if id == "" {
		id, _ = last["sessionId"].(string)
	}
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(path), ".jsonl")
	}
	cwd := opt.CWD
	if cwd == "" {
		cwd, _ = last["cwd"].(string)
	}
	if cwd == "" {
		cwd = "/home/dev/shop"
	}
	branch, _ := last["gitBranch"].(string)
	parent, _ := last["uuid"].(string)
	at := opt.At
	if at.IsZero() {
		at = DefaultStart
		if s, ok := last["timestamp"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				at = t.Add(time.Second)
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("claudetest: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("claudetest: %w", err)
	}
	esc, _ := json.Marshal(cwd)
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x3a11e7))
	return &Writer{f: f, c: &conv{
		r:         r,
		sessionID: id,
		cwd:       string(esc[1 : len(esc)-1]),
		branch:    branch,
		version:   "2.1.40",
		model:     models[r.IntN(len(models))],
		sidechain: opt.Subagent,
		parent:    parent,
		at:        at.UTC(),
		malformed: opt.Malformed,
		large:     opt.Large,
	}}, nil
}

// lastRecord decodes the last complete line of the file at path that is a
// JSON object with a sessionId (nil if none).
func lastRecord(path string) map[string]any {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := completeLines(data)
	for i := len(lines) - 1; i >= 0; i-- {
		if m, ok := decodeObject(lines[i]); ok && m["sessionId"] != nil {
			return m
		}
	}
	return nil
}

// Turns appends n exchanges: prompt, 1–4 responses of 1–3 lines each, tool
// results, and now and then bookkeeping lines.
func (w *Writer) Turns(n int) error {
	b := w.start()
	for i := 0; i < n; i++ {
		b = w.c.turn(b)
	}
	return w.flush(b)
}

// Responses appends n API responses (1–3 lines each, repeating message.id,
// requestId and usage) with the results of their tool uses.
func (w *Writer) Responses(n int) error {
	b := w.start()
	for i := 0; i < n; i++ {
		w.c.tick(time.Second, 10*time.Second)
		b = w.c.response(b, w.c.r.IntN(3) == 0)
	}
	return w.flush(b)
}

// Prompt appends one user prompt.
func (w *Writer) Prompt() error {
	return w.flush(w.c.prompt(w.start(), false))
}

// Torn writes one more response but stops inside its first line, as a
// writer caught mid-line leaves it. The next call (or Complete) writes the
// rest first.
func (w *Writer) Torn() error {
	b := w.start()
	from := len(b)
	b = w.c.response(b, true)
	line := b[from:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	cut := from + 1 + w.c.r.IntN(len(line)-1)
	rest := append([]byte(nil), b[cut:]...)
	w.buf = b[:0]
	if _, err := w.f.Write(b[:cut]); err != nil {
		return fmt.Errorf("claudetest: %w", err)
	}
	w.pending = rest
	return nil
}

// Complete writes the rest of a torn write, if any.
func (w *Writer) Complete() error { return w.flush(w.start()) }

// Append writes raw bytes (for hand-made records; add the newline).
func (w *Writer) Append(raw []byte) error { return w.flush(append(w.start(), raw...)) }

// Close closes the file; a torn line stays torn.
func (w *Writer) Close() error {
	if err := w.f.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
		return fmt.Errorf("claudetest: %w", err)
	}
	return nil
}

func (w *Writer) start() []byte {
	b := append(w.buf[:0], w.pending...)
	w.pending = nil
	return b
}

func (w *Writer) flush(b []byte) error {
	b = w.c.finish(b)
	w.buf = b[:0]
	if len(b) == 0 {
		return nil
	}
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("claudetest: %w", err)
	}
	return nil
}

// AppendSession appends that many responses to the transcript at path,
// continuing its session (see OpenWriter), with randomness from seed.
func AppendSession(path string, responses int, seed int64) error {
	w, err := OpenWriter(path, WriterOptions{Seed: seed})
	if err != nil {
		return err
	}
	if err := w.Responses(responses); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
