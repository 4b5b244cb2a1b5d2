package opencode

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// docVersion is the version of the document format below.
const docVersion = 1

// Sources of a document.
const (
	sourceDB      = "db"      // rows of opencode.db (≥ v1.2)
	sourceStorage = "storage" // files of the legacy storage/ tree (< v1.2)
)

// document is what ReadDoc returns for one session and Parser.Document
// reads: the facts of the session's rows (or legacy files), digested. It is
// sessiond's own format, JSON encoded; OpenCode never sees it.
type document struct {
	V         int    `json:"v"`
	Session   string `json:"session"`
	Source    string `json:"source"`
	Directory string `json:"directory,omitempty"` // session.directory
	// Messages in creation order (time_created, then id).
	Messages []docMessage `json:"messages"`
	// Tools counts the session's tool calls (tool parts, or the tool content
	// of session_message assistant rows) by state.status.
	Tools map[string]int64 `json:"tools,omitempty"`
	// Parts counts the well-formed records that are not messages: part
	// rows or files of every type (tools included), session_message rows
	// of other types.
	Parts int64 `json:"parts"`
	// Malformed counts the message and part records that are not one JSON
	// object (skipped).
	Malformed int64 `json:"malformed,omitempty"`
}

// docTool is one tool call.
type docTool struct {
	ID     string
	Status string
}

// Parser reads the documents of OpenCode sessions (see Provider.ReadDoc).
// It keeps no state: every document is read whole.
type Parser struct{}

var (
	_ providers.Parser         = (*Parser)(nil)
	_ providers.DocumentParser = (*Parser)(nil)
)

// Line is never called for OpenCode's documents, which are read whole; a
// line given anyway is counted as malformed.
func (*Parser) Line(_ []byte, d *session.Delta) { d.Malformed++ }

// State returns nil: the parser keeps no state.
func (*Parser) State() []byte { return nil }

// Restore accepts any state: the parser keeps none.
func (*Parser) Restore([]byte) error { return nil }

// Document parses a session's document into d (see the package
// documentation for the counting rules). A document that is not one, or of
// an unknown version, is an error wrapping ErrNotDocument.
func (*Parser) Document(data []byte, d *session.Delta) error {
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %w", ErrNotDocument, err)
	}
	if doc.V != docVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrNotDocument, doc.V, docVersion)
	}
	count(&doc, d)
	return nil
}

// count folds a document into d.
func count(doc *document, d *session.Delta) {
	cwd := ""
	for i := range doc.Messages {
		m := &doc.Messages[i]
		d.Records++
		observeMs(d, m.Created)
		observeMs(d, m.Completed)
		switch m.Role {
		case "user":
			d.UserMessages++
		case "assistant":
			d.AssistantMessages++
			d.Models = session.AddModels(d.Models, m.Model)
			if m.Cost > 0 {
				d.Cost += m.Cost
			}
			if m.Tokens != nil {
				d.Usage = d.Usage.Add(usage(m.Tokens))
			}
			if m.CWD != "" {
				cwd = m.CWD
			}
		}
	}
	for status, n := range doc.Tools {
		d.ToolCalls += n
		if status == "error" {
			d.ToolErrors += n
		}
	}
	d.Records += doc.Parts
	d.Malformed += doc.Malformed
	if doc.Directory != "" {
		cwd = doc.Directory
	}
	if cwd != "" {
		d.CWD = cwd
	}
}

// usage maps an assistant message's tokens onto sessiond's contract.
// Negative counts (OpenCode subtracts cached from input tokens and can go
// below zero) count as 0. OpenCode reports reasoning apart from output
// (tokens.total = input + output + reasoning + cache.read + cache.write), so
// output is output + reasoning; a record whose total shows output already
// holding the reasoning (total = input + output + cache.read + cache.write,
// as builds before the fix of anomalyco/opencode#21047 wrote for
// OpenAI-compatible providers) keeps its output.
func usage(t *docTokens) session.Usage {
	in, out, reas := max(t.Input, 0), max(t.Output, 0), max(t.Reasoning, 0)
	cr, cw := max(t.CacheRead, 0), max(t.CacheWrite, 0)
	u := session.Usage{Input: in, CacheRead: cr, CacheWrite: cw, Output: out + reas, Reasoning: reas}
	if t.Total != nil && reas > 0 && reas <= out && *t.Total == in+out+cr+cw {
		u.Output = out
	}
	return u
}

// observeMs widens d's time range to an epoch-milliseconds time (ignored
// when not positive).
func observeMs(d *session.Delta, ms int64) {
	if ms > 0 {
		d.Observe(time.UnixMilli(ms))
	}
}

// jsonMarshal encodes a document.
func jsonMarshal(doc *document) ([]byte, error) { return json.Marshal(doc) }
