// Package providers defines what every agent integration supplies: where its
// files live, which session a file belongs to, and an incremental parser that
// turns complete records into session deltas. Providers are pure: no actors,
// no Badger, no goroutines.
package providers

import (
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
