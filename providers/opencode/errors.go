package opencode

import "errors"

var (
	// ErrNotDocument means bytes given to Parser.Document are not a session
	// document of the version this package writes (see ReadDoc).
	ErrNotDocument = errors.New("opencode: not a session document")
	// ErrDocPath means a document path is not one Expand returned
	// ("<data dir>#<session id>").
	ErrDocPath = errors.New("opencode: not a document path")
	// ErrSchema means a database lacks the tables or columns sessiond reads
	// (session, message, part with their id, session_id, time and data
	// columns): not an OpenCode database, or one of an unknown version.
	ErrSchema = errors.New("opencode: database schema not recognised")
)
