// Package providers defines what every agent integration supplies: where its
// files live, which session a file belongs to, and an incremental parser that
// turns complete records into session deltas. Providers are pure: no actors,
// no Badger, no goroutines.
package providers

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/session"
)

// Env is the environment a provider discovers its roots from.
type Env struct {
	Home   string              // the user's home directory
	Getenv func(string) string // environment lookup (os.Getenv in production)
}

// Match says which session a file belongs to.
type Match struct {
	// ID is the session the file belongs to. It is empty when the provider
	// needs the file's first bytes to tell (see Provider.Resolve).
	ID   session.ID
	Role session.FileRole
	// Mode is how the file is read: ModeAppend (JSONL logs) or ModeWhole
	// (documents rewritten whole). ModeVirtual is not valid here.
	Mode session.FileMode
	// Container marks a database holding many sessions: the provider
	// must implement Expander, and the file's changes are expanded into
	// one virtual document per session.
	Container bool
}

// Provider is one agent integration.
type Provider interface {
	// ID is the provider id used everywhere (upload protocol, API, metrics).
	ID() session.Provider
	// Roots are the directories to watch, in priority order; they need not exist.
	Roots(env Env) []string
	// Descend reports whether the directory at path (below root) can hold
	// session files; the watcher neither walks nor watches the others.
	Descend(root, path string) bool
	// Match reports whether path (below root) is a session file and, if it
	// can tell from the path alone, which session it belongs to.
	Match(root, path string) (Match, bool)
	// Resolve names the session of a file Match could not place, from its
	// first bytes. It returns ErrUnresolved while head holds too little.
	Resolve(path string, head []byte) (session.ID, error)
	// NewParser returns a parser for one file of the given role.
	NewParser(role session.FileRole) Parser
}

// Parser turns complete records of one file into a delta. It is used by one
// goroutine at a time and may keep state between lines; that state is
// persisted in the file's checkpoint so parsing resumes exactly after a
// restart.
type Parser interface {
	// Line parses one complete record (without its trailing newline) into d.
	// Malformed records are counted in d.Malformed, never returned as errors.
	Line(line []byte, d *session.Delta)
	// State returns the parser's state after the last line (nil if none).
	State() []byte
	// Restore sets the state saved by State.
	Restore(state []byte) error
}

// DocumentParser is implemented by the parsers of providers with
// ModeWhole or ModeVirtual files: the whole document is parsed at once.
type DocumentParser interface {
	// Document parses a whole document into d. An error means the document
	// is not readable as a whole yet (half written, or a database busy);
	// nothing is committed and the next change retries.
	Document(data []byte, d *session.Delta) error
}

// Doc is one session's document inside a container (database) file.
type Doc struct {
	// Path names the document; it must be stable and unique, by
	// convention "<container path>#<session id>".
	Path string
	ID   session.ID
	Role session.FileRole
	// Version changes whenever the document's content may have changed
	// (the session's time_updated, a content hash); an unchanged Version
	// is not read again.
	Version string
}

// Expander is implemented by providers whose files are databases holding
// many sessions (OpenCode, Cursor). Both methods are called from one
// goroutine at a time per container; they must open the database
// read-only, never hold a transaction open and cope with the agent
// writing at the same moment.
type Expander interface {
	// Expand lists the sessions of the container at path.
	Expand(ctx context.Context, path string) ([]Doc, error)
	// ReadDoc returns the document a Doc.Path names, for its parser.
	ReadDoc(ctx context.Context, docPath string) ([]byte, error)
}

// ExpandHome replaces a leading "~" (alone or followed by a separator) by
// home. Other paths, and every path when home is unknown, are only cleaned.
func ExpandHome(p, home string) string {
	if home != "" && strings.HasPrefix(p, "~") && (len(p) == 1 || p[1] == '/' || p[1] == filepath.Separator) {
		return filepath.Join(home, p[1:])
	}
	return filepath.Clean(p)
}

// Rel splits path below root into its components; nil if path is not below
// root (root itself gives an empty, non-nil slice).
func Rel(root, path string) []string {
	r, err := filepath.Rel(root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return nil
	}
	if r == "." {
		return []string{}
	}
	return strings.Split(filepath.ToSlash(r), "/")
}
